-- additive: true
-- min_binary: 0.8.0
-- Debates, their event log and orchestrator checkpoints, idempotency keys.
-- Times are TEXT in UTC, fixed width with microseconds
-- (2006-01-02T15:04:05.000000Z), so they sort as strings.
CREATE TABLE debates (
	id               TEXT PRIMARY KEY,
	topic            TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	owner            TEXT NOT NULL DEFAULT '',
	correlation_id   TEXT NOT NULL DEFAULT '',
	config           BLOB,
	result           BLOB,
	last_seq         INTEGER NOT NULL DEFAULT 0,
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL,
	started_at       TEXT,
	finished_at      TEXT,
	lease_owner      TEXT,
	lease_expires_at TEXT
);
CREATE INDEX debates_newest ON debates (created_at DESC, id DESC);
CREATE INDEX debates_owner_newest ON debates (owner, created_at DESC, id DESC);
CREATE INDEX debates_status_updated ON debates (status, updated_at);

CREATE TABLE debate_events (
	debate_id TEXT NOT NULL,
	seq       INTEGER NOT NULL,
	type      TEXT NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (debate_id, seq)
) WITHOUT ROWID;
-- At most one debate_end per debate (docs/operations.md#stop-drain-and-restart).
CREATE UNIQUE INDEX debate_events_one_end ON debate_events (debate_id) WHERE type = 'debate_end';

CREATE TABLE checkpoints (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	debate_id   TEXT NOT NULL,
	round       INTEGER NOT NULL,
	phase       TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	event_count INTEGER NOT NULL,
	status      TEXT NOT NULL,
	state       BLOB,
	digest      TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	UNIQUE (debate_id, round, phase)
);
CREATE INDEX checkpoints_latest ON checkpoints (debate_id, id DESC);

CREATE TABLE idempotency_keys (
	principal   TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	debate_id   TEXT NOT NULL DEFAULT '',
	status_code INTEGER NOT NULL DEFAULT 0,
	body        BLOB,
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL,
	PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
