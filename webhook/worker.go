package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/store"
)

// Defaults of Config.
const (
	DefaultConcurrency      = 4
	DefaultMaxAttempts      = 8    // ARAGORA_WEBHOOK_MAX_ATTEMPTS
	DefaultQueueSize        = 1000 // ARAGORA_WEBHOOK_QUEUE_SIZE
	DefaultTimeout          = 15 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultLeaseDuration    = 60 * time.Second
	DefaultPollEvery        = time.Second
	DefaultBatchSize        = 100
	DefaultRetention        = 7 * 24 * time.Hour
)

// Config tunes a Worker. The zero value is usable: no configured
// endpoints, the guard on, the defaults below.
type Config struct {
	// Endpoints are the configured endpoints (WEBHOOK_URL, see
	// EnvEndpoints); API-registered ones are read from the store.
	Endpoints []Endpoint
	// Owner names this worker as lease holder; default host-pid-random.
	// Distinct processes must use distinct owners.
	Owner string
	// Concurrency is the number of attempts in flight at once; default 4.
	Concurrency int
	// MaxAttempts is the number of attempts before a delivery is
	// dead-lettered; default 8.
	MaxAttempts int
	// QueueSize bounds the pending deliveries, store-wide; beyond it new
	// deliveries go straight to the dead letter; default 1000.
	QueueSize int
	// Timeout bounds one attempt, response included; default 15 s.
	Timeout time.Duration
	// MaxResponseBytes is how much of an answer is read; default 64 KiB.
	MaxResponseBytes int64
	// LeaseDuration is how long a claimed delivery is held; it must exceed
	// Timeout, so an attempt never outlives its lease. A delivery held by a
	// process that died is attempted again after it. Default 60 s.
	LeaseDuration time.Duration
	// PollEvery is how often an idle worker looks for due deliveries
	// (Kick wakes it at once); default 1 s.
	PollEvery time.Duration
	// BatchSize is the number of messages dispatched per transaction;
	// default 100.
	BatchSize int
	// BreakerFailures and BreakerOpenFor are each endpoint circuit's
	// policy; defaults 5 and 60 s.
	BreakerFailures int
	BreakerOpenFor  time.Duration
	// Guard checks destinations at registration and at every dial.
	Guard Guard
	// Resolver resolves endpoint host names; nil: net.DefaultResolver.
	Resolver *net.Resolver
	// UserAgent is sent with every attempt; default Aragora-Webhook/0.0.0.
	UserAgent string
	// SecretKey, when set, encrypts the secrets of registered endpoints
	// at rest (AES-256-GCM under a key derived from it); a secret sealed
	// under another key cannot be used.
	SecretKey []byte
	// Retention is how long delivered and dead deliveries are kept;
	// default 7 days.
	Retention time.Duration
	// ReleaseLeasesAtStart drops every lease when Start runs: set it when
	// this process is the only one using the store (SQLite under the data
	// directory lock), so deliveries a killed predecessor held are retried
	// at once instead of after their lease.
	ReleaseLeasesAtStart bool
	// OnResult, when set, is called after each delivery outcome (metrics,
	// error views). It must return quickly.
	OnResult func(Report)
	// Logger receives webhook_delivery, webhook_dead_letter and the other
	// aragora.webhook records; nil: discard.
	Logger *slog.Logger
	// Now is the clock of the schedule (due times, leases, circuits,
	// webhook-timestamp); default time.Now.
	Now func() time.Time
	// Rand returns a uniform value in [0, 1) for the retry jitter;
	// default math/rand/v2.
	Rand func() float64
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Concurrency, DefaultConcurrency)
	def(&c.MaxAttempts, DefaultMaxAttempts)
	def(&c.QueueSize, DefaultQueueSize)
	def(&c.BatchSize, DefaultBatchSize)
	def(&c.BreakerFailures, DefaultBreakerFailures)
	defDur(&c.Timeout, DefaultTimeout)
	defDur(&c.LeaseDuration, DefaultLeaseDuration)
	defDur(&c.PollEvery, DefaultPollEvery)
	defDur(&c.BreakerOpenFor, DefaultBreakerOpenFor)
	defDur(&c.Retention, DefaultRetention)
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.Owner == "" {
		c.Owner = newOwner()
	}
	if c.UserAgent == "" {
		c.UserAgent = "Aragora-Webhook/0.0.0"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = mrand.Float64
	}
	return c
}

// Validate reports settings that cannot work: a lease not longer than an
// attempt, or configured endpoints with duplicate ids.
func (c Config) Validate() error {
	d := c.withDefaults()
	if d.LeaseDuration <= d.Timeout {
		return fmt.Errorf("webhook: LeaseDuration %s must exceed Timeout %s", d.LeaseDuration, d.Timeout)
	}
	seen := map[string]bool{}
	for _, e := range c.Endpoints {
		if e.ID == "" || seen[e.ID] {
			return fmt.Errorf("webhook: configured endpoint id %q is empty or repeated", e.ID)
		}
		seen[e.ID] = true
	}
	return nil
}

func newOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// Report describes one delivery outcome, for Config.OnResult.
type Report struct {
	Outcome       Outcome
	EndpointID    string
	MessageID     string
	EventType     string
	DebateID      string
	CorrelationID string
	// Attempt is the attempt number (1 for the first); 0 for an overflow
	// or a delivery dead-lettered without an attempt.
	Attempt    int
	StatusCode int
	Error      string
	// Duration is the attempt's wall time.
	Duration      time.Duration
	DeadReason    string
	NextAttemptAt time.Time
}

// ErrConfiguredEndpoint reports a change refused because the endpoint comes
// from configuration (WEBHOOK_URL), not the API.
var ErrConfiguredEndpoint = errors.New("webhook: endpoint is configured by WEBHOOK_URL")

// ErrEndpointDisabled reports a test sent to a disabled endpoint.
var ErrEndpointDisabled = errors.New("webhook: endpoint is disabled")

// endpointState is what this process knows of an endpoint's deliveries.
type endpointState struct {
	circuit     *circuit
	delivered   int64
	failed      int64
	lastSuccess time.Time
	lastFailure time.Time
	lastStatus  int
	lastError   string
}

// Worker delivers the outbox: it fans messages out to the endpoints that
// want them, attempts the due deliveries with up to Config.Concurrency
// attempts at once, retries, dead-letters, keeps one circuit per endpoint,
// and manages the API-registered endpoints. Several workers (processes)
// may share one store: leases keep them from attempting one delivery
// concurrently.
//
// It is safe for concurrent use. Create it with New; Start runs it in the
// background until Close.
type Worker struct {
	cfg    Config
	st     Store
	log    *slog.Logger
	client *http.Client
	seal   *sealer
	env    []*Endpoint

	mu       sync.Mutex
	states   map[string]*endpointState
	api      []*Endpoint // registered endpoints as last read, secrets opened
	apiRead  time.Time   // wall time of that read
	running  bool
	stop     context.CancelFunc
	loopDone chan struct{}

	kick      chan struct{}
	inFlight  atomic.Int64
	attempts  sync.WaitGroup
	abortCtx  context.Context // cancelled when Close runs out of time
	abort     context.CancelFunc
	lastPrune time.Time
}

// New returns a worker over st. It starts nothing; call Start, or RunOnce.
func New(st Store, cfg Config) (*Worker, error) {
	if st == nil {
		return nil, errors.New("webhook: a store is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	seal, err := newSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, st: st, log: cfg.Logger, seal: seal, states: map[string]*endpointState{},
		kick: make(chan struct{}, 1)}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for i := range cfg.Endpoints {
		e := cfg.Endpoints[i]
		e.Source = SourceEnv
		w.env = append(w.env, &e)
	}
	w.abortCtx, w.abort = context.WithCancel(context.Background())
	w.client = newClient(cfg)
	return w, nil
}

// newClient is the HTTP client of deliveries: no proxy, no redirects
// followed, the guard on every dialled address, Timeout per attempt.
func newClient(cfg Config) *http.Client {
	d := &net.Dialer{Timeout: cfg.Timeout, Resolver: cfg.Resolver, Control: cfg.Guard.Control}
	t := &http.Transport{
		Proxy:                 nil, // webhook delivery never uses a proxy
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (w *Worker) now() time.Time { return w.cfg.Now() }

// Start runs the worker in the background: it dispatches and attempts
// due deliveries whenever kicked and at least every Config.PollEvery, and
// prunes old rows hourly. It returns at once; a second call is a no-op.
func (w *Worker) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running || w.loopDone != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.running, w.stop, w.loopDone = true, cancel, make(chan struct{})
	if w.cfg.ReleaseLeasesAtStart {
		if n, err := w.st.ReleaseWebhookLeases(ctx, ""); err != nil {
			w.log.Warn("webhook_lease_release_failed", "error", err.Error())
		} else if n > 0 {
			w.log.Info("webhook_leases_released", "count", n)
		}
	}
	go w.loop(ctx)
}

// Close stops claiming deliveries and waits until the attempts in flight
// have finished and been recorded, or ctx ends; then it cancels them (their
// deliveries are attempted again later). It returns ctx's error in that
// case. Close is idempotent.
func (w *Worker) Close(ctx context.Context) error {
	w.mu.Lock()
	stop, done := w.stop, w.loopDone
	w.running = false
	w.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	finished := make(chan struct{})
	go func() {
		w.attempts.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		w.client.CloseIdleConnections()
		return nil
	case <-ctx.Done():
		w.abort()
		<-finished
		w.client.CloseIdleConnections()
		return fmt.Errorf("webhook: close: %w", ctx.Err())
	}
}

// Kick wakes the background loop, e.g. after messages were written.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Worker) loop(ctx context.Context) {
	defer close(w.loopDone)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
		w.maybePrune(ctx)
		for ctx.Err() == nil {
			more, err := w.cycle(ctx)
			if err != nil && ctx.Err() == nil {
				w.log.Warn("webhook_poll_failed", "error", err.Error())
			}
			if !more || err != nil {
				break
			}
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(w.cfg.PollEvery)
	}
}

// RunOnce dispatches the undispatched messages, attempts the deliveries due
// at Config.Now (as many as Config.Concurrency allows) and waits until
// those attempts are recorded. It serves tests with a fake clock and
// callers that schedule the worker themselves.
func (w *Worker) RunOnce(ctx context.Context) error {
	var err error
	for more := true; more && err == nil; {
		more, err = w.cycle(ctx)
		w.attempts.Wait()
	}
	return err
}

// maybePrune deletes old finished rows at most once an hour.
func (w *Worker) maybePrune(ctx context.Context) {
	now := w.now()
	if !w.lastPrune.IsZero() && now.Sub(w.lastPrune) < time.Hour {
		return
	}
	w.lastPrune = now
	n, err := w.st.PruneWebhooks(ctx, now.Add(-w.cfg.Retention))
	if err != nil {
		w.log.Warn("webhook_prune_failed", "error", err.Error())
	} else if n > 0 {
		w.log.Info("webhook_pruned", "rows", n)
	}
}

// cycle dispatches one batch and launches the attempts that fit; more
// reports that another cycle would find work at once.
func (w *Worker) cycle(ctx context.Context) (more bool, err error) {
	now := w.now()
	eps, err := w.endpoints(ctx, false)
	if err != nil {
		return false, err
	}
	created, err := w.st.DispatchWebhooks(ctx, now, w.cfg.BatchSize, w.cfg.QueueSize, route(eps))
	if err != nil {
		return false, fmt.Errorf("webhook: dispatch: %w", err)
	}
	for _, d := range created {
		if d.Overflowed {
			w.log.Warn("webhook_dead_letter", "endpoint_id", d.EndpointID, "message_id", d.MessageID, "attempt", 0,
				"reason", ReasonQueueFull, "capacity", w.cfg.QueueSize)
			w.report(Report{Outcome: OutcomeOverflow, EndpointID: d.EndpointID, MessageID: d.MessageID, DeadReason: ReasonQueueFull})
		}
	}
	more = len(created) > 0 && countMessages(created) >= w.cfg.BatchSize
	free := w.cfg.Concurrency - int(w.inFlight.Load())
	if free <= 0 {
		return more, nil
	}
	ds, err := w.st.ClaimWebhookDeliveries(ctx, w.cfg.Owner, now, w.cfg.LeaseDuration, free)
	if err != nil {
		return more, fmt.Errorf("webhook: claim: %w", err)
	}
	for _, d := range ds {
		w.inFlight.Add(1)
		w.attempts.Add(1)
		go func() {
			defer w.attempts.Done()
			defer w.Kick()
			defer w.inFlight.Add(-1)
			w.attempt(w.abortCtx, d)
		}()
	}
	return more || len(ds) == free, nil
}

func countMessages(ds []Delivery) int {
	seen := map[string]bool{}
	for _, d := range ds {
		seen[d.MessageID] = true
	}
	return len(seen)
}

// route returns the dispatch routing of eps: every active endpoint that
// wants the type; a webhook.test message only to the endpoint it names.
func route(eps []*Endpoint) func(Message) []string {
	return func(m Message) []string {
		var out []string
		if m.Type == EventTest {
			target := testTarget(m.Payload)
			for _, e := range eps {
				if e.ID == target {
					out = append(out, e.ID)
				}
			}
			return out
		}
		for _, e := range eps {
			if !e.Disabled() && e.Wants(m.Type) {
				out = append(out, e.ID)
			}
		}
		return out
	}
}

// testTarget reads data.endpoint_id of a webhook.test payload.
func testTarget(p json.RawMessage) string {
	var v struct {
		Data struct {
			EndpointID string `json:"endpoint_id"`
		} `json:"data"`
	}
	_ = json.Unmarshal(p, &v)
	return v.Data.EndpointID
}

// endpoints returns the configured and registered endpoints; the
// registered ones are read again at most once per PollEvery unless fresh.
func (w *Worker) endpoints(ctx context.Context, fresh bool) ([]*Endpoint, error) {
	w.mu.Lock()
	cached, at := w.api, w.apiRead
	w.mu.Unlock()
	if fresh || at.IsZero() || time.Since(at) >= w.cfg.PollEvery {
		list, err := w.st.ListWebhookEndpoints(ctx)
		if err != nil {
			return nil, fmt.Errorf("webhook: list endpoints: %w", err)
		}
		cached = make([]*Endpoint, 0, len(list))
		for _, e := range list {
			c := *e
			c.Source = SourceAPI
			if c.Secret, err = w.seal.open(c.ID, e.Secret); err != nil {
				w.log.Error("webhook_secret_unreadable", "endpoint_id", c.ID, "error", err.Error())
				c.Secret, c.secretErr = "", err // attempts fail with this error
			}
			cached = append(cached, &c)
		}
		w.mu.Lock()
		w.api, w.apiRead = cached, time.Now()
		w.mu.Unlock()
	}
	out := make([]*Endpoint, 0, len(w.env)+len(cached))
	out = append(out, w.env...)
	return append(out, cached...), nil
}

// lookup finds an endpoint by id, reading the store again on a miss.
func (w *Worker) lookup(ctx context.Context, id string) (*Endpoint, error) {
	for _, fresh := range []bool{false, true} {
		eps, err := w.endpoints(ctx, fresh)
		if err != nil {
			return nil, err
		}
		for _, e := range eps {
			if e.ID == id {
				return e, nil
			}
		}
	}
	return nil, nil
}

func (w *Worker) state(id string) *endpointState {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.states[id]
	if s == nil {
		s = &endpointState{circuit: newCircuit(w.cfg.BreakerFailures, w.cfg.BreakerOpenFor)}
		w.states[id] = s
	}
	return s
}

func (w *Worker) report(r Report) {
	if w.cfg.OnResult != nil {
		w.cfg.OnResult(r)
	}
}

// attempt makes one attempt of a claimed delivery and records its result.
func (w *Worker) attempt(ctx context.Context, d Delivery) {
	base := Report{EndpointID: d.EndpointID, MessageID: d.MessageID, EventType: d.Message.Type,
		DebateID: d.Message.DebateID, CorrelationID: d.Message.CorrelationID}
	ep, err := w.lookup(ctx, d.EndpointID)
	if err != nil { // the store is unreachable: try again later
		w.record(d, Result{Outcome: OutcomeDeferred, At: w.now(), NextAttemptAt: w.now().Add(w.cfg.PollEvery)}, base)
		return
	}
	switch {
	case ep == nil:
		w.record(d, Result{Outcome: OutcomeDeadLetter, At: w.now(), DeadReason: ReasonEndpointRemoved}, base)
		return
	case ep.Disabled():
		w.record(d, Result{Outcome: OutcomeDeadLetter, At: w.now(), DeadReason: ReasonEndpointDisabled}, base)
		return
	}
	st := w.state(ep.ID)
	ok, probe, retryAt := st.circuit.allow(w.now())
	if !ok {
		w.record(d, Result{Outcome: OutcomeDeferred, At: w.now(), NextAttemptAt: retryAt}, base)
		return
	}
	n := d.Attempts + 1
	base.Attempt = n
	start := time.Now()
	code, retryAfter, f := w.send(ctx, ep, d)
	base.Duration = time.Since(start)
	at := w.now()
	base.StatusCode = code
	if f == nil {
		w.noteSuccess(ep.ID, st, code, at)
		w.record(d, Result{Outcome: OutcomeSuccess, At: at, StatusCode: code}, base)
		return
	}
	if ctx.Err() != nil { // Close ran out of time: this attempt does not count
		if probe {
			st.circuit.abandon()
		}
		w.record(d, Result{Outcome: OutcomeDeferred, At: at, NextAttemptAt: at}, base)
		return
	}
	f.At = at
	base.Error = f.Message
	if code == http.StatusGone && ep.Source == SourceAPI {
		if probe {
			st.circuit.abandon()
		}
		w.noteFailure(ep.ID, st, code, *f, false)
		w.disable(ep.ID, at)
		w.record(d, Result{Outcome: OutcomeDeadLetter, At: at, StatusCode: code, Error: f.Message, DeadReason: ReasonGone}, base)
		return
	}
	w.noteFailure(ep.ID, st, code, *f, true)
	if n >= w.cfg.MaxAttempts {
		w.record(d, Result{Outcome: OutcomeDeadLetter, At: at, StatusCode: code, Error: f.Message, DeadReason: ReasonMaxAttempts}, base)
		return
	}
	next := at.Add(RetryDelay(n, w.cfg.Rand(), retryAfter))
	w.record(d, Result{Outcome: OutcomeRetry, At: at, StatusCode: code, Error: f.Message, NextAttemptAt: next}, base)
}

// send POSTs the message to ep. It returns the status (0 without an
// answer), the Retry-After wait, and the failure, nil for a 2xx.
func (w *Worker) send(ctx context.Context, ep *Endpoint, d Delivery) (int, time.Duration, *breaker.Failure) {
	if ep.secretErr != nil {
		return 0, 0, &breaker.Failure{Kind: FailureConnection, Message: ep.secretErr.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(d.Message.Payload))
	if err != nil {
		return 0, 0, &breaker.Failure{Kind: FailureConnection, Message: "invalid endpoint URL"}
	}
	now := w.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.cfg.UserAgent)
	req.Header.Set(HeaderID, d.MessageID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	if d.Message.CorrelationID != "" {
		req.Header.Set("X-Correlation-ID", d.Message.CorrelationID)
	}
	if ep.Secret != "" {
		key, err := ParseSecret(ep.Secret)
		if err != nil {
			return 0, 0, &breaker.Failure{Kind: FailureConnection, Message: err.Error()}
		}
		req.Header.Set(HeaderSignature, Sign(key, d.MessageID, now, d.Message.Payload))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, 0, classify(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, w.cfg.MaxResponseBytes))
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	return resp.StatusCode, ParseRetryAfter(resp.Header.Get("Retry-After"), now),
		&breaker.Failure{Kind: FailureStatus, Message: "HTTP " + strconv.Itoa(resp.StatusCode)}
}

// classify describes a failed request without quoting its URL (which may
// hold a secret).
func classify(err error) *breaker.Failure {
	var ne net.Error
	switch {
	case errors.Is(err, ErrForbiddenDestination):
		for e := err; e != nil; e = errors.Unwrap(e) {
			if strings.HasPrefix(e.Error(), "webhook: ") {
				return &breaker.Failure{Kind: FailureRefused, Message: e.Error()}
			}
		}
		return &breaker.Failure{Kind: FailureRefused, Message: ErrForbiddenDestination.Error()}
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &breaker.Failure{Kind: FailureTimeout, Message: "timed out"}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return &breaker.Failure{Kind: FailureConnection, Message: oe.Op + ": " + unwrapAll(oe.Err).Error()}
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return &breaker.Failure{Kind: FailureConnection, Message: "lookup " + de.Name + ": " + de.Err}
	}
	return &breaker.Failure{Kind: FailureConnection, Message: unwrapAll(err).Error()}
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func (w *Worker) noteSuccess(id string, st *endpointState, code int, at time.Time) {
	from := st.circuit.success()
	w.mu.Lock()
	st.delivered++
	st.lastSuccess, st.lastStatus, st.lastError = at, code, ""
	w.mu.Unlock()
	if from != breaker.StateClosed {
		w.log.Info("webhook_circuit_state_change", "endpoint_id", id, "from", from.String(), "to", breaker.StateClosed.String(), "consecutive_failures", 0)
	}
}

func (w *Worker) noteFailure(id string, st *endpointState, code int, f breaker.Failure, count bool) {
	w.mu.Lock()
	st.failed++
	st.lastFailure, st.lastStatus, st.lastError = f.At, code, f.Message
	w.mu.Unlock()
	if !count {
		return
	}
	from, to := st.circuit.failure(f)
	if from != to {
		w.log.Warn("webhook_circuit_state_change", "endpoint_id", id, "from", from.String(), "to", to.String(),
			"consecutive_failures", st.circuit.snapshot(f.At).ConsecutiveFailures)
	}
}

// disable marks a registered endpoint disabled after a 410.
func (w *Worker) disable(id string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.st.DisableWebhookEndpoint(ctx, id, "410 Gone", at); err != nil && !errors.Is(err, store.ErrNotFound) {
		w.log.Warn("webhook_disable_failed", "endpoint_id", id, "error", err.Error())
		return
	}
	w.log.Warn("webhook_endpoint_disabled", "endpoint_id", id, "reason", "410 Gone")
	_, _ = w.endpoints(ctx, true)
}

// record stores a result (even while Close is cancelling attempts) and
// logs and reports it.
func (w *Worker) record(d Delivery, r Result, rep Report) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := w.st.RecordWebhookResult(ctx, d.ID, w.cfg.Owner, r)
	if err != nil {
		w.log.Warn("webhook_result_not_recorded", "endpoint_id", d.EndpointID, "message_id", d.MessageID,
			"correlation_id", d.Message.CorrelationID, "error", err.Error())
		return
	}
	if r.Outcome == OutcomeDeferred {
		return
	}
	rep.Outcome, rep.DeadReason, rep.NextAttemptAt = r.Outcome, r.DeadReason, r.NextAttemptAt
	attrs := []any{"endpoint_id", d.EndpointID, "message_id", d.MessageID, "event", d.Message.Type, "attempt", rep.Attempt,
		"status_code", rep.StatusCode, "duration_ms", rep.Duration.Milliseconds()}
	if d.Message.DebateID != "" {
		attrs = append(attrs, "debate_id", d.Message.DebateID)
	}
	if d.Message.CorrelationID != "" {
		attrs = append(attrs, "correlation_id", d.Message.CorrelationID)
	}
	if rep.Error != "" {
		attrs = append(attrs, "error", rep.Error)
	}
	switch r.Outcome {
	case OutcomeSuccess:
		w.log.Info("webhook_delivery", append(attrs, "outcome", string(r.Outcome))...)
	case OutcomeRetry:
		w.log.Warn("webhook_delivery", append(attrs, "outcome", string(r.Outcome), "next_attempt_at", r.NextAttemptAt.UTC().Format(time.RFC3339))...)
	case OutcomeDeadLetter:
		if rep.Attempt > 0 {
			w.log.Warn("webhook_delivery", append(attrs, "outcome", string(r.Outcome))...)
		}
		w.log.Warn("webhook_dead_letter", append(attrs, "reason", r.DeadReason)...)
	}
	w.report(rep)
}
