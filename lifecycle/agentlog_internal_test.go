package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

// TestLogCallsLevels checks the level of agent_error: WARN for a provider
// failure, INFO for a call cancelled with its debate; and that a long
// error message is cut.
func TestLogCallsLevels(t *testing.T) {
	long := strings.Repeat("é", maxLoggedError)
	for _, tc := range []struct {
		name, level, kind string
		err               error
	}{
		{"provider", "WARN", "server", &agent.ProviderError{Provider: "acme", StatusCode: 502, Err: errors.New(long)}},
		{"cancelled", "INFO", "cancelled", context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			a := Agent{Name: "x", Provider: "acme", Model: "acme-1", Agent: agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
				return agent.Response{}, tc.err
			})}
			wrapped := logCalls(a, debateIDs{id: "deb_1", correlationID: "corr-1"}, slog.New(slog.NewTextHandler(&buf, nil)))
			_, err := wrapped.Respond(context.Background(), agent.Request{Phase: agent.PhasePropose, Round: 1})
			require.ErrorIs(t, err, tc.err)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			require.Len(t, lines, 2)
			assert.Contains(t, lines[0], "level="+tc.level+" msg=agent_error")
			assert.Contains(t, lines[0], "error_kind="+tc.kind)
			if tc.name == "provider" {
				assert.NotContains(t, lines[0], long, "the message is cut")
				assert.Contains(t, lines[0], strings.Repeat("é", maxLoggedError/2-40)+"…", "at a character boundary")
			}
			assert.Contains(t, lines[1], "level=INFO msg=agent_call")
			assert.Contains(t, lines[1], "outcome=error")
		})
	}
}
