package memstore_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.DebateStore {
		s := memstore.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
