package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// resolveDatabaseURL applies the ARAGORA_DATABASE_URL / SUPABASE_URL rules
// of docs/configuration.md.
func resolveDatabaseURL(c *serveConfig, r *envReader) error {
	if c.DatabaseURL != "" {
		c.DatabaseURLExplicit = true
		return nil
	}
	if sb := strings.TrimSpace(r.getenv("SUPABASE_URL")); sb != "" {
		pw := r.getenv("SUPABASE_DB_PASSWORD")
		if pw == "" {
			return fmt.Errorf("config: SUPABASE_URL is set but SUPABASE_DB_PASSWORD is not: set SUPABASE_DB_PASSWORD")
		}
		u, err := url.Parse(sb)
		if err != nil || u.Host == "" {
			return fmt.Errorf("config: SUPABASE_URL=%q: want https://<ref>.supabase.co", sb)
		}
		ref, _, _ := strings.Cut(u.Hostname(), ".")
		c.DatabaseURL = fmt.Sprintf("postgres://postgres:%s@db.%s.supabase.co:5432/postgres?sslmode=require", url.QueryEscape(pw), ref)
		c.DatabaseURLExplicit = true
		return nil
	}
	c.DatabaseURL = sqliteURL(c.DataDir)
	return nil
}

// sqliteURL is the default store URL under dataDir (docs/configuration.md).
func sqliteURL(dataDir string) string { return "sqlite://" + filepath.Join(dataDir, "aragora.db") }

// backend is what every store constructor returns: the port plus Close.
type backend interface {
	store.DebateStore
	io.Closer
}

// backends are the opened stores of a process.
type backends struct {
	Store   backend
	Kind    string // "sqlite", "postgres" or "memory"
	Warning string // non-empty when a fallback was taken

	// migrator lists and applies migrations; nil for memory.
	migrator migrator
	// poolMax is the connection cap (aragora_db_pool_max_connections).
	poolMax int
	// poolStats reports pool usage; nil when the backend has no pool view.
	poolStats func() (inUse, idle int)
}

// Close closes every backend.
func (b *backends) Close() error {
	if b == nil || b.Store == nil {
		return nil
	}
	return b.Store.Close()
}

// openBackends opens the store named by c.DatabaseURL (docs/configuration.md). It is an
// explicit switch, not a registry: this binary decides which drivers link.
// `aragora serve` and `aragora debate` share it.
func openBackends(ctx context.Context, c serveConfig) (*backends, error) {
	raw := c.DatabaseURL
	u, err := url.Parse(raw)
	if err != nil {
		return nil, configErrorf("config: ARAGORA_DATABASE_URL: %w", err)
	}
	switch u.Scheme {
	case "memory":
		return &backends{Store: memstore.New(), Kind: "memory"}, nil
	case "sqlite", "postgres", "postgresql":
		return openSQL(ctx, u, c)
	}
	return nil, configErrorf("config: ARAGORA_DATABASE_URL=%q: unsupported scheme %q (want sqlite or postgres)", raw, u.Scheme)
}

// configError marks a configuration error found while opening backends
// (exit 2, docs/cli.md), as opposed to an unreachable database (exit 1).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func configErrorf(format string, args ...any) error {
	return &configError{err: fmt.Errorf(format, args...)}
}

// isConfigErr reports whether err is a configuration error.
func isConfigErr(err error) bool {
	var ce *configError
	return errors.As(err, &ce)
}
