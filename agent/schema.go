package agent

import "encoding/json"

// Schema asks a provider for a reply that matches a JSON schema (a
// structured reply, docs/agents.md#structured-replies). The engine sets
// Request.Schema for the critique, vote and judge phases, and only for an
// agent that says it supports schemas ([SupportsSchema]); every other agent
// gets the same requests as without this feature.
type Schema struct {
	// Name names the schema ("critique", "vote", "judge"): letters, digits,
	// "_" and "-", as every provider accepts for a schema or tool name.
	Name string `json:"name"`
	// Description says what the reply is, for providers that take one
	// (Anthropic's tool description).
	Description string `json:"description,omitempty"`
	// JSON is the schema: a JSON Schema object in the subset every
	// provider accepts (type, properties, required, items, enum,
	// description, additionalProperties false). Adapters convert it to
	// their provider's dialect (Gemini's OpenAPI subset).
	JSON json.RawMessage `json:"schema"`
}

// SchemaReplier is an optional capability: an agent whose provider and
// model can constrain a reply to the JSON schema of Request.Schema. When
// SupportsSchema reports true the engine sets Request.Schema for the
// critique, vote and judge phases; the agent then either answers with a
// Response whose Structured is true and whose Text is the JSON value, or
// answers in prose (Structured false) when the provider rejected the
// schema, and the engine parses the prose as it would without a schema.
// An agent may change its answer over time: the built-in adapters report
// false once their provider has rejected the schema parameter for their
// model.
type SchemaReplier interface {
	Agent
	SupportsSchema() bool
}

// SupportsSchema reports whether a, or the agent it wraps (following
// Unwrap() Agent methods, as [InfoOf] does), is a [SchemaReplier] that
// supports schemas now.
func SupportsSchema(a Agent) bool {
	s, ok := find[SchemaReplier](a)
	return ok && s.SupportsSchema()
}
