package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aragora/aragora/internal/ulid"
	"github.com/aragora/aragora/store"
)

// Event types (docs/webhooks.md).
const (
	// EventDebateCreated: a debate was accepted; data is its summary.
	EventDebateCreated = "debate.created"
	// EventDebateFinished: a debate reached a final status (any of them);
	// data is its summary plus receipt_id.
	EventDebateFinished = "debate.finished"
	// EventConsensusReached: a debate finished with consensus.
	EventConsensusReached = "consensus.reached"
	// EventAgentCircuitOpened: an agent's circuit breaker opened.
	EventAgentCircuitOpened = "agent.circuit_opened"
	// EventAgentQuotaExhausted: a provider reported an exhausted quota.
	EventAgentQuotaExhausted = "agent.quota_exhausted"
	// EventNomicCycleFinished: a nomic loop cycle ended.
	EventNomicCycleFinished = "nomic.cycle_finished"
	// EventTest: sent by POST /api/webhooks/endpoints/{id}/test to that
	// endpoint only.
	EventTest = "webhook.test"
)

// EventTypes lists every event type, in documentation order.
var EventTypes = []string{EventDebateCreated, EventDebateFinished, EventConsensusReached,
	EventAgentCircuitOpened, EventAgentQuotaExhausted, EventNomicCycleFinished, EventTest}

// KnownEvent reports whether t is one of EventTypes.
func KnownEvent(t string) bool {
	for _, e := range EventTypes {
		if e == t {
			return true
		}
	}
	return false
}

// Message is an outbox row: one event, delivered to every endpoint that
// subscribes to its type. It is store.OutboxMessage, so that the store
// can write it in the transaction of the state change that causes it.
type Message = store.OutboxMessage

// MessageIDPrefix starts every message id (msg_ + a 26-character ULID).
const MessageIDPrefix = "msg_"

// payload is the Standard Webhooks body.
type payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// NewMessage builds the message of one event: a new msg_ id and the
// Standard Webhooks payload {"type","timestamp","data"}, with timestamp at
// (UTC, RFC 3339) and data marshalled as JSON. An unknown type or data
// that does not marshal to a JSON object is an error.
func NewMessage(typ string, data any, at time.Time, correlationID string) (Message, error) {
	if !KnownEvent(typ) {
		return Message{}, fmt.Errorf("webhook: unknown event type %q", typ)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Message{}, fmt.Errorf("webhook: encode %s data: %w", typ, err)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return Message{}, fmt.Errorf("webhook: %s data must be a JSON object", typ)
	}
	at = at.UTC()
	body, err := json.Marshal(payload{Type: typ, Timestamp: at, Data: json.RawMessage(raw)})
	if err != nil {
		return Message{}, fmt.Errorf("webhook: encode %s payload: %w", typ, err)
	}
	return Message{ID: ulid.New(MessageIDPrefix, at.UnixMilli()), Type: typ, Payload: body,
		CorrelationID: correlationID, CreatedAt: at}, nil
}
