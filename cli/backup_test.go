package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

func TestBackupCopiesEverySQLiteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"ARAGORA_DATA_DIR": dir}
	res := runCLI(t, context.Background(), vars, "debate", "Adopt Postgres?", "--rounds", "1", "--format", "json")
	require.Equal(t, 0, res.code, res.stderr)

	out := filepath.Join(t.TempDir(), "backups")
	b := runCLI(t, context.Background(), vars, "backup", "--out", out)
	require.Equal(t, 0, b.code, b.stderr)
	files := strings.Fields(b.stdout)
	require.Len(t, files, 3)
	for i, prefix := range []string{"aragora_", "agent_elo_", "continuum_"} {
		assert.True(t, strings.HasPrefix(filepath.Base(files[i]), prefix), files[i])
		assert.FileExists(t, files[i])
	}
	// The copy is a working store holding the debate.
	st, err := sqlitestore.Open(context.Background(), files[0], sqlitestore.Config{RatingsPath: files[1]})
	require.NoError(t, err)
	defer st.Close()
	ds, err := st.ListDebates(context.Background(), store.Filter{})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.True(t, store.Terminal(ds[0].Status))

	bad := runCLI(t, context.Background(), vars, "backup")
	assert.Equal(t, exitUsage, bad.code)
}

func TestRatingsLeaderboard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"ARAGORA_DATA_DIR": dir}
	empty := runCLI(t, context.Background(), vars, "ratings")
	require.Equal(t, 0, empty.code, empty.stderr)
	assert.Contains(t, empty.stdout, "no rated debates yet")
	res := runCLI(t, context.Background(), vars, "debate", "Adopt Postgres?", "--rounds", "1", "--format", "json")
	require.Equal(t, 0, res.code, res.stderr)
	board := runCLI(t, context.Background(), vars, "ratings")
	require.Equal(t, 0, board.code, board.stderr)
	for _, name := range []string{"demo-analyst", "demo-critic", "demo-judge"} {
		assert.Contains(t, board.stdout, name)
	}
	js := runCLI(t, context.Background(), vars, "ratings", "--json")
	require.Equal(t, 0, js.code, js.stderr)
	assert.Contains(t, js.stdout, `"elo":`)
}
