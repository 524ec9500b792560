package store

import (
	"context"
	"encoding/json"
	"time"
)

// EventDebateEnd is the type of the event that ends every debate's log. A
// store accepts at most one per debate (docs/operations.md#stop-drain-and-restart): a checkpoint batch,
// [Leaser.FinishDebate] or [Leaser.AppendDebateEnd] that would add a second
// returns ErrConflict.
const EventDebateEnd = "debate_end"

// ErrLeaseLost reports a write refused because its writer no longer holds
// the debate's lease: another process claimed it since (a higher
// generation), or its status was changed (cancelled, timed out, returned
// to pending). errors.Is reports it as ErrConflict too, so code that stops
// on a conflict stops on it.
var ErrLeaseLost error = leaseLostError{}

type leaseLostError struct{}

func (leaseLostError) Error() string { return "store: lease lost" }

// Is makes errors.Is(ErrLeaseLost, ErrConflict) true.
func (leaseLostError) Is(target error) bool { return target == ErrConflict }

// Lease identifies one claim of a debate: the owner (a process id) and the
// generation the claim created. Every claim increments the debate's
// generation, so a write fenced with an older Lease is refused even when
// the same owner claimed the debate again (docs/operations.md#stop-drain-and-restart).
type Lease struct {
	Owner      string
	Generation int64
}

// LeaseOf returns the lease recorded on d (zero when it has none).
func LeaseOf(d *Debate) Lease { return Lease{Owner: d.LeaseOwner, Generation: d.LeaseGeneration} }

// Final is what a debate's terminal write commits, in the same transaction
// as its final status and debate_end event, so that nothing is visible
// before all of it is durable (docs/operations.md#stop-drain-and-restart): the result document, the
// usage rows charged for it and the outbox messages announcing it.
type Final struct {
	// Result is the result document (the server's debate object reads its
	// verdict, confidence and receipt from it); nil leaves it unchanged.
	Result json.RawMessage
	// Usage rows are appended to the [UsageStore] of the same backend.
	Usage []UsageRecord
	// Outbox messages are written for the webhook worker (see OutboxMessage).
	Outbox []OutboxMessage
}

// Finish is a terminal write outside a checkpoint: a debate that failed
// before its orchestrator ran, one the sweeper times out, one cancelled
// while queued. In one write FinishDebate checks the condition, sets
// Status (and FinishedAt, dropping the lease), stores f.Final and, when the
// log has no debate_end yet and End is set, appends the event End builds
// for the next seq.
type Finish struct {
	// Lease, when set, makes the write conditional on still holding it
	// (ErrLeaseLost otherwise).
	Lease *Lease
	// From lists the statuses the debate may be in (empty: any status that
	// is not terminal); another status is ErrConflict.
	From []Status
	// Status is the terminal status to set.
	Status Status
	// End builds the wire JSON of the debate_end event numbered seq; nil
	// appends none.
	End func(seq int64) (json.RawMessage, error)
	Final
}

// OutboxMessage is one message written in the same transaction as a
// debate's creation ([OutboxCreator]) or finish ([Final].Outbox), or by
// itself for an event with no transaction of its own, so a webhook is
// announced exactly when the change it describes is durable: a crash
// between the two cannot lose one or invent one. The webhook worker
// (package webhook) fans each message out to its endpoints and delivers it
// at least once.
type OutboxMessage struct {
	ID       string // unique (the webhook-id, msg_…), assigned by the caller; a stored ID again is ErrConflict
	Type     string // the event type, e.g. "debate.finished"
	DebateID string // the debate it concerns, "" for none (logged with each delivery)
	// Payload is the exact request body to deliver (a JSON object).
	Payload json.RawMessage
	// CorrelationID is the request's or debate's correlation id, "" for
	// none; deliveries carry it as X-Correlation-ID.
	CorrelationID string
	CreatedAt     time.Time
}

// OutboxCreator is the optional capability that creates a debate and its
// outbox messages in one transaction. A store without it cannot take
// outbox messages on create.
type OutboxCreator interface {
	CreateDebateWithOutbox(ctx context.Context, d *Debate, outbox []OutboxMessage) error
}

// Leaser is the optional capability the server uses to run debates across
// replicas (docs/operations.md#stop-drain-and-restart). A non-terminal debate may be held by one
// lease: an owner (a process id), a generation and an expiry. The owner
// refreshes it with Heartbeat, which also refreshes the record's UpdatedAt
// (the heartbeat the runbook reads); when it expires any process may take
// the debate over with ClaimDebate, where exactly one concurrent claimer
// wins. Every write of the lease holder (heartbeats, checkpoints with
// [Checkpoint].Lease, FinishDebate with [Finish].Lease) is fenced: it
// happens only while the holder's owner and generation are the debate's, so
// a process that lost the lease writes nothing more.
//
// Every method with a now parameter stores it (UTC, microseconds) instead of
// reading a clock, so callers and tests control time.
type Leaser interface {
	// ClaimDebate gives owner the lease on debate id until now+ttl, increments
	// the lease generation and sets UpdatedAt to now, when the debate is not
	// terminal and has no lease, an expired one (expiry <= now), or one owner
	// already holds. It returns the updated record, whose LeaseOwner and
	// LeaseGeneration form the [Lease] to fence writes with. ErrNotFound for
	// an unknown id; ErrConflict when the debate is terminal or another
	// owner's lease is still valid. A store with row locks (Postgres) never
	// waits for a debate row another transaction holds locked: the claim is
	// ErrConflict too, since one that waited would grant a lease timed from
	// now, from before the wait, possibly expired when granted
	// (docs/SCALING.md#failure-modes).
	ClaimDebate(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*Debate, error)
	// Heartbeat extends l to now+ttl and sets UpdatedAt to now, only while
	// the status is running and l is the debate's lease (expired or not, as
	// long as nobody claimed it since). ErrNotFound for an unknown id;
	// ErrLeaseLost when another claim happened, or the status was changed
	// (cancelled, timed out by an operator or the sweeper, returned to
	// pending). The holder then stops.
	Heartbeat(ctx context.Context, id string, l Lease, now time.Time, ttl time.Duration) error
	// ReleaseDebate drops lease l of a non-terminal debate and, when status
	// is not empty, sets it (graceful shutdown returns running debates to
	// pending); UpdatedAt becomes now. ErrNotFound for an unknown id;
	// ErrLeaseLost when l is not the debate's lease or the debate is terminal.
	ReleaseDebate(ctx context.Context, id string, l Lease, status Status, now time.Time) error
	// UpdateStatus changes the status to to when the current status is one
	// of from (empty from: any status), and sets UpdatedAt to now. Entering
	// running sets StartedAt to now if it is zero; entering a terminal status
	// sets FinishedAt to now and drops the lease. Setting the status it
	// already has is allowed when it is in from. ErrNotFound for an unknown
	// id; ErrConflict when the current status is not in from.
	UpdateStatus(ctx context.Context, id string, from []Status, to Status, now time.Time) error
	// FinishDebate applies f in one transaction (see [Finish]): with f.Lease
	// it is ErrLeaseLost unless f.Lease is the debate's lease and the debate
	// is not terminal; otherwise ErrConflict unless the status is in f.From
	// (or, with f.From empty, not terminal). f.Status must be terminal.
	// ErrNotFound for an unknown id. Nothing is written on error.
	FinishDebate(ctx context.Context, id string, f *Finish, now time.Time) error
	// FindOrphans returns up to limit non-terminal debates whose lease is
	// missing or expired at now (expiry <= now), least recently updated
	// first (limit <= 0: 50). The caller claims each with ClaimDebate.
	FindOrphans(ctx context.Context, now time.Time, limit int) ([]*Debate, error)
	// FindStale returns up to limit running debates whose UpdatedAt is
	// before heartbeatBefore, least recently updated first (limit <= 0: 50).
	FindStale(ctx context.Context, heartbeatBefore time.Time, limit int) ([]*Debate, error)
	// FindUnended returns up to limit debates with a terminal status whose
	// event log has no EventDebateEnd, least recently updated first
	// (limit <= 0: 50): the sweeper appends their synthetic debate_end.
	FindUnended(ctx context.Context, limit int) ([]*Debate, error)
	// AppendDebateEnd appends the sweeper's synthetic debate_end, numbered
	// by the store: in one write it reads the debate's last seq, calls
	// build(last+1) for the event's wire JSON, appends the event and sets
	// the record's LastSeq. It returns the stored event. ErrNotFound for an
	// unknown debate record; ErrConflict when the log already has a
	// debate_end. An error from build is returned wrapped, nothing written.
	AppendDebateEnd(ctx context.Context, id string, build func(seq int64) (json.RawMessage, error)) (Event, error)
}
