-- additive: true
-- min_binary: 0.8.0
-- The webhook outbox (package webhook): messages written in the transaction
-- of the change that causes them, their per-endpoint deliveries (leased
-- while attempted, retried, dead-lettered) and the endpoints registered
-- through the API. Workers claim deliveries with FOR UPDATE SKIP LOCKED.
CREATE TABLE webhook_messages (
	id             TEXT COLLATE "C" PRIMARY KEY,
	type           TEXT NOT NULL,
	debate_id      TEXT NOT NULL DEFAULT '',
	payload        BYTEA NOT NULL,
	correlation_id TEXT NOT NULL DEFAULT '',
	created_at     TIMESTAMPTZ NOT NULL,
	dispatched_at  TIMESTAMPTZ
);
CREATE INDEX webhook_messages_undispatched ON webhook_messages (created_at, id) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_deliveries (
	id               TEXT COLLATE "C" PRIMARY KEY,
	message_id       TEXT COLLATE "C" NOT NULL REFERENCES webhook_messages (id),
	endpoint_id      TEXT COLLATE "C" NOT NULL,
	state            TEXT NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  TIMESTAMPTZ NOT NULL,
	lease_owner      TEXT,
	lease_expires_at TIMESTAMPTZ,
	last_attempt_at  TIMESTAMPTZ,
	last_status_code INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	dead_reason      TEXT NOT NULL DEFAULT '',
	overflowed       BOOLEAN NOT NULL DEFAULT false,
	created_at       TIMESTAMPTZ NOT NULL,
	finished_at      TIMESTAMPTZ,
	UNIQUE (message_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (state, finished_at);
CREATE INDEX webhook_deliveries_overflowed ON webhook_deliveries (id) WHERE overflowed;

CREATE TABLE webhook_endpoints (
	id              TEXT COLLATE "C" PRIMARY KEY,
	url             TEXT NOT NULL,
	secret          TEXT NOT NULL,
	events          JSONB NOT NULL,
	description     TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMPTZ NOT NULL,
	disabled_at     TIMESTAMPTZ,
	disabled_reason TEXT NOT NULL DEFAULT ''
);
