package memstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()

	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.CreateDebate(ctx, &store.Debate{ID: "d1", Topic: "Which database?", Status: store.StatusRunning, CreatedAt: now, UpdatedAt: now}); err != nil {
		log.Fatal(err)
	}
	// The orchestrator writes each phase's events with its checkpoint.
	err := s.SaveCheckpoint(ctx, &store.Checkpoint{
		DebateID: "d1", Round: 0, Phase: "end", Seq: 2, Status: store.StatusConsensusReached,
		State: json.RawMessage(`{}`),
		Events: []store.Event{
			{Seq: 1, Type: "debate_start", JSON: json.RawMessage(`{"type":"debate_start"}`)},
			{Seq: 2, Type: "debate_end", JSON: json.RawMessage(`{"type":"debate_end"}`)},
		},
		CreatedAt: now.Add(time.Minute),
	})
	if err != nil {
		log.Fatal(err)
	}
	d, _ := s.GetDebate(ctx, "d1")
	fmt.Println(d.Status, d.LastSeq, d.FinishedAt.Format(time.TimeOnly))

	evs, _ := s.ListEvents(ctx, "d1", 1, 0)
	fmt.Println(evs[0].Seq, evs[0].Type)

	_, err = s.GetDebate(ctx, "missing")
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// consensus_reached 2 03:05:05
	// 2 debate_end
	// true
}
