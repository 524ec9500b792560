package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/memstore"
)

// BenchmarkRetrieve scores a full candidate set (2,000 entries of one
// domain) against a question, as a debate start does.
func BenchmarkRetrieve(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err := memory.New(memory.Config{Store: memstore.NewMemory(), Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	for i := range memory.DefaultMaxCandidates {
		content := fmt.Sprintf("Critics flagged: lesson %d about caching, retries, billing service %d and Postgres migrations", i, i%37)
		if _, err := c.Add(ctx, memory.Entry{Kind: memory.KindCritiquePattern, Domain: "ops", Content: content}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rs, err := c.Retrieve(ctx, memory.Query{Text: "Should the billing service move to Postgres?", Domain: "ops"})
		if err != nil || len(rs) == 0 {
			b.Fatal(err, len(rs))
		}
	}
}
