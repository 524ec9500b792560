package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/sqlitestore"
)

// TestMemoryCommands runs stored debates: the second recalls what the
// first recorded (its receipt names the entries), --no-memory recalls
// nothing, `aragora memory` lists, searches, counts and cleans up, and
// `aragora backup` copies continuum.db into a working copy.
func TestMemoryCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vars := map[string]string{"ARAGORA_DATA_DIR": t.TempDir()}
	type out struct {
		Receipt struct {
			Metadata map[string]string `json:"metadata"`
		} `json:"receipt"`
	}
	debateJSON := func(extra ...string) out {
		res := runCLI(t, ctx, vars, append([]string{"debate", "Adopt Postgres for billing?", "--rounds", "1", "--format", "json"}, extra...)...)
		require.Equal(t, 0, res.code, res.stderr)
		var o out
		require.NoError(t, json.Unmarshal([]byte(res.stdout), &o), res.stdout)
		return o
	}
	first := debateJSON()
	assert.NotContains(t, first.Receipt.Metadata, "memory_ids", "nothing to recall yet")
	second := debateJSON()
	assert.NotEmpty(t, second.Receipt.Metadata["memory_ids"], "the second debate recalls the first")
	off := debateJSON("--no-memory")
	assert.NotContains(t, off.Receipt.Metadata, "memory_ids")

	list := runCLI(t, ctx, vars, "memory", "list", "--json")
	require.Equal(t, 0, list.code, list.stderr)
	var entries []memory.Entry
	require.NoError(t, json.Unmarshal([]byte(list.stdout), &entries))
	require.NotEmpty(t, entries)
	kinds := map[memory.Kind]int{}
	for _, e := range entries {
		kinds[e.Kind]++
	}
	assert.Equal(t, 2, kinds[memory.KindOutcome], "the two debates with memory recorded their outcome")

	table := runCLI(t, ctx, vars, "memory", "list", "--tier", "slow")
	require.Equal(t, 0, table.code, table.stderr)
	assert.Contains(t, table.stdout, "TIER")
	search := runCLI(t, ctx, vars, "memory", "search", "Postgres billing", "--limit", "1")
	require.Equal(t, 0, search.code, search.stderr)
	assert.Contains(t, search.stdout, "SCORE")
	assert.Equal(t, 2, strings.Count(search.stdout, "\n"), "a header and one entry: %s", search.stdout)
	stats := runCLI(t, ctx, vars, "memory", "stats")
	require.Equal(t, 0, stats.code, stats.stderr)
	assert.Contains(t, stats.stdout, "glacial")
	clean := runCLI(t, ctx, vars, "memory", "cleanup")
	require.Equal(t, 0, clean.code, clean.stderr)
	assert.Contains(t, clean.stdout, "forgot 0 entries")
	assert.Equal(t, exitUsage, runCLI(t, ctx, vars, "memory", "list", "--tier", "warm").code)

	// The backup holds the memory.
	dir := filepath.Join(t.TempDir(), "backups")
	b := runCLI(t, ctx, vars, "backup", "--out", dir)
	require.Equal(t, 0, b.code, b.stderr)
	files := strings.Fields(b.stdout)
	require.Len(t, files, 3)
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "aragora.db"), sqlitestore.Config{ContinuumPath: files[2]})
	require.NoError(t, err)
	defer st.Close()
	restored, err := st.ListMemories(ctx, memory.Filter{})
	require.NoError(t, err)
	assert.Len(t, restored, len(entries))
}

// TestMemoryTranscriptLine: the text transcript says what was recalled.
func TestMemoryTranscriptLine(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"ARAGORA_DATA_DIR": t.TempDir()}
	args := []string{"debate", "Adopt Postgres for billing?", "--rounds", "1"}
	first := runCLI(t, context.Background(), vars, args...)
	require.Equal(t, 0, first.code, first.stderr)
	assert.NotContains(t, first.stdout, "memory: recalled")
	second := runCLI(t, context.Background(), vars, args...)
	require.Equal(t, 0, second.code, second.stderr)
	assert.Contains(t, second.stdout, "memory: recalled 1 from earlier debates (mem_")
}
