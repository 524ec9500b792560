package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
)

var pathIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// validation is a 400 validation_failed naming the first invalid field
// and carrying all of them (docs/http-api.md#errors).
func validation(fields map[string]string) *Error {
	return validationError(&lifecycle.ValidationError{Fields: fields})
}

func validationError(ve *lifecycle.ValidationError) *Error {
	first, msg := ve.First()
	return apiErr(http.StatusBadRequest, "validation_failed", first+": "+msg).with("fields", ve.Fields)
}

// agentError is the 400 unknown_agent or agent_unavailable of an agent the
// registry refused (docs/http-api.md#create-a-debate, docs/http-api.md#diagnostics), naming the agent and the reason;
// other errors are returned unchanged.
func agentError(err error, spec string) error {
	e := errorFor(err)
	if e.Code != "unknown_agent" && e.Code != "agent_unavailable" {
		return err
	}
	e = &Error{Status: e.Status, Code: e.Code, Message: err.Error(), Err: err}
	return e.with("agent", spec).with("reason", err.Error())
}

// idempotency records (docs/http-api.md#idempotency), in memory per replica.
type idemRecord struct {
	fingerprint string
	status      int
	body        []byte
	location    string
	done        bool
	at          time.Time
}

type idemTable struct {
	mu sync.Mutex
	m  map[string]*idemRecord
}

var validKeyRE = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// handleCreate is POST /api/debates.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	if err := s.create(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var req lifecycle.Request
	if err := decodeBody(r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	sp, err := req.Normalise(s.lc.Defaults())
	if err != nil {
		return err
	}
	// While draining the debate is still accepted: the lifecycle stores it
	// pending for the next process or a peer (docs/operations.md#stop-drain-and-restart).
	key := r.Header.Get("Idempotency-Key")
	info := infoFrom(r.Context())
	// complete stores the successful response under the Idempotency-Key;
	// until it runs, a deferred abort frees the key (failed requests are
	// not stored, docs/http-api.md#idempotency).
	complete := func(status int, body []byte, debateID string) {}
	if _, has := r.Header["Idempotency-Key"]; has {
		if !validKeyRE.MatchString(key) {
			return validation(map[string]string{"Idempotency-Key": "1-255 visible ASCII characters"})
		}
		seedless := *sp
		if req.Seed == nil {
			seedless.Seed = 0
		}
		fp, _ := json.Marshal(seedless)
		sum := sha256.Sum256(fp)
		fingerprint := hex.EncodeToString(sum[:])
		var replayed, done bool
		var abort func()
		var err error
		if is, ok := s.st.(store.IdempotencyStore); ok {
			replayed, complete, abort, err = s.idemBeginStore(w, r, is, info.principal.ID, key, fingerprint)
		} else {
			replayed, complete, abort, err = s.idemBeginMemory(w, info.principal.ID, key, fingerprint)
		}
		if err != nil || replayed {
			return err
		}
		inner := complete
		complete = func(status int, body []byte, debateID string) { inner(status, body, debateID); done = true }
		defer func() {
			if !done {
				abort()
			}
		}()
	}
	d, err := s.lc.Create(r.Context(), sp, info.principal.ID, info.correlationID)
	if err != nil {
		var ae *lifecycle.AgentError
		if errors.As(err, &ae) {
			return agentError(ae.Err, ae.Spec)
		}
		return err
	}
	obj := s.lc.Object(d, true)
	obj.Status = d.Status
	body, _ := json.Marshal(obj)
	body = append(body, '\n')
	loc := "/api/debates/" + d.ID
	complete(http.StatusAccepted, body, d.ID)
	s.hub.control("debate_created", d.ID, obj.Summary())
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(body)
	return nil
}

// replayIdem writes a stored idempotent response byte for byte.
func replayIdem(w http.ResponseWriter, status int, body []byte, location string) {
	w.Header().Set("Idempotent-Replayed", "true")
	if location != "" {
		w.Header().Set("Location", location)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// idemConflict maps an existing record to 422 (other request) or 409 (in
// progress); nil means its response may be replayed.
func idemConflict(oldFingerprint, fingerprint string, inProgress bool) error {
	switch {
	case oldFingerprint != fingerprint:
		return apiErr(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key reused with a different request")
	case inProgress:
		return &Error{Status: http.StatusConflict, Code: "idempotency_in_progress", Message: "request with this Idempotency-Key in progress", RetryAfter: 1}
	}
	return nil
}

// idemBeginMemory reserves an Idempotency-Key in this replica's memory (a
// store without store.IdempotencyStore). replayed is true when it wrote
// the stored response.
func (s *Server) idemBeginMemory(w http.ResponseWriter, principal, key, fingerprint string) (replayed bool, complete func(int, []byte, string), abort func(), err error) {
	k := principal + "\x00" + key
	s.idem.mu.Lock()
	for kk, v := range s.idem.m {
		if s.now().Sub(v.at) > 24*time.Hour {
			delete(s.idem.m, kk)
		}
	}
	if old, ok := s.idem.m[k]; ok {
		s.idem.mu.Unlock()
		if err := idemConflict(old.fingerprint, fingerprint, !old.done); err != nil {
			return false, nil, nil, err
		}
		replayIdem(w, old.status, old.body, old.location)
		return true, nil, nil, nil
	}
	rec := &idemRecord{fingerprint: fingerprint, at: s.now()}
	s.idem.m[k] = rec
	s.idem.mu.Unlock()
	complete = func(status int, body []byte, debateID string) {
		s.idem.mu.Lock()
		rec.status, rec.body, rec.location, rec.done = status, body, "/api/debates/"+debateID, true
		s.idem.mu.Unlock()
	}
	abort = func() {
		s.idem.mu.Lock()
		delete(s.idem.m, k)
		s.idem.mu.Unlock()
	}
	return false, complete, abort, nil
}

// idemInProgressLease bounds how long a crashed request holds its key.
const idemInProgressLease = 5 * time.Minute

// idemBeginStore reserves an Idempotency-Key in the store, so every
// replica and a restarted process honour it (docs/http-api.md#idempotency).
func (s *Server) idemBeginStore(w http.ResponseWriter, r *http.Request, is store.IdempotencyStore, principal, key, fingerprint string) (replayed bool, complete func(int, []byte, string), abort func(), err error) {
	now := s.now()
	old, err := is.BeginIdempotent(r.Context(), &store.IdempotencyRecord{Principal: principal, Key: key, Fingerprint: fingerprint,
		CreatedAt: now, ExpiresAt: now.Add(idemInProgressLease)}, now)
	if err != nil {
		if !errors.Is(err, store.ErrConflict) || old == nil {
			return false, nil, nil, fmt.Errorf("server: idempotency: %w", err)
		}
		if err := idemConflict(old.Fingerprint, fingerprint, old.InProgress()); err != nil {
			return false, nil, nil, err
		}
		loc := ""
		if old.DebateID != "" {
			loc = "/api/debates/" + old.DebateID
		}
		replayIdem(w, old.StatusCode, old.Body, loc)
		return true, nil, nil, nil
	}
	bg := context.WithoutCancel(r.Context())
	complete = func(status int, body []byte, debateID string) {
		if err := is.CompleteIdempotent(bg, principal, key, fingerprint, status, body, debateID, s.now().Add(24*time.Hour)); err != nil {
			s.log.Warn("idempotency_complete_failed", "error", err.Error(), "correlation_id", infoFrom(r.Context()).correlationID)
		}
	}
	abort = func() {
		if err := is.AbortIdempotent(bg, principal, key); err != nil {
			s.log.Warn("idempotency_abort_failed", "error", err.Error(), "correlation_id", infoFrom(r.Context()).correlationID)
		}
	}
	return false, complete, abort, nil
}

func ts(t time.Time) string { return lifecycle.Timestamp(t) }

func tsPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

// debateOr is loadDebate that answers the error itself; ok is false when it
// did.
func (s *Server) debateOr(w http.ResponseWriter, r *http.Request) (*store.Debate, bool) {
	d, err := s.loadDebate(r)
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return d, true
}

func (s *Server) loadDebate(r *http.Request) (*store.Debate, error) {
	id := r.PathValue("id")
	if !tokenOf(id, 64, false) {
		return nil, apiErr(http.StatusNotFound, "not_found", "no such debate")
	}
	d, err := s.st.GetDebate(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apiErr(http.StatusNotFound, "not_found", "no such debate")
	}
	if err != nil {
		return nil, fmt.Errorf("server: get debate: %w", err)
	}
	return d, nil
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	// A finished debate whose log has ended never changes: its object is
	// served from memory without reading the store (lifecycle Seal).
	if id := r.PathValue("id"); tokenOf(id, 64, false) {
		if b := s.lc.SealedJSON(id); b != nil {
			writeJSONBody(w, http.StatusOK, b)
			return
		}
	}
	d, ok := s.debateOr(w, r)
	if !ok {
		return
	}
	if b, o := s.lc.ObjectJSON(d); b != nil {
		writeJSONBody(w, http.StatusOK, b)
		s.lc.Seal(r.Context(), d)
	} else {
		writeJSON(w, http.StatusOK, o)
	}
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, "status", "owner", "limit", "cursor")
	if err == nil {
		err = s.list(w, r, q)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, q query) error {
	limit, err := q.intParam("limit", 50, 1, 200)
	if err != nil {
		return err
	}
	f := store.Filter{Limit: limit + 1}
	if q.has("status") {
		for _, name := range strings.Split(q.get("status"), ",") {
			st, err := store.ParseStatus(name)
			if err != nil {
				return apiErr(http.StatusBadRequest, "invalid_query", fmt.Sprintf("status: unknown status %q", name)).with("parameter", "status")
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if q.has("owner") {
		f.Owner = q.get("owner")
		if f.Owner == "me" {
			f.Owner = infoFrom(r.Context()).principal.ID
		}
	}
	if q.has("cursor") {
		c, err := decodeCursor(q.get("cursor"))
		if err != nil {
			return apiErr(http.StatusBadRequest, "invalid_query", "cursor: malformed").with("parameter", "cursor")
		}
		f.Cursor = c
	}
	ds, err := s.st.ListDebates(r.Context(), f)
	if err != nil {
		return fmt.Errorf("server: list debates: %w", err)
	}
	out := make([]*lifecycle.DebateObject, 0, len(ds))
	for i, d := range ds {
		if i == limit {
			break
		}
		out = append(out, s.lc.Object(d, false))
	}
	if len(ds) > limit {
		last := ds[limit-1]
		v := url.Values{}
		for _, k := range []string{"status", "owner"} {
			if q.has(k) {
				v.Set(k, q.get(k))
			}
		}
		v.Set("limit", strconv.Itoa(limit))
		v.Set("cursor", encodeCursor(last.CreatedAt, last.ID))
		w.Header().Set("Link", "</api/debates?"+v.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (*store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	t, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return nil, errors.New("server: bad cursor")
	}
	at, err := time.Parse(time.RFC3339Nano, t)
	if err != nil {
		return nil, err
	}
	return &store.Cursor{CreatedAt: at, ID: id}, nil
}

// withEpoch inserts "epoch" into a stored event's wire JSON.
func withEpoch(ev []byte, epoch string) []byte {
	ev = bytes.TrimSpace(ev)
	if len(ev) < 2 || ev[0] != '{' {
		return ev
	}
	out := make([]byte, 0, len(ev)+24)
	out = append(out, `{"epoch":"`...)
	out = append(out, epoch...)
	out = append(out, '"')
	if len(bytes.TrimSpace(ev[1:])) > 1 {
		out = append(out, ',')
	}
	return append(out, ev[1:]...)
}

func (s *Server) events() (store.EventReader, bool) {
	er, ok := s.st.(store.EventReader)
	return er, ok
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, "after_seq", "limit")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := q.int64Param("after_seq")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := q.intParam("limit", 500, 1, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, ok := s.debateOr(w, r)
	if !ok {
		return
	}
	epoch := lifecycle.StreamEpoch(d.ID)
	var evs []store.Event
	if er, ok := s.events(); ok {
		evs, err = er.ListEvents(r.Context(), d.ID, after, limit+1)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("server: list events: %w", err))
			return
		}
	}
	more := len(evs) > limit
	if more {
		evs = evs[:limit]
	}
	raw := make([]json.RawMessage, 0, len(evs))
	last := d.LastSeq
	for _, e := range evs {
		raw = append(raw, withEpoch(e.JSON, epoch))
		if e.Seq > last {
			last = e.Seq
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"debate_id": d.ID, "stream_epoch": epoch, "events": raw,
		"last_seq": last, "has_more": more, "finished": store.Terminal(s.lc.Status(d))})
}

// ReceiptRenderer renders a stored receipt (its JSON) as markdown or html.
type ReceiptRenderer interface {
	Render(format string, receiptJSON []byte) ([]byte, error)
}

// receiptExports renders a stored receipt with the receipt package.
type receiptExports struct{}

// Render implements ReceiptRenderer.
func (receiptExports) Render(format string, receiptJSON []byte) ([]byte, error) {
	rc, err := receipt.Parse(receiptJSON)
	if err != nil {
		return nil, err
	}
	switch format {
	case "markdown":
		return []byte(rc.Markdown()), nil
	case "html":
		return rc.HTML()
	}
	return nil, fmt.Errorf("server: no %q export of receipts", format)
}

func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, "format")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	format := q.get("format")
	if !q.has("format") {
		accept := r.Header.Get("Accept")
		switch {
		case strings.Contains(accept, "text/markdown"):
			format = "markdown"
		case strings.Contains(accept, "text/html"):
			format = "html"
		default:
			format = "json"
		}
	}
	if format != "json" && format != "markdown" && format != "html" {
		s.writeError(w, r, apiErr(http.StatusBadRequest, "invalid_query", "format: want json, markdown or html").with("parameter", "format"))
		return
	}
	d, ok := s.debateOr(w, r)
	if !ok {
		return
	}
	status, res := s.lc.Result(d)
	if !store.Terminal(status) {
		s.writeError(w, r, apiErr(http.StatusConflict, "invalid_state", "the debate has not finished").with("state", status))
		return
	}
	if res == nil || len(res.Receipt) == 0 || string(res.Receipt) == "null" {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no receipt recorded for this debate"))
		return
	}
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(res.Receipt)
		return
	}
	if b, ok := s.lc.Rendered(d.ID, format); ok {
		s.writeReceipt(w, format, b)
		return
	}
	b, err := s.cfg.Receipts.Render(format, res.Receipt)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("server: render receipt: %w", err))
		return
	}
	s.lc.KeepRendered(d.ID, format, b)
	s.writeReceipt(w, format, b)
}

func (s *Server) writeReceipt(w http.ResponseWriter, format string, b []byte) {
	if format == "html" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	} else {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	}
	_, _ = w.Write(b)
}

// publicKeyer is a receipt signer whose verification key may be published
// (Ed25519); an HMAC key never is.
type publicKeyer interface {
	PublicKey() ed25519.PublicKey
}

// handleReceiptPublicKey is GET /api/receipts/public-key (docs/http-api.md#receipt):
// the Ed25519 key that verifies this server's receipts, or 404
// not_configured when receipts are unsigned or HMAC-signed.
func (s *Server) handleReceiptPublicKey(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	signer := s.cfg.Lifecycle.ReceiptSigner
	pk, ok := signer.(publicKeyer)
	var pub ed25519.PublicKey
	if ok {
		pub = pk.PublicKey()
	}
	if len(pub) == 0 {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_configured",
			"receipts are not signed with an Ed25519 key (ARAGORA_RECEIPT_ED25519_KEY)"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"algorithm": signer.Algorithm(), "key_id": signer.KeyID(),
		"public_key": base64.StdEncoding.EncodeToString(pub)})
}

type cancelRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	var req cancelRequest
	if !s.noQueryOr(w, r) || !s.decodeOr(w, r, &req) {
		return
	}
	d, ok := s.debateOr(w, r)
	if !ok {
		return
	}
	p := infoFrom(r.Context()).principal
	if !p.Role.AtLeast(auth.RoleAdmin) && d.Owner != p.ID {
		s.writeError(w, r, apiErr(http.StatusForbidden, "forbidden", "only the owner or an admin may cancel").with("required_role", auth.RoleAdmin))
		return
	}
	status := s.lc.Status(d)
	switch {
	case status == store.StatusCancelled:
	case store.Terminal(status):
		s.writeError(w, r, apiErr(http.StatusConflict, "invalid_state", "the debate already finished").with("state", status))
		return
	default:
		done, ok := s.lc.Cancel(d.ID, errCancelledByAPI)
		if !ok {
			s.writeError(w, r, apiErr(http.StatusConflict, "invalid_state", "the debate runs on another replica").with("state", status))
			return
		}
		t := time.NewTimer(5 * time.Second)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
		s.debLog.Info("debate_cancel_requested", "debate_id", d.ID, "correlation_id", infoFrom(r.Context()).correlationID, "reason_len", len(req.Reason))
	}
	if nd, err := s.st.GetDebate(r.Context(), d.ID); err == nil {
		d = nd
	}
	obj := s.lc.Object(d, true)
	if !store.Terminal(obj.Status) {
		obj.Status = store.StatusCancelled
	}
	writeJSON(w, http.StatusOK, obj)
}
