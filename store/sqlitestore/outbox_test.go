package sqlitestore_test

import (
	"testing"

	"github.com/aragora/aragora/store/sqlitestore"
	"github.com/aragora/aragora/webhook"
	"github.com/aragora/aragora/webhook/webhooktest"
)

func TestWebhookConformance(t *testing.T) {
	webhooktest.Run(t, func(t *testing.T) webhook.Store {
		return openStore(t, t.TempDir(), sqlitestore.Config{})
	})
}
