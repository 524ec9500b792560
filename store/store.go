// Package store defines the persistence ports of Aragora: debate records,
// the per-debate event log and orchestrator checkpoints, with the sentinel
// errors every backend translates its driver's errors into.
//
// The ports are small interfaces; capabilities beyond [DebateStore] are
// optional interfaces found by type assertion ([Checkpointer], [Pinger]).
// Backends live in subpackages (memstore, sqlitestore, pgstore) and must pass
// the conformance suite in storetest.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aragora/aragora/internal/enum"
)

// Sentinel errors. Backends wrap them with %w.
var (
	// ErrNotFound reports a missing debate, checkpoint or record.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports a duplicate id, a seq gap or duplicate, or a
	// different checkpoint under an existing (debate, round, phase) key.
	ErrConflict = errors.New("store: conflict")
)

// Status is a debate's status (docs/http-api.md#the-debate-object). Its
// text and JSON form is its name; decoding, [ParseStatus] and a backend's
// Scan reject an unknown name. The zero value is not a valid status.
type Status string

// Debate statuses.
const (
	StatusPending          Status = "pending"
	StatusRunning          Status = "running"
	StatusConsensusReached Status = "consensus_reached"
	StatusNoConsensus      Status = "no_consensus"
	StatusTimeout          Status = "timeout"
	StatusFailed           Status = "failed"
	StatusCancelled        Status = "cancelled"
	StatusBudgetExceeded   Status = "budget_exceeded"
)

// Statuses lists every Status, the non-terminal ones first.
var Statuses = []Status{StatusPending, StatusRunning, StatusConsensusReached, StatusNoConsensus,
	StatusTimeout, StatusFailed, StatusCancelled, StatusBudgetExceeded}

// TerminalStatuses lists the final statuses, in the order of [Statuses].
var TerminalStatuses = Statuses[2:]

// ParseStatus returns the Status named s; an unknown name is an error.
func ParseStatus(s string) (Status, error) { return enum.Parse("store: debate status", s, Statuses) }

func (s Status) String() string { return string(s) }

// MarshalText returns s's name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText sets s from its name, rejecting an unknown one.
func (s *Status) UnmarshalText(b []byte) error {
	return enum.Unmarshal(s, b, "store: debate status", Statuses)
}

// Scan implements sql.Scanner for the backends: a stored name that is not
// a Status (or is empty or NULL) is an error, not a silently odd record.
func (s *Status) Scan(src any) error { return enum.Scan(s, src, "store: debate status", Statuses) }

// Terminal reports whether s is a final debate status.
func (s Status) Terminal() bool {
	switch s {
	case StatusConsensusReached, StatusNoConsensus, StatusTimeout, StatusFailed, StatusCancelled, StatusBudgetExceeded:
		return true
	}
	return false
}

// Terminal reports whether status is a final debate status.
func Terminal(status Status) bool { return status.Terminal() }

// Debate is the durable record of one debate. Config and Result are opaque
// JSON documents owned by the caller (the server's request and debate object).
type Debate struct {
	ID            string
	Topic         string
	Status        Status
	Owner         string
	CorrelationID string
	Config        json.RawMessage // the normalised debate settings, for resume
	Result        json.RawMessage // the final result document, null until finished
	LastSeq       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time // heartbeat while running
	StartedAt     time.Time // zero until running
	FinishedAt    time.Time // zero until finished

	// The lease (see [Leaser]): its owner ("" when none), expiry and the
	// generation of the last claim. CreateDebate stores them as given, so a
	// process can create a debate it already holds (with generation 1).
	LeaseOwner      string
	LeaseExpiresAt  time.Time
	LeaseGeneration int64
}

// DefaultLimit is the page size of a listing whose Limit is <= 0
// (ListDebates, ListAudit, the lease finders).
const DefaultLimit = 50

// PageSize returns the page size of a listing asked for limit rows: limit,
// or DefaultLimit when limit <= 0.
func PageSize(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return limit
}

// Filter selects debates in ListDebates.
type Filter struct {
	Statuses []Status // empty: any
	Owner    string   // empty: any
	Limit    int      // <= 0: DefaultLimit
	// Cursor continues a listing: return debates strictly older than it
	// (newest first, by CreatedAt then ID).
	Cursor *Cursor
}

// Cursor is a position in a newest-first listing.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// DebateStore persists debate records. Implementations must be safe for
// concurrent use and must pass storetest.Run.
type DebateStore interface {
	// CreateDebate stores d; ErrConflict if the ID exists. CreatedAt and
	// UpdatedAt are set by the caller.
	CreateDebate(ctx context.Context, d *Debate) error
	// GetDebate returns the debate or an error wrapping ErrNotFound.
	GetDebate(ctx context.Context, id string) (*Debate, error)
	// ListDebates returns debates newest first (CreatedAt desc, ID desc).
	ListDebates(ctx context.Context, f Filter) ([]*Debate, error)
}

// Event is one durable debate event as stored: the indexing fields plus the
// complete wire JSON (docs/events.md).
type Event struct {
	DebateID string
	Seq      int64
	Type     string
	JSON     json.RawMessage
}

// Checkpoint is the orchestrator's state after one completed phase, written
// atomically with the phase's event batch (docs/debate.md#persistence-and-resume).
type Checkpoint struct {
	DebateID string
	Round    int
	Phase    string // "init", "propose", "critique", "vote", "synthesize", "end"
	// Seq is the last seq after this checkpoint's events are appended.
	Seq    int64
	Status Status          // "running" until the end, then the final status
	State  json.RawMessage // opaque orchestrator state
	// Events are the batch to append; their seqs must run from the stored
	// last seq + 1 to Seq without gap, else ErrConflict.
	Events    []Event
	CreatedAt time.Time
	// Lease, when set, fences the write: it is refused with ErrLeaseLost
	// unless Lease is the debate record's lease and the record is not
	// terminal. It is not part of the checkpoint's identity.
	Lease *Lease
	// Final, with a terminal Status, is committed in the same write (the
	// result document, usage rows and outbox messages of [Final]). It is not
	// part of the checkpoint's identity.
	Final *Final
}

// Checkpointer is the optional capability the orchestrator uses to persist
// and resume debates.
type Checkpointer interface {
	// SaveCheckpoint appends cp.Events to the debate's event log and stores
	// cp, in one atomic write. The key is (DebateID, Round, Phase): saving an
	// identical checkpoint again is a no-op returning nil; a different one
	// under an existing key, or events that do not continue the log without
	// gap or duplicate, return ErrConflict and change nothing. With
	// cp.Lease set, a debate record whose lease is another (or that is
	// terminal, or missing) makes it ErrLeaseLost, nothing written. When a
	// debate record with that ID exists, its LastSeq, UpdatedAt and, for a
	// terminal cp.Status, Status and FinishedAt are updated in the same
	// write, the lease dropped and cp.Final stored.
	SaveCheckpoint(ctx context.Context, cp *Checkpoint) error
	// LatestCheckpoint returns the debate's most recent checkpoint, or an
	// error wrapping ErrNotFound.
	LatestCheckpoint(ctx context.Context, debateID string) (*Checkpoint, error)
	EventReader
}

// EventReader reads a debate's event log.
type EventReader interface {
	// ListEvents returns up to limit events with seq > afterSeq, in seq
	// order (limit <= 0: all). An unknown debate yields an empty list.
	ListEvents(ctx context.Context, debateID string, afterSeq int64, limit int) ([]Event, error)
}

// Backend is the set of ports every primary backend (memstore,
// sqlitestore, pgstore) implements; each asserts it at compile time.
type Backend interface {
	DebateStore
	Checkpointer
	Pinger
	Leaser
	IdempotencyStore
	RatingStore
	OutboxCreator
	AuthStore
}

// Pinger is optional; the server uses it for health checks.
type Pinger interface {
	Ping(ctx context.Context) error
}
