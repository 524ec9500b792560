package testclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/internal/testclock"
)

// t0 is where the tests' clocks start.
var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

func TestClockMovesOnlyForward(t *testing.T) {
	c := testclock.New(t0)
	assert.Equal(t, t0, c.Now())
	c.Advance(time.Minute)
	assert.Equal(t, t0.Add(time.Minute), c.Now())
	c.Set(t0)
	assert.Equal(t, t0.Add(time.Minute), c.Now(), "an earlier time is ignored")
	c.Set(t0.Add(time.Hour))
	assert.Equal(t, t0.Add(time.Hour), c.Now())
}

func TestClockIsSafeForConcurrentUse(t *testing.T) {
	c := testclock.New(t0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, t0.Add(800*time.Second), c.Now())
}
