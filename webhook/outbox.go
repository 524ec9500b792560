package webhook

import (
	"context"
	"time"

	"github.com/aragora/aragora/internal/enum"
)

// State is the state of a delivery. Its text form is its name; decoding,
// [ParseState] and a backend's Scan reject an unknown name.
type State string

// Delivery states.
const (
	// StatePending: not delivered yet; attempted when due. A pending
	// delivery with an unexpired lease is in flight.
	StatePending State = "pending"
	// StateDelivered: an attempt got a 2xx answer.
	StateDelivered State = "delivered"
	// StateDead: dead-lettered; only RequeueDeadWebhooks revives it.
	StateDead State = "dead"
)

// States lists every State.
var States = []State{StatePending, StateDelivered, StateDead}

// ParseState returns the State named s; an unknown name is an error.
func ParseState(s string) (State, error) { return enum.Parse("webhook: delivery state", s, States) }

func (s State) String() string { return string(s) }

// MarshalText returns s's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText sets s from its name, rejecting an unknown one.
func (s *State) UnmarshalText(b []byte) error {
	return enum.Unmarshal(s, b, "webhook: delivery state", States)
}

// Scan implements sql.Scanner for the backends: a stored name that is not
// a State is an error.
func (s *State) Scan(src any) error { return enum.Scan(s, src, "webhook: delivery state", States) }

// Dead-letter reasons (Delivery.DeadReason).
const (
	ReasonQueueFull        = "queue_full"        // the queue was full when the delivery was created
	ReasonMaxAttempts      = "max_attempts"      // every attempt failed
	ReasonGone             = "gone"              // the endpoint answered 410 Gone and was disabled
	ReasonEndpointRemoved  = "endpoint_removed"  // the endpoint no longer exists
	ReasonEndpointDisabled = "endpoint_disabled" // the endpoint was disabled
)

// Outcome classifies what happened to a delivery; its values are the
// outcome label of aragora_webhook_deliveries_total, plus OutcomeDeferred.
// Its text and JSON form is its name; decoding and [ParseOutcome] reject an
// unknown name.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess    Outcome = "success"     // delivered (2xx)
	OutcomeRetry      Outcome = "retry"       // failed, retried later
	OutcomeDeadLetter Outcome = "dead_letter" // failed for good, or the endpoint is gone
	OutcomeOverflow   Outcome = "overflow"    // dead-lettered at creation: the queue was full
	// OutcomeDeferred: not attempted, because the endpoint's circuit is
	// open; due again when it admits a probe. Attempts is unchanged.
	OutcomeDeferred Outcome = "deferred"
)

// Outcomes lists every Outcome.
var Outcomes = []Outcome{OutcomeSuccess, OutcomeRetry, OutcomeDeadLetter, OutcomeOverflow, OutcomeDeferred}

// ParseOutcome returns the Outcome named s; an unknown name is an error.
func ParseOutcome(s string) (Outcome, error) {
	return enum.Parse("webhook: delivery outcome", s, Outcomes)
}

func (o Outcome) String() string { return string(o) }

// MarshalText returns o's name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o), nil }

// UnmarshalText sets o from its name, rejecting an unknown one.
func (o *Outcome) UnmarshalText(b []byte) error {
	return enum.Unmarshal(o, b, "webhook: delivery outcome", Outcomes)
}

// Delivery is one message on its way to one endpoint. (MessageID,
// EndpointID) is unique.
type Delivery struct {
	ID         string // dlv_…
	MessageID  string
	EndpointID string
	State      State
	// Attempts counts the attempts made (deferrals are not attempts).
	Attempts int
	// NextAttemptAt is when a pending delivery is due.
	NextAttemptAt time.Time
	// LeaseOwner holds the delivery until LeaseExpiresAt while it is
	// attempted; "" when not leased.
	LeaseOwner     string
	LeaseExpiresAt time.Time
	LastAttemptAt  time.Time // zero before the first attempt
	LastStatusCode int       // 0: none, or no HTTP answer
	LastError      string
	DeadReason     string // set in StateDead
	// Overflowed stays true once the delivery has been dead-lettered with
	// ReasonQueueFull, also after a requeue.
	Overflowed bool
	CreatedAt  time.Time
	// FinishedAt is when it was delivered or dead-lettered; zero while
	// pending.
	FinishedAt time.Time
	// Message is the delivered message; set by ClaimWebhookDeliveries.
	Message Message
}

// Result is the outcome of one claimed delivery, for RecordWebhookResult.
type Result struct {
	// Outcome is OutcomeSuccess, OutcomeRetry, OutcomeDeadLetter or
	// OutcomeDeferred.
	Outcome Outcome
	// At is when the attempt was made (LastAttemptAt, FinishedAt).
	At time.Time
	// StatusCode and Error describe the answer; 0 and "" for none.
	StatusCode int
	Error      string
	// NextAttemptAt is when a retried or deferred delivery is due again.
	NextAttemptAt time.Time
	// DeadReason is set with OutcomeDeadLetter.
	DeadReason string
}

// QueueStats describes the outbox, store-wide.
type QueueStats struct {
	// Pending counts deliveries neither delivered nor dead, in flight
	// included.
	Pending int
	// Undispatched counts messages not yet fanned out to deliveries.
	Undispatched int
	// InFlight counts pending deliveries whose lease runs at now.
	InFlight int
	// DeadLetter counts dead deliveries.
	DeadLetter int
	// Overflowed counts stored deliveries with Overflowed set.
	Overflowed int
	// OldestAt is the CreatedAt of the oldest pending delivery or
	// undispatched message; zero when there is none.
	OldestAt time.Time
	// NextAttemptAt is the earliest NextAttemptAt of the pending
	// deliveries not in flight; zero when there is none.
	NextAttemptAt time.Time
}

// RequeueFilter selects the dead deliveries RequeueDeadWebhooks revives.
type RequeueFilter struct {
	// EndpointID narrows to one endpoint; "" means every endpoint.
	EndpointID string
	// Live are the endpoints that exist: dead deliveries of other
	// endpoints are skipped and stay dead.
	Live []string
	// Max caps the deliveries requeued, oldest first; <= 0 means no cap.
	Max int
}

// Outbox is the storage port of webhook delivery: messages written with
// the state changes that cause them, fanned out to per-endpoint
// deliveries, leased to one worker at a time, retried and dead-lettered.
// Implementations must be safe for concurrent use, also by several
// processes sharing the store, and must pass webhooktest.Run. Times are
// stored in UTC at microsecond precision.
type Outbox interface {
	// EnqueueWebhooks stores msgs as undispatched messages, in one write.
	// An ID already stored is ErrConflict (store.ErrConflict), and nothing
	// is stored. Producers with a state change of their own write the
	// messages in that change's transaction instead.
	EnqueueWebhooks(ctx context.Context, msgs ...Message) error
	// DispatchWebhooks takes up to limit undispatched messages, oldest
	// first, and in one transaction marks them dispatched and creates one
	// delivery per endpoint id route returns for it (duplicates ignored),
	// pending and due at now. While the store-wide pending deliveries
	// number capacity or more, a new delivery is created dead instead,
	// with DeadReason ReasonQueueFull and Overflowed set (capacity <= 0:
	// no bound). It returns the deliveries it created. Concurrent callers,
	// in this process or another, never dispatch a message twice. route
	// runs inside the transaction and must not call the store.
	DispatchWebhooks(ctx context.Context, now time.Time, limit, capacity int, route func(Message) []string) ([]Delivery, error)
	// ClaimWebhookDeliveries leases to owner, until now+lease, up to limit
	// pending deliveries due at now whose lease is missing or expired,
	// earliest due first, and returns them with their Message. While a
	// lease runs, no other claimer gets the delivery.
	ClaimWebhookDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// RecordWebhookResult stores the result of owner's attempt on the
	// delivery and drops the lease: OutcomeSuccess makes it delivered,
	// OutcomeDeadLetter dead (with r.DeadReason), OutcomeRetry pending
	// again due at r.NextAttemptAt; these three count an attempt and set
	// LastAttemptAt, LastStatusCode and LastError. OutcomeDeferred only
	// moves NextAttemptAt. ErrNotFound for an unknown id; ErrConflict when
	// the delivery is no longer pending or owner no longer holds its lease
	// (it expired and someone else claimed it): that attempt's result is
	// then dropped.
	RecordWebhookResult(ctx context.Context, id, owner string, r Result) error
	// ReleaseWebhookLeases drops the leases of owner, or every lease when
	// owner is "" (a single-process store whose previous process died),
	// and returns how many it dropped.
	ReleaseWebhookLeases(ctx context.Context, owner string) (int, error)
	// RequeueDeadWebhooks makes the dead deliveries f selects pending
	// again, due at now, with Attempts 0, no lease and no DeadReason,
	// oldest dead first. It returns how many it requeued, and how many
	// selected dead deliveries it skipped because their endpoint is not in
	// f.Live.
	RequeueDeadWebhooks(ctx context.Context, f RequeueFilter, now time.Time) (requeued, skipped int, err error)
	// WebhookQueueStats describes the outbox at now.
	WebhookQueueStats(ctx context.Context, now time.Time) (QueueStats, error)
	// PruneWebhooks deletes the delivered and dead deliveries finished
	// before before, and the dispatched messages created before it that no
	// delivery refers to any more, and returns how many rows it deleted.
	PruneWebhooks(ctx context.Context, before time.Time) (int64, error)
}

// EndpointStore keeps the endpoints registered through the API (those of
// WEBHOOK_URL live in configuration). Implementations must be safe for
// concurrent use and must pass webhooktest.Run.
type EndpointStore interface {
	// CreateWebhookEndpoint stores e; ErrConflict when its ID exists.
	CreateWebhookEndpoint(ctx context.Context, e *Endpoint) error
	// ListWebhookEndpoints returns every stored endpoint, oldest first.
	ListWebhookEndpoints(ctx context.Context) ([]*Endpoint, error)
	// DeleteWebhookEndpoint deletes the endpoint; ErrNotFound when there
	// is none. Its deliveries stay (they are dead-lettered at their next
	// attempt, or skipped by a requeue).
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	// DisableWebhookEndpoint marks the endpoint disabled with reason at
	// now; ErrNotFound when there is none. Disabling a disabled endpoint
	// keeps its first reason and time.
	DisableWebhookEndpoint(ctx context.Context, id, reason string, now time.Time) error
}

// Store is both ports, as every store backend provides them.
type Store interface {
	Outbox
	EndpointStore
}
