-- additive: true
-- min_binary: 0.8.0
-- The nomic loop (package nomic, docs/nomic.md): its state document (one
-- row, compare-and-swap on version), the control commands the loop
-- consumes and the outcomes of finished cycles.
CREATE TABLE nomic_state (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	version    INTEGER NOT NULL,
	doc        BLOB NOT NULL,
	updated_at TEXT NOT NULL
);

CREATE TABLE nomic_commands (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	args       BLOB,
	status     TEXT NOT NULL,
	result     BLOB,
	created_at TEXT NOT NULL,
	acked_at   TEXT
);
CREATE INDEX nomic_commands_pending ON nomic_commands (created_at, id) WHERE status = 'pending';

CREATE TABLE nomic_outcomes (
	cycle_id    TEXT PRIMARY KEY,
	number      INTEGER NOT NULL,
	outcome     TEXT NOT NULL,
	committed   INTEGER NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	started_at  TEXT NOT NULL,
	finished_at TEXT NOT NULL,
	doc         BLOB NOT NULL
);
CREATE INDEX nomic_outcomes_finished ON nomic_outcomes (finished_at, cycle_id);
