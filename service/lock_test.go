package service

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDataDirLockWaitsForADrainingHolder: a second serve on a data
// directory is refused at once while the holder runs, but waits for a
// holder that is shutting down, even when no hand-over was seen on the
// address (the holder had closed its listeners already).
func TestDataDirLockWaitsForADrainingHolder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	holder, err := lockDataDir(ctx, dir, 0, 0)
	require.NoError(t, err)

	_, err = lockDataDir(ctx, dir, 0, time.Minute)
	var ie *InstanceError
	require.ErrorAs(t, err, &ie, "a running holder refuses a second serve at once")
	assert.Equal(t, fmt.Sprintf("pid %d", os.Getpid()), ie.Instance)

	holder.markDraining()
	got := make(chan error, 1)
	go func() {
		l, err := lockDataDir(ctx, dir, 0, time.Minute)
		if err == nil {
			l.release()
		}
		got <- err
	}()
	// The waiter polls every 100 ms; without the draining mark it would
	// have answered at its first try.
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("returned while the draining holder held the lock: %v", err)
	default:
	}
	holder.release()
	require.NoError(t, <-got, "the lock is taken once the draining holder exits")

	// A draining holder that outlives drainWait is named.
	holder, err = lockDataDir(ctx, dir, 0, 0)
	require.NoError(t, err)
	defer holder.release()
	holder.markDraining()
	_, err = lockDataDir(ctx, dir, 0, 150*time.Millisecond)
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, fmt.Sprintf("pid %d", os.Getpid()), ie.Instance)
}
