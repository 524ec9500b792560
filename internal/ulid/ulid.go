// Package ulid makes the prefixed, time-ordered identifiers of the API
// (deb_…, msg_…): a prefix and a 26-character lowercase ULID, 48 bits of
// Unix milliseconds followed by 80 random bits in Crockford base32.
package ulid

import (
	"crypto/rand"
	"encoding/binary"
	"io"
)

// alphabet is the lowercase Crockford base32 alphabet of ULIDs.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// New returns prefix + a 26-character lowercase ULID for the instant of
// unixMilli, with 80 bits from crypto/rand (which never fails on the
// platforms Go supports).
func New(prefix string, unixMilli int64) string {
	id, _ := Read(prefix, unixMilli, rand.Reader)
	return id
}

// Read is New with the 80 random bits read from r; it fails only when r
// does.
func Read(prefix string, unixMilli int64, r io.Reader) (string, error) {
	var b [16]byte
	ms := uint64(unixMilli)
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", err
	}
	return prefix + Encode(b), nil
}

// Encode renders 128 bits as 26 base32 characters (the first carries 3 bits).
func Encode(b [16]byte) string {
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
