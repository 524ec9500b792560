package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/aragora/aragora/auth"
)

const (
	wsReadLimit    = 64 << 10
	wsWriteTimeout = 10 * time.Second
	wsAuthWindow   = 10 * time.Second
	wsMaxSubs      = 50
)

// wsConn is one WebSocket connection: its reader (the handler's
// goroutine), a send queue and a writer goroutine while the queue is not
// empty (wsconn.go).
type wsConn struct {
	s             *Server
	id            string
	ip            string
	listener      string
	controlStream bool
	c             *websocket.Conn
	cc            *corkConn
	ctx           context.Context
	cancel        context.CancelFunc
	closeOnce     sync.Once

	qmu      sync.Mutex
	q        []outFrame
	spare    []outFrame // the array of the last batch written, for reuse
	inflight int        // entries of the batch being written
	ready    bool       // accepted: the writer may run
	writing  bool       // a writer runs: a writer goroutine, or the fan-out in pushEvents
	qclosed  bool
	overflow bool
	writers  sync.WaitGroup

	mu        sync.Mutex
	principal *auth.Principal
	subs      map[string]*subscription
	authTimer *time.Timer
	heartbeat *time.Timer
	beating   sync.WaitGroup
}

func (c *wsConn) log(msg string, args ...any) {
	c.s.wsLog.Info(msg, append([]any{"connection_id", c.id, "client_ip", c.ip}, args...)...)
}

// send queues b; a full queue closes the connection with 1013.
func (c *wsConn) send(b []byte) bool { return c.enqueue(outFrame{op: opFrame, b: b}) }

func (c *wsConn) slow() {
	c.s.hub.dropped.Add(1)
	if o := c.s.cfg.WSObserver; o != nil {
		o.DroppedClient()
	}
	c.s.wsLog.Warn("websocket_slow_consumer", "connection_id", c.id, "client_ip", c.ip, "code", 1013)
	c.abort(false)
	c.close(1013, "slow consumer")
}

// abort makes the closing of the connection drop the frames the writer
// has collected instead of sending them first; with now it also ends the
// connection.
func (c *wsConn) abort(now bool) {
	c.mu.Lock()
	cc := c.cc
	c.mu.Unlock()
	if cc != nil {
		cc.abort(now)
	}
}

func (c *wsConn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		conn := c.c
		c.mu.Unlock()
		c.log("websocket_disconnect", "code", code)
		// Normal closure: send the frames already queued first.
		if conn != nil && code == 1000 && c.enqueue(outFrame{op: opClose, seq: int64(code), b: []byte(reason)}) {
			return
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
		controlStream: debateID == "", ctx: ctx, cancel: cancel,
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
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}
	for _, p := range protos {
		if p == "aragora.v1" {
			opts.Subprotocols = []string{"aragora.v1"}
		}
	}
	cw := &corkWriter{ResponseWriter: w}
	conn, err := websocket.Accept(cw, r, opts)
	if err != nil {
		cancel()
		s.hub.connError("protocol")
		c.stopQueue()
		s.hub.remove(c)
		return
	}
	conn.SetReadLimit(wsReadLimit)
	c.mu.Lock()
	c.c, c.cc = conn, cw.cc
	c.mu.Unlock()
	c.log("websocket_connect", "listener", c.listener)

	role := ""
	if principal != nil {
		role = string(principal.Role)
	}
	c.sendJSON(map[string]any{"type": "hello", "connection_id": c.id, "server_version": s.cfg.Version,
		"heartbeat_seconds": int(s.cfg.WSHeartbeat / time.Second), "authenticated": principal != nil, "role": role})
	if debateID != "" {
		c.enqueue(outFrame{op: opSubscribe, req: &subscribeReq{debateID: debateID, afterSeq: afterSeq, epoch: epoch,
			fromPath: true, principal: principal}})
	}
	c.mu.Lock()
	c.heartbeat = time.AfterFunc(s.cfg.WSHeartbeat, c.beat)
	c.mu.Unlock()
	c.start()
	// The reader gets a goroutine of its own and the handler returns, so
	// that net/http releases the connection's buffers and the handler's
	// stack: an idle connection keeps only the reader's.
	go c.run()
}

// run reads the connection until it ends, then tears it down.
func (c *wsConn) run() {
	defer c.s.hub.remove(c)
	c.readLoop()
	// After a client's close frame the library has already sent the
	// echo (behind the frames the writer had collected) and closed the
	// connection; otherwise a write in progress fails at once.
	c.abort(true)
	c.cancel()
	_ = c.c.CloseNow()
	c.stopQueue()
	c.mu.Lock()
	subs := c.subs
	c.subs = map[string]*subscription{}
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	c.heartbeat.Stop()
	c.mu.Unlock()
	c.beating.Wait()
	for _, sub := range subs {
		c.s.hub.detach(sub)
		sub.stop()
	}
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

// beat sends a heartbeat and pings; the timer runs it every
// Config.WSHeartbeat, in a goroutine of its own.
func (c *wsConn) beat() {
	subs := map[string]int64{}
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.beating.Add(1) // the teardown waits for it
	defer c.beating.Done()
	for id, sub := range c.subs {
		subs[id] = sub.lastSeq.Load()
	}
	c.mu.Unlock()
	c.sendJSON(map[string]any{"type": "heartbeat", "ts": ts(c.s.now()), "subscriptions": subs})
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.WSHeartbeat)
	err := c.c.Ping(ctx)
	cancel()
	if c.ctx.Err() != nil {
		return
	}
	if err != nil {
		c.s.hub.connError("ping_timeout")
		c.abort(false)
		c.close(1011, "ping timeout")
		return
	}
	c.mu.Lock()
	if c.ctx.Err() == nil { // else the connection's teardown has stopped the timer
		c.heartbeat.Reset(c.s.cfg.WSHeartbeat)
	}
	c.mu.Unlock()
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
			c.mu.Lock()
			p := c.principal
			c.mu.Unlock()
			c.enqueue(outFrame{op: opSubscribe, req: &subscribeReq{debateID: m.DebateID, afterSeq: m.AfterSeq, epoch: m.Epoch, principal: p}})
		case "unsubscribe":
			c.enqueue(outFrame{op: opUnsubscribe, req: &subscribeReq{debateID: m.DebateID}})
		default:
			c.sendError("invalid_message", "unknown message type", "")
		}
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
