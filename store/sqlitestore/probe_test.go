package sqlitestore_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/sqlitestore"
)

// smallVolume mounts a 2 MiB tmpfs for the test (root only: it skips
// where mount(8) is refused, the case of unprivileged containers).
func smallVolume(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("a full volume needs mount -t tmpfs (root): %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the volume is full and returns it.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)
			return p
		}
	}
}

func TestProbeWriteOnAFullVolume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := smallVolume(t)
	s := openStore(t, dir, sqlitestore.Config{})
	require.NoError(t, s.ProbeWrite(ctx))
	filler := fill(t, dir)

	err := s.ProbeWrite(ctx)
	require.Error(t, err)
	assert.Equal(t, store.ErrStorageFull, store.Unavailable(err), "%v", err)
	// A real write fails the same way, which the server answers 507.
	big := strings.Repeat("x", 512<<10)
	err = s.CreateDebate(ctx, &store.Debate{ID: "d1", Status: store.StatusPending, Topic: big})
	require.Error(t, err)
	assert.ErrorIs(t, store.Unavailable(err), store.ErrUnavailable, "%v", err)

	require.NoError(t, os.Remove(filler))
	require.NoError(t, s.ProbeWrite(ctx), "writable again once space is freed")
	require.NoError(t, s.CreateDebate(ctx, &store.Debate{ID: "d2", Status: store.StatusPending, Topic: big}))
}

func TestProbeWriteOnAClosedStore(t *testing.T) {
	t.Parallel()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "aragora.db"), sqlitestore.Config{})
	require.NoError(t, err)
	require.NoError(t, s.ProbeWrite(context.Background()))
	require.NoError(t, s.Close())
	err = s.ProbeWrite(context.Background())
	require.Error(t, err)
	assert.Equal(t, store.ErrUnavailable, store.Unavailable(err), "%v", err)
}
