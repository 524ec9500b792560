package store

import (
	"context"
	"encoding/json"
	"time"
)

// NomicState is the persisted state of the nomic loop of a store (one loop
// per store, docs/nomic.md): an opaque document owned by package nomic
// (phase, cycle, counters, breakers, checkpoint, heartbeat) and a version
// that every write increments, for compare-and-swap.
type NomicState struct {
	Version   int64
	Doc       json.RawMessage
	UpdatedAt time.Time
}

// NomicWrite is one write of the nomic state: the new document, and in the
// same transaction an optional cycle outcome and the outbox messages that
// announce it (nomic.cycle_finished, docs/webhooks.md).
type NomicWrite struct {
	Doc       json.RawMessage
	UpdatedAt time.Time
	Outcome   *NomicOutcome
	Outbox    []OutboxMessage
}

// Nomic command statuses.
const (
	NomicCommandPending  = "pending"
	NomicCommandApplied  = "applied"
	NomicCommandRejected = "rejected"
)

// NomicCommand is a control command for a running loop (pause, resume,
// reset, breaker reset): a row the loop consumes and acknowledges.
type NomicCommand struct {
	ID        string // cmd_…, assigned by the caller
	Kind      string
	Args      json.RawMessage // a JSON object, or nil
	Status    string          // NomicCommandPending until acknowledged
	Result    json.RawMessage // the acknowledgement's document, nil while pending
	CreatedAt time.Time
	AckedAt   time.Time // zero while pending
}

// NomicOutcome is the record of one finished cycle.
type NomicOutcome struct {
	CycleID    string
	Number     int
	Outcome    string // success, failure or aborted
	Committed  bool
	Reason     string
	StartedAt  time.Time
	FinishedAt time.Time
	Doc        json.RawMessage // the full outcome document
}

// NomicStore is the optional capability that persists the nomic loop's
// state, control commands and cycle outcomes, shared by the loop process
// and the server (docs/nomic.md). Implementations must be safe for
// concurrent use, also by several processes, and pass storetest.Run.
// Times are stored in UTC at microsecond precision.
type NomicStore interface {
	// LoadNomicState returns the state, or an error wrapping ErrNotFound
	// before the first write.
	LoadNomicState(ctx context.Context) (*NomicState, error)
	// SaveNomicState writes w when the stored version is expect (0: no
	// state stored yet) and returns the new version (expect+1); otherwise
	// ErrConflict and nothing is written. The outcome (a duplicate CycleID
	// is ErrConflict) and outbox messages are written in the same
	// transaction, or nothing is.
	SaveNomicState(ctx context.Context, expect int64, w NomicWrite) (int64, error)
	// EnqueueNomicCommand stores c as pending; a duplicate ID is ErrConflict.
	EnqueueNomicCommand(ctx context.Context, c NomicCommand) error
	// PendingNomicCommands returns the pending commands, oldest first.
	PendingNomicCommands(ctx context.Context) ([]NomicCommand, error)
	// AckNomicCommand sets a pending command's status (applied or
	// rejected), result and AckedAt. ErrNotFound for an unknown id,
	// ErrConflict when it is not pending.
	AckNomicCommand(ctx context.Context, id, status string, result json.RawMessage, at time.Time) error
	// GetNomicCommand returns one command or an error wrapping ErrNotFound.
	GetNomicCommand(ctx context.Context, id string) (*NomicCommand, error)
	// ListNomicOutcomes returns up to limit outcomes, newest first by
	// FinishedAt then CycleID (limit <= 0: DefaultLimit).
	ListNomicOutcomes(ctx context.Context, limit int) ([]NomicOutcome, error)
}
