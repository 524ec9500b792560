package lifecycle

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aragora/aragora/internal/ulid"
)

// NewDebateID returns "deb_" + a 26-character lowercase ULID (docs/http-api.md#identifiers-and-time):
// 48 bits of Unix milliseconds from t, then 80 random bits from r
// (nil: crypto/rand). IDs of one millisecond sort by their random part.
func NewDebateID(t time.Time, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	id, err := ulid.Read("deb_", t.UnixMilli(), r)
	if err != nil {
		return "", fmt.Errorf("lifecycle: new debate id: %w", err)
	}
	return id, nil
}

// StreamEpoch is the stream epoch of a debate (docs/websocket.md#resume): stable while
// its stored history can be replayed, so a client resuming by seq knows
// its seqs still mean the same events.
func StreamEpoch(id string) string {
	h := sha256.Sum256([]byte("epoch:" + id))
	return hex.EncodeToString(h[:3])
}

// NewHolder returns a lease owner name unique to this process:
// host-pid-random.
func NewHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
