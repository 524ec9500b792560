// Command webhookreceiver is a webhook endpoint for Aragora that you can
// copy into your own service: it checks each delivery's Standard Webhooks
// signature with the secret Aragora showed when the endpoint was created
// (or ARAGORA_WEBHOOK_SECRET for WEBHOOK_URL endpoints), refuses
// timestamps more than 5 minutes off, handles each webhook-id once (Aragora
// delivers at least once, so a message may arrive again) and answers 2xx
// quickly. It uses only the standard library.
//
//	WEBHOOK_SECRET=whsec_... go run ./examples/webhookreceiver -addr :9000
//
// then point Aragora at it: WEBHOOK_URL=http://localhost:9000/aragora with
// ARAGORA_WEBHOOK_ALLOW_PRIVATE=1 (a local address), or
// POST /api/webhooks/endpoints {"url":"https://your.host/aragora"}.
// See docs/webhooks.md.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tolerance is how far webhook-timestamp may be from our clock, as the
// Standard Webhooks specification recommends; it stops replays of old
// captured requests.
const tolerance = 5 * time.Minute

// maxBody bounds what we read; Aragora's payloads are a few KiB.
const maxBody = 1 << 20

// Event is the Standard Webhooks payload Aragora sends.
type Event struct {
	Type      string          `json:"type"` // debate.created, debate.finished, consensus.reached, …
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// verify checks the signature headers of a delivery against secret
// (whsec_ + base64 key): the signed content is
// "<webhook-id>.<webhook-timestamp>.<body>", signed with HMAC-SHA256 and
// sent as "v1,<base64>" (several may be listed, space-separated).
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return errors.New("the secret is not whsec_<base64>")
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook-timestamp is %s off", d.Round(time.Second))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, enc, _ := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(enc)
		if version == "v1" && err == nil && hmac.Equal(got, want) { // constant time
			return nil
		}
	}
	return errors.New("no valid signature")
}

// seen remembers handled webhook-ids for window: longer than Aragora's
// whole retry schedule, so a retry of a message already handled is
// recognised. Keep this in your database in a real service, in the same
// transaction as the work the event triggers.
type seen struct {
	window time.Duration
	mu     sync.Mutex
	ids    map[string]time.Time // id → when handled; zero while in progress
}

// begin reports whether id is new and marks it in progress.
func (s *seen) begin(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, at := range s.ids {
		if !at.IsZero() && now.Sub(at) > s.window {
			delete(s.ids, k)
		}
	}
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = time.Time{}
	return true
}

// done records the outcome: a failed id is forgotten, so the retry is handled.
func (s *seen) done(id string, ok bool, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.ids[id] = now
	} else {
		delete(s.ids, id)
	}
}

// receiver is the endpoint's HTTP handler.
type receiver struct {
	secret string
	seen   *seen
	handle func(id string, e Event) error // your work; an error asks for a retry
	now    func() time.Time
	log    *log.Logger
}

func newReceiver(secret string, handle func(string, Event) error, logger *log.Logger) *receiver {
	return &receiver{secret: secret, seen: &seen{window: 48 * time.Hour, ids: map[string]time.Time{}},
		handle: handle, now: time.Now, log: logger}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	now := rc.now()
	if err := verify(rc.secret, r.Header, body, now); err != nil {
		// 401: Aragora retries, which helps while you rotate the secret.
		rc.log.Printf("refused delivery %q: %v", r.Header.Get("webhook-id"), err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("webhook-id")
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		http.Error(w, "invalid JSON", http.StatusBadRequest)
		return
	}
	if !rc.seen.begin(id, now) {
		rc.log.Printf("duplicate %s (%s): already handled", id, e.Type)
		w.WriteHeader(http.StatusOK) // 2xx: Aragora stops retrying
		return
	}
	if err := rc.handle(id, e); err != nil {
		rc.seen.done(id, false, now)
		rc.log.Printf("handling %s (%s) failed: %v", id, e.Type, err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	rc.seen.done(id, true, now)
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	addr := flag.String("addr", ":9000", "listen address")
	path := flag.String("path", "/aragora", "URL path of the endpoint")
	flag.Parse()
	secret := os.Getenv("WEBHOOK_SECRET")
	if secret == "" {
		fmt.Fprintln(os.Stderr, "webhookreceiver: set WEBHOOK_SECRET to the endpoint's whsec_ secret")
		os.Exit(2)
	}
	logger := log.New(os.Stderr, "webhookreceiver: ", log.LstdFlags)
	rc := newReceiver(secret, func(id string, e Event) error {
		// Do the real work here (enqueue it if it is slow: Aragora waits at
		// most 15 s for the answer).
		logger.Printf("%s %s at %s: %s", id, e.Type, e.Timestamp.Format(time.RFC3339), e.Data)
		return nil
	}, logger)
	mux := http.NewServeMux()
	mux.Handle(*path, rc)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	logger.Printf("listening on %s%s", *addr, *path)
	if err := srv.ListenAndServe(); err != nil {
		logger.Fatal(err)
	}
}
