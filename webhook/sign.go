package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret: whsec_ + base64 of the key.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock, either way, before [Verify] rejects it: the 5 minutes
// the Standard Webhooks specification recommends.
const DefaultTolerance = 5 * time.Minute

// Errors of [ParseSecret] and [Verify].
var (
	// ErrInvalidSecret reports a secret that is not whsec_ + base64 of at
	// least 24 bytes.
	ErrInvalidSecret = errors.New("webhook: invalid secret")
	// ErrInvalidSignature reports missing headers, a timestamp outside the
	// tolerance or no matching v1 signature.
	ErrInvalidSignature = errors.New("webhook: invalid signature")
)

// NewSecret returns a new secret: whsec_ + standard base64 of 32 random
// bytes.
func NewSecret() string {
	var key [32]byte
	_, _ = rand.Read(key[:]) // crypto/rand never fails on supported platforms
	return SecretPrefix + base64.StdEncoding.EncodeToString(key[:])
}

// ParseSecret returns the HMAC key of a whsec_ secret (the decoded base64
// after the prefix). Keys shorter than 24 bytes are refused.
func ParseSecret(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: want the prefix %s", ErrInvalidSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: the part after %s is not standard base64", ErrInvalidSecret, SecretPrefix)
	}
	if len(key) < 24 {
		return nil, fmt.Errorf("%w: the key is %d bytes, want at least 24", ErrInvalidSecret, len(key))
	}
	return key, nil
}

// Sign returns the webhook-signature value of one attempt:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)),
// timestamp in Unix seconds.
func Sign(key []byte, id string, timestamp time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp.Unix(), body))
}

func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received webhook as the Standard Webhooks specification
// says: the webhook-id, webhook-timestamp and webhook-signature headers
// are present, the timestamp is within tolerance of now (either way;
// tolerance <= 0 means DefaultTolerance), and one of the space-separated
// v1 signatures matches body under secret, compared in constant time.
// Receivers should then dedupe on webhook-id. Any failure wraps
// ErrInvalidSignature (or ErrInvalidSecret for a bad secret).
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing %s, %s or %s header", ErrInvalidSignature, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not Unix seconds", ErrInvalidSignature, HeaderTimestamp, tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s is %s away from now (tolerance %s)", ErrInvalidSignature, HeaderTimestamp, d.Round(time.Second), tolerance)
	}
	want := mac(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		v, enc, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrInvalidSignature)
}
