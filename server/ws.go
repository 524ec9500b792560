package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
)

const (
	wsReadLimit    = 64 << 10
	wsWriteTimeout = 10 * time.Second
	wsAuthWindow   = 10 * time.Second
	wsMaxSubs      = 50
)

// wsConn is one WebSocket connection: a reader goroutine, a writer
// goroutine draining a bounded send queue, and one goroutine per
// subscription.
type wsConn struct {
	s             *Server
	id            string
	ip            string
	listener      string
	controlStream bool
	c             *websocket.Conn
	out           chan []byte
	ctx           context.Context
	cancel        context.CancelFunc
	closeOnce     sync.Once
	closeCode     int
	closeReason   string

	mu        sync.Mutex
	principal *auth.Principal
	subs      map[string]*subscription
	authTimer *time.Timer
}

func (c *wsConn) log(msg string, args ...any) {
	c.s.wsLog.Info(msg, append([]any{"connection_id", c.id, "client_ip", c.ip}, args...)...)
}

// send queues b; a full queue closes the connection with 1013.
func (c *wsConn) send(b []byte) bool {
	select {
	case <-c.ctx.Done():
		return false
	default:
	}
	select {
	case c.out <- b:
		return true
	default:
		c.slow()
		return false
	}
}

func (c *wsConn) slow() {
	c.s.hub.dropped.Add(1)
	if o := c.s.cfg.WSObserver; o != nil {
		o.DroppedClient()
	}
	c.s.wsLog.Warn("websocket_slow_consumer", "connection_id", c.id, "client_ip", c.ip, "code", 1013)
	c.close(1013, "slow consumer")
}

func (c *wsConn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		conn := c.c
		c.mu.Unlock()
		c.log("websocket_disconnect", "code", code)
		if conn != nil && code == 1000 {
			// Normal closure: flush the frames already queued first.
			c.closeCode, c.closeReason = code, reason
			select {
			case c.out <- nil:
				return
			default:
			}
		}
		go func() {
			if conn != nil {
				_ = conn.Close(websocket.StatusCode(code), reason)
			}
			c.cancel()
		}()
	})
}

func (c *wsConn) sendJSON(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	return c.send(b)
}

func (c *wsConn) sendError(code, msg, debateID string) {
	m := map[string]any{"type": "error", "code": code, "message": msg}
	if debateID != "" {
		m["debate_id"] = debateID
	}
	c.sendJSON(m)
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// originAllowed implements the Origin check of docs/websocket.md#connecting: no Origin
// (non-browser clients), the request's own host, or a configured origin.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || s.corsAllowed(origin)
}

// corsAllowed reports whether origin is listed in OriginPatterns
// (ARAGORA_CORS_ORIGINS): an exact origin ("https://admin.example.com"), a
// host wildcard ("https://*.example.com"), or "*" (development only).
func (s *Server) corsAllowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	for _, p := range s.cfg.OriginPatterns {
		p = strings.ToLower(p)
		for _, cand := range []string{strings.ToLower(origin), strings.ToLower(u.Host)} {
			if ok, _ := path.Match(p, cand); ok {
				return true
			}
		}
	}
	return false
}

func (s *Server) handleWSControl(w http.ResponseWriter, r *http.Request) { s.serveWS(w, r, "") }

func (s *Server) handleWSDebate(w http.ResponseWriter, r *http.Request) {
	s.serveWS(w, r, r.PathValue("id"))
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, debateID string) {
	if !isUpgrade(r) {
		s.writeError(w, r, apiErr(http.StatusUpgradeRequired, "upgrade_required", "this path needs a WebSocket upgrade"))
		return
	}
	var afterSeq int64
	var epoch string
	if debateID != "" {
		q, err := parseQuery(r, "after_seq", "epoch")
		if err == nil {
			afterSeq, err = q.int64Param("after_seq")
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		epoch = q.get("epoch")
	} else if _, err := parseQuery(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.originAllowed(r) {
		s.hub.connError("origin")
		s.writeError(w, r, apiErr(http.StatusForbidden, "forbidden", "origin not allowed"))
		return
	}
	info := infoFrom(r.Context())
	principal := info.principal
	var protos []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if tok, ok := strings.CutPrefix(p, "bearer."); ok && principal == nil {
				if pr, err := s.authToken(r, tok); err == nil {
					principal = pr
				} else {
					s.hub.connError("auth")
				}
			}
			protos = append(protos, p)
		}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	c := &wsConn{s: s, id: "ws_" + hex.EncodeToString(idb[:]), ip: info.clientIP, listener: info.listener,
		controlStream: debateID == "", out: make(chan []byte, s.cfg.WSSendBuffer), ctx: ctx, cancel: cancel,
		principal: principal, subs: map[string]*subscription{}}
	if reason := s.hub.admit(c); reason != "" {
		cancel()
		s.hub.connError(reason)
		if reason == "per_ip_cap" {
			s.writeError(w, r, &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many WebSocket connections from this address", RetryAfter: 10})
		} else {
			s.writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "WebSocket capacity reached", RetryAfter: 10})
		}
		return
	}
	defer s.hub.remove(c)
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}
	for _, p := range protos {
		if p == "aragora.v1" {
			opts.Subprotocols = []string{"aragora.v1"}
		}
	}
	conn, err := websocket.Accept(w, r, opts)
	if err != nil {
		cancel()
		s.hub.connError("protocol")
		return
	}
	conn.SetReadLimit(wsReadLimit)
	c.mu.Lock()
	c.c = conn
	c.mu.Unlock()
	c.log("websocket_connect", "listener", c.listener)
	defer c.cancel()
	defer conn.CloseNow()

	role := ""
	if principal != nil {
		role = string(principal.Role)
	}
	c.sendJSON(map[string]any{"type": "hello", "connection_id": c.id, "server_version": s.cfg.Version,
		"heartbeat_seconds": int(s.cfg.WSHeartbeat / time.Second), "authenticated": principal != nil, "role": role})

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.writeLoop() }()
	go func() { defer wg.Done(); c.heartbeatLoop() }()
	if debateID != "" {
		c.subscribe(debateID, afterSeq, epoch, true)
	}
	c.readLoop()
	c.cancel()
	c.mu.Lock()
	for _, sub := range c.subs {
		sub.stop()
	}
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	c.mu.Unlock()
	wg.Wait()
}

func (s *Server) authToken(r *http.Request, tok string) (*auth.Principal, error) {
	r2 := r.Clone(r.Context())
	r2.Header = r.Header.Clone()
	r2.Header.Set("Authorization", "Bearer "+tok)
	p, err := s.auth.Authenticate(r2)
	if err == nil && p == nil {
		err = auth.ErrUnauthorized
	}
	return p, err
}

func (c *wsConn) writeLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case b := <-c.out:
			if b == nil { // close marker queued by close(1000)
				_ = c.c.Close(websocket.StatusCode(c.closeCode), c.closeReason)
				c.cancel()
				return
			}
			ctx, cancel := context.WithTimeout(c.ctx, wsWriteTimeout)
			err := c.c.Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				if c.ctx.Err() == nil {
					c.s.hub.connError("write_error")
				}
				c.cancel()
				return
			}
			c.s.hub.sent.Add(1)
			if o := c.s.cfg.WSObserver; o != nil {
				o.MessageSent()
			}
		}
	}
}

func (c *wsConn) heartbeatLoop() {
	t := time.NewTicker(c.s.cfg.WSHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		subs := map[string]int64{}
		c.mu.Lock()
		for id, sub := range c.subs {
			subs[id] = sub.lastSeq.Load()
		}
		c.mu.Unlock()
		c.sendJSON(map[string]any{"type": "heartbeat", "ts": ts(c.s.now()), "subscriptions": subs})
		ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.WSHeartbeat)
		err := c.c.Ping(ctx)
		cancel()
		if err != nil && c.ctx.Err() == nil {
			c.s.hub.connError("ping_timeout")
			c.close(1011, "ping timeout")
			return
		}
	}
}

type clientMsg struct {
	Type     string `json:"type"`
	DebateID string `json:"debate_id"`
	AfterSeq int64  `json:"after_seq"`
	Epoch    string `json:"epoch"`
	ID       string `json:"id"`
	Token    string `json:"token"`
}

func (c *wsConn) readLoop() {
	lim := rate.NewLimiter(20, 20)
	abuse := 0
	for {
		_, b, err := c.c.Read(c.ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				c.close(1009, "message too big")
			}
			return
		}
		if !lim.Allow() {
			abuse++
			c.sendError("rate_limited", "more than 20 messages per second", "")
			if abuse > 100 {
				c.close(1008, "message rate abuse")
				return
			}
			continue
		}
		var m clientMsg
		if err := json.Unmarshal(b, &m); err != nil {
			c.sendError("invalid_message", "messages are JSON objects with a type", "")
			continue
		}
		switch m.Type {
		case "ping":
			c.sendJSON(map[string]any{"type": "pong", "id": m.ID, "ts": ts(c.s.now())})
		case "auth":
			p, err := c.s.authToken(&http.Request{Header: http.Header{}, RemoteAddr: "", Method: http.MethodGet, URL: &url.URL{Path: "/ws"}}, m.Token)
			if err != nil {
				c.s.hub.connError("auth")
				c.sendError("unauthorized", "invalid token", "")
				continue
			}
			c.mu.Lock()
			c.principal = p
			if c.authTimer != nil {
				c.authTimer.Stop()
			}
			c.mu.Unlock()
		case "subscribe":
			c.subscribe(m.DebateID, m.AfterSeq, m.Epoch, false)
		case "unsubscribe":
			c.mu.Lock()
			sub := c.subs[m.DebateID]
			delete(c.subs, m.DebateID)
			c.mu.Unlock()
			if sub != nil {
				sub.stop()
			}
			c.sendJSON(map[string]any{"type": "unsubscribed", "debate_id": m.DebateID})
		default:
			c.sendError("invalid_message", "unknown message type", "")
		}
	}
}

// subscribe replays stored events after afterSeq and then forwards live
// ones, skipping any seq already sent (docs/websocket.md#resume).
func (c *wsConn) subscribe(id string, afterSeq int64, epoch string, fromPath bool) {
	s := c.s
	if !pathIDRE.MatchString(id) {
		c.sendError("not_found", "no such debate", id)
		if fromPath {
			c.close(1000, "not found")
		}
		return
	}
	d, err := s.st.GetDebate(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		c.sendError("not_found", "no such debate", id)
		if fromPath {
			c.close(1000, "not found")
		}
		return
	} else if err != nil {
		c.sendError("internal", "store unavailable", id)
		return
	}
	c.mu.Lock()
	p := c.principal
	_, dup := c.subs[id]
	n := len(c.subs)
	if p == nil && c.authTimer == nil {
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
	case p == nil:
		c.sendError("unauthorized", "authenticate first", id)
		return
	case dup:
		return
	case n >= wsMaxSubs:
		c.sendError("invalid_message", "at most 50 subscriptions per connection", id)
		return
	}
	ep := lifecycle.StreamEpoch(id)
	if (epoch != "" && epoch != ep) || afterSeq > d.LastSeq && !s.lc.Local(id) {
		reason := "epoch_changed"
		if epoch == "" || epoch == ep {
			reason = "ahead_of_store"
		}
		c.sendJSON(map[string]any{"type": "reset", "debate_id": id, "epoch": ep, "last_seq": d.LastSeq, "reason": reason})
		return
	}
	sub := &subscription{debateID: id, conn: c, live: make(chan liveFrame, s.cfg.WSSendBuffer), done: make(chan struct{}),
		settled: make(chan struct{}, 1)}
	sub.lastSeq.Store(afterSeq)
	c.mu.Lock()
	c.subs[id] = sub
	c.mu.Unlock()
	s.hub.attach(sub) // live buffer first, then replay
	go func() {
		defer s.hub.detach(sub)
		c.stream(sub, d, ep)
	}()
}

func (c *wsConn) stream(sub *subscription, d *store.Debate, ep string) {
	s := c.s
	status := s.lc.Status(d)
	er, hasEvents := s.events()
	replay := func(upTo int64) bool {
		if !hasEvents {
			return true
		}
		after := sub.lastSeq.Load()
		limit := 0
		if upTo > 0 {
			limit = int(upTo - after)
		}
		evs, err := er.ListEvents(c.ctx, d.ID, after, limit)
		if err != nil {
			return c.ctx.Err() == nil
		}
		for _, e := range evs {
			if e.Seq <= sub.lastSeq.Load() {
				continue
			}
			if !c.send(withEpoch(e.JSON, ep)) {
				return false
			}
			sub.lastSeq.Store(e.Seq)
		}
		return true
	}
	c.sendJSON(map[string]any{"type": "subscribed", "debate_id": d.ID, "epoch": ep, "from_seq": sub.lastSeq.Load() + 1,
		"last_seq": d.LastSeq, "status": status})
	if !replay(0) {
		return
	}
	var poll <-chan time.Time
	var remote <-chan store.Event
	if !s.lc.Local(d.ID) && !store.Terminal(status) {
		every := 500 * time.Millisecond
		if s.cfg.Fanout != nil {
			// Events of other replicas arrive through the fan-out; the
			// slow poll only covers messages pub/sub lost.
			if ch, cancel, err := s.cfg.Fanout.Subscribe(c.ctx, d.ID); err == nil {
				defer cancel()
				remote, every = ch, 5*time.Second
			}
		}
		t := time.NewTicker(every)
		defer t.Stop()
		poll = t.C
	}
	for {
		var f liveFrame
		select {
		case <-c.ctx.Done():
			return
		case <-sub.done:
			return
		case <-poll:
			if !replay(0) {
				return
			}
			continue
		case <-sub.settled:
			if !replay(0) {
				return
			}
			continue
		case e, ok := <-remote:
			if !ok {
				remote = nil
				continue
			}
			f = liveFrame{seq: e.Seq, b: withEpoch(e.JSON, ep)}
		case f = <-sub.live:
		}
		if f.seq == 0 { // ephemeral agent_token
			c.send(f.b)
			continue
		}
		last := sub.lastSeq.Load()
		if f.seq <= last {
			continue
		}
		if f.seq > last+1 && !replay(f.seq-1) {
			return
		}
		if f.seq <= sub.lastSeq.Load() {
			continue
		}
		if !c.send(f.b) {
			return
		}
		sub.lastSeq.Store(f.seq)
	}
}

func (s *Server) handleWSStats(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	h := s.hub
	h.mu.Lock()
	conns := len(h.conns)
	control, debate, subsN := 0, 0, 0
	for c := range h.conns {
		if c.controlStream {
			control++
		} else {
			debate++
		}
	}
	for _, m := range h.subs {
		subsN += len(m)
	}
	streaming := len(h.subs)
	byL := map[string]int{"api": h.byL["api"], "ws": h.byL["ws"]}
	var topIPs []map[string]any
	for ip, n := range h.perIP {
		topIPs = append(topIPs, map[string]any{"ip": ip, "connections": n})
	}
	var lastReload *string
	if h.lastReload != nil {
		lastReload = tsPtr(*h.lastReload)
	}
	h.mu.Unlock()
	out := map[string]any{"connections": conns, "max_connections": s.cfg.WSMaxConnections,
		"utilization": float64(conns) / float64(s.cfg.WSMaxConnections), "by_listener": byL,
		"by_stream": map[string]int{"debate": debate, "control": control}, "subscriptions": subsN,
		"debates_streaming": streaming, "per_ip_limit": s.cfg.WSMaxPerIP, "send_buffer_frames": s.cfg.WSSendBuffer,
		"heartbeat_seconds": int(s.cfg.WSHeartbeat / time.Second), "messages_sent_total": h.sent.Load(),
		"dropped_clients_total": h.dropped.Load(), "connection_errors_total": h.connErrors.Load(), "last_reload_at": lastReload}
	if p := infoFrom(r.Context()).principal; p != nil && p.Role.AtLeast(auth.RoleAdmin) {
		sortTop(topIPs)
		if len(topIPs) > 10 {
			topIPs = topIPs[:10]
		}
		if topIPs == nil {
			topIPs = []map[string]any{}
		}
		out["top_ips"] = topIPs
	}
	writeJSON(w, http.StatusOK, out)
}

func sortTop(v []map[string]any) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j]["connections"].(int) > v[j-1]["connections"].(int); j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}
