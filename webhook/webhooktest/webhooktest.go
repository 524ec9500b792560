// Package webhooktest is the conformance suite every backend of the
// webhook ports (memstore, sqlitestore, pgstore) runs from its own tests:
//
//	func TestWebhookConformance(t *testing.T) {
//		webhooktest.Run(t, func(t *testing.T) webhook.Store {
//			return memstore.New()
//		})
//	}
//
// Run checks the [webhook.Outbox] and [webhook.EndpointStore] contracts,
// including that concurrent claimers never hold one delivery at once and
// concurrent dispatchers never dispatch a message twice, and, for a store
// that also implements them, that [store.OutboxCreator] and
// [store.Leaser].FinishDebate write their outbox messages in the same
// transaction as the debate (both or neither). It is imported only from
// _test.go files.
package webhooktest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/conform"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/webhook"
)

// Factory returns a new, empty store and registers its cleanup with
// t.Cleanup. It is called once per subtest, possibly from parallel subtests.
type Factory func(t *testing.T) webhook.Store

// Run checks that the stores newStore returns honour the contracts of the
// webhook ports. Each check runs as a parallel subtest on its own store.
func Run(t *testing.T, newStore Factory) {
	t.Helper()
	conform.Run(t, newStore, []conform.Case[webhook.Store]{
		{Name: "EnqueueDuplicateConflictsAtomically", Fn: testEnqueueDuplicate},
		{Name: "DispatchFansOutOnceOldestFirst", Fn: testDispatchFansOut},
		{Name: "DispatchLimitAndEmptyRoutes", Fn: testDispatchLimit},
		{Name: "DispatchOverflowsToDeadLetter", Fn: testDispatchOverflow},
		{Name: "ClaimOnlyDueEarliestFirst", Fn: testClaimDue},
		{Name: "ClaimLeaseIsExclusiveUntilExpiry", Fn: testClaimLease},
		{Name: "ClaimReturnsTheMessage", Fn: testClaimMessage},
		{Name: "RecordOutcomes", Fn: testRecordOutcomes},
		{Name: "RecordNeedsTheLease", Fn: testRecordNeedsLease},
		{Name: "ReleaseLeases", Fn: testReleaseLeases},
		{Name: "RequeueDead", Fn: testRequeueDead},
		{Name: "QueueStats", Fn: testQueueStats},
		{Name: "Prune", Fn: testPrune},
		{Name: "Endpoints", Fn: testEndpoints},
		{Name: "ConcurrentClaimersNeverShare", Fn: testConcurrentClaimers},
		{Name: "ConcurrentDispatchersNeverDuplicate", Fn: testConcurrentDispatchers},
		{Name: "CreateDebateWithOutboxIsAtomic", Fn: testCreateWithOutbox},
		{Name: "FinishDebateWritesItsOutbox", Fn: testFinishWithOutbox},
	})
}

// base is conform.Base: round trips check the UTC conversion and
// microsecond precision.
var base = conform.Base

func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

var ctxT = conform.Context

// msg returns a message of type debate.created created at base+offset.
func msg(t *testing.T, offset time.Duration) webhook.Message {
	t.Helper()
	m, err := webhook.NewMessage(webhook.EventDebateCreated, map[string]any{"id": "deb_x", "n": offset.Seconds()},
		base.Add(offset), "corr-"+fmt.Sprint(int(offset.Seconds())))
	require.NoError(t, err)
	m.DebateID = "deb_x"
	return m
}

func to(ids ...string) func(webhook.Message) []string {
	return func(webhook.Message) []string { return ids }
}

// enqueueN enqueues n messages a second apart.
func enqueueN(t *testing.T, s webhook.Store, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, s.EnqueueWebhooks(ctxT(t), msg(t, time.Duration(i)*time.Second)))
	}
}

// seed enqueues n messages a second apart and dispatches them to eps.
func seed(t *testing.T, s webhook.Store, n int, eps ...string) []webhook.Delivery {
	t.Helper()
	enqueueN(t, s, n)
	ds, err := s.DispatchWebhooks(ctxT(t), base.Add(time.Hour), 0, 0, to(eps...))
	require.NoError(t, err)
	require.Len(t, ds, n*len(eps))
	return ds
}

func stats(t *testing.T, s webhook.Store, now time.Time) webhook.QueueStats {
	t.Helper()
	qs, err := s.WebhookQueueStats(ctxT(t), now)
	require.NoError(t, err)
	return qs
}

func testEnqueueDuplicate(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	a, b := msg(t, 0), msg(t, time.Second)
	require.NoError(t, s.EnqueueWebhooks(ctx, a))
	require.ErrorIs(t, s.EnqueueWebhooks(ctx, b, a), store.ErrConflict)
	assert.Equal(t, 1, stats(t, s, base).Undispatched, "b must not be stored with the conflicting a")
	require.ErrorIs(t, s.EnqueueWebhooks(ctx, b, b), store.ErrConflict)
	require.NoError(t, s.EnqueueWebhooks(ctx, b))
	require.NoError(t, s.EnqueueWebhooks(ctx)) // nothing is fine
	assert.Equal(t, 2, stats(t, s, base).Undispatched)
}

func testDispatchFansOut(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	late, early := msg(t, 2*time.Second), msg(t, time.Second)
	require.NoError(t, s.EnqueueWebhooks(ctx, late, early))
	var order []string
	now := base.Add(time.Minute)
	ds, err := s.DispatchWebhooks(ctx, now, 10, 0, func(m webhook.Message) []string {
		order = append(order, m.ID)
		return []string{"env-1", "wh_a", "env-1"} // duplicates ignored
	})
	require.NoError(t, err)
	assert.Equal(t, []string{early.ID, late.ID}, order, "oldest first")
	require.Len(t, ds, 4)
	pairs := map[string]bool{}
	for _, d := range ds {
		assert.NotEmpty(t, d.ID)
		assert.Equal(t, webhook.StatePending, d.State)
		assert.Equal(t, 0, d.Attempts)
		assert.True(t, micro(now).Equal(d.NextAttemptAt), "due at now: %v", d.NextAttemptAt)
		assert.True(t, micro(now).Equal(d.CreatedAt))
		assert.False(t, d.Overflowed)
		pairs[d.MessageID+"/"+d.EndpointID] = true
	}
	assert.Len(t, pairs, 4)
	again, err := s.DispatchWebhooks(ctx, now, 10, 0, to("env-1"))
	require.NoError(t, err)
	assert.Empty(t, again, "a message is dispatched once")
	qs := stats(t, s, now)
	assert.Equal(t, 0, qs.Undispatched)
	assert.Equal(t, 4, qs.Pending)
}

func testDispatchLimit(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	enqueueN(t, s, 5)
	ds, err := s.DispatchWebhooks(ctx, base, 2, 0, to())
	require.NoError(t, err)
	assert.Empty(t, ds, "no endpoint: no delivery")
	assert.Equal(t, 3, stats(t, s, base).Undispatched, "limit 2 took two messages, which are now dispatched")
	ds, err = s.DispatchWebhooks(ctx, base, 0, 0, to("env-1"))
	require.NoError(t, err)
	assert.Len(t, ds, 3)
	assert.Equal(t, 0, stats(t, s, base).Undispatched)
}

func testDispatchOverflow(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	enqueueN(t, s, 3)
	now := base.Add(time.Minute)
	ds, err := s.DispatchWebhooks(ctx, now, 0, 4, to("env-1", "env-2"))
	require.NoError(t, err)
	require.Len(t, ds, 6)
	var pending, dead int
	for _, d := range ds {
		switch d.State {
		case webhook.StatePending:
			pending++
			assert.False(t, d.Overflowed)
		case webhook.StateDead:
			dead++
			assert.True(t, d.Overflowed)
			assert.Equal(t, webhook.ReasonQueueFull, d.DeadReason)
			assert.True(t, micro(now).Equal(d.FinishedAt))
		}
	}
	assert.Equal(t, 4, pending)
	assert.Equal(t, 2, dead)
	qs := stats(t, s, now)
	assert.Equal(t, 4, qs.Pending)
	assert.Equal(t, 2, qs.DeadLetter)
	assert.Equal(t, 2, qs.Overflowed)
}

func testClaimDue(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	seed(t, s, 3, "env-1")
	now := base.Add(time.Hour)
	// Push two into the future: the first claimed to +20 s, the second to +10 s.
	var later []string
	for i, off := range []time.Duration{20 * time.Second, 10 * time.Second} {
		got, err := s.ClaimWebhookDeliveries(ctx, "w", now, time.Minute, 1)
		require.NoError(t, err)
		require.Len(t, got, 1, "limit 1")
		later = append(later, got[0].ID)
		require.NoError(t, s.RecordWebhookResult(ctx, got[0].ID, "w", webhook.Result{Outcome: webhook.OutcomeRetry, At: now,
			NextAttemptAt: now.Add(off), StatusCode: 500, Error: fmt.Sprint("try ", i)}))
	}
	got, err := s.ClaimWebhookDeliveries(ctx, "w", now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 1, "only the third is due")
	assert.NotContains(t, later, got[0].ID)
	got, err = s.ClaimWebhookDeliveries(ctx, "x", now.Add(5*time.Second), time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, got, "nothing due at +5 s; the third is leased")
	got, err = s.ClaimWebhookDeliveries(ctx, "x", now.Add(30*time.Second), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 2, "both retries are due at +30 s; the third is leased by w until +60 s")
	assert.Equal(t, []string{later[1], later[0]}, []string{got[0].ID, got[1].ID}, "earliest due first")
	got, err = s.ClaimWebhookDeliveries(ctx, "y", now.Add(2*time.Hour), time.Minute, 0)
	require.NoError(t, err)
	assert.Len(t, got, 3, "limit 0: every due delivery, expired leases included")
}

func testClaimLease(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	seed(t, s, 2, "env-1")
	now := base.Add(time.Hour)
	a, err := s.ClaimWebhookDeliveries(ctx, "a", now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, a, 2)
	for _, d := range a {
		assert.Equal(t, "a", d.LeaseOwner)
		assert.True(t, micro(now.Add(time.Minute)).Equal(d.LeaseExpiresAt))
	}
	b, err := s.ClaimWebhookDeliveries(ctx, "b", now.Add(59*time.Second), time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, b, "leased by a")
	assert.Equal(t, 2, stats(t, s, now).InFlight)
	b, err = s.ClaimWebhookDeliveries(ctx, "b", now.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	assert.Len(t, b, 2, "a's lease expired")
	require.ErrorIs(t, s.RecordWebhookResult(ctx, a[0].ID, "a", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now}),
		store.ErrConflict, "a lost the lease")
	require.NoError(t, s.RecordWebhookResult(ctx, b[0].ID, "b", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now, StatusCode: 204}))
}

func testClaimMessage(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	m := msg(t, 0)
	require.NoError(t, s.EnqueueWebhooks(ctx, m))
	_, err := s.DispatchWebhooks(ctx, base, 0, 0, to("wh_1"))
	require.NoError(t, err)
	got, err := s.ClaimWebhookDeliveries(ctx, "a", base, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	d := got[0]
	assert.Equal(t, m.ID, d.MessageID)
	assert.Equal(t, "wh_1", d.EndpointID)
	assert.Equal(t, m.ID, d.Message.ID)
	assert.Equal(t, m.Type, d.Message.Type)
	assert.JSONEq(t, string(m.Payload), string(d.Message.Payload))
	assert.Equal(t, string(m.Payload), string(d.Message.Payload), "the payload is delivered byte for byte")
	assert.Equal(t, m.CorrelationID, d.Message.CorrelationID)
	assert.Equal(t, "deb_x", d.Message.DebateID)
	assert.True(t, micro(m.CreatedAt).Equal(d.Message.CreatedAt))
	assert.Equal(t, time.UTC, d.Message.CreatedAt.Location())
	var p struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(d.Message.Payload, &p))
	assert.Equal(t, webhook.EventDebateCreated, p.Type)
}

func claimOne(t *testing.T, s webhook.Store, owner string, now time.Time) webhook.Delivery {
	t.Helper()
	got, err := s.ClaimWebhookDeliveries(ctxT(t), owner, now, time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	return got[0]
}

func testRecordOutcomes(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	seed(t, s, 1, "ok", "retry", "dead", "defer")
	now := base.Add(time.Hour)
	results := map[string]webhook.Result{
		"ok":    {Outcome: webhook.OutcomeSuccess, At: now, StatusCode: 200},
		"retry": {Outcome: webhook.OutcomeRetry, At: now, StatusCode: 503, Error: "HTTP 503", NextAttemptAt: now.Add(5 * time.Second)},
		"dead":  {Outcome: webhook.OutcomeDeadLetter, At: now, StatusCode: 500, Error: "HTTP 500", DeadReason: webhook.ReasonMaxAttempts},
		"defer": {Outcome: webhook.OutcomeDeferred, At: now, NextAttemptAt: now.Add(time.Minute)},
	}
	got, err := s.ClaimWebhookDeliveries(ctx, "w", now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 4)
	for _, d := range got {
		require.NoError(t, s.RecordWebhookResult(ctx, d.ID, "w", results[d.EndpointID]))
	}
	qs := stats(t, s, now)
	assert.Equal(t, 2, qs.Pending, "retry and defer stay pending")
	assert.Equal(t, 1, qs.DeadLetter)
	assert.Equal(t, 0, qs.InFlight, "the leases are dropped")
	assert.True(t, micro(now.Add(5*time.Second)).Equal(qs.NextAttemptAt))

	// The retried delivery comes back at its time with one attempt and the last answer.
	d := claimOne(t, s, "w", now.Add(5*time.Second))
	assert.Equal(t, "retry", d.EndpointID)
	assert.Equal(t, 1, d.Attempts)
	assert.Equal(t, 503, d.LastStatusCode)
	assert.Equal(t, "HTTP 503", d.LastError)
	assert.True(t, micro(now).Equal(d.LastAttemptAt))
	require.NoError(t, s.RecordWebhookResult(ctx, d.ID, "w", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now.Add(6 * time.Second), StatusCode: 202}))
	// The deferred one: no attempt counted.
	d = claimOne(t, s, "w", now.Add(time.Minute))
	assert.Equal(t, "defer", d.EndpointID)
	assert.Equal(t, 0, d.Attempts)
	assert.True(t, d.LastAttemptAt.IsZero())
	// Finished deliveries take no further result.
	for _, g := range got {
		if g.EndpointID == "ok" || g.EndpointID == "dead" {
			require.ErrorIs(t, s.RecordWebhookResult(ctx, g.ID, "w", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now}), store.ErrConflict)
		}
	}
}

func testRecordNeedsLease(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	ds := seed(t, s, 1, "env-1")
	now := base.Add(time.Hour)
	require.ErrorIs(t, s.RecordWebhookResult(ctx, "dlv_none", "w", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now}), store.ErrNotFound)
	require.ErrorIs(t, s.RecordWebhookResult(ctx, ds[0].ID, "w", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now}),
		store.ErrConflict, "never claimed")
	d := claimOne(t, s, "w", now)
	require.ErrorIs(t, s.RecordWebhookResult(ctx, d.ID, "other", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now}), store.ErrConflict)
	// An expired lease nobody took over still counts as held.
	require.NoError(t, s.RecordWebhookResult(ctx, d.ID, "w", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now.Add(time.Hour)}))
}

func testReleaseLeases(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	seed(t, s, 3, "env-1")
	now := base.Add(time.Hour)
	_ = claimOne(t, s, "a", now)
	_ = claimOne(t, s, "a", now)
	_ = claimOne(t, s, "b", now)
	n, err := s.ReleaseWebhookLeases(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	got, err := s.ClaimWebhookDeliveries(ctx, "c", now, time.Minute, 10)
	require.NoError(t, err)
	assert.Len(t, got, 2, "a's two are free again; b's is still leased")
	n, err = s.ReleaseWebhookLeases(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, 0, stats(t, s, now).InFlight)
}

func testRequeueDead(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	enqueueN(t, s, 4)
	now := base.Add(time.Hour)
	// capacity 1: of 8 deliveries one is pending, seven overflow.
	ds, err := s.DispatchWebhooks(ctx, now, 0, 1, to("live", "gone"))
	require.NoError(t, err)
	require.Len(t, ds, 8)
	d := claimOne(t, s, "w", now)
	require.NoError(t, s.RecordWebhookResult(ctx, d.ID, "w", webhook.Result{Outcome: webhook.OutcomeDeadLetter, At: now,
		StatusCode: 500, Error: "HTTP 500", DeadReason: webhook.ReasonMaxAttempts}))
	assert.Equal(t, 8, stats(t, s, now).DeadLetter)

	later := now.Add(time.Minute)
	n, skipped, err := s.RequeueDeadWebhooks(ctx, webhook.RequeueFilter{EndpointID: "live", Live: []string{"live"}, Max: 2}, later)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, 0, skipped, "gone's deliveries are out of the filter")
	n, skipped, err = s.RequeueDeadWebhooks(ctx, webhook.RequeueFilter{Live: []string{"live"}}, later)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the rest of live's")
	assert.Equal(t, 4, skipped, "gone no longer exists")
	qs := stats(t, s, later)
	assert.Equal(t, 4, qs.Pending)
	assert.Equal(t, 4, qs.DeadLetter)
	assert.Equal(t, 7, qs.Overflowed, "overflowed stays set after a requeue")
	got, err := s.ClaimWebhookDeliveries(ctx, "w", later, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 4, "requeued deliveries are due at once")
	for _, g := range got {
		assert.Equal(t, "live", g.EndpointID)
		assert.Equal(t, 0, g.Attempts, "attempts reset")
		assert.Empty(t, g.DeadReason)
		assert.True(t, g.FinishedAt.IsZero())
	}
}

func testQueueStats(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	now := base.Add(time.Hour)
	assert.Equal(t, webhook.QueueStats{}, stats(t, s, now), "empty")
	old := msg(t, -time.Hour)
	require.NoError(t, s.EnqueueWebhooks(ctx, old))
	qs := stats(t, s, now)
	assert.Equal(t, 1, qs.Undispatched)
	assert.True(t, micro(old.CreatedAt).Equal(qs.OldestAt), "an undispatched message counts for the oldest age")
	_, err := s.DispatchWebhooks(ctx, now, 0, 0, to()) // to nobody
	require.NoError(t, err)
	seed(t, s, 2, "env-1")
	qs = stats(t, s, now)
	assert.Equal(t, 2, qs.Pending)
	assert.Equal(t, 0, qs.Undispatched)
	assert.True(t, micro(base.Add(time.Hour)).Equal(qs.OldestAt), "deliveries count from their creation")
	_ = claimOne(t, s, "w", now)
	qs = stats(t, s, now)
	assert.Equal(t, 1, qs.InFlight)
	assert.True(t, micro(now).Equal(qs.NextAttemptAt), "the one not in flight")
	assert.Equal(t, 0, stats(t, s, now.Add(2*time.Minute)).InFlight, "an expired lease is not in flight")
}

func testPrune(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	seed(t, s, 2, "env-1")
	now := base.Add(time.Hour)
	d := claimOne(t, s, "w", now)
	require.NoError(t, s.RecordWebhookResult(ctx, d.ID, "w", webhook.Result{Outcome: webhook.OutcomeSuccess, At: now}))
	require.NoError(t, s.EnqueueWebhooks(ctx, msg(t, 10*time.Second))) // undispatched: never pruned
	n, err := s.PruneWebhooks(ctx, now)
	require.NoError(t, err)
	assert.Equal(t, int64(0), n, "nothing finished before now")
	n, err = s.PruneWebhooks(ctx, now.Add(time.Second))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "the delivered delivery and its message")
	qs := stats(t, s, now)
	assert.Equal(t, 1, qs.Pending)
	assert.Equal(t, 1, qs.Undispatched)
	got, err := s.ClaimWebhookDeliveries(ctx, "w", now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.NotEmpty(t, got[0].Message.Payload, "a pending delivery keeps its message")
}

func testEndpoints(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	list, err := s.ListWebhookEndpoints(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	e2 := &webhook.Endpoint{ID: "wh_2", URL: "https://b.example/h?k=v", Secret: "sealed:v1:xyz", Events: []string{"debate.finished", "consensus.reached"},
		Description: "second", CreatedAt: base.Add(time.Second)}
	e1 := &webhook.Endpoint{ID: "wh_1", URL: "https://a.example/h", Secret: webhook.NewSecret(), Events: []string{"*"}, CreatedAt: base}
	require.NoError(t, s.CreateWebhookEndpoint(ctx, e2))
	require.NoError(t, s.CreateWebhookEndpoint(ctx, e1))
	require.ErrorIs(t, s.CreateWebhookEndpoint(ctx, &webhook.Endpoint{ID: "wh_1", URL: "https://c.example", CreatedAt: base}), store.ErrConflict)
	list, err = s.ListWebhookEndpoints(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "wh_1", list[0].ID, "oldest first")
	got := list[1]
	assert.Equal(t, e2.URL, got.URL)
	assert.Equal(t, e2.Secret, got.Secret)
	assert.Equal(t, e2.Events, got.Events)
	assert.Equal(t, "second", got.Description)
	assert.True(t, micro(e2.CreatedAt).Equal(got.CreatedAt))
	assert.Equal(t, time.UTC, got.CreatedAt.Location())
	assert.False(t, got.Disabled())

	require.NoError(t, s.DisableWebhookEndpoint(ctx, "wh_2", "410 Gone", base.Add(time.Hour)))
	require.NoError(t, s.DisableWebhookEndpoint(ctx, "wh_2", "later", base.Add(2*time.Hour)))
	require.ErrorIs(t, s.DisableWebhookEndpoint(ctx, "wh_none", "x", base), store.ErrNotFound)
	list, err = s.ListWebhookEndpoints(ctx)
	require.NoError(t, err)
	assert.True(t, micro(base.Add(time.Hour)).Equal(list[1].DisabledAt), "the first disable stands")
	assert.Equal(t, "410 Gone", list[1].DisabledReason)

	require.NoError(t, s.DeleteWebhookEndpoint(ctx, "wh_1"))
	require.ErrorIs(t, s.DeleteWebhookEndpoint(ctx, "wh_1"), store.ErrNotFound)
	list, err = s.ListWebhookEndpoints(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "wh_2", list[0].ID)
}

func testConcurrentClaimers(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	const n = 40
	seed(t, s, n, "env-1")
	now := base.Add(time.Hour)
	var mu sync.Mutex
	holders := map[string][]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprint("w", w)
			for {
				got, err := s.ClaimWebhookDeliveries(ctx, owner, now, time.Hour, 3)
				if !assert.NoError(t, err) || len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					holders[d.ID] = append(holders[d.ID], owner)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, holders, n, "every delivery was claimed")
	for id, hs := range holders {
		assert.Len(t, hs, 1, "delivery %s claimed by %v while leased", id, hs)
	}
}

func testConcurrentDispatchers(t *testing.T, s webhook.Store) {
	ctx := ctxT(t)
	const n = 30
	for i := range n {
		require.NoError(t, s.EnqueueWebhooks(ctx, msg(t, time.Duration(i)*time.Second)))
	}
	var mu sync.Mutex
	var all []webhook.Delivery
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.DispatchWebhooks(ctx, base.Add(time.Hour), 4, 0, to("env-1", "env-2"))
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				all = append(all, ds...)
				mu.Unlock()
				if len(ds) == 0 && stats(t, s, base).Undispatched == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, all, 2*n)
	seen := map[string]bool{}
	for _, d := range all {
		key := d.MessageID + "/" + d.EndpointID
		assert.False(t, seen[key], "dispatched twice: %s", key)
		seen[key] = true
	}
	ids := make([]string, 0, len(all))
	for _, d := range all {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	assert.Len(t, slices.Compact(ids), 2*n, "delivery ids are unique")
}

func debateRecord(id string) *store.Debate {
	return &store.Debate{ID: id, Topic: "t", Status: store.StatusPending, Owner: "o", CorrelationID: "corr-" + id,
		Config: json.RawMessage(`{}`), CreatedAt: base, UpdatedAt: base}
}

func testCreateWithOutbox(t *testing.T, s webhook.Store) {
	oc, ok1 := s.(store.OutboxCreator)
	ds, ok2 := s.(store.DebateStore)
	if !ok1 || !ok2 {
		return // not applicable: the store creates no debates with outbox messages
	}
	ctx := ctxT(t)
	m1, m2 := msg(t, 0), msg(t, time.Second)
	require.NoError(t, oc.CreateDebateWithOutbox(ctx, debateRecord("deb_1"), []store.OutboxMessage{m1, m2}))
	assert.Equal(t, 2, stats(t, s, base).Undispatched, "the messages exist with the debate")

	// A conflicting debate id stores none of its messages.
	m3 := msg(t, 2*time.Second)
	require.ErrorIs(t, oc.CreateDebateWithOutbox(ctx, debateRecord("deb_1"), []store.OutboxMessage{m3}), store.ErrConflict)
	assert.Equal(t, 2, stats(t, s, base).Undispatched)
	// A conflicting message id stores no debate.
	require.ErrorIs(t, oc.CreateDebateWithOutbox(ctx, debateRecord("deb_2"), []store.OutboxMessage{m3, m1}), store.ErrConflict)
	_, err := ds.GetDebate(ctx, "deb_2")
	require.ErrorIs(t, err, store.ErrNotFound, "the debate was rolled back with its messages")
	assert.Equal(t, 2, stats(t, s, base).Undispatched)
	require.NoError(t, s.EnqueueWebhooks(ctx, m3), "m3 was not stored by the failed writes")

	got, err := s.DispatchWebhooks(ctx, base, 0, 0, to("env-1"))
	require.NoError(t, err)
	require.Len(t, got, 3)
	claimed, err := s.ClaimWebhookDeliveries(ctx, "w", base, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 3)
	for _, d := range claimed {
		assert.Equal(t, "deb_x", d.Message.DebateID)
		assert.NotEmpty(t, d.Message.Payload)
	}
}

func testFinishWithOutbox(t *testing.T, s webhook.Store) {
	l, ok1 := s.(store.Leaser)
	ds, ok2 := s.(store.DebateStore)
	if !ok1 || !ok2 {
		return // not applicable: the store finishes no debates
	}
	ctx := ctxT(t)
	for _, id := range []string{"deb_a", "deb_b"} {
		require.NoError(t, ds.CreateDebate(ctx, debateRecord(id)))
	}
	done := msg(t, time.Minute)
	require.NoError(t, l.FinishDebate(ctx, "deb_a", &store.Finish{Status: store.StatusFailed,
		Final: store.Final{Result: json.RawMessage(`{"status":"failed"}`), Outbox: []store.OutboxMessage{done}}}, base.Add(time.Minute)))
	assert.Equal(t, 1, stats(t, s, base).Undispatched, "debate.finished is written with the final status")
	d, err := ds.GetDebate(ctx, "deb_a")
	require.NoError(t, err)
	assert.Equal(t, store.StatusFailed, d.Status)

	// A message id that exists refuses the whole finish.
	err = l.FinishDebate(ctx, "deb_b", &store.Finish{Status: store.StatusFailed,
		Final: store.Final{Outbox: []store.OutboxMessage{msg(t, 2*time.Minute), done}}}, base.Add(2*time.Minute))
	require.ErrorIs(t, err, store.ErrConflict)
	d, err = ds.GetDebate(ctx, "deb_b")
	require.NoError(t, err)
	assert.Equal(t, store.StatusPending, d.Status, "nothing was written")
	assert.Equal(t, 1, stats(t, s, base).Undispatched)
}
