package reply

import (
	"encoding/json"
	"strings"
)

// Schema names: the name a structured-reply request gives each phase's
// schema (docs/agents.md#structured-replies).
const (
	SchemaCritique = "critique"
	SchemaVote     = "vote"
	SchemaJudge    = "judge"
)

// The JSON schemas of the critique, vote and judge replies, defined once
// here beside their parsers, in the subset every provider accepts: every
// property required, no additional properties (as OpenAI's strict mode
// demands), no numeric bounds (the parsers clamp), and a choice limited to
// the names of the proposals' owners.
type (
	jsonSchema struct {
		Type                 string                 `json:"type"`
		Description          string                 `json:"description,omitempty"`
		Properties           map[string]*jsonSchema `json:"properties,omitempty"`
		Required             []string               `json:"required,omitempty"`
		AdditionalProperties *bool                  `json:"additionalProperties,omitempty"`
		Items                *jsonSchema            `json:"items,omitempty"`
		Enum                 []string               `json:"enum,omitempty"`
	}
	property struct {
		name   string
		schema *jsonSchema
	}
)

func textProp(desc string) *jsonSchema { return &jsonSchema{Type: "string", Description: desc} }
func num(desc string) *jsonSchema      { return &jsonSchema{Type: "number", Description: desc} }
func strs(desc string) *jsonSchema {
	return &jsonSchema{Type: "array", Description: desc, Items: &jsonSchema{Type: "string"}}
}
func boolean(desc string) *jsonSchema { return &jsonSchema{Type: "boolean", Description: desc} }

// object builds a closed object schema requiring every property, in order.
func closed(props ...property) []byte {
	no := false
	s := jsonSchema{Type: "object", Properties: map[string]*jsonSchema{}, AdditionalProperties: &no}
	for _, p := range props {
		s.Properties[p.name] = p.schema
		s.Required = append(s.Required, p.name)
	}
	b, _ := json.Marshal(s) // strings, bools and nested schemas: cannot fail
	return b
}

// choice is the schema of a choice among names: an enum of the trimmed,
// non-empty, distinct names, or any string when none is given.
func choice(desc string, names []string) *jsonSchema {
	s := textProp(desc)
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" && !seen[n] {
			seen[n] = true
			s.Enum = append(s.Enum, n)
		}
	}
	return s
}

// CritiqueSchema returns the JSON schema of a critique reply:
// {"issues": [..], "suggestions": [..], "severity": 0-10, "reasoning": ".."}.
func CritiqueSchema() []byte {
	return closed(
		property{"issues", strs("the problems found in the proposal, most important first")},
		property{"suggestions", strs("concrete changes that would fix the issues")},
		property{"severity", num("how serious the issues are, from 0 (none) to 10 (fatal)")},
		property{"reasoning", textProp("why, in a few sentences")},
	)
}

// VoteSchema returns the JSON schema of a vote reply:
// {"choice": "<agent name>", "confidence": 0-1, "reasoning": ".."}, the
// choice limited to names (the owners of the proposals the voter may
// choose; any string when names is empty).
func VoteSchema(names []string) []byte {
	return closed(
		property{"choice", choice("the name of the agent whose proposal you vote for", names)},
		property{"confidence", num("your confidence in the choice, from 0 to 1")},
		property{"reasoning", textProp("why, in a few sentences")},
	)
}

// JudgeSchema returns the JSON schema of a judge reply: {"decided": bool,
// "choice": "<agent name>", "confidence": 0-1, "reasoning": "..",
// "answer": ".."}, the choice limited to names.
func JudgeSchema(names []string) []byte {
	return closed(
		property{"decided", boolean("true when the debate can be decided now")},
		property{"choice", choice("the name of the agent whose proposal best answers the question", names)},
		property{"confidence", num("your confidence in the choice, from 0 to 1")},
		property{"reasoning", textProp("why, in a few sentences")},
		property{"answer", textProp("an optional improved final answer, or an empty string")},
	)
}

// StructuredCritique reads a critique reply constrained by CritiqueSchema:
// the whole text must be one JSON object. ok is false otherwise (a reply
// cut short, or prose), and the caller parses the text with ParseCritique.
func StructuredCritique(text string) (c Critique, ok bool) {
	m, ok := object(strings.TrimSpace(text))
	if !ok {
		return Critique{}, false
	}
	return critiqueOf(m), true
}

// StructuredVote reads a vote reply constrained by VoteSchema: the whole
// text must be one JSON object with a non-empty string choice. ok is false
// otherwise, and the caller parses the text with ParseVote.
func StructuredVote(text string) (Vote, bool) {
	m, ok := object(strings.TrimSpace(text))
	if !ok {
		return Vote{}, false
	}
	return voteOf(m)
}

// StructuredJudge reads a judge reply constrained by JudgeSchema: the
// whole text must be one JSON object with a non-empty string choice. ok is
// false otherwise, and the caller parses the text with ParseJudge.
func StructuredJudge(text string) (Judge, bool) {
	m, ok := object(strings.TrimSpace(text))
	if !ok {
		return Judge{}, false
	}
	j := judgeOf(m)
	return j, j.OK
}
