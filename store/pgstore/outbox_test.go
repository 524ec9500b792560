package pgstore_test

import (
	"testing"

	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/webhook"
	"github.com/aragora/aragora/webhook/webhooktest"
)

func TestWebhookConformance(t *testing.T) {
	dsn(t)
	webhooktest.Run(t, func(t *testing.T) webhook.Store { return openStore(t, pgstore.Config{}) })
}
