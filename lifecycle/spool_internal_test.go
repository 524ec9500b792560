package lifecycle

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/testenv"
	"github.com/aragora/aragora/store"
)

// TestSpoolWritesOnAFullVolume: the spool's reserve file makes room for a
// computed result on a volume that is full (a real 8 MB tmpfs filled to
// the last block), and the record reads back whole.
func TestSpoolWritesOnAFullVolume(t *testing.T) {
	t.Parallel()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("needs a tmpfs mount (root, or a container allowed to mount): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	dir := filepath.Join(mnt, "spool")
	log := slog.New(slog.DiscardHandler)
	s := newSpool(dir, DefaultSpoolReserve, log)
	fi, err := os.Stat(s.reservePath())
	require.NoError(t, err, "the reserve is made with the spool")
	assert.EqualValues(t, DefaultSpoolReserve, fi.Size())

	testenv.FillDisk(t, filepath.Join(mnt, "filler"))

	state, _ := json.Marshal(map[string]string{"proposals": strings.Repeat("a long proposal ", 20000)})
	c := &store.Checkpoint{DebateID: "deb_full", Round: 2, Phase: "end", Seq: 41, Status: store.StatusConsensusReached,
		State: state, Events: []store.Event{{DebateID: "deb_full", Seq: 41, Type: store.EventDebateEnd, JSON: json.RawMessage(`{"type":"debate_end"}`)}},
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Final: &store.Final{Result: json.RawMessage(`{"receipt_id":"DR-20260102-abc"}`),
			Usage: []store.UsageRecord{{UserID: "usr_1", Provider: "demo", TokensIn: 7, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}}}
	require.Greater(t, len(state), 64<<10, "the record needs more room than the full volume has")
	s.putFinal(c)
	_, err = os.Stat(s.reservePath())
	assert.ErrorIs(t, err, os.ErrNotExist, "the reserve was given up for the record")

	got := newSpool(dir, DefaultSpoolReserve, log).getFinal("deb_full") // a new process reads the file
	require.NotNil(t, got, "the record was written")
	assert.Equal(t, c.Seq, got.Seq)
	assert.JSONEq(t, string(c.State), string(got.State))
	assert.Equal(t, c.Events, got.Events)
	assert.Equal(t, *c.Final, *got.Final)
}
