package webhook_test

import (
	"testing"

	"github.com/aragora/aragora/internal/enum/enumtest"
	"github.com/aragora/aragora/webhook"
)

func TestStateText(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, webhook.States, webhook.ParseState, "queued")
}

func TestOutcomeText(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, webhook.Outcomes, webhook.ParseOutcome, "failed")
}
