// Package pricing holds the price table that turns a call's token usage into
// a cost in US dollars.
//
// Prices are per million tokens, input and output separately, per model. The
// built-in table ([Default]) covers the default model of every agent name of
// docs/agents.md#built-in-agents and the OpenRouter models they map to; the figures are the
// providers' list prices at the time of writing and are meant to be
// overridden. Operators override or extend them with a JSON file named by
// ARAGORA_PRICING_FILE:
//
//	{"claude-sonnet-4-5":{"input_per_mtok":3,"output_per_mtok":15},
//	 "my-finetune":{"input_per_mtok":0.5,"output_per_mtok":1.5}}
//
// [Load] reads such a file and [Table.Merge] lays it over the defaults.
// A model missing from the table costs 0, which the orchestrator reads as
// "unknown".
package pricing

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"strings"

	"github.com/aragora/aragora/agent"
)

// Price is the list price of one model, in US dollars per million tokens.
type Price struct {
	InputPerMTok  float64 `json:"input_per_mtok"`
	OutputPerMTok float64 `json:"output_per_mtok"`
}

// Table maps a model name to its price. A nil Table prices nothing. A Table
// is a plain map: it is safe for concurrent reads, not for concurrent writes.
type Table map[string]Price

// Default returns a fresh copy of the built-in price table, which the caller
// may modify.
func Default() Table {
	return Table{
		// Anthropic.
		"claude-sonnet-4-5": {3, 15},
		"claude-sonnet-4-0": {3, 15},
		"claude-opus-4-1":   {15, 75},
		"claude-haiku-4-5":  {1, 5},
		// OpenAI.
		"gpt-4o":      {2.5, 10},
		"gpt-4o-mini": {0.15, 0.6},
		"gpt-4.1":     {2, 8},
		// Google.
		"gemini-2.5-pro":   {1.25, 10},
		"gemini-2.5-flash": {0.3, 2.5},
		// Mistral, xAI, DeepSeek.
		"mistral-large-latest": {2, 6},
		"grok-4":               {3, 15},
		"deepseek-chat":        {0.27, 1.1},
		"deepseek-reasoner":    {0.55, 2.19},
		// Local models cost nothing.
		"llama3.1": {0, 0},
		// OpenRouter names of the mapped models.
		"anthropic/claude-sonnet-4.5": {3, 15},
		"openai/gpt-4o":               {2.5, 10},
		"google/gemini-2.5-pro":       {1.25, 10},
		"mistralai/mistral-large":     {2, 6},
		"x-ai/grok-4":                 {3, 15},
		"deepseek/deepseek-chat":      {0.27, 1.1},
	}
}

// Load reads a JSON price table from path, in the format of
// ARAGORA_PRICING_FILE: {"model":{"input_per_mtok":3,"output_per_mtok":15}}.
// Negative or non-finite prices are an error.
func Load(path string) (Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pricing: %w", err)
	}
	return Parse(data)
}

// Parse decodes a JSON price table (see [Load]).
func Parse(data []byte) (Table, error) {
	var t Table
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("pricing: decode: %w", err)
	}
	for model, p := range t {
		if model == "" {
			return nil, fmt.Errorf("pricing: empty model name")
		}
		for _, v := range []float64{p.InputPerMTok, p.OutputPerMTok} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("pricing: model %q: price %v: want a finite number >= 0", model, v)
			}
		}
	}
	return t, nil
}

// Merge returns a new table holding t's prices overridden by o's.
func (t Table) Merge(o Table) Table {
	out := make(Table, len(t)+len(o))
	maps.Copy(out, t)
	maps.Copy(out, o)
	return out
}

// Lookup returns model's price: an exact match, else the entry whose name is
// the longest prefix of model followed by "-", ":" or "@" (so that dated
// snapshots such as "gpt-4o-2024-08-06" or tags such as "llama3.1:8b" use
// their family's price). Matching is case-insensitive.
func (t Table) Lookup(model string) (Price, bool) {
	if p, ok := t[model]; ok {
		return p, true
	}
	lm := strings.ToLower(model)
	best, bestLen, found := Price{}, 0, false
	for name, p := range t {
		ln := strings.ToLower(name)
		if ln == lm {
			return p, true
		}
		if len(ln) > bestLen && len(lm) > len(ln) && strings.HasPrefix(lm, ln) && strings.ContainsRune("-:@", rune(lm[len(ln)])) {
			best, bestLen, found = p, len(ln), true
		}
	}
	return best, found
}

// Cost returns the cost in US dollars of usage on model, and whether the
// model has a price.
func (t Table) Cost(model string, usage agent.Usage) (float64, bool) {
	p, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	return (float64(usage.InputTokens)*p.InputPerMTok + float64(usage.OutputTokens)*p.OutputPerMTok) / 1e6, true
}
