package webhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/internal/ulid"
	"github.com/aragora/aragora/store"
)

// Endpoint states in Status.
const (
	EndpointActive      = "active"
	EndpointCircuitOpen = "circuit_open"
	EndpointDisabled    = "disabled"
)

// EndpointStatus is one endpoint as GET /api/webhooks/status and
// /api/webhooks/endpoints show it. URL is the full URL: callers redact it
// for display (Redact) and show it to admins only. Counters, circuit and
// last answers are this process's.
type EndpointStatus struct {
	ID                  string     `json:"id"`
	Source              string     `json:"source"`
	URL                 string     `json:"url"`
	Events              []string   `json:"events"`
	Description         string     `json:"description"`
	State               string     `json:"state"`
	DisabledReason      *string    `json:"disabled_reason"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
	LastFailureAt       *time.Time `json:"last_failure_at"`
	LastStatusCode      *int       `json:"last_status_code"`
	LastError           *string    `json:"last_error"`
	DeliveredTotal      int64      `json:"delivered_total"`
	FailedTotal         int64      `json:"failed_total"`
	CreatedAt           *time.Time `json:"created_at"`
}

// Queue is GET /api/webhooks/queue: the outbox, store-wide.
type Queue struct {
	// Size counts deliveries not yet delivered nor dead, plus messages not
	// yet fanned out to endpoints.
	Size             int        `json:"size"`
	OldestAgeSeconds float64    `json:"oldest_age_seconds"`
	DeadLetter       int        `json:"dead_letter"`
	InFlight         int        `json:"in_flight"`
	Capacity         int        `json:"capacity"`
	OverflowedTotal  int        `json:"overflowed_total"`
	NextAttemptAt    *time.Time `json:"next_attempt_at"`
}

// WorkerStatus describes this process's worker.
type WorkerStatus struct {
	Running  bool `json:"running"`
	InFlight int  `json:"in_flight"`
}

// Status is GET /api/webhooks/status.
type Status struct {
	// Enabled reports that at least one endpoint exists.
	Enabled   bool             `json:"enabled"`
	Endpoints []EndpointStatus `json:"endpoints"`
	Queue     Queue            `json:"queue"`
	Worker    WorkerStatus     `json:"worker"`
}

// Status returns the endpoints, the queue and the worker.
func (w *Worker) Status(ctx context.Context) (Status, error) {
	eps, err := w.Endpoints(ctx)
	if err != nil {
		return Status{}, err
	}
	q, err := w.Queue(ctx)
	if err != nil {
		return Status{}, err
	}
	w.mu.Lock()
	running := w.running
	w.mu.Unlock()
	return Status{Enabled: len(eps) > 0, Endpoints: eps, Queue: q,
		Worker: WorkerStatus{Running: running, InFlight: int(w.inFlight.Load())}}, nil
}

// Endpoints returns every endpoint, configured ones first, then the
// registered ones oldest first.
func (w *Worker) Endpoints(ctx context.Context) ([]EndpointStatus, error) {
	eps, err := w.endpoints(ctx, true)
	if err != nil {
		return nil, err
	}
	now := w.now()
	out := make([]EndpointStatus, 0, len(eps))
	for _, e := range eps {
		st := w.state(e.ID)
		snap := st.circuit.snapshot(now)
		es := EndpointStatus{ID: e.ID, Source: e.Source, URL: e.URL, Events: slices.Clone(e.Events), Description: e.Description,
			State: EndpointActive, ConsecutiveFailures: snap.ConsecutiveFailures}
		switch {
		case e.Disabled():
			es.State = EndpointDisabled
			r := e.DisabledReason
			es.DisabledReason = &r
		case snap.State != breaker.StateClosed:
			es.State = EndpointCircuitOpen
		}
		if !e.CreatedAt.IsZero() {
			c := e.CreatedAt
			es.CreatedAt = &c
		}
		w.mu.Lock()
		es.DeliveredTotal, es.FailedTotal = st.delivered, st.failed
		if !st.lastSuccess.IsZero() {
			t := st.lastSuccess
			es.LastSuccessAt = &t
		}
		if !st.lastFailure.IsZero() {
			t := st.lastFailure
			es.LastFailureAt = &t
		}
		if st.lastStatus != 0 {
			c := st.lastStatus
			es.LastStatusCode = &c
		}
		if st.lastError != "" {
			m := st.lastError
			es.LastError = &m
		}
		w.mu.Unlock()
		out = append(out, es)
	}
	return out, nil
}

// Queue returns the outbox statistics.
func (w *Worker) Queue(ctx context.Context) (Queue, error) {
	now := w.now()
	qs, err := w.st.WebhookQueueStats(ctx, now)
	if err != nil {
		return Queue{}, fmt.Errorf("webhook: queue stats: %w", err)
	}
	q := Queue{Size: qs.Pending + qs.Undispatched, DeadLetter: qs.DeadLetter, InFlight: qs.InFlight,
		Capacity: w.cfg.QueueSize, OverflowedTotal: qs.Overflowed}
	if !qs.OldestAt.IsZero() {
		q.OldestAgeSeconds = max(0, float64(now.Sub(qs.OldestAt).Milliseconds())/1000)
	}
	if !qs.NextAttemptAt.IsZero() {
		t := qs.NextAttemptAt
		q.NextAttemptAt = &t
	}
	return q, nil
}

// Circuits returns the circuit of every endpoint, keyed by endpoint id.
func (w *Worker) Circuits(ctx context.Context) (map[string]breaker.Snapshot, error) {
	eps, err := w.endpoints(ctx, false)
	if err != nil {
		return nil, err
	}
	now := w.now()
	out := make(map[string]breaker.Snapshot, len(eps))
	for _, e := range eps {
		out[e.ID] = w.state(e.ID).circuit.snapshot(now)
	}
	return out, nil
}

// RetryFailed requeues dead-lettered deliveries (of endpointID, or of every
// endpoint when it is "") for immediate delivery with their attempts reset,
// at most max of them (<= 0: all), and closes the circuits of the
// endpoints concerned. Deliveries whose endpoint no longer exists or is
// disabled are skipped and stay dead.
func (w *Worker) RetryFailed(ctx context.Context, endpointID string, max int) (requeued, skipped int, err error) {
	eps, err := w.endpoints(ctx, true)
	if err != nil {
		return 0, 0, err
	}
	var live []string
	for _, e := range eps {
		if !e.Disabled() {
			live = append(live, e.ID)
		}
	}
	requeued, skipped, err = w.st.RequeueDeadWebhooks(ctx, RequeueFilter{EndpointID: endpointID, Live: live, Max: max}, w.now())
	if err != nil {
		return 0, 0, fmt.Errorf("webhook: requeue: %w", err)
	}
	for _, id := range live {
		if endpointID == "" || id == endpointID {
			if from := w.state(id).circuit.reset(); from != breaker.StateClosed {
				w.log.Info("webhook_circuit_state_change", "endpoint_id", id, "from", from.String(), "to", breaker.StateClosed.String(), "consecutive_failures", 0)
			}
		}
	}
	w.log.Info("webhook_retry_failed", "endpoint_id", endpointID, "requeued", requeued, "skipped", skipped)
	w.Kick()
	return requeued, skipped, nil
}

// EndpointSpec is a registration request.
type EndpointSpec struct {
	URL         string
	Events      []string // nil or empty: every event
	Description string
}

// ValidationError reports a registration field that cannot be used.
type ValidationError struct {
	Field  string
	Reason string
	Err    error
}

func (e *ValidationError) Error() string { return "webhook: invalid " + e.Field + ": " + e.Reason }

// Unwrap returns the cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// MaxDescription is the longest accepted description, in characters.
const MaxDescription = 500

// CreateEndpoint registers an endpoint with a new secret and returns it
// with the secret in plain text: the only time it is shown. Invalid input
// is a *ValidationError (the URL's wraps ErrForbiddenDestination when its
// host is a refused literal address).
func (w *Worker) CreateEndpoint(ctx context.Context, spec EndpointSpec) (*Endpoint, error) {
	if _, err := w.cfg.Guard.CheckURL(spec.URL); err != nil {
		var ue *URLError
		if errors.As(err, &ue) {
			return nil, &ValidationError{Field: "url", Reason: ue.Reason, Err: err}
		}
		return nil, &ValidationError{Field: "url", Reason: err.Error(), Err: err}
	}
	events := []string{AllEvents}
	if len(spec.Events) > 0 {
		events = nil
		for _, e := range spec.Events {
			if e != AllEvents && (!KnownEvent(e) || e == EventTest) {
				return nil, &ValidationError{Field: "events", Reason: fmt.Sprintf("unknown event type %q (want * or one of %s)", e,
					strings.Join(EventTypes[:len(EventTypes)-1], ", "))}
			}
			if !slices.Contains(events, e) {
				events = append(events, e)
			}
		}
		if slices.Contains(events, AllEvents) {
			events = []string{AllEvents}
		}
	}
	if n := utf8.RuneCountInString(spec.Description); n > MaxDescription {
		return nil, &ValidationError{Field: "description", Reason: fmt.Sprintf("at most %d characters", MaxDescription)}
	}
	now := w.now().UTC()
	e := &Endpoint{ID: ulid.New(EndpointIDPrefix, now.UnixMilli()), Source: SourceAPI, URL: strings.TrimSpace(spec.URL),
		Secret: NewSecret(), Events: events, Description: spec.Description, CreatedAt: now}
	stored := *e
	stored.Secret = w.seal.seal(e.ID, e.Secret)
	if err := w.st.CreateWebhookEndpoint(ctx, &stored); err != nil {
		return nil, fmt.Errorf("webhook: create endpoint: %w", err)
	}
	_, _ = w.endpoints(ctx, true)
	w.log.Info("webhook_endpoint_created", "endpoint_id", e.ID, "events", strings.Join(events, ","))
	return e, nil
}

// DeleteEndpoint deletes a registered endpoint: ErrConfiguredEndpoint for
// an env-N endpoint, store.ErrNotFound for an unknown id.
func (w *Worker) DeleteEndpoint(ctx context.Context, id string) error {
	if w.envEndpoint(id) != nil {
		return fmt.Errorf("webhook: delete %s: %w", id, ErrConfiguredEndpoint)
	}
	if err := w.st.DeleteWebhookEndpoint(ctx, id); err != nil {
		return fmt.Errorf("webhook: delete endpoint %s: %w", id, err)
	}
	w.mu.Lock()
	delete(w.states, id)
	w.mu.Unlock()
	_, _ = w.endpoints(ctx, true)
	w.log.Info("webhook_endpoint_deleted", "endpoint_id", id)
	return nil
}

func (w *Worker) envEndpoint(id string) *Endpoint {
	for _, e := range w.env {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// Test queues a webhook.test event for the endpoint id alone and returns
// its message id: store.ErrNotFound for an unknown endpoint,
// ErrEndpointDisabled for a disabled one.
func (w *Worker) Test(ctx context.Context, id, correlationID string) (string, error) {
	e, err := w.lookup(ctx, id)
	if err != nil {
		return "", err
	}
	if e == nil {
		return "", fmt.Errorf("webhook: endpoint %s: %w", id, store.ErrNotFound)
	}
	if e.Disabled() {
		return "", fmt.Errorf("webhook: test %s: %w", id, ErrEndpointDisabled)
	}
	return w.Enqueue(ctx, EventTest, map[string]string{"endpoint_id": id, "message": "Test event from Aragora"}, correlationID)
}

// Enqueue writes one event (for events that have no transaction of their
// own, such as agent.circuit_opened) and wakes the worker. It returns the
// message id.
func (w *Worker) Enqueue(ctx context.Context, typ string, data any, correlationID string) (string, error) {
	m, err := NewMessage(typ, data, w.now(), correlationID)
	if err != nil {
		return "", err
	}
	if err := w.st.EnqueueWebhooks(ctx, m); err != nil {
		return "", fmt.Errorf("webhook: enqueue %s: %w", typ, err)
	}
	w.Kick()
	return m.ID, nil
}
