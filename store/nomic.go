package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/internal/enum"
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

// NomicCommandStatus is a nomic command's status. Its text and JSON form
// is its name; decoding, [ParseNomicCommandStatus] and a backend's Scan
// reject an unknown name. The zero value is not a valid status.
type NomicCommandStatus string

// Nomic command statuses.
const (
	NomicCommandPending  NomicCommandStatus = "pending"
	NomicCommandApplied  NomicCommandStatus = "applied"
	NomicCommandRejected NomicCommandStatus = "rejected"
)

// NomicCommandStatuses lists every NomicCommandStatus, pending first.
var NomicCommandStatuses = []NomicCommandStatus{NomicCommandPending, NomicCommandApplied, NomicCommandRejected}

const nomicStatusWhat = "store: nomic command status"

// ParseNomicCommandStatus returns the NomicCommandStatus named s; an
// unknown name is an error.
func ParseNomicCommandStatus(s string) (NomicCommandStatus, error) {
	return enum.Parse(nomicStatusWhat, s, NomicCommandStatuses)
}

func (s NomicCommandStatus) String() string { return string(s) }

// MarshalText returns s's name.
func (s NomicCommandStatus) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText sets s from its name, rejecting an unknown one.
func (s *NomicCommandStatus) UnmarshalText(b []byte) error {
	return enum.Unmarshal(s, b, nomicStatusWhat, NomicCommandStatuses)
}

// Scan implements sql.Scanner for the backends: a stored name that is not
// a NomicCommandStatus (or is empty or NULL) is an error.
func (s *NomicCommandStatus) Scan(src any) error {
	return enum.Scan(s, src, nomicStatusWhat, NomicCommandStatuses)
}

// NomicCommandKind is what a nomic command asks of the loop
// (docs/nomic.md). Its text and JSON form is its name; decoding,
// [ParseNomicCommandKind] and a backend's Scan reject an unknown name.
type NomicCommandKind string

// Nomic command kinds.
const (
	NomicCommandPause        NomicCommandKind = "pause"
	NomicCommandResume       NomicCommandKind = "resume"
	NomicCommandReset        NomicCommandKind = "reset"
	NomicCommandBreakerReset NomicCommandKind = "breaker_reset"
)

// NomicCommandKinds lists every NomicCommandKind.
var NomicCommandKinds = []NomicCommandKind{NomicCommandPause, NomicCommandResume, NomicCommandReset, NomicCommandBreakerReset}

const nomicKindWhat = "store: nomic command kind"

// ParseNomicCommandKind returns the NomicCommandKind named s; an unknown
// name is an error.
func ParseNomicCommandKind(s string) (NomicCommandKind, error) {
	return enum.Parse(nomicKindWhat, s, NomicCommandKinds)
}

func (k NomicCommandKind) String() string { return string(k) }

// MarshalText returns k's name.
func (k NomicCommandKind) MarshalText() ([]byte, error) { return []byte(k), nil }

// UnmarshalText sets k from its name, rejecting an unknown one.
func (k *NomicCommandKind) UnmarshalText(b []byte) error {
	return enum.Unmarshal(k, b, nomicKindWhat, NomicCommandKinds)
}

// Scan implements sql.Scanner for the backends: a stored name that is not
// a NomicCommandKind (or is empty or NULL) is an error.
func (k *NomicCommandKind) Scan(src any) error {
	return enum.Scan(k, src, nomicKindWhat, NomicCommandKinds)
}

// CheckNomicCommand returns an error unless c has an ID and a known Kind,
// for the backends' EnqueueNomicCommand.
func CheckNomicCommand(c NomicCommand) error {
	if c.ID == "" {
		return errors.New("store: nomic command: empty id")
	}
	_, err := ParseNomicCommandKind(string(c.Kind))
	return err
}

// CheckNomicAck returns an error unless status is an acknowledgement's
// (applied or rejected), for the backends' AckNomicCommand.
func CheckNomicAck(status NomicCommandStatus) error {
	if status != NomicCommandApplied && status != NomicCommandRejected {
		return fmt.Errorf("store: nomic command acknowledged as %q (want applied or rejected)", string(status))
	}
	return nil
}

// NomicCommand is a control command for a running loop (pause, resume,
// reset, breaker reset): a row the loop consumes and acknowledges.
type NomicCommand struct {
	ID        string // cmd_…, assigned by the caller
	Kind      NomicCommandKind
	Args      json.RawMessage    // a JSON object, or nil
	Status    NomicCommandStatus // NomicCommandPending until acknowledged
	Result    json.RawMessage    // the acknowledgement's document, nil while pending
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
	// EnqueueNomicCommand stores c as pending; a duplicate ID is
	// ErrConflict, an empty ID or unknown Kind an error
	// ([CheckNomicCommand]).
	EnqueueNomicCommand(ctx context.Context, c NomicCommand) error
	// PendingNomicCommands returns the pending commands, oldest first.
	PendingNomicCommands(ctx context.Context) ([]NomicCommand, error)
	// AckNomicCommand sets a pending command's status (applied or
	// rejected), result and AckedAt. ErrNotFound for an unknown id,
	// ErrConflict when it is not pending; a status other than applied or
	// rejected is an error ([CheckNomicAck]).
	AckNomicCommand(ctx context.Context, id string, status NomicCommandStatus, result json.RawMessage, at time.Time) error
	// GetNomicCommand returns one command or an error wrapping ErrNotFound.
	GetNomicCommand(ctx context.Context, id string) (*NomicCommand, error)
	// ListNomicOutcomes returns up to limit outcomes, newest first by
	// FinishedAt then CycleID (limit <= 0: DefaultLimit).
	ListNomicOutcomes(ctx context.Context, limit int) ([]NomicOutcome, error)
}
