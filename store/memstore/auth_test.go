package memstore_test

import (
	"testing"

	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/store/storetest"
)

func TestAuthConformance(t *testing.T) {
	storetest.RunAuth(t, func(t *testing.T) storetest.AuthStore { return memstore.NewAuth() })
}
