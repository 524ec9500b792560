package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// resolveDatabaseURL applies the ARAGORA_DATABASE_URL / SUPABASE_URL rules
// of API.md §12.
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
	c.DatabaseURL = "sqlite://" + filepath.Join(c.DataDir, "aragora.db")
	return nil
}

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
}

// Close closes every backend.
func (b *backends) Close() error {
	if b == nil || b.Store == nil {
		return nil
	}
	return b.Store.Close()
}

// openBackends opens the store named by c.DatabaseURL (API.md §12). It is an
// explicit switch, not a registry: this binary decides which drivers link.
// `aragora serve` and `aragora debate` share it.
func openBackends(ctx context.Context, c serveConfig) (*backends, error) {
	raw := c.DatabaseURL
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("config: ARAGORA_DATABASE_URL: %w", err)
	}
	switch u.Scheme {
	case "memory":
		return &backends{Store: memstore.New(), Kind: "memory"}, nil
	case "sqlite", "postgres", "postgresql":
		return openSQL(ctx, u, c)
	}
	return nil, fmt.Errorf("config: ARAGORA_DATABASE_URL=%q: unsupported scheme %q (want sqlite or postgres)", raw, u.Scheme)
}
