-- additive: true
-- min_binary: 0.8.0
-- Debates, their event log and checkpoints, idempotency keys and ELO
-- ratings, all in the configured schema (search_path). JSON documents are
-- bytea so they round-trip byte for byte.
CREATE TABLE debates (
	id               TEXT COLLATE "C" PRIMARY KEY,
	topic            TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	owner            TEXT NOT NULL DEFAULT '',
	correlation_id   TEXT NOT NULL DEFAULT '',
	config           BYTEA,
	result           BYTEA,
	last_seq         BIGINT NOT NULL DEFAULT 0,
	created_at       TIMESTAMPTZ NOT NULL,
	updated_at       TIMESTAMPTZ NOT NULL,
	started_at       TIMESTAMPTZ,
	finished_at      TIMESTAMPTZ,
	lease_owner      TEXT,
	lease_expires_at TIMESTAMPTZ
);
CREATE INDEX debates_newest ON debates (created_at DESC, id DESC);
CREATE INDEX debates_owner_newest ON debates (owner, created_at DESC, id DESC);
CREATE INDEX debates_status_updated ON debates (status, updated_at);

CREATE TABLE debate_events (
	debate_id TEXT NOT NULL,
	seq       BIGINT NOT NULL,
	type      TEXT NOT NULL,
	data      BYTEA NOT NULL,
	PRIMARY KEY (debate_id, seq)
);
-- At most one debate_end per debate (docs/operations.md#stop-drain-and-restart).
CREATE UNIQUE INDEX debate_events_one_end ON debate_events (debate_id) WHERE type = 'debate_end';

CREATE TABLE checkpoints (
	id          BIGSERIAL PRIMARY KEY,
	debate_id   TEXT NOT NULL,
	round       INTEGER NOT NULL,
	phase       TEXT NOT NULL,
	seq         BIGINT NOT NULL,
	event_count INTEGER NOT NULL,
	status      TEXT NOT NULL,
	state       BYTEA,
	digest      TEXT NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL,
	UNIQUE (debate_id, round, phase)
);
CREATE INDEX checkpoints_latest ON checkpoints (debate_id, id DESC);

CREATE TABLE idempotency_keys (
	principal   TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	debate_id   TEXT NOT NULL DEFAULT '',
	status_code INTEGER NOT NULL DEFAULT 0,
	body        BYTEA,
	created_at  TIMESTAMPTZ NOT NULL,
	expires_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

CREATE TABLE agent_ratings (
	agent      TEXT COLLATE "C" NOT NULL,
	domain     TEXT NOT NULL DEFAULT '',
	elo        DOUBLE PRECISION NOT NULL,
	wins       INTEGER NOT NULL DEFAULT 0,
	losses     INTEGER NOT NULL DEFAULT 0,
	draws      INTEGER NOT NULL DEFAULT 0,
	debates    INTEGER NOT NULL DEFAULT 0,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (agent, domain)
);
CREATE INDEX agent_ratings_board ON agent_ratings (domain, elo DESC, agent);

CREATE TABLE rating_matches (
	debate_id   TEXT PRIMARY KEY,
	domain      TEXT NOT NULL DEFAULT '',
	winner      TEXT NOT NULL,
	consensus   BOOLEAN NOT NULL,
	agents      TEXT NOT NULL,
	changes     TEXT NOT NULL,
	recorded_at TIMESTAMPTZ NOT NULL
);
