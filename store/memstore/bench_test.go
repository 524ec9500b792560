package memstore_test

import (
	"testing"

	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/store/storetest"
)

// BenchmarkSaveCheckpoint appends batches of 10 events.
func BenchmarkSaveCheckpoint(b *testing.B) {
	s := memstore.New()
	defer s.Close()
	storetest.BenchmarkSaveCheckpoint(b, s)
}
