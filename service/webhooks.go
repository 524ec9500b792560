package service

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/metrics"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/webhook"
)

// WebhooksConfig configures webhook delivery (docs/webhooks.md). The zero
// value delivers to the endpoints registered through the API only, with the
// defaults below.
type WebhooksConfig struct {
	// URLs are the configured endpoints (WEBHOOK_URL), ids env-1, env-2, …
	URLs []string
	// Secret signs the configured endpoints' deliveries
	// (ARAGORA_WEBHOOK_SECRET, whsec_…); "": unsigned, with a WARN.
	Secret string
	// QueueSize bounds the queued deliveries store-wide
	// (ARAGORA_WEBHOOK_QUEUE_SIZE); default 1000.
	QueueSize int
	// MaxAttempts is the attempts before the dead letter
	// (ARAGORA_WEBHOOK_MAX_ATTEMPTS); default 8.
	MaxAttempts int
	// AllowPrivate lifts the destination guard
	// (ARAGORA_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
}

// readWebhooks reads the webhook variables.
func readWebhooks(r *envReader) WebhooksConfig {
	return WebhooksConfig{
		URLs:         r.list("WEBHOOK_URL", nil),
		Secret:       r.str("ARAGORA_WEBHOOK_SECRET", ""),
		QueueSize:    r.integer("ARAGORA_WEBHOOK_QUEUE_SIZE", webhook.DefaultQueueSize, 1),
		MaxAttempts:  r.integer("ARAGORA_WEBHOOK_MAX_ATTEMPTS", webhook.DefaultMaxAttempts, 1),
		AllowPrivate: r.boolean("ARAGORA_WEBHOOK_ALLOW_PRIVATE", false),
	}
}

// endpoints checks the configured URLs and secret and returns the
// endpoints; errors are *ConfigError naming the variable.
func (c WebhooksConfig) endpoints() ([]webhook.Endpoint, error) {
	eps, err := webhook.EnvEndpoints(strings.Join(c.URLs, ","), c.Secret, webhook.Guard{AllowPrivate: c.AllowPrivate})
	if err != nil {
		if !c.AllowPrivate && errors.Is(err, webhook.ErrForbiddenDestination) {
			return nil, configErrorf("%w (ARAGORA_WEBHOOK_ALLOW_PRIVATE=1 allows private destinations)", err)
		}
		return nil, &ConfigError{Err: err}
	}
	return eps, nil
}

// webhooks is the webhook delivery of `aragora serve`: the worker over the
// store, the agent events it is told about, its metrics, logs and system
// breakers.
type webhooks struct {
	w   *webhook.Worker
	log *slog.Logger
	srv *atomic.Pointer[server.Server]
	// m is set before Start; nil: metrics disabled.
	m *metrics.Metrics

	mu      sync.Mutex
	closed  bool
	pending sync.WaitGroup // agent events being written
}

// defaultDebateLease is the lifecycle's default debate lease
// (ARAGORA_DEBATE_LEASE_SECONDS).
const defaultDebateLease = 30 * time.Second

// webhookLease is the lease of a claimed delivery: ARAGORA_DEBATE_LEASE_SECONDS,
// so a crashed replica costs about as long for webhooks as for debates, but
// always longer than an attempt can take.
func webhookLease(debateLease time.Duration) time.Duration {
	return max(debateLease, webhook.DefaultTimeout+5*time.Second)
}

// openWebhooks builds the worker (not started) over st. srv is read at
// each failure, for the error view of GET /api/system/errors.
func openWebhooks(c Config, st webhook.Store, log *slog.Logger, srv *atomic.Pointer[server.Server]) (*webhooks, error) {
	wc := c.Webhooks
	eps, err := wc.endpoints()
	if err != nil {
		return nil, err
	}
	wh := &webhooks{log: log, srv: srv}
	w, err := webhook.New(st, webhook.Config{
		Endpoints:     eps,
		MaxAttempts:   wc.MaxAttempts,
		QueueSize:     wc.QueueSize,
		LeaseDuration: webhookLease(cmp.Or(c.LeaseDuration, defaultDebateLease)),
		Guard:         webhook.Guard{AllowPrivate: wc.AllowPrivate, RequireHTTPS: c.production()},
		UserAgent:     "Aragora-Webhook/" + c.Version,
		SecretKey:     []byte(c.JWTSecret),
		Logger:        log,
		OnResult:      wh.onResult,
	})
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	wh.w = w
	if len(eps) > 0 && wc.Secret == "" {
		log.Warn("webhook_unsigned", "endpoints", len(eps),
			"detail", "WEBHOOK_URL is set without ARAGORA_WEBHOOK_SECRET: deliveries carry no webhook-signature")
	}
	return wh, nil
}

// onResult counts each outcome and records failures in the error view.
func (wh *webhooks) onResult(r webhook.Report) {
	if wh.m != nil {
		wh.m.ObserveWebhook(string(r.Outcome))
	}
	s := wh.srv.Load()
	if s == nil || r.Outcome == webhook.OutcomeSuccess {
		return
	}
	msg, level := r.Error, "WARN"
	if r.DeadReason != "" {
		msg, level = "dead letter ("+r.DeadReason+")", "ERROR"
		if r.Error != "" {
			msg += ": " + r.Error
		}
	}
	s.RecordError(server.ErrorRecord{Type: "webhook", Level: level, Code: string(r.Outcome), Message: msg,
		Status: r.StatusCode, DebateID: r.DebateID, CorrelationID: r.CorrelationID})
}

// enqueue writes an event that has no transaction of its own (the agent
// events) without holding up the caller, which may be an agent call.
func (wh *webhooks) enqueue(typ string, data any) {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if wh.closed {
		return
	}
	wh.pending.Add(1)
	go func() {
		defer wh.pending.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := wh.w.Enqueue(ctx, typ, data, ""); err != nil {
			wh.log.Warn("webhook_enqueue_failed", "event", typ, "error", err.Error())
		}
	}()
}

// watchAgents sends agent.circuit_opened when an agent's circuit opens.
func (wh *webhooks) watchAgents(circuits *breaker.Registry) {
	circuits.OnStateChange(func(name string, from, to breaker.State) {
		if to != breaker.StateOpen {
			return
		}
		snap := circuits.Get(name).Snapshot()
		data := map[string]any{"agent": name, "from": from.String(), "consecutive_failures": snap.ConsecutiveFailures,
			"failure_threshold": snap.FailureThreshold, "opened_at": snap.OpenedAt, "next_probe_at": snap.NextProbeAt}
		if f := snap.LastFailure; f != nil {
			data["last_failure"] = map[string]any{"kind": f.Kind, "message": f.Message, "at": f.At}
		}
		wh.enqueue(webhook.EventAgentCircuitOpened, data)
	})
}

// quotaExhausted is agent.StatsConfig.OnQuotaExhausted: it sends
// agent.quota_exhausted.
func (wh *webhooks) quotaExhausted(name, provider string, resetAt time.Time) {
	wh.enqueue(webhook.EventAgentQuotaExhausted, map[string]any{"agent": name, "provider": provider, "quota_reset_at": resetAt.UTC()})
}

// statsConfig is the agent statistics of the registry, reporting quota
// exhaustion to wh.
func (wh *webhooks) statsConfig() agent.StatsConfig {
	return agent.StatsConfig{OnQuotaExhausted: wh.quotaExhausted}
}

// systemBreakers lists the endpoint circuits for GET
// /api/system/circuit-breakers, keyed "webhook:<endpoint id>".
func (wh *webhooks) systemBreakers() map[string]breaker.Snapshot {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cs, err := wh.w.Circuits(ctx)
	if err != nil {
		wh.log.Warn("webhook_circuits_unavailable", "error", err.Error())
		return nil
	}
	out := make(map[string]breaker.Snapshot, len(cs))
	for id, c := range cs {
		out["webhook:"+id] = c
	}
	return out
}

// sampleQueue refreshes the store-wide outbox gauges.
func (wh *webhooks) sampleQueue(ctx context.Context) {
	if wh.m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	q, err := wh.w.Queue(ctx)
	if err != nil {
		return
	}
	wh.m.SetWebhookQueue(q.Size, q.Capacity, time.Duration(q.OldestAgeSeconds*float64(time.Second)), q.DeadLetter)
}

// metricsHandler refreshes the outbox gauges at each scrape, so that
// `curl /metrics | grep webhook` shows the queue as it is.
func (wh *webhooks) metricsHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wh.sampleQueue(r.Context())
		next.ServeHTTP(w, r)
	})
}

// Start starts delivering.
func (wh *webhooks) Start() { wh.w.Start() }

// Close lets the attempts in flight finish (docs/operations.md, shutdown)
// within ctx, after the agent events being written.
func (wh *webhooks) Close(ctx context.Context) error {
	wh.mu.Lock()
	wh.closed = true
	wh.mu.Unlock()
	wh.pending.Wait()
	return wh.w.Close(ctx)
}

// debateOutbox is the lifecycle's outbox (lifecycle.Outbox): the
// debate.created message written with a debate's creation, and
// debate.finished (plus consensus.reached when it reached consensus)
// written with its final status, in the same transactions.
type debateOutbox struct {
	// kick wakes the worker; the messages of a creation are committed
	// right after OnCreate returns, so a kick then finds them at the
	// latest one poll interval later.
	kick func()
}

var _ lifecycle.Outbox = debateOutbox{}

// DebateOutbox returns the lifecycle outbox of the service's debate events
// (debate.created, debate.finished, consensus.reached), for a program that
// runs debates on the service's store without the service, such as
// `aragora debate`: the messages it writes are delivered by the webhook
// worker of whichever `aragora serve` shares the store.
func DebateOutbox() lifecycle.Outbox { return debateOutbox{} }

// debateMessage builds the message of one debate event (none if its data
// did not marshal, which a debate's never fails to).
func debateMessage(typ string, d *store.Debate, data any, at time.Time) []store.OutboxMessage {
	m, err := webhook.NewMessage(typ, data, at, d.CorrelationID)
	if err != nil {
		return nil
	}
	m.DebateID = d.ID
	return []store.OutboxMessage{m}
}

// OnCreate implements lifecycle.Outbox: debate.created with the debate's
// summary.
func (o debateOutbox) OnCreate(d *store.Debate, sp *lifecycle.Spec) []store.OutboxMessage {
	if o.kick != nil {
		defer o.kick()
	}
	at := d.CreatedAt
	if at.IsZero() {
		at = time.Now()
	}
	return debateMessage(webhook.EventDebateCreated, d, lifecycle.RecordObject(d, at).Summary(), at)
}

// OnFinish implements lifecycle.Outbox: debate.finished with the final
// summary (status, verdict, receipt_id) and, for a debate that reached
// consensus, consensus.reached.
func (o debateOutbox) OnFinish(d *store.Debate, doc *lifecycle.ResultDoc) []store.OutboxMessage {
	if doc == nil {
		return nil
	}
	at := doc.FinishedAt
	if at.IsZero() {
		at = time.Now()
	}
	final := *d
	final.Status, final.FinishedAt = doc.Status, at
	if final.StartedAt.IsZero() {
		final.StartedAt = doc.StartedAt
	}
	if raw, err := json.Marshal(doc); err == nil {
		final.Result = raw
	}
	obj := lifecycle.RecordObject(&final, at)
	msgs := debateMessage(webhook.EventDebateFinished, d, obj.Summary(), at)
	if doc.Status == store.StatusConsensusReached {
		msgs = append(msgs, debateMessage(webhook.EventConsensusReached, d, map[string]any{
			"debate_id": d.ID, "topic": d.Topic, "method": obj.Consensus.Method, "threshold": obj.Consensus.Threshold,
			"confidence": doc.Confidence, "verdict": doc.Verdict, "final_answer": doc.FinalAnswer, "winner": doc.Winner,
			"rounds_used": doc.RoundsUsed, "receipt_id": obj.ReceiptID, "finished_at": lifecycle.Timestamp(at),
			"correlation_id": d.CorrelationID,
		}, at)...)
	}
	return msgs
}
