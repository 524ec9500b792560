-- additive: true
-- min_binary: 0.8.0
-- The webhook outbox (package webhook): messages written in the transaction
-- of the change that causes them, their per-endpoint deliveries (leased
-- while attempted, retried, dead-lettered) and the endpoints registered
-- through the API. Times are UTC text with microseconds, like every other
-- table.
CREATE TABLE webhook_messages (
	id             TEXT PRIMARY KEY,
	type           TEXT NOT NULL,
	debate_id      TEXT NOT NULL DEFAULT '',
	payload        BLOB NOT NULL,
	correlation_id TEXT NOT NULL DEFAULT '',
	created_at     TEXT NOT NULL,
	dispatched_at  TEXT
);
CREATE INDEX webhook_messages_undispatched ON webhook_messages (created_at, id) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_deliveries (
	id               TEXT PRIMARY KEY,
	message_id       TEXT NOT NULL REFERENCES webhook_messages (id),
	endpoint_id      TEXT NOT NULL,
	state            TEXT NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  TEXT NOT NULL,
	lease_owner      TEXT,
	lease_expires_at TEXT,
	last_attempt_at  TEXT,
	last_status_code INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	dead_reason      TEXT NOT NULL DEFAULT '',
	overflowed       INTEGER NOT NULL DEFAULT 0,
	created_at       TEXT NOT NULL,
	finished_at      TEXT,
	UNIQUE (message_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (state, finished_at);
CREATE INDEX webhook_deliveries_overflowed ON webhook_deliveries (id) WHERE overflowed = 1;

CREATE TABLE webhook_endpoints (
	id              TEXT PRIMARY KEY,
	url             TEXT NOT NULL,
	secret          TEXT NOT NULL,
	events          TEXT NOT NULL,
	description     TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	disabled_at     TEXT,
	disabled_reason TEXT NOT NULL DEFAULT ''
);
