-- additive: true
-- min_binary: 0.8.0
-- The continuum memory (package memory, docs/memory.md): entries in four
-- tiers and every recorded tier transition.
CREATE TABLE memory_entries (
	id              TEXT COLLATE "C" PRIMARY KEY,
	tier            TEXT NOT NULL,
	kind            TEXT NOT NULL,
	content         TEXT NOT NULL,
	domain          TEXT NOT NULL DEFAULT '',
	tags            JSONB NOT NULL DEFAULT '[]',
	importance      DOUBLE PRECISION NOT NULL,
	surprise        DOUBLE PRECISION NOT NULL DEFAULT 0,
	consolidation   DOUBLE PRECISION NOT NULL DEFAULT 0,
	updates         INTEGER NOT NULL DEFAULT 0,
	successes       INTEGER NOT NULL DEFAULT 0,
	failures        INTEGER NOT NULL DEFAULT 0,
	source          TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMPTZ NOT NULL,
	updated_at      TIMESTAMPTZ NOT NULL,
	tier_changed_at TIMESTAMPTZ,
	expires_at      TIMESTAMPTZ,
	red_line        BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX memory_entries_tier ON memory_entries (tier, updated_at DESC, id);
CREATE INDEX memory_entries_domain ON memory_entries (domain, updated_at DESC, id);

CREATE TABLE memory_transitions (
	seq       BIGSERIAL PRIMARY KEY,
	entry_id  TEXT NOT NULL,
	from_tier TEXT NOT NULL,
	to_tier   TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',
	surprise  DOUBLE PRECISION NOT NULL DEFAULT 0,
	at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX memory_transitions_tiers ON memory_transitions (from_tier, to_tier);
