package memstore_test

import (
	"testing"

	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/webhook"
	"github.com/aragora/aragora/webhook/webhooktest"
)

func TestWebhookConformance(t *testing.T) {
	webhooktest.Run(t, func(*testing.T) webhook.Store { return memstore.New() })
}
