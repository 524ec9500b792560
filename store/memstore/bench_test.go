package memstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// BenchmarkSaveCheckpoint appends batches of 10 events.
func BenchmarkSaveCheckpoint(b *testing.B) {
	ctx := context.Background()
	s := memstore.New()
	js := json.RawMessage(`{"seq":0,"type":"critique","round":1,"agent":"gpt-4","data":{"issues":["a","b"],"severity":6.5}}`)
	b.ReportAllocs()
	for i := range b.N {
		cp := &store.Checkpoint{DebateID: "d1", Round: i, Phase: "critique", Seq: int64(i+1) * 10, Status: store.StatusRunning, State: json.RawMessage(`{}`)}
		for j := range 10 {
			cp.Events = append(cp.Events, store.Event{Seq: int64(i*10 + j + 1), Type: "critique", JSON: js})
		}
		if err := s.SaveCheckpoint(ctx, cp); err != nil {
			b.Fatal(err)
		}
	}
}
