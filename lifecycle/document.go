package lifecycle

import (
	"encoding/json"
	"math"
	"time"

	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
)

// ResultDoc is the result document stored with a finished debate
// (store.Debate.Result): the debate object of the API reads its verdict,
// confidence and receipt from it, whichever process ran the debate.
type ResultDoc struct {
	Status      store.Status      `json:"status"`
	StopReason  debate.StopReason `json:"stop_reason"`
	Verdict     receipt.Verdict   `json:"verdict"`
	Confidence  float64           `json:"confidence"`
	Reached     bool              `json:"reached"`
	FinalAnswer string            `json:"final_answer"`
	Winner      string            `json:"winner"`
	RoundsUsed  int               `json:"rounds_used"`
	Tokens      Tokens            `json:"tokens"`
	CostUSD     float64           `json:"cost_usd"`
	ReceiptID   string            `json:"receipt_id"`
	Receipt     json.RawMessage   `json:"receipt"`
	Error       *ErrorInfo        `json:"error"`
	StartedAt   time.Time         `json:"started_at"`
	FinishedAt  time.Time         `json:"finished_at"`
}

// Tokens counts a debate's tokens.
type Tokens struct {
	Input  int `json:"input"`
	Output int `json:"output"`
}

// ErrorInfo is why a debate failed: a stable code and a message.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ResultDocOf returns the result document of a finished debate; err is the
// run's error, whose message a failed debate without one of its own keeps.
func ResultDocOf(res *debate.Result, err error) *ResultDoc {
	doc := &ResultDoc{Status: res.Status, StopReason: res.StopReason, Verdict: res.Verdict, Confidence: res.Confidence,
		Reached: res.Consensus.Reached, FinalAnswer: res.FinalAnswer, Winner: res.Winner, RoundsUsed: res.RoundsUsed,
		Tokens: Tokens{Input: res.Usage.InputTokens, Output: res.Usage.OutputTokens}, CostUSD: res.CostUSD,
		StartedAt: res.StartedAt, FinishedAt: res.EndedAt}
	if res.Receipt != nil {
		doc.ReceiptID = res.Receipt.ReceiptID
		if b, jerr := res.Receipt.JSON(); jerr == nil {
			doc.Receipt = b
		}
	}
	if res.Status == store.StatusFailed {
		msg := res.Error
		if msg == "" && err != nil {
			msg = err.Error()
		}
		doc.Error = &ErrorInfo{Code: "debate_failed", Message: msg}
	}
	if doc.Status == "" {
		doc.Status = store.StatusFailed
	}
	return doc
}

// failedDoc is the result document of a debate that failed outside the
// orchestrator (stored settings unreadable, agents unavailable).
func failedDoc(code, msg string, now time.Time) *ResultDoc {
	return &ResultDoc{Status: store.StatusFailed, StopReason: debate.StopError, Verdict: receipt.VerdictNeedsReview,
		Error: &ErrorInfo{Code: code, Message: msg}, StartedAt: now, FinishedAt: now}
}

// syntheticEnd builds a debate_end written by the lifecycle itself (a
// debate that failed before it ran, one the sweeper timed out).
func syntheticEnd(id string, at time.Time, status store.Status, stop debate.StopReason) func(seq int64) (json.RawMessage, error) {
	return func(seq int64) (json.RawMessage, error) {
		e := debate.Event{Seq: seq, DebateID: id, Type: debate.EventDebateEnd, Time: at, Data: debate.DebateEndData{
			Status: status, StopReason: stop, Verdict: receipt.VerdictNeedsReview}}
		return json.Marshal(e)
	}
}

// DebateObject is the debate of docs/http-api.md#the-debate-object: what GET /api/debates/{id}
// answers and `aragora debate --format json` prints.
type DebateObject struct {
	ID              string             `json:"id"`
	Topic           string             `json:"topic"`
	Status          store.Status       `json:"status"`
	StopReason      *debate.StopReason `json:"stop_reason"`
	Agents          []string           `json:"agents"`
	Rounds          int                `json:"rounds"`
	RoundsUsed      int                `json:"rounds_used"`
	MinRounds       int                `json:"min_rounds"`
	Topology        debate.Topology    `json:"topology"`
	Consensus       ConsensusInfo      `json:"consensus"`
	Verdict         *receipt.Verdict   `json:"verdict"`
	FinalAnswer     *string            `json:"final_answer,omitempty"`
	CreatedAt       string             `json:"created_at"`
	UpdatedAt       string             `json:"updated_at"`
	StartedAt       *string            `json:"started_at"`
	FinishedAt      *string            `json:"finished_at"`
	DurationSeconds float64            `json:"duration_seconds"`
	Tokens          Tokens             `json:"tokens"`
	CostUSD         float64            `json:"cost_usd"`
	Budget          Budget             `json:"budget"`
	Owner           string             `json:"owner"`
	CorrelationID   string             `json:"correlation_id"`
	Metadata        map[string]string  `json:"metadata,omitempty"`
	Error           *ErrorInfo         `json:"error"`
	ReceiptID       *string            `json:"receipt_id"`
	LastSeq         int64              `json:"last_seq"`
	StreamEpoch     string             `json:"stream_epoch"`
	full            bool
}

// ConsensusInfo is the consensus member of a DebateObject.
type ConsensusInfo struct {
	Method     consensus.MethodName `json:"method"`
	Threshold  *float64             `json:"threshold"`
	Reached    *bool                `json:"reached"`
	Confidence *float64             `json:"confidence"`
}

// Budget is the budget member of a DebateObject.
type Budget struct {
	MaxTokens *int     `json:"max_tokens"`
	BudgetUSD *float64 `json:"budget_usd"`
}

// Timestamp formats t as the API does: UTC RFC 3339 with nanoseconds.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func timestampPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := Timestamp(t)
	return &v
}

// withResult parses a stored result document; its times fill the record's
// when those are unset.
func withResult(raw json.RawMessage, status store.Status, started, finished time.Time) (*ResultDoc, time.Time, time.Time) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, started, finished
	}
	var rd ResultDoc
	if json.Unmarshal(raw, &rd) != nil {
		return nil, started, finished
	}
	return withResultDoc(&rd, status, started, finished)
}

// withResultDoc is withResult for a parsed document (nil: none).
func withResultDoc(rd *ResultDoc, status store.Status, started, finished time.Time) (*ResultDoc, time.Time, time.Time) {
	if rd == nil {
		return nil, started, finished
	}
	if started.IsZero() {
		started = rd.StartedAt
	}
	if finished.IsZero() && store.Terminal(status) {
		finished = rd.FinishedAt
	}
	return rd, started, finished
}

// RecordObject returns the full debate object (docs/http-api.md#the-debate-object) of a debate
// record as stored: its Config is the debate's Spec and its Result the
// result document. `aragora debate --format json` prints it, so the CLI
// and the API describe a debate alike.
func RecordObject(d *store.Debate, now time.Time) *DebateObject {
	res, started, finished := withResult(d.Result, d.Status, d.StartedAt, d.FinishedAt)
	return objectOf(d, nil, d.Status, started, finished, res, now, true, StreamEpoch(d.ID))
}

func objectOf(d *store.Debate, sp *Spec, status store.Status, started, finished time.Time, res *ResultDoc, now time.Time, full bool, epoch string) *DebateObject {
	if sp == nil {
		sp = &Spec{}
		_ = json.Unmarshal(d.Config, sp)
	}
	o := &DebateObject{ID: d.ID, Topic: d.Topic, Status: status, Agents: sp.Names, Rounds: sp.Rounds, MinRounds: sp.MinRounds,
		Topology: sp.Topology, Consensus: ConsensusInfo{Method: sp.Consensus, Threshold: sp.Threshold},
		CreatedAt: Timestamp(d.CreatedAt), UpdatedAt: Timestamp(d.UpdatedAt), StartedAt: timestampPtr(started), Owner: d.Owner,
		CorrelationID: d.CorrelationID, LastSeq: d.LastSeq, StreamEpoch: epoch, full: full}
	if o.Agents == nil {
		o.Agents = sp.Agents
	}
	if o.Agents == nil {
		o.Agents = []string{}
	}
	if sp.MaxTokens > 0 {
		o.Budget.MaxTokens = &sp.MaxTokens
	}
	if sp.BudgetUSD > 0 {
		o.Budget.BudgetUSD = &sp.BudgetUSD
	}
	if store.Terminal(status) {
		o.FinishedAt = timestampPtr(finished)
	}
	if !started.IsZero() {
		end := now
		if store.Terminal(status) && !finished.IsZero() {
			end = finished
		}
		o.DurationSeconds = math.Round(end.Sub(started).Seconds()*1000) / 1000
	}
	if res != nil {
		o.StopReason = &res.StopReason
		o.Verdict = &res.Verdict
		o.Consensus.Reached = &res.Reached
		o.Consensus.Confidence = &res.Confidence
		o.RoundsUsed = res.RoundsUsed
		o.Tokens = res.Tokens
		o.CostUSD = res.CostUSD
		o.Error = res.Error
		if res.ReceiptID != "" {
			o.ReceiptID = &res.ReceiptID
		}
		if full {
			o.FinalAnswer = &res.FinalAnswer
		}
	}
	if full {
		o.Metadata = sp.Metadata
		if o.Metadata == nil {
			o.Metadata = map[string]string{}
		}
	}
	return o
}

// MarshalJSON writes final_answer and metadata (null when unset) only on
// full objects, not on summaries. Its output is compact and HTML-escaped,
// like json.Marshal's.
func (o *DebateObject) MarshalJSON() ([]byte, error) {
	type plain DebateObject
	b, err := json.Marshal((*plain)(o))
	if err != nil || !o.full {
		return b, err
	}
	if o.FinalAnswer == nil {
		b = append(b[:len(b)-1], []byte(`,"final_answer":null}`)...)
	}
	if len(o.Metadata) == 0 {
		b = append(b[:len(b)-1], []byte(`,"metadata":{}}`)...)
	}
	return b, nil
}

// Summary returns o without final_answer and metadata (the entries of
// GET /api/debates and the control events).
func (o *DebateObject) Summary() *DebateObject {
	c := *o
	c.full, c.FinalAnswer, c.Metadata = false, nil, nil
	return &c
}
