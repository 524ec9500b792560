package lifecycle

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// ulidAlphabet is the lowercase Crockford base32 alphabet of ULIDs.
const ulidAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// NewDebateID returns "deb_" + a 26-character lowercase ULID (docs/http-api.md#identifiers-and-time):
// 48 bits of Unix milliseconds from t, then 80 random bits from r
// (nil: crypto/rand). IDs of one millisecond sort by their random part.
func NewDebateID(t time.Time, r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", fmt.Errorf("lifecycle: new debate id: %w", err)
	}
	// 128 bits → 26 base32 characters (the first carries 3 bits).
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = ulidAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return "deb_" + string(out[:]), nil
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
