package ratelimit_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/aragora/aragora/internal/testclock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newClock() *testclock.Clock {
	return testclock.New(time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC))
}
