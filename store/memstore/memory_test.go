package memstore_test

import (
	"testing"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/memory/memorytest"
	"github.com/aragora/aragora/store/memstore"
)

func TestMemoryConformance(t *testing.T) {
	memorytest.Run(t, func(*testing.T) memory.Store { return memstore.New() })
}
