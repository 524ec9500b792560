package ratelimit_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/aragora/aragora/internal/fakeclock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC))
}
