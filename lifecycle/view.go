package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/aragora/aragora/store"
)

// effectiveRaw merges the stored record with this process's live state;
// raw is the stored result document, or the live one while the store has
// none.
func (m *Manager) effectiveRaw(d *store.Debate) (status store.Status, started, finished time.Time, raw json.RawMessage) {
	status, started, finished = d.Status, d.StartedAt, d.FinishedAt
	raw = d.Result
	if ls, ok := m.overlay.get(d.ID); ok {
		// While this process still shows a debate running that the store
		// has finished, its live status wins until the live state has
		// caught up, so a finished debate is never shown without its result.
		finishing := store.Terminal(status) && ls.Status == store.StatusRunning && m.Local(d.ID)
		if !store.Terminal(status) || store.Terminal(ls.Status) || finishing {
			if ls.Status != "" {
				status = ls.Status
			}
		}
		if started.IsZero() {
			started = ls.StartedAt
		}
		if finished.IsZero() {
			finished = ls.FinishedAt
		}
		if len(raw) == 0 || string(raw) == "null" {
			raw = ls.Result
		}
	}
	return status, started, finished, raw
}

// Status returns the effective status of d: the stored one merged with the
// live state of a debate this process runs.
func (m *Manager) Status(d *store.Debate) store.Status {
	status, _, _, _ := m.effectiveRaw(d)
	return status
}

// Result returns the effective status and result document of d (nil
// before it finished).
func (m *Manager) Result(d *store.Debate) (status store.Status, res *ResultDoc) {
	status, started, finished, raw := m.effectiveRaw(d)
	res, _, _ = withResultDoc(m.docs.result(d.ID, raw), status, started, finished)
	return status, res
}

// Object returns the debate object of d (docs/http-api.md#the-debate-object) with its effective
// state; full adds final_answer and metadata (GET /api/debates/{id}),
// without them it is a summary (listings, control events).
func (m *Manager) Object(d *store.Debate, full bool) *DebateObject {
	status, started, finished, raw := m.effectiveRaw(d)
	res, started, finished := withResultDoc(m.docs.result(d.ID, raw), status, started, finished)
	return objectOf(d, m.docs.spec(d.ID, d.Config), status, started, finished, res, m.now(), full, m.docs.epoch(d.ID))
}

// ObjectJSON returns the JSON of d's full debate object, newline
// included, or nil and the object when it does not encode. A finished
// debate's object depends only on its record and documents, so its
// encoding is kept and reused while they are unchanged.
func (m *Manager) ObjectJSON(d *store.Debate) ([]byte, *DebateObject) {
	status, started, finished, raw := m.effectiveRaw(d)
	key := objectKey{status: status, topic: d.Topic, owner: d.Owner, correlationID: d.CorrelationID, lastSeq: d.LastSeq,
		created: d.CreatedAt, updated: d.UpdatedAt, started: started, finished: finished}
	if b := m.docs.body(d.ID, d.Config, raw, key); b != nil {
		return b, nil
	}
	res, started, finished := withResultDoc(m.docs.result(d.ID, raw), status, started, finished)
	o := objectOf(d, m.docs.spec(d.ID, d.Config), status, started, finished, res, m.now(), true, m.docs.epoch(d.ID))
	b, err := o.MarshalJSON()
	if err != nil {
		return nil, o
	}
	b = append(b, '\n')
	// Unfinished, or without a finish time, the duration follows the clock.
	if store.Terminal(status) && !finished.IsZero() {
		m.docs.setBody(d.ID, d.Config, raw, key, b)
	}
	return b, nil
}

// SealedJSON returns the JSON of debate id's full object, newline
// included, when Seal sealed it, else nil. The caller must not modify it.
func (m *Manager) SealedJSON(id string) []byte { return m.docs.sealedBody(id) }

// Seal makes the object JSON that ObjectJSON returned for d final, so that
// SealedJSON serves it without reading the store, once d can no longer
// change: its stored status is terminal, its stored result document and
// times are the ones the object shows (this process's live state adds
// nothing), and its stored event log ends with debate_end. Nothing changes
// such a record, on this replica or any other: claims, heartbeats and
// releases refuse a terminal debate, status changes and finishes are made
// only from pending or running, fenced checkpoints need a live lease, and
// the sweep appends debate_end only to logs that lack it. Seal reads the last stored event once per change of d's log;
// it does nothing when the store cannot list events.
func (m *Manager) Seal(ctx context.Context, d *store.Debate) {
	er, ok := m.st.(store.EventReader)
	if !ok || !store.Terminal(d.Status) || d.LastSeq <= 0 || len(d.Result) == 0 || string(d.Result) == "null" || d.FinishedAt.IsZero() {
		return
	}
	status, started, finished, raw := m.effectiveRaw(d)
	if status != d.Status || !started.Equal(d.StartedAt) || !finished.Equal(d.FinishedAt) || !bytes.Equal(raw, d.Result) {
		return
	}
	key := objectKey{status: status, topic: d.Topic, owner: d.Owner, correlationID: d.CorrelationID, lastSeq: d.LastSeq,
		created: d.CreatedAt, updated: d.UpdatedAt, started: started, finished: finished}
	if !m.docs.sealable(d.ID, d.Config, raw, key) {
		return
	}
	evs, err := er.ListEvents(ctx, d.ID, d.LastSeq-1, 1)
	if err != nil {
		return // tried again on the next request
	}
	ended := len(evs) == 1 && evs[0].Seq == d.LastSeq && evs[0].Type == store.EventDebateEnd
	m.docs.seal(d.ID, d.Config, raw, key, ended)
}

// Rendered returns the receipt of debate id rendered in format (markdown
// or html) when this process keeps it: rendered once at finish, so
// repeated requests return identical bytes.
func (m *Manager) Rendered(id, format string) ([]byte, bool) {
	ls, ok := m.overlay.get(id)
	if !ok || ls.Receipts[format] == nil {
		return nil, false
	}
	return ls.Receipts[format], true
}

// KeepRendered keeps b as debate id's receipt rendered in format.
func (m *Manager) KeepRendered(id, format string, b []byte) {
	m.overlay.update(id, func(ls *liveState) {
		if ls.Receipts == nil {
			ls.Receipts = map[string][]byte{}
		}
		ls.Receipts[format] = b
	})
}

// DropFinished forgets the live state of finished debates this process no
// longer runs once the store holds their result (it is rebuilt from the
// store), and their rendered receipts when canRender says they can be
// rendered again. It returns how many live states and rendered receipts it
// dropped (POST /api/admin/cleanup-caches).
func (m *Manager) DropFinished(ctx context.Context, canRender bool) (states, receipts int) {
	m.overlay.mu.Lock()
	ids := make([]string, 0, len(m.overlay.m))
	for id, ls := range m.overlay.m {
		if store.Terminal(ls.Status) {
			ids = append(ids, id)
		}
	}
	m.overlay.mu.Unlock()
	for _, id := range ids {
		if m.Local(id) {
			continue
		}
		d, err := m.st.GetDebate(ctx, id)
		stored := err == nil && len(d.Result) > 0 && string(d.Result) != "null" && store.Terminal(d.Status)
		m.overlay.mu.Lock()
		if ls, ok := m.overlay.m[id]; ok {
			switch {
			case stored && (len(ls.Receipts) == 0 || canRender):
				receipts += len(ls.Receipts)
				delete(m.overlay.m, id)
				states++
			case len(ls.Receipts) > 0 && canRender:
				receipts += len(ls.Receipts)
				ls.Receipts = nil
			}
		}
		m.overlay.mu.Unlock()
	}
	return states, receipts
}
