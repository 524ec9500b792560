package pgstore

import "github.com/aragora/aragora/store"

// Store implements store.NomicStore through the embedded sqlrec.Store
// (store/internal/sqlrec/nomic.go), written once for pgstore and
// sqlitestore.
var _ store.NomicStore = (*Store)(nil)
