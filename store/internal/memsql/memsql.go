// Package memsql holds the SQL text of the continuum memory tables and the
// scanning of their rows that sqlitestore and pgstore share (docs/memory.md).
package memsql

// Columns are memory_entries' columns in scan order.
const Columns = `id, tier, kind, content, domain, tags, importance, surprise, consolidation, updates, successes, failures,
	source, created_at, updated_at, tier_changed_at, expires_at, red_line`

// Upsert follows "INSERT INTO memory_entries (Columns) VALUES (…)": it
// replaces every column of an existing entry.
const Upsert = ` ON CONFLICT (id) DO UPDATE SET tier = excluded.tier, kind = excluded.kind, content = excluded.content,
	domain = excluded.domain, tags = excluded.tags, importance = excluded.importance, surprise = excluded.surprise,
	consolidation = excluded.consolidation, updates = excluded.updates, successes = excluded.successes,
	failures = excluded.failures, source = excluded.source, created_at = excluded.created_at,
	updated_at = excluded.updated_at, tier_changed_at = excluded.tier_changed_at, expires_at = excluded.expires_at,
	red_line = excluded.red_line`

// TransitionCounts groups memory_transitions by (from, to) in byte order.
const TransitionCounts = `SELECT from_tier, to_tier, COUNT(*) FROM memory_transitions GROUP BY from_tier, to_tier`
