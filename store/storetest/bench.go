package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aragora/aragora/store"
)

// BenchEventJSON is the wire JSON of the event every benchmark batch
// repeats (a critique of typical size), for a backend's own baselines.
var BenchEventJSON = json.RawMessage(`{"seq":0,"type":"critique","round":1,"agent":"gpt-4","data":{"issues":["a","b"],"severity":6.5}}`)

// BenchmarkSaveCheckpoint is the checkpoint benchmark of every backend:
// s, a new store that implements [store.Checkpointer], gets debate "d1"
// and then one checkpoint per iteration appending a batch of 10 events.
// It reports events/s besides the allocations.
func BenchmarkSaveCheckpoint(b *testing.B, s store.DebateStore) {
	ctx := context.Background()
	cps := s.(store.Checkpointer)
	if err := s.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusRunning}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		cp := &store.Checkpoint{DebateID: "d1", Round: i, Phase: "critique", Seq: int64(i+1) * 10, Status: store.StatusRunning, State: json.RawMessage(`{}`)}
		for j := range 10 {
			cp.Events = append(cp.Events, store.Event{Seq: int64(i*10 + j + 1), Type: "critique", JSON: BenchEventJSON})
		}
		if err := cps.SaveCheckpoint(ctx, cp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
}
