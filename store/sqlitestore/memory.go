package sqlitestore

import "github.com/aragora/aragora/memory"

// Store implements [memory.Store] in the continuum database through the embedded memsql.Store
// (store/internal/memsql), written once for pgstore and sqlitestore.
var _ memory.Store = (*Store)(nil)
