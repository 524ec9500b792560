package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

func cp(from, to int64) *store.Checkpoint {
	c := &store.Checkpoint{DebateID: "d", Round: 1, Phase: "vote", Seq: to, Status: store.StatusRunning, State: json.RawMessage(`{"a":1}`)}
	for s := from; s <= to; s++ {
		c.Events = append(c.Events, store.Event{Seq: s, Type: "vote", JSON: json.RawMessage(`{}`)})
	}
	return c
}

func TestCheckpointDigest(t *testing.T) {
	t.Parallel()
	a, b := cp(4, 6), cp(4, 6)
	b.CreatedAt = time.Now()
	b.Events[0].DebateID = "d"
	assert.Equal(t, store.CheckpointDigest(a), store.CheckpointDigest(b), "time and event debate ids are not identity")
	changes := map[string]func(*store.Checkpoint){
		"state":      func(c *store.Checkpoint) { c.State = json.RawMessage(`{"a":2}`) },
		"status":     func(c *store.Checkpoint) { c.Status = store.StatusFailed },
		"event json": func(c *store.Checkpoint) { c.Events[2].JSON = json.RawMessage(`{ }`) },
		"event type": func(c *store.Checkpoint) { c.Events[1].Type = "x" },
		"phase":      func(c *store.Checkpoint) { c.Phase = "votes" },
		"round":      func(c *store.Checkpoint) { c.Round = 2 },
		"no events":  func(c *store.Checkpoint) { c.Events = nil },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := cp(4, 6)
			change(c)
			assert.NotEqual(t, store.CheckpointDigest(a), store.CheckpointDigest(c))
		})
	}
	assert.NotEmpty(t, store.CheckpointDigest(nil))
}

func TestCheckBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cp   *store.Checkpoint
		last int64
		ok   bool
	}{
		{"continues", cp(4, 6), 3, true},
		{"empty batch keeps seq", cp(4, 3), 3, true},
		{"first batch", cp(1, 2), 0, true},
		{"gap", cp(5, 6), 3, false},
		{"duplicate", cp(3, 6), 3, false},
		{"empty batch with other seq", cp(5, 4), 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := store.CheckBatch(tt.cp, tt.last)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, store.ErrConflict)
			}
		})
	}
}
