package wire

import (
	"errors"
	"net/http"
	"testing"

	"github.com/aragora/aragora/agent"
)

func TestIsSchemaRejection(t *testing.T) {
	t.Parallel()
	pe := func(status int, err error) error {
		return &agent.ProviderError{Provider: "p", StatusCode: status, Err: err}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"openai", pe(400, errors.New("invalid_request_error: Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.")), true},
		{"anthropic", pe(400, errors.New("invalid_request_error: tools.0.input_schema: JSON schema is invalid")), true},
		{"gemini", pe(400, errors.New(`INVALID_ARGUMENT: Invalid JSON payload received. Unknown name "responseSchema"`)), true},
		{"gemini-mime", pe(400, errors.New("INVALID_ARGUMENT: response_mime_type is not supported by this model")), true},
		{"422", pe(422, errors.New("structured output unavailable")), true},
		{"other 400", pe(400, errors.New("max_tokens is too large")), false},
		{"500 naming schema", pe(500, errors.New("response_format handler crashed")), false},
		{"quota", pe(400, errors.Join(agent.ErrQuotaExhausted, errors.New("credit balance too low for tools"))), false},
		{"auth", pe(http.StatusUnauthorized, errors.New("schema")), false},
		{"nil Err", pe(400, nil), false},
		{"not a provider error", errors.New("response_format"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsSchemaRejection(tt.err); got != tt.want {
				t.Errorf("IsSchemaRejection(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestSchemaMemo(t *testing.T) {
	t.Parallel()
	var m SchemaMemo
	if m.Rejected("a") {
		t.Fatal("a fresh memo rejects nothing")
	}
	m.Reject("a")
	if !m.Rejected("a") || m.Rejected("b") {
		t.Errorf("Rejected(a, b) = %v, %v; want true, false", m.Rejected("a"), m.Rejected("b"))
	}
}
