package service

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRateLimitStatusReportsThePolicyInForce: /api/rate-limits/status
// reports the limits and the backend serve was configured with, not the
// defaults: memory without Redis, redis with
// ARAGORA_ENABLE_REDIS_RATE_LIMIT (when ARAGORA_TEST_REDIS_URL is set).
func TestRateLimitStatusReportsThePolicyInForce(t *testing.T) {
	cases := []struct {
		name, backend string
		env           map[string]string
	}{{"memory", "memory", map[string]string{}}}
	if u := os.Getenv("ARAGORA_TEST_REDIS_URL"); u != "" {
		cases = append(cases, struct {
			name, backend string
			env           map[string]string
		}{"redis", "redis", map[string]string{"ARAGORA_REDIS_URL": u, "ARAGORA_ENABLE_REDIS_RATE_LIMIT": "1"}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"ARAGORA_DATABASE_URL": "memory://", "ARAGORA_DATA_DIR": t.TempDir(),
				"ARAGORA_RATE_LIMIT_RPM": "100000", "ARAGORA_RATE_LIMIT_DEBATE_RPM": "700", "ARAGORA_API_TOKEN": "rl-status-token-0123456789abcdef"}
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
			require.NoError(t, err)
			cfg.Stderr = io.Discard
			svc := openForTest(t, cfg)
			w := httptest.NewRecorder()
			svc.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/rate-limits/status", nil))
			require.Equal(t, 200, w.Code, w.Body.String())
			var st struct {
				Enabled bool   `json:"enabled"`
				Backend string `json:"backend"`
				Client  struct {
					Classes map[string]struct {
						Limit int `json:"limit"`
					} `json:"classes"`
				} `json:"client"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &st))
			assert.True(t, st.Enabled)
			assert.Equal(t, tc.backend, st.Backend)
			assert.Equal(t, 100000, st.Client.Classes["general"].Limit, w.Body.String())
			assert.Equal(t, 700, st.Client.Classes["debate_create"].Limit, w.Body.String())
		})
	}
}
