-- additive: true
-- min_binary: 0.8.0
-- The continuum memory (package memory, docs/memory.md), kept in
-- continuum.db beside aragora.db. continuum_memory is the unused placeholder
-- table earlier binaries created; it never held rows.
DROP TABLE IF EXISTS continuum_memory;
CREATE TABLE memory_entries (
	id              TEXT PRIMARY KEY,
	tier            TEXT NOT NULL,
	kind            TEXT NOT NULL,
	content         TEXT NOT NULL,
	domain          TEXT NOT NULL DEFAULT '',
	tags            TEXT NOT NULL DEFAULT '[]',
	importance      REAL NOT NULL,
	surprise        REAL NOT NULL DEFAULT 0,
	consolidation   REAL NOT NULL DEFAULT 0,
	updates         INTEGER NOT NULL DEFAULT 0,
	successes       INTEGER NOT NULL DEFAULT 0,
	failures        INTEGER NOT NULL DEFAULT 0,
	source          TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	tier_changed_at TEXT,
	expires_at      TEXT,
	red_line        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX memory_entries_tier ON memory_entries (tier, updated_at DESC, id);
CREATE INDEX memory_entries_domain ON memory_entries (domain, updated_at DESC, id);

CREATE TABLE memory_transitions (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	entry_id  TEXT NOT NULL,
	from_tier TEXT NOT NULL,
	to_tier   TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',
	surprise  REAL NOT NULL DEFAULT 0,
	at        TEXT NOT NULL
);
CREATE INDEX memory_transitions_tiers ON memory_transitions (from_tier, to_tier);
