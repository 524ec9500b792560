package store

import (
	"context"
	"encoding/json"
	"time"
)

// EventDebateEnd is the type of the event that ends every debate's log. A
// store accepts at most one per debate (docs/operations.md#stop-drain-and-restart): a checkpoint batch or
// [Leaser.AppendDebateEnd] that would add a second returns ErrConflict.
const EventDebateEnd = "debate_end"

// Leaser is the optional capability the server uses to run debates across
// replicas (docs/operations.md#stop-drain-and-restart). A non-terminal debate may be held by one
// lease: an owner (a replica id) and an expiry. The owner refreshes it with
// Heartbeat, which also refreshes the record's UpdatedAt (the heartbeat the
// runbook reads); when it expires any replica may take the debate over with
// ClaimDebate, where exactly one concurrent claimer wins.
//
// Every method with a now parameter stores it (UTC, microseconds) instead of
// reading a clock, so callers and tests control time.
type Leaser interface {
	// ClaimDebate gives owner the lease on debate id until now+ttl and sets
	// UpdatedAt to now, when the debate is not terminal and has no lease, an
	// expired one (expiry <= now), or one owner already holds. It returns
	// the updated record. ErrNotFound for an unknown id; ErrConflict when
	// the debate is terminal or another owner's lease is still valid.
	ClaimDebate(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*Debate, error)
	// Heartbeat extends owner's lease to now+ttl and sets UpdatedAt to now,
	// only while the status is running and owner holds the lease (expired
	// or not, as long as nobody claimed it since). ErrNotFound for an
	// unknown id; ErrConflict when the lease is lost: another owner claimed
	// it, or the status was changed (cancelled, timed out by an operator or
	// the sweeper, returned to pending). The orchestrator then stops.
	Heartbeat(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) error
	// ReleaseDebate drops owner's lease on a non-terminal debate and, when
	// status is not empty, sets it (graceful shutdown returns running debates
	// to pending); UpdatedAt becomes now. ErrNotFound for an unknown id;
	// ErrConflict when owner does not hold the lease or the debate is
	// terminal.
	ReleaseDebate(ctx context.Context, id, owner, status string, now time.Time) error
	// UpdateStatus changes the status to to when the current status is one
	// of from (empty from: any status), and sets UpdatedAt to now. Entering
	// running sets StartedAt to now if it is zero; entering a terminal status
	// sets FinishedAt to now and drops the lease. Setting the status it
	// already has is allowed when it is in from. ErrNotFound for an unknown
	// id; ErrConflict when the current status is not in from.
	UpdateStatus(ctx context.Context, id string, from []string, to string, now time.Time) error
	// SetResult stores the final result document and sets UpdatedAt to now.
	// ErrNotFound for an unknown id.
	SetResult(ctx context.Context, id string, result json.RawMessage, now time.Time) error
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
