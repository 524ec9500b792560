-- additive: true
-- min_binary: 0.8.0
-- The nomic loop (package nomic, docs/nomic.md): its state document (one
-- row, compare-and-swap on version), the control commands the loop
-- consumes and the outcomes of finished cycles.
CREATE TABLE nomic_state (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	version    BIGINT NOT NULL,
	doc        BYTEA NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE nomic_commands (
	id         TEXT COLLATE "C" PRIMARY KEY,
	kind       TEXT NOT NULL,
	args       BYTEA,
	status     TEXT NOT NULL,
	result     BYTEA,
	created_at TIMESTAMPTZ NOT NULL,
	acked_at   TIMESTAMPTZ
);
CREATE INDEX nomic_commands_pending ON nomic_commands (created_at, id) WHERE status = 'pending';

CREATE TABLE nomic_outcomes (
	cycle_id    TEXT COLLATE "C" PRIMARY KEY,
	number      INTEGER NOT NULL,
	outcome     TEXT NOT NULL,
	committed   BOOLEAN NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	started_at  TIMESTAMPTZ NOT NULL,
	finished_at TIMESTAMPTZ NOT NULL,
	doc         BYTEA NOT NULL
);
CREATE INDEX nomic_outcomes_finished ON nomic_outcomes (finished_at, cycle_id);
