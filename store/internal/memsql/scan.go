package memsql

import (
	"encoding/json"
	"fmt"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// ScanEntry reads Columns; tags are stored as a JSON array, and an empty
// one reads as nil.
func ScanEntry(row sqlrec.Row) (*memory.Entry, error) {
	var (
		e          memory.Entry
		tier, kind string
		tags       []byte
	)
	if err := row.Scan(&e.ID, &tier, &kind, &e.Content, &e.Domain, &tags, &e.Importance, &e.Surprise, &e.Consolidation,
		&e.Updates, &e.Successes, &e.Failures, &e.Source, sqlrec.Time(&e.CreatedAt), sqlrec.Time(&e.UpdatedAt),
		sqlrec.Time(&e.TierChangedAt), sqlrec.Time(&e.ExpiresAt), &e.RedLine); err != nil {
		return nil, err
	}
	e.Tier, e.Kind = memory.Tier(tier), memory.Kind(kind)
	if err := json.Unmarshal(tags, &e.Tags); err != nil {
		return nil, fmt.Errorf("bad stored tags of %q: %w", e.ID, err)
	}
	if len(e.Tags) == 0 {
		e.Tags = nil
	}
	return &e, nil
}
