package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUsersAndTokens creates users straight in the store and mints tokens
// for them (docs/cli.md), as the runbook's responders do before the server
// is even running.
func TestUsersAndTokens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"ARAGORA_DATA_DIR": dir}

	gen := runCLI(t, context.Background(), vars, "users", "create", "--email", "Owner@Example.com", "--role", "owner", "--generate-password")
	require.Equal(t, exitOK, gen.code, gen.stderr)
	assert.Contains(t, gen.stdout, "owner@example.com")

	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"users", "create", "--email", "viewer@example.com", "--role", "viewer", "--password-stdin"},
		strings.NewReader("correct horse battery staple\n"), &out, &errb, func(k string) string { return vars[k] })
	require.Equal(t, exitOK, code, errb.String())

	dup := runCLI(t, context.Background(), vars, "users", "create", "--email", "owner@example.com", "--generate-password")
	assert.Equal(t, exitFailure, dup.code, "an existing email is a runtime failure")
	noPw := runCLI(t, context.Background(), vars, "users", "create", "--email", "x@example.com")
	assert.Equal(t, exitUsage, noPw.code, "no terminal and no password option")
	short := run(context.Background(), []string{"users", "create", "--email", "y@example.com", "--password-stdin"},
		strings.NewReader("short\n"), &out, &errb, func(k string) string { return vars[k] })
	assert.NotEqual(t, exitOK, short, "passwords are 12-128 characters")

	tok := runCLI(t, context.Background(), vars, "token", "create", "--user", "owner@example.com", "--ttl", "10m")
	require.Equal(t, exitOK, tok.code, tok.stderr)
	jwt := strings.TrimSpace(tok.stdout)
	assert.Len(t, strings.Split(jwt, "."), 3, "only the token is printed: %q", tok.stdout)

	key := runCLI(t, context.Background(), vars, "token", "create", "--user", "viewer@example.com", "--kind", "api-key")
	require.Equal(t, exitOK, key.code, key.stderr)
	assert.Regexp(t, `^ara_[a-z0-9]{8}_[A-Za-z0-9]{40}\n$`, key.stdout)

	unknown := runCLI(t, context.Background(), vars, "token", "create", "--user", "nobody@example.com")
	assert.NotEqual(t, exitOK, unknown.code)
}

// TestUsersAndTokensTakeServesStoreFlags: users create and token create
// take --data-dir (and --database-url) like serve, over the variables.
func TestUsersAndTokensTakeServesStoreFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	elsewhere := map[string]string{"ARAGORA_DATA_DIR": t.TempDir()}
	u := runCLI(t, context.Background(), elsewhere, "users", "create", "--data-dir", dir, "--email", "ops@example.com", "--generate-password")
	require.Equal(t, exitOK, u.code, u.stderr)
	tok := runCLI(t, context.Background(), map[string]string{"ARAGORA_DATA_DIR": dir}, "token", "create", "--user", "ops@example.com")
	require.Equal(t, exitOK, tok.code, "the user is in --data-dir: %s", tok.stderr)
	other := runCLI(t, context.Background(), elsewhere, "token", "create", "--user", "ops@example.com")
	assert.NotEqual(t, exitOK, other.code, "and not in the variable's directory")
	flag := runCLI(t, context.Background(), elsewhere, "token", "create", "--data-dir", dir, "--database-url", "sqlite://"+dir+"/aragora.db", "--user", "ops@example.com")
	assert.Equal(t, exitOK, flag.code, flag.stderr)
}
