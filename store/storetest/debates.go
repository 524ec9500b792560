package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
)

var debateTests = []test{
	{Name: "GetMissingIsNotFound", Fn: testGetMissing},
	{Name: "DuplicateCreateConflicts", Fn: testDuplicateCreate},
	{Name: "RoundTripsEveryField", Fn: testRoundTrip},
	{Name: "ListNewestFirst", Fn: testListOrder},
	{Name: "ListFilters", Fn: testListFilters},
	{Name: "ListLimitDefault", Fn: testListLimitDefault},
	{Name: "CursorStableUnderInserts", Fn: testCursorPagination},
	{Name: "ReturnedValuesAreCopies", Fn: testCopies},
}

func testGetMissing(t *testing.T, s store.DebateStore) {
	_, err := s.GetDebate(ctxT(t), "no-such-debate")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDuplicateCreate(t *testing.T, s store.DebateStore) {
	mustCreate(t, s, newDebate("d1", base))
	dup := newDebate("d1", base.Add(time.Hour))
	dup.Topic = "another"
	err := s.CreateDebate(ctxT(t), dup)
	require.ErrorIs(t, err, store.ErrConflict)
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, "topic d1", got.Topic, "the first record is kept")
}

func testRoundTrip(t *testing.T, s store.DebateStore) {
	tests := []struct {
		name string
		d    *store.Debate
	}{
		{name: "pending, zero optional times, null result", d: newDebate("pending", base)},
		{name: "finished, every field set", d: &store.Debate{
			ID:            "finished",
			Topic:         "Which database? 🐘 \"quoted\" 'single'",
			Status:        store.StatusConsensusReached,
			Owner:         "user-42",
			CorrelationID: "c0ffee",
			Config:        json.RawMessage(`{"agents":["a","b"],"rounds":2}`),
			Result:        json.RawMessage(`{"winner":"a","confidence":0.75}`),
			LastSeq:       17,
			CreatedAt:     base,
			UpdatedAt:     base.Add(90 * time.Second),
			StartedAt:     base.Add(time.Second + 123456789),
			FinishedAt:    base.Add(2*time.Minute + 1),
		}},
		{name: "empty strings and nil config", d: &store.Debate{ID: "bare", Status: store.StatusRunning, CreatedAt: base}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustCreate(t, s, tt.d)
			got, err := s.GetDebate(ctxT(t), tt.d.ID)
			require.NoError(t, err)
			assert.Equal(t, tt.d.ID, got.ID)
			assert.Equal(t, tt.d.Topic, got.Topic)
			assert.Equal(t, tt.d.Status, got.Status)
			assert.Equal(t, tt.d.Owner, got.Owner)
			assert.Equal(t, tt.d.CorrelationID, got.CorrelationID)
			assertJSON(t, tt.d.Config, got.Config, "Config")
			assertJSON(t, tt.d.Result, got.Result, "Result")
			assert.Equal(t, tt.d.LastSeq, got.LastSeq)
			assertTime(t, tt.d.CreatedAt, got.CreatedAt, "CreatedAt")
			assertTime(t, tt.d.UpdatedAt, got.UpdatedAt, "UpdatedAt")
			assertTime(t, tt.d.StartedAt, got.StartedAt, "StartedAt")
			assertTime(t, tt.d.FinishedAt, got.FinishedAt, "FinishedAt")
		})
	}
}

// assertJSON checks a stored JSON document comes back byte for byte; an
// absent document (nil or empty) may come back as nil or empty.
func assertJSON(t *testing.T, want, got json.RawMessage, field string) {
	t.Helper()
	if len(want) == 0 {
		assert.Empty(t, got, field)
		return
	}
	assert.Equal(t, string(want), string(got), field)
}

func testListOrder(t *testing.T, s store.DebateStore) {
	// Same CreatedAt for b and c: ID desc breaks the tie.
	mustCreate(t, s, newDebate("a", base))
	mustCreate(t, s, newDebate("c", base.Add(time.Minute)))
	mustCreate(t, s, newDebate("b", base.Add(time.Minute)))
	mustCreate(t, s, newDebate("d", base.Add(-time.Minute)))
	mustCreate(t, s, newDebate("e", base.Add(time.Microsecond)))
	got, err := s.ListDebates(ctxT(t), store.Filter{})
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "b", "e", "a", "d"}, ids(got))
}

func testListFilters(t *testing.T, s store.DebateStore) {
	mk := func(id string, status store.Status, owner string, minute int) {
		d := newDebate(id, base.Add(time.Duration(minute)*time.Minute))
		d.Status, d.Owner = status, owner
		mustCreate(t, s, d)
	}
	mk("p1", store.StatusPending, "alice", 1)
	mk("r1", store.StatusRunning, "alice", 2)
	mk("r2", store.StatusRunning, "bob", 3)
	mk("f1", store.StatusFailed, "bob", 4)
	mk("c1", store.StatusConsensusReached, "alice", 5)
	tests := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{name: "no filter", f: store.Filter{}, want: []string{"c1", "f1", "r2", "r1", "p1"}},
		{name: "one status", f: store.Filter{Statuses: []store.Status{store.StatusRunning}}, want: []string{"r2", "r1"}},
		{name: "two statuses", f: store.Filter{Statuses: []store.Status{store.StatusFailed, store.StatusPending}}, want: []string{"f1", "p1"}},
		{name: "owner", f: store.Filter{Owner: "alice"}, want: []string{"c1", "r1", "p1"}},
		{name: "owner and status", f: store.Filter{Owner: "bob", Statuses: []store.Status{store.StatusRunning}}, want: []string{"r2"}},
		{name: "limit", f: store.Filter{Limit: 2}, want: []string{"c1", "f1"}},
		{name: "no match", f: store.Filter{Owner: "carol"}, want: []string{}},
		{name: "unknown status", f: store.Filter{Statuses: []store.Status{"nope"}}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListDebates(ctxT(t), tt.f)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(got))
		})
	}
}

func testListLimitDefault(t *testing.T, s store.DebateStore) {
	for i := range 55 {
		mustCreate(t, s, newDebate(fmt.Sprintf("d%02d", i), base.Add(time.Duration(i)*time.Second)))
	}
	got, err := s.ListDebates(ctxT(t), store.Filter{})
	require.NoError(t, err)
	require.Len(t, got, 50)
	assert.Equal(t, "d54", got[0].ID)
	assert.Equal(t, "d05", got[49].ID)
}

func testCursorPagination(t *testing.T, s store.DebateStore) {
	// 7 debates, two sharing a CreatedAt across the page boundary.
	for i, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		created := base.Add(time.Duration(i) * time.Second)
		if id == "e" {
			created = base.Add(3 * time.Second) // same as "d"
		}
		mustCreate(t, s, newDebate(id, created))
	}
	page1, err := s.ListDebates(ctxT(t), store.Filter{Limit: 3})
	require.NoError(t, err)
	require.Equal(t, []string{"g", "f", "e"}, ids(page1))

	// Newer debates arrive between pages; they must not shift page 2.
	mustCreate(t, s, newDebate("h", base.Add(time.Hour)))
	mustCreate(t, s, newDebate("i", base.Add(2*time.Hour)))

	next := func(page []*store.Debate) *store.Cursor {
		last := page[len(page)-1]
		return &store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	page2, err := s.ListDebates(ctxT(t), store.Filter{Limit: 3, Cursor: next(page1)})
	require.NoError(t, err)
	require.Equal(t, []string{"d", "c", "b"}, ids(page2))
	page3, err := s.ListDebates(ctxT(t), store.Filter{Limit: 3, Cursor: next(page2)})
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, ids(page3))
	page4, err := s.ListDebates(ctxT(t), store.Filter{Limit: 3, Cursor: next(page3)})
	require.NoError(t, err)
	assert.Empty(t, page4)

	// A cursor built from the caller's own (non-UTC, nanosecond) time works too.
	page, err := s.ListDebates(ctxT(t), store.Filter{Limit: 2, Cursor: &store.Cursor{CreatedAt: base.Add(3 * time.Second), ID: "e"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"d", "c"}, ids(page))
}

func testCopies(t *testing.T, s store.DebateStore) {
	d := newDebate("d1", base)
	mustCreate(t, s, d)
	d.Topic = "changed after create"
	d.Config[0] = 'X'
	got, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, "topic d1", got.Topic)
	assert.Equal(t, `{"rounds":3}`, string(got.Config))
	got.Config[0] = 'Y'
	again, err := s.GetDebate(ctxT(t), "d1")
	require.NoError(t, err)
	assert.Equal(t, `{"rounds":3}`, string(again.Config))
}
