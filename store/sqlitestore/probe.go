package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// probeSize is the size of the file ProbeWrite writes next to the database.
const probeSize = 16 << 10

// ProbeWrite implements [store.WriteProber]: it takes the database's write
// lock (BEGIN IMMEDIATE, so a locked or read-only database fails) and
// writes, syncs and removes a 16 KiB file in the database's directory, so
// a full volume fails with ENOSPC (docs/http-api.md#health-and-metrics).
func (s *Store) ProbeWrite(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: write probe: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: write probe: %w", err)
	}
	if s.path == "" || strings.HasPrefix(s.path, ":") || strings.HasPrefix(s.path, "file:") {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), ".aragora-write-probe-*")
	if err != nil {
		return fmt.Errorf("sqlitestore: write probe: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: write probe: %w", err)
	}
	return nil
}
