package auth

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
)

// ID prefixes (docs/http-api.md#identifiers-and-time). Every id is a prefix followed by
// [IDLength] base62 characters.
const (
	PrefixUser   = "usr_"
	PrefixAPIKey = "key_"
	PrefixToken  = "tok_"
	PrefixAudit  = "aud_"
	// IDLength is the number of random base62 characters after a prefix.
	IDLength = 22
)

// API key format: "ara_" + [KeyIDLength] lowercase base36 characters +
// "_" + [KeySecretLength] base62 characters.
const (
	KeyPrefix       = "ara_"
	KeyIDLength     = 8
	KeySecretLength = 40
)

const (
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	base36 = "0123456789abcdefghijklmnopqrstuvwxyz"
)

// randomString returns n characters drawn uniformly from alphabet (at most
// 256 characters) using rejection sampling over bytes read from random.
func randomString(random io.Reader, alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		if _, err := io.ReadFull(random, buf); err != nil {
			return "", fmt.Errorf("auth: read random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit {
				out = append(out, alphabet[int(b)%len(alphabet)])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out), nil
}

// NewID returns prefix followed by [IDLength] base62 characters read from
// random (crypto/rand.Reader in production).
func NewID(prefix string, random io.Reader) (string, error) {
	s, err := randomString(random, base62, IDLength)
	if err != nil {
		return "", err
	}
	return prefix + s, nil
}

// ValidID reports whether id is prefix followed by [IDLength] base62
// characters.
func ValidID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	return ok && len(rest) == IDLength && only(rest, base62)
}

func only(s, alphabet string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// newAPIKey returns a fresh API key and its embedded key id.
func newAPIKey(random io.Reader) (key, keyID string, err error) {
	keyID, err = randomString(random, base36, KeyIDLength)
	if err != nil {
		return "", "", err
	}
	secret, err := randomString(random, base62, KeySecretLength)
	if err != nil {
		return "", "", err
	}
	return KeyPrefix + keyID + "_" + secret, keyID, nil
}

// ParseAPIKey splits an API key into its key id, reporting whether key has
// the ara_<8 base36>_<40 base62> shape.
func ParseAPIKey(key string) (keyID string, ok bool) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok || len(rest) != KeyIDLength+1+KeySecretLength || rest[KeyIDLength] != '_' {
		return "", false
	}
	keyID, secret := rest[:KeyIDLength], rest[KeyIDLength+1:]
	if !only(keyID, base36) || !only(secret, base62) {
		return "", false
	}
	return keyID, true
}

// hashAPIKey returns the stored form of an API key: SHA-256 of the whole key.
func hashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}
