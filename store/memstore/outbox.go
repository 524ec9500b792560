package memstore

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aragora/aragora/internal/ulid"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/webhook"
)

// Interface guards.
var (
	_ webhook.Outbox        = (*Outbox)(nil)
	_ webhook.EndpointStore = (*Outbox)(nil)
	_ webhook.Store         = (*Store)(nil)
)

// Outbox is the in-memory webhook outbox and endpoint store
// ([webhook.Outbox], [webhook.EndpointStore]); it passes webhooktest.Run.
// It is safe for concurrent use; the zero value is not usable, call
// [NewOutbox]. Store embeds one, so that debate writes can add their
// messages under the store's lock.
type Outbox struct {
	mu         sync.Mutex
	msgs       map[string]*outboxMsg
	deliveries map[string]*webhook.Delivery
	pairs      map[[2]string]bool // (message, endpoint) of every delivery
	endpoints  map[string]*webhook.Endpoint
}

type outboxMsg struct {
	msg          webhook.Message
	dispatchedAt time.Time
}

// NewOutbox returns an empty outbox.
func NewOutbox() *Outbox {
	return &Outbox{msgs: map[string]*outboxMsg{}, deliveries: map[string]*webhook.Delivery{},
		pairs: map[[2]string]bool{}, endpoints: map[string]*webhook.Endpoint{}}
}

// writeOutbox stores msgs as undispatched, all or none: ErrConflict when an
// ID exists or repeats. Debate writes call it while holding Store.mu, so the
// messages appear with the change that caused them.
func (o *Outbox) writeOutbox(msgs []webhook.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.checkLocked(msgs); err != nil {
		return err
	}
	for _, m := range msgs {
		c := m
		c.Payload = bytes.Clone(m.Payload)
		c.CreatedAt = normTime(m.CreatedAt)
		o.msgs[m.ID] = &outboxMsg{msg: c}
	}
	return nil
}

// checkOutbox reports what writeOutbox would refuse, writing nothing.
func (o *Outbox) checkOutbox(msgs []webhook.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.checkLocked(msgs)
}

func (o *Outbox) checkLocked(msgs []webhook.Message) error {
	seen := map[string]bool{}
	for _, m := range msgs {
		if m.ID == "" {
			return fmt.Errorf("memstore: outbox message: empty id")
		}
		if _, ok := o.msgs[m.ID]; ok || seen[m.ID] {
			return fmt.Errorf("memstore: outbox message %q: %w", m.ID, store.ErrConflict)
		}
		seen[m.ID] = true
	}
	return nil
}

// EnqueueWebhooks implements webhook.Outbox.
func (o *Outbox) EnqueueWebhooks(ctx context.Context, msgs ...webhook.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return o.writeOutbox(msgs)
}

func (o *Outbox) pendingCount() int {
	n := 0
	for _, d := range o.deliveries {
		if d.State == webhook.StatePending {
			n++
		}
	}
	return n
}

// DispatchWebhooks implements webhook.Outbox.
func (o *Outbox) DispatchWebhooks(ctx context.Context, now time.Time, limit, capacity int, route func(webhook.Message) []string) ([]webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now = normTime(now)
	o.mu.Lock()
	defer o.mu.Unlock()
	var todo []*outboxMsg
	for _, m := range o.msgs {
		if m.dispatchedAt.IsZero() {
			todo = append(todo, m)
		}
	}
	slices.SortFunc(todo, func(a, b *outboxMsg) int {
		return cmp.Or(a.msg.CreatedAt.Compare(b.msg.CreatedAt), cmp.Compare(a.msg.ID, b.msg.ID))
	})
	if limit > 0 && len(todo) > limit {
		todo = todo[:limit]
	}
	pending := o.pendingCount()
	var out []webhook.Delivery
	for _, m := range todo {
		for _, ep := range route(m.msg) {
			if o.pairs[[2]string{m.msg.ID, ep}] {
				continue
			}
			d := &webhook.Delivery{ID: ulid.New("dlv_", now.UnixMilli()), MessageID: m.msg.ID, EndpointID: ep,
				State: webhook.StatePending, NextAttemptAt: now, CreatedAt: now}
			if capacity > 0 && pending >= capacity {
				d.State, d.DeadReason, d.Overflowed, d.FinishedAt = webhook.StateDead, webhook.ReasonQueueFull, true, now
			} else {
				pending++
			}
			o.deliveries[d.ID] = d
			o.pairs[[2]string{m.msg.ID, ep}] = true
			out = append(out, *d)
		}
		m.dispatchedAt = now
	}
	return out, nil
}

// ClaimWebhookDeliveries implements webhook.Outbox.
func (o *Outbox) ClaimWebhookDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]webhook.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now = normTime(now)
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []*webhook.Delivery
	for _, d := range o.deliveries {
		if d.State == webhook.StatePending && !d.NextAttemptAt.After(now) && (d.LeaseOwner == "" || !d.LeaseExpiresAt.After(now)) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b *webhook.Delivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	out := make([]webhook.Delivery, 0, len(due))
	for _, d := range due {
		d.LeaseOwner, d.LeaseExpiresAt = owner, normTime(now.Add(lease))
		c := *d
		m := o.msgs[d.MessageID].msg
		m.Payload = bytes.Clone(m.Payload)
		c.Message = m
		out = append(out, c)
	}
	return out, nil
}

// RecordWebhookResult implements webhook.Outbox.
func (o *Outbox) RecordWebhookResult(ctx context.Context, id, owner string, r webhook.Result) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.deliveries[id]
	if !ok {
		return fmt.Errorf("memstore: webhook delivery %q: %w", id, store.ErrNotFound)
	}
	if d.State != webhook.StatePending || d.LeaseOwner != owner {
		return fmt.Errorf("memstore: webhook delivery %q: not leased by %q: %w", id, owner, store.ErrConflict)
	}
	at := normTime(r.At)
	d.LeaseOwner, d.LeaseExpiresAt = "", time.Time{}
	if r.Outcome == webhook.OutcomeDeferred {
		d.NextAttemptAt = normTime(r.NextAttemptAt)
		return nil
	}
	d.Attempts++
	d.LastAttemptAt, d.LastStatusCode, d.LastError = at, r.StatusCode, r.Error
	switch r.Outcome {
	case webhook.OutcomeSuccess:
		d.State, d.FinishedAt = webhook.StateDelivered, at
	case webhook.OutcomeDeadLetter:
		d.State, d.FinishedAt, d.DeadReason = webhook.StateDead, at, r.DeadReason
	default:
		d.NextAttemptAt = normTime(r.NextAttemptAt)
	}
	return nil
}

// ReleaseWebhookLeases implements webhook.Outbox.
func (o *Outbox) ReleaseWebhookLeases(ctx context.Context, owner string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, d := range o.deliveries {
		if d.LeaseOwner != "" && (owner == "" || d.LeaseOwner == owner) {
			d.LeaseOwner, d.LeaseExpiresAt = "", time.Time{}
			n++
		}
	}
	return n, nil
}

// RequeueDeadWebhooks implements webhook.Outbox.
func (o *Outbox) RequeueDeadWebhooks(ctx context.Context, f webhook.RequeueFilter, now time.Time) (requeued, skipped int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	now = normTime(now)
	o.mu.Lock()
	defer o.mu.Unlock()
	var dead []*webhook.Delivery
	for _, d := range o.deliveries {
		if d.State == webhook.StateDead && (f.EndpointID == "" || d.EndpointID == f.EndpointID) {
			if slices.Contains(f.Live, d.EndpointID) {
				dead = append(dead, d)
			} else {
				skipped++
			}
		}
	}
	slices.SortFunc(dead, func(a, b *webhook.Delivery) int {
		return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), cmp.Compare(a.ID, b.ID))
	})
	if f.Max > 0 && len(dead) > f.Max {
		dead = dead[:f.Max]
	}
	for _, d := range dead {
		d.State, d.Attempts, d.NextAttemptAt, d.DeadReason, d.FinishedAt = webhook.StatePending, 0, now, "", time.Time{}
		d.LeaseOwner, d.LeaseExpiresAt = "", time.Time{}
	}
	return len(dead), skipped, nil
}

// WebhookQueueStats implements webhook.Outbox.
func (o *Outbox) WebhookQueueStats(ctx context.Context, now time.Time) (webhook.QueueStats, error) {
	if err := ctx.Err(); err != nil {
		return webhook.QueueStats{}, err
	}
	now = normTime(now)
	o.mu.Lock()
	defer o.mu.Unlock()
	var qs webhook.QueueStats
	older := func(cur *time.Time, t time.Time) {
		if cur.IsZero() || t.Before(*cur) {
			*cur = t
		}
	}
	for _, m := range o.msgs {
		if m.dispatchedAt.IsZero() {
			qs.Undispatched++
			older(&qs.OldestAt, m.msg.CreatedAt)
		}
	}
	for _, d := range o.deliveries {
		if d.Overflowed {
			qs.Overflowed++
		}
		switch d.State {
		case webhook.StateDead:
			qs.DeadLetter++
		case webhook.StatePending:
			qs.Pending++
			older(&qs.OldestAt, d.CreatedAt)
			if d.LeaseOwner != "" && d.LeaseExpiresAt.After(now) {
				qs.InFlight++
			} else {
				older(&qs.NextAttemptAt, d.NextAttemptAt)
			}
		}
	}
	return qs, nil
}

// PruneWebhooks implements webhook.Outbox.
func (o *Outbox) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	before = normTime(before)
	o.mu.Lock()
	defer o.mu.Unlock()
	var n int64
	referenced := map[string]bool{}
	for id, d := range o.deliveries {
		if d.State != webhook.StatePending && d.FinishedAt.Before(before) {
			delete(o.deliveries, id)
			delete(o.pairs, [2]string{d.MessageID, d.EndpointID})
			n++
			continue
		}
		referenced[d.MessageID] = true
	}
	for id, m := range o.msgs {
		if !m.dispatchedAt.IsZero() && m.msg.CreatedAt.Before(before) && !referenced[id] {
			delete(o.msgs, id)
			n++
		}
	}
	return n, nil
}

func copyEndpoint(e *webhook.Endpoint) *webhook.Endpoint {
	c := *e
	c.Events = slices.Clone(e.Events)
	c.CreatedAt = normTime(e.CreatedAt)
	c.DisabledAt = normTime(e.DisabledAt)
	return &c
}

// CreateWebhookEndpoint implements webhook.EndpointStore.
func (o *Outbox) CreateWebhookEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	return lockedErr(ctx, &o.mu, func() error {
		if e == nil || e.ID == "" {
			return fmt.Errorf("memstore: create webhook endpoint: empty id")
		}
		return insertNew(o.endpoints, e.ID, copyEndpoint(e), "webhook endpoint %q", e.ID)
	})
}

// ListWebhookEndpoints implements webhook.EndpointStore.
func (o *Outbox) ListWebhookEndpoints(ctx context.Context) ([]*webhook.Endpoint, error) {
	return locked(ctx, &o.mu, func() ([]*webhook.Endpoint, error) {
		return collect(make([]*webhook.Endpoint, 0, len(o.endpoints)), o.endpoints, nil, copyEndpoint, func(a, b *webhook.Endpoint) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		}), nil
	})
}

// DeleteWebhookEndpoint implements webhook.EndpointStore.
func (o *Outbox) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return lockedErr(ctx, &o.mu, func() error {
		if _, ok := o.endpoints[id]; !ok {
			return notFound("webhook endpoint %q", id)
		}
		delete(o.endpoints, id)
		return nil
	})
}

// DisableWebhookEndpoint implements webhook.EndpointStore.
func (o *Outbox) DisableWebhookEndpoint(ctx context.Context, id, reason string, now time.Time) error {
	return lockedErr(ctx, &o.mu, func() error {
		e, ok := o.endpoints[id]
		if !ok {
			return notFound("webhook endpoint %q", id)
		}
		if e.DisabledAt.IsZero() {
			e.DisabledAt, e.DisabledReason = normTime(now), reason
		}
		return nil
	})
}
