package wire

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/aragora/aragora/agent"
)

// SchemaMemo remembers the models whose provider rejected the schema
// parameter of a structured reply (docs/agents.md#structured-replies), so
// that an adapter asks them in prose from then on. One lives in each
// adapter instance; the zero value is ready and safe for concurrent use.
type SchemaMemo struct {
	mu       sync.Mutex
	rejected map[string]bool
}

// Rejected reports whether model has rejected the schema parameter.
func (m *SchemaMemo) Rejected(model string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rejected[model]
}

// Reject records that model rejected the schema parameter.
func (m *SchemaMemo) Reject(model string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rejected == nil {
		m.rejected = map[string]bool{}
	}
	m.rejected[model] = true
}

// schemaWords are what a provider's 400 names when it rejects the schema
// parameter: OpenAI-format response_format/json_schema, Anthropic
// tools/tool_choice/input_schema, Gemini responseSchema/responseMimeType
// (response_schema, response_mime_type).
var schemaWords = []string{"response_format", "json_schema", "schema", "tool", "response_mime_type",
	"responsemimetype", "structured output"}

// IsSchemaRejection reports whether err is a provider's refusal of the
// schema parameter: a 400 or 422 (or 404 and 501, which some compatible
// servers answer to an unknown feature) whose message names the parameter.
func IsSchemaRejection(err error) bool {
	pe, ok := errors.AsType[*agent.ProviderError](err)
	if !ok {
		return false
	}
	switch pe.StatusCode {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusNotFound, http.StatusNotImplemented:
	default:
		return false
	}
	if pe.Err == nil || agent.KindOf(err) != agent.KindOther {
		return false
	}
	msg := strings.ToLower(pe.Err.Error())
	for _, w := range schemaWords {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}

// DoSchema sends a call that may ask for a structured reply. build returns
// the exchange with (schema true) or without the provider's schema
// parameter. When req has a Schema and memo has no rejection for model,
// the call is sent with it and a success is marked Structured; a rejection
// of the schema parameter (IsSchemaRejection) is remembered in memo and
// the call is sent again at once without it (a success then has Attempts 2), so no call fails
// on the schema parameter and no model is asked with it twice after
// refusing it. Otherwise the call is sent without the parameter.
func (c *Client) DoSchema(ctx context.Context, req agent.Request, memo *SchemaMemo, model string,
	build func(schema bool) Exchange, onChunk func(string)) (agent.Response, error) {
	if req.Schema == nil || memo.Rejected(model) {
		return c.Do(ctx, build(false), onChunk)
	}
	resp, err := c.Do(ctx, build(true), onChunk)
	if err == nil {
		resp.Structured = true
		return resp, nil
	}
	if !IsSchemaRejection(err) {
		return resp, err
	}
	memo.Reject(model)
	resp, err = c.Do(ctx, build(false), onChunk)
	if err == nil {
		resp.Attempts = 2
	}
	return resp, err
}
