// Package storetest is the conformance suite every primary store backend
// (memstore, sqlitestore, pgstore) runs from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.DebateStore {
//			s := memstore.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run checks the [store.DebateStore] contract and, when the store implements
// them, the optional capabilities ([store.Checkpointer], [store.Leaser],
// [store.IdempotencyStore], [store.RatingStore], [store.NomicStore]). It is imported only from
// _test.go files.
package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/conform"
	"github.com/aragora/aragora/store"
)

// Factory returns a new, empty store and registers its cleanup with
// t.Cleanup. It is called once per subtest, possibly from parallel subtests.
type Factory func(t *testing.T) store.DebateStore

type test = conform.Case[store.DebateStore]

// Run checks that the stores newStore returns honour the contracts
// documented on the store ports. Each check runs as a parallel subtest on
// its own store; checks of an optional capability the store lacks are
// skipped silently (they are not applicable, not disabled).
func Run(t *testing.T, newStore Factory) {
	t.Helper()
	groups := []struct {
		name  string
		has   func(store.DebateStore) bool
		tests []test
	}{
		{"Debates", func(store.DebateStore) bool { return true }, debateTests},
		{"Checkpoints", func(s store.DebateStore) bool { _, ok := s.(store.Checkpointer); return ok }, checkpointTests},
		{"Leases", func(s store.DebateStore) bool { _, ok := s.(store.Leaser); return ok }, leaseTests},
		{"Idempotency", func(s store.DebateStore) bool { _, ok := s.(store.IdempotencyStore); return ok }, idempotencyTests},
		{"Ratings", func(s store.DebateStore) bool { _, ok := s.(store.RatingStore); return ok }, ratingTests},
		{"Auth", func(s store.DebateStore) bool { _, ok := s.(AuthStore); return ok }, authTests},
		{"Nomic", func(s store.DebateStore) bool { _, ok := s.(store.NomicStore); return ok }, nomicTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			probe := newStore(t)
			if !g.has(probe) {
				return
			}
			conform.Run(t, newStore, g.tests)
		})
	}
}

// base is conform.Base: round trips check the UTC conversion and
// microsecond precision.
var base = conform.Base

var ctxT = conform.Context

func newDebate(id string, created time.Time) *store.Debate {
	return &store.Debate{
		ID:            id,
		Topic:         "topic " + id,
		Status:        store.StatusPending,
		Owner:         "owner-1",
		CorrelationID: "corr-" + id,
		Config:        json.RawMessage(`{"rounds":3}`),
		CreatedAt:     created,
		UpdatedAt:     created,
	}
}

func mustCreate(t *testing.T, s store.DebateStore, d *store.Debate) {
	t.Helper()
	require.NoError(t, s.CreateDebate(ctxT(t), d))
}

// micro is what a store returns for t: UTC, truncated to microseconds.
func micro(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// assertTime checks got is want in UTC at microsecond precision.
func assertTime(t *testing.T, want, got time.Time, field string) {
	t.Helper()
	if want.IsZero() {
		assert.True(t, got.IsZero(), "%s: want zero time, got %v", field, got)
		return
	}
	assert.True(t, micro(want).Equal(got), "%s: want %v, got %v", field, micro(want), got)
	assert.Equal(t, time.UTC, got.Location(), "%s location", field)
}

func ids(ds []*store.Debate) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func event(debateID string, seq int64) store.Event {
	return store.Event{
		DebateID: debateID,
		Seq:      seq,
		Type:     "message",
		JSON:     json.RawMessage(fmt.Sprintf(`{"type":"message","seq":%d,"data":{"text":"héllo \u2603"}}`, seq)),
	}
}

func events(debateID string, from, to int64) []store.Event {
	var out []store.Event
	for s := from; s <= to; s++ {
		out = append(out, event(debateID, s))
	}
	return out
}
