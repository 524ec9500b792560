// Package memory is the continuum memory of Aragora (docs/memory.md):
// what earlier debates taught — their outcomes, the critique patterns that
// changed minds, and insights added by operators — kept in four tiers that
// learn and forget at different speeds, and retrieved into later debates
// on the same domain.
//
// A [Continuum] holds the arithmetic (surprise, consolidation,
// promotion and demotion between tiers, forgetting) over a [Store] port.
// Backends implement the port in store/memstore, store/sqlitestore (the
// file continuum.db beside aragora.db) and store/pgstore (tables in
// ARAGORA_DB_SCHEMA), and pass the conformance suite in memorytest.
//
// # Tiers
//
// Each entry lives in one tier. An outcome update (Continuum.Observe)
// recomputes the entry's surprise; a surprising entry moves one tier
// towards fast (it is still being learned), a predictable one one tier
// towards glacial (it is settled):
//
//	tier     half-life  promote if surprise >  demote if <  max items
//	fast     1 h        –                      0.2          1,000
//	medium   24 h       0.7                    0.3          5,000
//	slow     168 h      0.6                    0.4          10,000
//	glacial  720 h      0.5                    –            50,000
//
// Continuum.Cleanup forgets entries not updated for twice their tier's
// half-life, entries past their expiry, and, over a tier's capacity, the
// entries of lowest importance × recency. Red-line entries are never
// deleted. Every tier change and every deletion is recorded as a
// [Transition].
//
// This package is part of the core: it imports no driver. Retrieval scores
// relevance with package similarity (TF-IDF by default) or, when
// configured, an [Embedder].
package memory
