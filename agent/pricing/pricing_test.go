package pricing_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/pricing"
)

func TestDefaultCoversDefaultModels(t *testing.T) {
	t.Parallel()
	table := pricing.Default()
	for _, m := range []string{"claude-sonnet-4-5", "gpt-4o", "gemini-2.5-pro", "mistral-large-latest", "grok-4", "deepseek-chat", "llama3.1",
		"anthropic/claude-sonnet-4.5", "openai/gpt-4o", "google/gemini-2.5-pro", "mistralai/mistral-large", "x-ai/grok-4", "deepseek/deepseek-chat"} {
		_, ok := table[m]
		assert.True(t, ok, m)
	}
	table["gpt-4o"] = pricing.Price{}
	assert.Equal(t, 2.5, pricing.Default()["gpt-4o"].InputPerMTok, "Default returns a fresh copy")
}

func TestLookup(t *testing.T) {
	t.Parallel()
	table := pricing.Table{
		"gpt-4o":      {InputPerMTok: 2.5, OutputPerMTok: 10},
		"gpt-4o-mini": {InputPerMTok: 0.15, OutputPerMTok: 0.6},
		"llama3.1":    {},
	}
	tests := []struct {
		model string
		want  float64 // input price
		ok    bool
	}{
		{model: "gpt-4o", want: 2.5, ok: true},
		{model: "GPT-4o", want: 2.5, ok: true},
		{model: "gpt-4o-2024-08-06", want: 2.5, ok: true},
		{model: "gpt-4o-mini-2024-07-18", want: 0.15, ok: true},
		{model: "llama3.1:8b", want: 0, ok: true},
		{model: "gpt-4", ok: false},
		{model: "gpt-4ox", ok: false},
		{model: "", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			t.Parallel()
			p, ok := table.Lookup(tt.model)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, p.InputPerMTok)
		})
	}
}

func TestCost(t *testing.T) {
	t.Parallel()
	c, ok := pricing.Default().Cost("claude-sonnet-4-5", agent.Usage{InputTokens: 12, OutputTokens: 2})
	require.True(t, ok)
	assert.InDelta(t, 0.000066, c, 1e-12)
	c, ok = pricing.Table(nil).Cost("gpt-4o", agent.Usage{InputTokens: 1})
	assert.False(t, ok)
	assert.Zero(t, c)
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{name: "ok", body: `{"m":{"input_per_mtok":3,"output_per_mtok":15}}`},
		{name: "not json", body: `{`, wantErr: true},
		{name: "negative", body: `{"m":{"input_per_mtok":-1,"output_per_mtok":15}}`, wantErr: true},
		{name: "empty model", body: `{"":{"input_per_mtok":1,"output_per_mtok":1}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			table, err := pricing.Load(write(tt.name+".json", tt.body))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, pricing.Price{InputPerMTok: 3, OutputPerMTok: 15}, table["m"])
		})
	}
	_, err := pricing.Load(filepath.Join(dir, "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestMerge(t *testing.T) {
	t.Parallel()
	base := pricing.Table{"a": {InputPerMTok: 1}, "b": {InputPerMTok: 2}}
	got := base.Merge(pricing.Table{"b": {InputPerMTok: 3}, "c": {InputPerMTok: 4}})
	assert.Equal(t, pricing.Table{"a": {InputPerMTok: 1}, "b": {InputPerMTok: 3}, "c": {InputPerMTok: 4}}, got)
	assert.Equal(t, 2.0, base["b"].InputPerMTok, "Merge does not modify its receiver")
}
