package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runWith runs the CLI with vars as its whole environment.
func runWith(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return vars[k] })
	return code, out.String(), errb.String()
}

// serveConfigCase is a configuration that serve refuses with exit 2 and a
// message naming want.
type serveConfigCase struct {
	name string
	vars map[string]string
	want string
}

// testServeRefuses runs serve with each case's variables, in parallel
// subtests, and checks the exit code and the message; more, if not nil,
// checks stderr further.
func testServeRefuses(t *testing.T, tests []serveConfigCase, more func(t *testing.T, stderr string)) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.vars["ARAGORA_DATA_DIR"] = t.TempDir()
			// Port 1 cannot be bound by a test: a config that passed would
			// fail with exit 1, never 0.
			code, _, stderr := runWith(t, tt.vars, "serve", "--host", "127.0.0.1", "--api-port", "1", "--ws-port", "0")
			assert.Equal(t, exitUsage, code, stderr)
			assert.Contains(t, stderr, tt.want)
			if more != nil {
				more(t, stderr)
			}
		})
	}
}

func TestServeConfigErrorsExit2(t *testing.T) {
	t.Parallel()
	testServeRefuses(t, []serveConfigCase{
		{name: "redis rate limit without URL", vars: map[string]string{"ARAGORA_ENABLE_REDIS_RATE_LIMIT": "1"}, want: "ARAGORA_ENABLE_REDIS_RATE_LIMIT"},
		{name: "bad redis URL", vars: map[string]string{"ARAGORA_REDIS_URL": "http://localhost:6379"}, want: "ARAGORA_REDIS_URL"},
		{name: "bad pool size", vars: map[string]string{"ARAGORA_DB_POOL_SIZE": "abc"}, want: "ARAGORA_DB_POOL_SIZE"},
		{name: "bad auto migrate", vars: map[string]string{"ARAGORA_AUTO_MIGRATE": "maybe"}, want: "ARAGORA_AUTO_MIGRATE"},
		{name: "bad breaker threshold", vars: map[string]string{"ARAGORA_CB_FAILURE_THRESHOLD": "abc"}, want: "ARAGORA_CB_FAILURE_THRESHOLD"},
		{name: "bad rate limit", vars: map[string]string{"ARAGORA_RATE_LIMIT_RPM": "-1"}, want: "ARAGORA_RATE_LIMIT_RPM"},
		{name: "bad demo delay", vars: map[string]string{demoDelayEnv: "soon"}, want: demoDelayEnv},
		{name: "production without secret", vars: map[string]string{"ARAGORA_ENV": "production", "ARAGORA_DATABASE_URL": "postgres://x/y"}, want: "ARAGORA_JWT_SECRET"},
		{name: "staging on implicit sqlite", vars: map[string]string{"ARAGORA_ENV": "staging", "ARAGORA_JWT_SECRET": strings.Repeat("s", 32)}, want: "ARAGORA_DATABASE_URL"},
		{name: "unsupported store scheme", vars: map[string]string{"ARAGORA_DATABASE_URL": "mysql://x/y"}, want: "ARAGORA_DATABASE_URL"},
		{name: "supabase without password", vars: map[string]string{"SUPABASE_URL": "https://abc.supabase.co"}, want: "SUPABASE_DB_PASSWORD"},
	}, nil)
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"ARAGORA_DATA_DIR": t.TempDir()}
	code, out, stderr := runWith(t, vars, "migrate", "--dry-run")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "pending store 0001")
	code, out, stderr = runWith(t, vars, "migrate")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "applied store 0001")
	code, out, stderr = runWith(t, vars, "migrate", "--dry-run")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "schema is up to date")
}
