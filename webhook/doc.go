// Package webhook delivers Aragora's events to external HTTP endpoints,
// at least once, with Standard Webhooks signatures (docs/webhooks.md).
//
// # Outbox
//
// An event is a [Message]: a msg_ id, a type such as debate.finished and
// the Standard Webhooks payload {"type","timestamp","data"} ([NewMessage]).
// Producers write messages into a durable outbox in the same transaction as
// the state change that causes them (the store's debate writes take them as
// store.OutboxMessage), or with [Outbox.EnqueueWebhooks] when the event has
// no transaction of its own. The [Outbox] port fans each message out to one
// delivery per endpoint that wants its type, leases due deliveries to one
// worker at a time, and keeps their retries and dead letter; the
// [EndpointStore] port keeps the endpoints registered through the API.
// Backends (store/memstore, store/sqlitestore, store/pgstore) implement both
// and pass the conformance suite in webhooktest.
//
// # Delivery
//
// A [Worker] dispatches and attempts deliveries with up to
// Config.Concurrency attempts in flight. Each attempt is a POST of the
// payload with the headers webhook-id (stable across retries; receivers
// dedupe on it), webhook-timestamp, webhook-signature ([Sign], when the
// endpoint has a whsec_ secret), Content-Type, User-Agent and
// X-Correlation-ID, bounded by Config.Timeout (15 s), with no redirect
// followed, no proxy, and at most 64 KiB of the answer read. Only 2xx
// succeeds. 410 Gone disables an API-registered endpoint; any other failure
// is retried after [RetryDelay] (min(5 s × 4^(k−1), 6 h) ±20 %, or the
// endpoint's Retry-After when longer) until Config.MaxAttempts, then
// dead-lettered. [Worker.RetryFailed] requeues the dead letter.
//
// The pending deliveries are bounded store-wide by Config.QueueSize: beyond
// it a new delivery goes straight to the dead letter (reason queue_full)
// instead of blocking or failing its producer.
//
// Each endpoint has a circuit (5 consecutive failures open it for 60 s,
// then one probe) on the worker's clock. While it is open, due deliveries
// are deferred to the probe time without counting an attempt. Circuits,
// counters and last answers are per process; the queue is store-wide.
//
// # Several processes
//
// Workers of several processes may share one store. A claimed delivery is
// leased (Config.LeaseDuration, longer than an attempt can take), so two
// workers never attempt it at once, and a delivery held by a process that
// died is attempted again when its lease expires, or at once by a sole
// process that knows its predecessor is dead (Config.ReleaseLeasesAtStart).
// [Worker.Close] stops claiming and lets the attempts in flight finish.
//
// # Destinations
//
// A [Guard] refuses loopback, private, shared (CGNAT), link-local,
// unique-local, multicast, unspecified and reserved addresses, also in
// IPv4-mapped IPv6 form: at registration for literal addresses
// ([Guard.CheckURL]) and, as the net.Dialer Control function of every
// attempt, for the address actually dialled, so a name that resolves or
// rebinds to such an address is refused before any connection is made.
// Guard.AllowPrivate lifts it for local receivers.
//
// The package imports no driver and no HTTP server; package server exposes
// a Worker under /api/webhooks.
package webhook
