package server

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
)

// subscribeReq is a subscribe or unsubscribe request, queued by the reader
// with the connection's principal of that moment.
type subscribeReq struct {
	debateID  string
	afterSeq  int64
	epoch     string
	fromPath  bool
	principal *auth.Principal
}

// subscription is one connection's interest in one debate. The hub queues
// its live events on the connection; the connection's writer sends them
// in seq order, filling gaps from the store (docs/websocket.md#resume).
type subscription struct {
	debateID string
	conn     *wsConn
	epoch    string
	lastSeq  atomic.Int64 // the last seq sent; the heartbeat reads it
	// handed is the last live seq the hub's fan-out handed to the
	// connection (sent, or queued to be): settle need not send it again.
	handed  atomic.Int64
	stopped bool // unsubscribed; the writer's
	// fanID and fanNext: the index in the log of the debate's fan-out
	// run fanID of the next event to hand over (fanRun); the fan-out's.
	fanID   uint64
	fanNext int64
	pos     int // index in hub.order; the hub's (h.mu)
	// replayQueued is set while an opReplay of this subscription waits in
	// the queue, so that polls and settle never queue a second one.
	replayQueued atomic.Bool
	cancel       context.CancelFunc // ends the follower of a debate another replica runs
}

func (sub *subscription) stop() {
	if sub.cancel != nil {
		sub.cancel()
	}
}

// queueReplay asks the writer to send what the store holds beyond the
// last seq sent, unless that is already queued. upTo > 0 is the last seq
// the store holds: the writer skips the store if it has sent it already.
func (sub *subscription) queueReplay(upTo int64) {
	if sub.replayQueued.CompareAndSwap(false, true) && !sub.conn.enqueue(outFrame{op: opReplay, sub: sub, seq: upTo}) {
		sub.replayQueued.Store(false)
	}
}

// writeMsg and writeErrorMsg write a message from the writer goroutine,
// in order with what it writes around them.
func (c *wsConn) writeMsg(v map[string]any) error {
	b, err := marshal(v)
	if err != nil {
		return nil
	}
	return c.write(b)
}

func (c *wsConn) writeErrorMsg(code, msg, debateID string) error {
	m := map[string]any{"type": "error", "code": code, "message": msg}
	if debateID != "" {
		m["debate_id"] = debateID
	}
	return c.writeMsg(m)
}

// subscribe runs a subscribe request on the writer: it attaches the
// subscription to the hub first, then sends the stored events after
// afterSeq; live events queued meanwhile follow, skipping any seq already
// sent (docs/websocket.md#resume).
func (c *wsConn) subscribe(req *subscribeReq) error {
	s, id := c.s, req.debateID
	notFound := func() error {
		if err := c.writeErrorMsg("not_found", "no such debate", id); err != nil {
			return err
		}
		if req.fromPath {
			c.close(1000, "not found")
		}
		return nil
	}
	if !pathIDRE.MatchString(id) {
		return notFound()
	}
	d, err := s.st.GetDebate(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound()
	} else if err != nil {
		if c.ctx.Err() != nil {
			return c.ctx.Err()
		}
		// The same error kinds as HTTP (docs/websocket.md#messages):
		// store_unavailable or insufficient_storage with retry_after.
		e := errorFor(err)
		m := map[string]any{"type": "error", "code": e.Code, "message": e.Message, "debate_id": id}
		if e.RetryAfter > 0 {
			m["retry_after"] = e.RetryAfter
		}
		if e.Status >= 500 && e.Err != nil {
			c.s.wsLog.Warn("ws_subscribe_store_error", "debate_id", id, "code", e.Code, "error", e.Err.Error())
		}
		return c.writeMsg(m)
	}
	c.mu.Lock()
	_, dup := c.subs[id]
	n := len(c.subs)
	if req.principal == nil && c.authTimer == nil {
		c.authTimer = time.AfterFunc(wsAuthWindow, func() {
			c.mu.Lock()
			ok := c.principal != nil
			c.mu.Unlock()
			if !ok {
				c.close(1008, "authentication required")
			}
		})
	}
	c.mu.Unlock()
	switch {
	case req.principal == nil:
		return c.writeErrorMsg("unauthorized", "authenticate first", id)
	case dup:
		return nil
	case n >= wsMaxSubs:
		return c.writeErrorMsg("invalid_message", "at most 50 subscriptions per connection", id)
	}
	ep := lifecycle.StreamEpoch(id)
	if (req.epoch != "" && req.epoch != ep) || req.afterSeq > d.LastSeq && !s.lc.Local(id) {
		reason := "epoch_changed"
		if req.epoch == "" || req.epoch == ep {
			reason = "ahead_of_store"
		}
		return c.writeMsg(map[string]any{"type": "reset", "debate_id": id, "epoch": ep, "last_seq": d.LastSeq, "reason": reason})
	}
	sub := &subscription{debateID: id, conn: c, epoch: ep}
	sub.lastSeq.Store(req.afterSeq)
	c.mu.Lock()
	c.subs[id] = sub
	c.mu.Unlock()
	s.hub.attach(sub) // live events queue behind this request, then replay
	status := s.lc.Status(d)
	if !s.lc.Local(d.ID) && !store.Terminal(status) {
		c.follow(sub)
	}
	if err := c.writeMsg(map[string]any{"type": "subscribed", "debate_id": d.ID, "epoch": ep, "from_seq": sub.lastSeq.Load() + 1,
		"last_seq": d.LastSeq, "status": status}); err != nil {
		return err
	}
	return c.replay(sub, 0)
}

// unsubscribe runs an unsubscribe request on the writer.
func (c *wsConn) unsubscribe(id string) error {
	c.mu.Lock()
	sub := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if sub != nil {
		sub.stopped = true
		c.s.hub.detach(sub)
		sub.stop()
	}
	return c.writeMsg(map[string]any{"type": "unsubscribed", "debate_id": id})
}

// deliver sends a live event of sub, f its encoded frame (wsFrame),
// unless it was already sent; a gap before it is filled from the store
// first.
func (c *wsConn) deliver(sub *subscription, seq int64, f []byte) error {
	gap, err := c.deliverNow(sub, seq, f)
	if !gap {
		return err
	}
	if err := c.replay(sub, seq-1); err != nil {
		return err
	}
	if seq <= sub.lastSeq.Load() {
		return nil
	}
	if err := c.writeFrame(f); err != nil {
		return err
	}
	sub.lastSeq.Store(seq)
	return nil
}

// deliverNow is deliver without the store: gap is true, and nothing is
// sent, if seq does not follow the last seq sent.
func (c *wsConn) deliverNow(sub *subscription, seq int64, f []byte) (gap bool, err error) {
	if sub.stopped {
		return false, nil
	}
	if seq == 0 { // ephemeral agent_token
		return false, c.writeFrame(f)
	}
	last := sub.lastSeq.Load()
	if seq <= last {
		return false, nil
	}
	if seq > last+1 {
		return true, nil
	}
	if err := c.writeFrame(f); err != nil {
		return false, err
	}
	sub.lastSeq.Store(seq)
	return false, nil
}

// replay sends sub's stored events after the last seq sent, up to upTo
// (0: all). A store error is not the connection's: the next event or poll
// tries again.
func (c *wsConn) replay(sub *subscription, upTo int64) error {
	er, ok := c.s.events()
	if !ok {
		return nil
	}
	after := sub.lastSeq.Load()
	limit := 0
	if upTo > 0 {
		limit = int(upTo - after)
	}
	evs, err := er.ListEvents(c.ctx, sub.debateID, after, limit)
	if err != nil {
		return c.ctx.Err()
	}
	for _, e := range evs {
		if e.Seq <= sub.lastSeq.Load() {
			continue
		}
		if err := c.write(withEpoch(e.JSON, sub.epoch)); err != nil {
			return err
		}
		sub.lastSeq.Store(e.Seq)
		if c.cc.buffered() >= wsBatchBytes {
			if err := c.cc.flushCorked(wsWriteTimeout); err != nil {
				return err
			}
		}
	}
	return nil
}

// follow starts the goroutine of a subscription to a debate another
// replica runs: its events arrive through the fan-out (Redis) when there
// is one, and a poll of the store fills what pub/sub lost (every 5 s), or
// is the only source (every 500 ms).
func (c *wsConn) follow(sub *subscription) {
	ctx, cancel := context.WithCancel(c.ctx)
	sub.cancel = cancel
	every := 500 * time.Millisecond
	var remote <-chan store.Event
	unsubscribe := func() {}
	if f := c.s.cfg.Fanout; f != nil {
		if ch, stop, err := f.Subscribe(ctx, sub.debateID); err == nil {
			remote, every, unsubscribe = ch, 5*time.Second, stop
		}
	}
	go func() {
		defer unsubscribe()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sub.queueReplay(0)
			case e, ok := <-remote:
				if !ok {
					remote = nil
					continue
				}
				c.enqueue(outFrame{op: opEvent, sub: sub, seq: e.Seq, b: wsFrame(withEpoch(e.JSON, sub.epoch))})
			}
		}
	}()
}
