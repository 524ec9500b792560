package main

import (
	"context"
	"net/url"

	"github.com/aragora/aragora/store/memstore"
)

// openSQL opens the SQL store. The sqlitestore and pgstore packages have not
// landed yet; until then this falls back to memory with a warning.
// TODO(serve): switch to sqlitestore.Open / pgstore.Open once they exist.
func openSQL(_ context.Context, u *url.URL, _ serveConfig) (*backends, error) {
	return &backends{Store: memstore.New(), Kind: "memory",
		Warning: "store backend " + u.Scheme + " not available in this build: using an in-memory store"}, nil
}
