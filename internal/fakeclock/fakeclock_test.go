package fakeclock

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	c := New(start)
	c.Advance(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("Now after Advance = %v, want %v", got, want)
	}
	var zero Clock
	if !zero.Now().IsZero() {
		t.Errorf("zero Clock reads %v", zero.Now())
	}
}
