package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/internal/testclock"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/store/sqlitestore"
	"github.com/aragora/aragora/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is the fake clock of the schedule.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)) }

// hit is one request a receiver got.
type hit struct {
	At     time.Time // the fake clock when it arrived
	Header http.Header
	Body   []byte
	Status int
}

func (h hit) ID() string { return h.Header.Get("webhook-id") }

// receiver is a local webhook endpoint whose answers a test programs.
type receiver struct {
	*httptest.Server
	clk *clock

	mu     sync.Mutex
	hits   []hit
	answer func(h hit) (int, http.Header) // nil: 204
}

func newReceiver(t *testing.T, clk *clock) *receiver {
	t.Helper()
	rc := &receiver{clk: clk}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hit{At: clk.Now(), Header: r.Header.Clone(), Body: body, Status: http.StatusNoContent}
		rc.mu.Lock()
		answer := rc.answer
		rc.mu.Unlock()
		var hdr http.Header
		if answer != nil {
			h.Status, hdr = answer(h)
		}
		for k, v := range hdr {
			w.Header()[k] = v
		}
		rc.mu.Lock()
		rc.hits = append(rc.hits, h)
		rc.mu.Unlock()
		w.WriteHeader(h.Status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setAnswer(f func(h hit) (int, http.Header)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = f
}

func (rc *receiver) all() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// byID groups the hits per webhook-id, in arrival order.
func (rc *receiver) byID() map[string][]hit {
	out := map[string][]hit{}
	for _, h := range rc.all() {
		out[h.ID()] = append(out[h.ID()], h)
	}
	return out
}

// reports collects Config.OnResult.
type reports struct {
	mu  sync.Mutex
	all []webhook.Report
}

func (r *reports) add(rep webhook.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, rep)
}

func (r *reports) count(o webhook.Outcome) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rep := range r.all {
		if rep.Outcome == o {
			n++
		}
	}
	return n
}

type harness struct {
	st      webhook.Store
	w       *webhook.Worker
	clk     *clock
	reports *reports
}

// newHarness builds a worker on st (nil: a new memstore) with the fake
// clock clk (nil: a new one), the guard lifted for the local receivers and
// a seeded jitter.
func newHarness(t *testing.T, st webhook.Store, clk *clock, cfg webhook.Config) *harness {
	t.Helper()
	if st == nil {
		st = memstore.New()
	}
	if clk == nil {
		clk = newClock()
	}
	h := &harness{st: st, clk: clk, reports: &reports{}}
	cfg.Guard.AllowPrivate = true
	cfg.Now = clk.Now
	if cfg.Rand == nil {
		rng := rand.New(rand.NewPCG(1, 2))
		var mu sync.Mutex
		cfg.Rand = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			return rng.Float64()
		}
	}
	cfg.OnResult = h.reports.add
	w, err := webhook.New(st, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	h.w = w
	return h
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (h *harness) queue(t *testing.T) webhook.Queue {
	t.Helper()
	q, err := h.w.Queue(ctxT(t))
	require.NoError(t, err)
	return q
}

// drive runs the worker on the fake clock, jumping to each next due time,
// until nothing is pending, stop holds, or the clock passes limit.
func (h *harness) drive(t *testing.T, limit time.Duration, stop func() bool) {
	t.Helper()
	end := h.clk.Now().Add(limit)
	for i := 0; i < 100000; i++ {
		require.NoError(t, h.w.RunOnce(ctxT(t)))
		if stop != nil && stop() {
			return
		}
		q := h.queue(t)
		if q.Size == 0 || q.NextAttemptAt == nil || q.NextAttemptAt.After(end) {
			return
		}
		h.clk.Set(*q.NextAttemptAt)
	}
	t.Fatal("drive did not settle")
}

func (h *harness) enqueue(t *testing.T, typ string, data any) string {
	t.Helper()
	id, err := h.w.Enqueue(ctxT(t), typ, data, "corr-test")
	require.NoError(t, err)
	return id
}

func envEndpoint(url, secret string) webhook.Endpoint {
	return webhook.Endpoint{ID: "env-1", URL: url, Secret: secret, Events: []string{webhook.AllEvents}}
}

func TestDeliveryHeadersAndSignature(t *testing.T) {
	secret := webhook.NewSecret()
	clk := newClock()
	rc := newReceiver(t, clk)
	h := newHarness(t, nil, clk, webhook.Config{UserAgent: "Aragora-Webhook/1.2.3", Endpoints: []webhook.Endpoint{envEndpoint(rc.URL+"/hook?k=v", secret)}})
	id := h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_1", "status": "pending"})
	require.NoError(t, h.w.RunOnce(ctxT(t)))

	hits := rc.all()
	require.Len(t, hits, 1)
	got := hits[0]
	assert.Equal(t, id, got.ID())
	assert.True(t, strings.HasPrefix(id, "msg_"))
	assert.Equal(t, fmt.Sprint(h.clk.Now().Unix()), got.Header.Get("webhook-timestamp"))
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.Equal(t, "Aragora-Webhook/1.2.3", got.Header.Get("User-Agent"))
	assert.Equal(t, "corr-test", got.Header.Get("X-Correlation-ID"))
	require.NoError(t, standardVerify(secret, got.Header, got.Body, h.clk.Now()))
	assert.Error(t, standardVerify(webhook.NewSecret(), got.Header, got.Body, h.clk.Now()), "wrong secret")
	assert.Error(t, standardVerify(secret, got.Header, got.Body, h.clk.Now().Add(10*time.Minute)), "stale")

	var p struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(got.Body, &p))
	assert.Equal(t, webhook.EventDebateCreated, p.Type)
	assert.True(t, h.clk.Now().Equal(p.Timestamp))
	assert.Equal(t, "deb_1", p.Data["id"])
	assert.Equal(t, 1, h.reports.count(webhook.OutcomeSuccess))
	assert.Equal(t, 0, h.queue(t).Size)
}

func TestUnsignedWithoutSecret(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, clk)
	h := newHarness(t, nil, clk, webhook.Config{Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, "")}})
	h.enqueue(t, webhook.EventAgentCircuitOpened, map[string]any{"agent": "claude"})
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	hits := rc.all()
	require.Len(t, hits, 1)
	assert.Empty(t, hits[0].Header.Values("webhook-signature"))
	assert.NotEmpty(t, hits[0].Header.Get("webhook-id"))
	assert.NotEmpty(t, hits[0].Header.Get("webhook-timestamp"))
}

// TestScheduleAsSpecified checks every gap of one failing delivery against
// min(5 s × 4^(k−1), 6 h) ±20 %, then the dead letter after the last attempt.
func TestScheduleAsSpecified(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, clk)
	rc.setAnswer(func(hit) (int, http.Header) { return http.StatusInternalServerError, nil })
	h := newHarness(t, nil, clk, webhook.Config{Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, webhook.NewSecret())}})
	h.enqueue(t, webhook.EventDebateFinished, map[string]any{"id": "deb_1"})
	h.drive(t, 48*time.Hour, nil)

	hits := rc.all()
	require.Len(t, hits, webhook.DefaultMaxAttempts)
	for k := 1; k < len(hits); k++ {
		gap := hits[k].At.Sub(hits[k-1].At)
		b := webhook.Backoff(k)
		assert.GreaterOrEqual(t, gap, time.Duration(float64(b)*0.8), "retry %d", k)
		assert.LessOrEqual(t, gap, time.Duration(float64(b)*1.2), "retry %d", k)
	}
	q := h.queue(t)
	assert.Equal(t, 0, q.Size)
	assert.Equal(t, 1, q.DeadLetter)
	assert.Equal(t, webhook.DefaultMaxAttempts-1, h.reports.count(webhook.OutcomeRetry))
	assert.Equal(t, 1, h.reports.count(webhook.OutcomeDeadLetter))
}

// TestOutageOfOneHour: the endpoint is down for one simulated hour while
// events keep coming; after it recovers every event is delivered, signed,
// and no retry came earlier than the schedule allows.
func TestOutageOfOneHour(t *testing.T) {
	clk := newClock()
	start := clk.Now()
	rc := newReceiver(t, clk)
	rc.setAnswer(func(h hit) (int, http.Header) {
		if h.At.Before(start.Add(time.Hour)) {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	secret := webhook.NewSecret()
	h := newHarness(t, nil, clk, webhook.Config{Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, secret)}})
	var ids []string
	for i := range 30 { // an event every two minutes during the outage
		clk.Set(start.Add(time.Duration(i) * 2 * time.Minute))
		ids = append(ids, h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": fmt.Sprint("deb_", i)}))
		h.drive(t, 2*time.Minute-time.Second, nil)
	}
	h.drive(t, 24*time.Hour, nil)

	byID := rc.byID()
	require.Len(t, byID, len(ids), "every event reached the receiver")
	for _, id := range ids {
		hs := byID[id]
		require.NotEmpty(t, hs, id)
		last := hs[len(hs)-1]
		assert.Equal(t, http.StatusOK, last.Status, "%s delivered", id)
		assert.False(t, last.At.Before(start.Add(time.Hour)), "%s delivered after the recovery", id)
		assert.LessOrEqual(t, len(hs), webhook.DefaultMaxAttempts, id)
		for k := 1; k < len(hs); k++ {
			assert.GreaterOrEqual(t, hs[k].At.Sub(hs[k-1].At), time.Duration(float64(webhook.Backoff(k))*0.8),
				"%s retry %d came before its time", id, k)
		}
		for _, x := range hs {
			require.NoError(t, standardVerify(secret, x.Header, x.Body, x.At), "%s signature", id)
		}
	}
	q := h.queue(t)
	assert.Equal(t, 0, q.Size)
	assert.Equal(t, 0, q.DeadLetter)
	assert.Equal(t, len(ids), h.reports.count(webhook.OutcomeSuccess))
	// The circuit kept the outage cheap: far fewer attempts than events × schedule.
	assert.Less(t, len(rc.all()), 30*5, "attempts during the outage")
}

func TestCircuitDefersAndProbes(t *testing.T) {
	clk := newClock()
	start := clk.Now()
	rc := newReceiver(t, clk)
	rc.setAnswer(func(hit) (int, http.Header) { return http.StatusBadGateway, nil })
	h := newHarness(t, nil, clk, webhook.Config{Concurrency: 1, Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, "")}})
	for i := range 10 {
		h.enqueue(t, webhook.EventDebateCreated, map[string]any{"n": i})
	}
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	assert.Len(t, rc.all(), 5, "the circuit opened after five failures; the other five were deferred without a request")
	cs, err := h.w.Circuits(ctxT(t))
	require.NoError(t, err)
	require.Contains(t, cs, "env-1")
	assert.Equal(t, breaker.StateOpen, cs["env-1"].State)
	assert.Equal(t, 5, cs["env-1"].ConsecutiveFailures)
	require.NotNil(t, cs["env-1"].NextProbeAt)
	assert.Equal(t, start.Add(60*time.Second), *cs["env-1"].NextProbeAt)
	require.NotNil(t, cs["env-1"].LastFailure)
	assert.Equal(t, webhook.FailureStatus, cs["env-1"].LastFailure.Kind)
	eps, err := h.w.Endpoints(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, webhook.EndpointCircuitOpen, eps[0].State)

	clk.Set(start.Add(60 * time.Second))
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	assert.Len(t, rc.all(), 6, "one probe, which failed and reopened the circuit")
	rc.setAnswer(nil)
	clk.Set(start.Add(121 * time.Second))
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	assert.Equal(t, 10, h.reports.count(webhook.OutcomeSuccess), "the probe closed the circuit and the rest followed")
	cs, err = h.w.Circuits(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, breaker.StateClosed, cs["env-1"].State)
	assert.Equal(t, 0, h.queue(t).Size)
}

func TestGoneDisablesRegisteredEndpoint(t *testing.T) {
	clk := newClock()
	gone := newReceiver(t, clk)
	gone.setAnswer(func(hit) (int, http.Header) { return http.StatusGone, nil })
	envGone := newReceiver(t, clk)
	envGone.setAnswer(func(hit) (int, http.Header) { return http.StatusGone, nil })
	h := newHarness(t, nil, clk, webhook.Config{Endpoints: []webhook.Endpoint{envEndpoint(envGone.URL, "")}})
	ep, err := h.w.CreateEndpoint(ctxT(t), webhook.EndpointSpec{URL: gone.URL})
	require.NoError(t, err)
	h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_1"})
	require.NoError(t, h.w.RunOnce(ctxT(t)))

	eps, err := h.w.Endpoints(ctxT(t))
	require.NoError(t, err)
	require.Len(t, eps, 2)
	assert.Equal(t, webhook.EndpointActive, eps[0].State, "a WEBHOOK_URL endpoint is never disabled")
	assert.Equal(t, ep.ID, eps[1].ID)
	assert.Equal(t, webhook.EndpointDisabled, eps[1].State)
	require.NotNil(t, eps[1].DisabledReason)
	assert.Equal(t, "410 Gone", *eps[1].DisabledReason)
	q := h.queue(t)
	assert.Equal(t, 1, q.DeadLetter, "the registered endpoint's delivery is dead")
	assert.Equal(t, 1, q.Size, "the env endpoint's delivery is retried")

	h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_2"})
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	assert.Len(t, gone.all(), 1, "a disabled endpoint gets no further deliveries")
	_, err = h.w.Test(ctxT(t), ep.ID, "")
	require.ErrorIs(t, err, webhook.ErrEndpointDisabled)
	requeued, skipped, err := h.w.RetryFailed(ctxT(t), "", 0)
	require.NoError(t, err)
	assert.Equal(t, 0, requeued)
	assert.Equal(t, 1, skipped, "deliveries of a disabled endpoint are skipped")
}

func TestRetryAfterHonoured(t *testing.T) {
	for name, header := range map[string]func(time.Time) string{
		"seconds":   func(time.Time) string { return "120" },
		"HTTP-date": func(now time.Time) string { return now.Add(120 * time.Second).Format(http.TimeFormat) },
	} {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			rc := newReceiver(t, clk)
			rc.setAnswer(func(x hit) (int, http.Header) {
				if len(rc.all()) == 0 {
					return http.StatusTooManyRequests, http.Header{"Retry-After": {header(x.At)}}
				}
				return http.StatusOK, nil
			})
			h := newHarness(t, nil, clk, webhook.Config{Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, "")}})
			h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_1"})
			h.drive(t, time.Hour, nil)
			hits := rc.all()
			require.Len(t, hits, 2)
			assert.Equal(t, 120*time.Second, hits[1].At.Sub(hits[0].At), "not the 5 s backoff")
			assert.Equal(t, http.StatusOK, hits[1].Status)
		})
	}
}

func TestOverflowGoesToDeadLetterAndRetryFailedSendsIt(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, clk)
	down := atomic.Bool{}
	down.Store(true)
	rc.setAnswer(func(hit) (int, http.Header) {
		if down.Load() {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	h := newHarness(t, nil, clk, webhook.Config{QueueSize: 2, Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, "")}})
	var ids []string
	for i := range 5 {
		ids = append(ids, h.enqueue(t, webhook.EventDebateCreated, map[string]any{"n": i}))
	}
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	q := h.queue(t)
	assert.Equal(t, 2, q.Size, "the queue holds its capacity")
	assert.Equal(t, 2, q.Capacity)
	assert.Equal(t, 3, q.DeadLetter)
	assert.Equal(t, 3, q.OverflowedTotal)
	assert.Equal(t, 3, h.reports.count(webhook.OutcomeOverflow))

	down.Store(false)
	requeued, skipped, err := h.w.RetryFailed(ctxT(t), "", 0)
	require.NoError(t, err)
	assert.Equal(t, 3, requeued)
	assert.Equal(t, 0, skipped)
	h.drive(t, time.Hour, nil)
	byID := rc.byID()
	for _, id := range ids {
		hs := byID[id]
		require.NotEmpty(t, hs, id)
		assert.Equal(t, http.StatusOK, hs[len(hs)-1].Status, id)
	}
	q = h.queue(t)
	assert.Equal(t, 0, q.Size)
	assert.Equal(t, 0, q.DeadLetter)
	assert.Equal(t, 3, q.OverflowedTotal, "overflowed_total counts them still")
}

func TestRetryFailedSkipsRemovedEndpoints(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, clk)
	rc.setAnswer(func(hit) (int, http.Header) { return http.StatusInternalServerError, nil })
	h := newHarness(t, nil, clk, webhook.Config{MaxAttempts: 1, Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, "")}})
	h.enqueue(t, webhook.EventDebateCreated, map[string]any{"n": 1})
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	assert.Equal(t, 1, h.queue(t).DeadLetter)
	// The next process runs without WEBHOOK_URL.
	h2 := newHarness(t, h.st, clk, webhook.Config{})
	requeued, skipped, err := h2.w.RetryFailed(ctxT(t), "", 0)
	require.NoError(t, err)
	assert.Equal(t, 0, requeued)
	assert.Equal(t, 1, skipped)
	requeued, skipped, err = h2.w.RetryFailed(ctxT(t), "env-1", 5)
	require.NoError(t, err)
	assert.Equal(t, 0, requeued)
	assert.Equal(t, 1, skipped)
}

func TestNoRedirectsFollowed(t *testing.T) {
	clk := newClock()
	target := newReceiver(t, clk)
	rc := newReceiver(t, clk)
	rc.setAnswer(func(hit) (int, http.Header) { return http.StatusFound, http.Header{"Location": {target.URL}} })
	h := newHarness(t, nil, clk, webhook.Config{Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, "")}})
	h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_1"})
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	assert.Len(t, rc.all(), 1)
	assert.Empty(t, target.all(), "the redirect was not followed")
	assert.Equal(t, 1, h.reports.count(webhook.OutcomeRetry))
	assert.Equal(t, 302, h.reports.all[0].StatusCode)
}

func TestResponseReadIsCapped(t *testing.T) {
	// The endpoint answers 200 with 64 KiB and more, then stalls: reading
	// past the cap would wait for the attempt timeout and fail.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // so the server notices the client going away
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(make([]byte, 96<<10))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	h := newHarness(t, nil, nil, webhook.Config{Timeout: 30 * time.Second, Endpoints: []webhook.Endpoint{envEndpoint(srv.URL, "")}})
	h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_1"})
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	assert.Equal(t, 1, h.reports.count(webhook.OutcomeSuccess))
}

func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	h := newHarness(t, nil, nil, webhook.Config{Timeout: 100 * time.Millisecond, LeaseDuration: time.Minute,
		Endpoints: []webhook.Endpoint{envEndpoint(srv.URL, "")}})
	h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_1"})
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	require.Equal(t, 1, h.reports.count(webhook.OutcomeRetry))
	assert.Equal(t, "timed out", h.reports.all[0].Error)
	eps, err := h.w.Endpoints(ctxT(t))
	require.NoError(t, err)
	require.NotNil(t, eps[0].LastError)
	assert.Equal(t, "timed out", *eps[0].LastError)
	assert.Equal(t, int64(1), eps[0].FailedTotal)
}

func TestConfigValidate(t *testing.T) {
	_, err := webhook.New(memstore.New(), webhook.Config{Timeout: time.Minute, LeaseDuration: 30 * time.Second})
	require.Error(t, err)
	_, err = webhook.New(memstore.New(), webhook.Config{Endpoints: []webhook.Endpoint{{ID: "env-1"}, {ID: "env-1"}}})
	require.Error(t, err)
	_, err = webhook.New(nil, webhook.Config{})
	require.Error(t, err)
}

func TestEndpointManagement(t *testing.T) {
	clk := newClock()
	a, b, env := newReceiver(t, clk), newReceiver(t, clk), newReceiver(t, clk)
	key := []byte("0123456789abcdef0123456789abcdef")
	st := memstore.New()
	h := newHarness(t, st, clk, webhook.Config{SecretKey: key, Endpoints: []webhook.Endpoint{envEndpoint(env.URL, "")}})
	ctx := ctxT(t)

	for name, spec := range map[string]webhook.EndpointSpec{
		"url":         {URL: "ftp://x.example"},
		"events":      {URL: a.URL, Events: []string{"debate.exploded"}},
		"test event":  {URL: a.URL, Events: []string{webhook.EventTest}},
		"description": {URL: a.URL, Description: strings.Repeat("x", webhook.MaxDescription+1)},
	} {
		_, err := h.w.CreateEndpoint(ctx, spec)
		var ve *webhook.ValidationError
		require.ErrorAs(t, err, &ve, name)
	}
	strict, err := webhook.New(st, webhook.Config{Guard: webhook.Guard{RequireHTTPS: true}})
	require.NoError(t, err)
	_, err = strict.CreateEndpoint(ctx, webhook.EndpointSpec{URL: "https://[::ffff:7f00:1]/hook"})
	require.ErrorIs(t, err, webhook.ErrForbiddenDestination)
	_, err = strict.CreateEndpoint(ctx, webhook.EndpointSpec{URL: "http://hooks.example.com/"})
	var ve *webhook.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "url", ve.Field)

	ea, err := h.w.CreateEndpoint(ctx, webhook.EndpointSpec{URL: a.URL, Events: []string{webhook.EventDebateFinished, webhook.EventDebateFinished}, Description: "a"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(ea.ID, "wh_"))
	assert.Equal(t, []string{webhook.EventDebateFinished}, ea.Events)
	eb, err := h.w.CreateEndpoint(ctx, webhook.EndpointSpec{URL: b.URL})
	require.NoError(t, err)
	assert.Equal(t, []string{"*"}, eb.Events)
	// The secret is stored sealed, never as given.
	stored, err := st.ListWebhookEndpoints(ctx)
	require.NoError(t, err)
	require.Len(t, stored, 2)
	assert.True(t, strings.HasPrefix(stored[0].Secret, "sealed:v1:"))
	assert.NotContains(t, stored[0].Secret, strings.TrimPrefix(ea.Secret, "whsec_"))

	h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_1"})
	h.enqueue(t, webhook.EventDebateFinished, map[string]any{"id": "deb_1"})
	msgID, err := h.w.Test(ctx, eb.ID, "corr-1")
	require.NoError(t, err)
	require.NoError(t, h.w.RunOnce(ctx))
	typesOf := func(rc *receiver) []string {
		var out []string
		for _, x := range rc.all() {
			var p struct{ Type string }
			_ = json.Unmarshal(x.Body, &p)
			out = append(out, p.Type)
		}
		return out
	}
	assert.Equal(t, []string{webhook.EventDebateFinished}, typesOf(a), "a subscribes to debate.finished only")
	assert.ElementsMatch(t, []string{webhook.EventDebateCreated, webhook.EventDebateFinished, webhook.EventTest}, typesOf(b))
	assert.ElementsMatch(t, []string{webhook.EventDebateCreated, webhook.EventDebateFinished}, typesOf(env), "webhook.test goes to its endpoint only")
	for _, x := range b.all() {
		require.NoError(t, standardVerify(eb.Secret, x.Header, x.Body, clk.Now()), "signed with the secret shown at creation")
		if x.ID() == msgID {
			assert.Equal(t, "corr-1", x.Header.Get("X-Correlation-ID"))
		}
	}

	// Another process with a different key cannot use the sealed secrets.
	other := newHarness(t, st, clk, webhook.Config{SecretKey: []byte("another key, another key, another")})
	_, err = other.w.Test(ctx, eb.ID, "")
	require.NoError(t, err)
	require.NoError(t, other.w.RunOnce(ctx))
	require.Equal(t, 1, other.reports.count(webhook.OutcomeRetry))
	assert.Contains(t, other.reports.all[0].Error, "cannot open the stored endpoint secret")

	_, err = h.w.Test(ctx, "wh_none", "")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, h.w.DeleteEndpoint(ctx, "env-1"), webhook.ErrConfiguredEndpoint)
	require.NoError(t, h.w.DeleteEndpoint(ctx, ea.ID))
	require.ErrorIs(t, h.w.DeleteEndpoint(ctx, ea.ID), store.ErrNotFound)
	eps, err := h.w.Endpoints(ctx)
	require.NoError(t, err)
	require.Len(t, eps, 2)
	assert.Equal(t, "env-1", eps[0].ID)
	assert.Equal(t, webhook.SourceEnv, eps[0].Source)
	assert.Equal(t, eb.ID, eps[1].ID)
	assert.Equal(t, webhook.SourceAPI, eps[1].Source)
	assert.Equal(t, int64(3), eps[1].DeliveredTotal)
	st2, err := h.w.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st2.Enabled)
	assert.False(t, st2.Worker.Running, "RunOnce only; Start not called")
}

func TestLeaseOfADeadProcessIsTakenOver(t *testing.T) {
	clk := newClock()
	rc := newReceiver(t, clk)
	h := newHarness(t, nil, clk, webhook.Config{Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, "")}})
	id := h.enqueue(t, webhook.EventDebateCreated, map[string]any{"id": "deb_1"})
	_, err := h.st.DispatchWebhooks(ctxT(t), clk.Now(), 0, 0, func(webhook.Message) []string { return []string{"env-1"} })
	require.NoError(t, err)
	// A process claims it and dies mid-attempt.
	claimed, err := h.st.ClaimWebhookDeliveries(ctxT(t), "killed-process", clk.Now(), webhook.DefaultLeaseDuration, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	assert.Empty(t, rc.all(), "the lease still runs")
	clk.Advance(webhook.DefaultLeaseDuration)
	require.NoError(t, h.w.RunOnce(ctxT(t)))
	require.Len(t, rc.all(), 1)
	assert.Equal(t, id, rc.all()[0].ID())
}

func TestStartReleasesLeasesOfTheSoleProcess(t *testing.T) {
	rc := newReceiver(t, newClock())
	st := memstore.New()
	m, err := webhook.NewMessage(webhook.EventDebateCreated, map[string]any{"id": "deb_1"}, time.Now(), "")
	require.NoError(t, err)
	require.NoError(t, st.EnqueueWebhooks(context.Background(), m))
	_, err = st.DispatchWebhooks(context.Background(), time.Now(), 0, 0, func(webhook.Message) []string { return []string{"env-1"} })
	require.NoError(t, err)
	_, err = st.ClaimWebhookDeliveries(context.Background(), "killed-process", time.Now(), time.Hour, 10)
	require.NoError(t, err)
	w, err := webhook.New(st, webhook.Config{Guard: webhook.Guard{AllowPrivate: true}, ReleaseLeasesAtStart: true, PollEvery: 10 * time.Millisecond,
		Endpoints: []webhook.Endpoint{envEndpoint(rc.URL, "")}})
	require.NoError(t, err)
	w.Start()
	require.Eventually(t, func() bool { return len(rc.all()) == 1 }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, w.Close(context.Background()))
}

// TestWorkersSharingAStoreNeverOverlap runs two workers (two processes'
// worth) on one SQLite file against a slow receiver: no message is ever
// attempted by both at once, and each arrives exactly once.
func TestWorkersSharingAStoreNeverOverlap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aragora.db")
	var mu sync.Mutex
	active, seen := map[string]int{}, map[string]int{}
	overlaps := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		active[id]++
		seen[id]++
		if active[id] > 1 {
			overlaps++
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		active[id]--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	var workers []*webhook.Worker
	var stores []*sqlitestore.Store
	for i := range 2 {
		st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
		require.NoError(t, err)
		stores = append(stores, st)
		w, err := webhook.New(st, webhook.Config{Owner: fmt.Sprint("proc-", i), Guard: webhook.Guard{AllowPrivate: true},
			PollEvery: 5 * time.Millisecond, Endpoints: []webhook.Endpoint{envEndpoint(srv.URL, "")}})
		require.NoError(t, err)
		workers = append(workers, w)
	}
	t.Cleanup(func() {
		for _, st := range stores {
			_ = st.Close()
		}
	})
	const n = 60
	for i := range n {
		_, err := workers[i%2].Enqueue(context.Background(), webhook.EventDebateCreated, map[string]any{"n": i}, "")
		require.NoError(t, err)
	}
	for _, w := range workers {
		w.Start()
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	}, 60*time.Second, 10*time.Millisecond)
	for _, w := range workers {
		require.NoError(t, w.Close(context.Background()))
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 0, overlaps)
	for id, k := range seen {
		assert.Equal(t, 1, k, id)
	}
}

// startOneDelivery starts a worker over a new memstore with one endpoint
// at url, and enqueues one debate.created message for it.
func startOneDelivery(t *testing.T, url string) (*webhook.Worker, *memstore.Store) {
	t.Helper()
	st := memstore.New()
	w, err := webhook.New(st, webhook.Config{Guard: webhook.Guard{AllowPrivate: true}, PollEvery: 10 * time.Millisecond,
		Endpoints: []webhook.Endpoint{envEndpoint(url, "")}})
	require.NoError(t, err)
	w.Start()
	_, err = w.Enqueue(context.Background(), webhook.EventDebateCreated, map[string]any{"id": "deb_1"}, "")
	require.NoError(t, err)
	return w, st
}

func TestCloseWaitsForTheAttemptInFlight(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	}))
	t.Cleanup(srv.Close)
	w, st := startOneDelivery(t, srv.URL)
	<-arrived
	closed := make(chan error, 1)
	go func() { closed <- w.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an attempt was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-closed)
	qs, err := st.WebhookQueueStats(context.Background(), time.Now())
	require.NoError(t, err)
	assert.Equal(t, 0, qs.Pending, "the attempt finished and was recorded")
}

func TestCloseOutOfTimeGivesTheDeliveryBack(t *testing.T) {
	arrived := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		once.Do(func() { close(arrived) })
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	w, st := startOneDelivery(t, srv.URL)
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, w.Close(ctx), context.DeadlineExceeded)
	ds, err := st.ClaimWebhookDeliveries(context.Background(), "next-process", time.Now(), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the delivery is free for the next process at once")
	assert.Equal(t, 0, ds[0].Attempts, "the cut attempt does not count")
}

func TestNewMessage(t *testing.T) {
	at := time.Date(2024, 1, 15, 10, 30, 0, 123000000, time.FixedZone("X", 3600))
	m, err := webhook.NewMessage(webhook.EventConsensusReached, map[string]any{"debate_id": "deb_1", "confidence": 0.82}, at, "corr-1")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(m.ID, "msg_"))
	assert.Equal(t, webhook.EventConsensusReached, m.Type)
	assert.Equal(t, "corr-1", m.CorrelationID)
	assert.JSONEq(t, `{"type":"consensus.reached","timestamp":"2024-01-15T09:30:00.123Z","data":{"debate_id":"deb_1","confidence":0.82}}`, string(m.Payload))
	_, err = webhook.NewMessage("debate.exploded", map[string]any{}, at, "")
	require.Error(t, err)
	_, err = webhook.NewMessage(webhook.EventTest, []int{1}, at, "")
	require.Error(t, err, "data must be an object")
	_, err = webhook.NewMessage(webhook.EventTest, func() {}, at, "")
	require.Error(t, err)
}

func TestEnvEndpoints(t *testing.T) {
	eps, err := webhook.EnvEndpoints(" https://a.example/h , ,http://b.example:8080/x?token=1", "", webhook.Guard{RequireHTTPS: true})
	require.NoError(t, err)
	require.Len(t, eps, 2)
	assert.Equal(t, "env-1", eps[0].ID)
	assert.Equal(t, "env-2", eps[1].ID)
	assert.Equal(t, "http://b.example:8080/x?token=1", eps[1].URL, "configured URLs may be http")
	assert.Equal(t, []string{"*"}, eps[1].Events)
	_, err = webhook.EnvEndpoints("https://a.example,http://127.0.0.1:9000/h", "", webhook.Guard{})
	require.ErrorIs(t, err, webhook.ErrForbiddenDestination)
	assert.Contains(t, err.Error(), "WEBHOOK_URL entry 2")
	_, err = webhook.EnvEndpoints("http://127.0.0.1:9000/h", "", webhook.Guard{AllowPrivate: true})
	require.NoError(t, err)
	_, err = webhook.EnvEndpoints("https://a.example", "not-a-secret", webhook.Guard{})
	require.ErrorIs(t, err, webhook.ErrInvalidSecret)
	assert.Contains(t, err.Error(), "ARAGORA_WEBHOOK_SECRET")
	assert.Equal(t, "https://hooks.slack.com/services/T/B/X", webhook.Redact("https://user:pw@hooks.slack.com/services/T/B/X?token=1#f"))
}
