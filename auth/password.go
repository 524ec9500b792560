package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Password length rule (docs/http-api.md#authentication), in characters.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 128
)

// PasswordConfig tunes a [Hasher]. The zero value gives the production
// parameters of docs/http-api.md#authentication; tests lower Memory and Time.
type PasswordConfig struct {
	Memory        uint32        // argon2id memory in KiB; default 65536 (64 MiB)
	Time          uint32        // argon2id iterations; default 3
	Threads       uint8         // argon2id parallelism; default 4
	MaxConcurrent int           // hashes running at once; default 4
	Wait          time.Duration // wait for a hashing slot before ErrBusy; default 5s
	Rand          io.Reader     // salt source; default crypto/rand.Reader
}

func (c PasswordConfig) withDefaults() PasswordConfig {
	if c.Memory == 0 {
		c.Memory = 64 * 1024
	}
	if c.Time == 0 {
		c.Time = 3
	}
	if c.Threads == 0 {
		c.Threads = 4
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 4
	}
	if c.Wait <= 0 {
		c.Wait = 5 * time.Second
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Hasher hashes and verifies passwords with argon2id, accepts bcrypt
// hashes, and bounds the number of hashes running at once. It is safe for
// concurrent use. The zero value is not usable; call [NewHasher].
type Hasher struct {
	cfg       PasswordConfig
	sem       chan struct{}
	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a Hasher with cfg's defaults applied.
func NewHasher(cfg PasswordConfig) *Hasher {
	cfg = cfg.withDefaults()
	return &Hasher{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent)}
}

// ValidatePassword checks the 12–128 character rule; the error wraps
// ErrInvalidInput.
func ValidatePassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength || n > MaxPasswordLength {
		return fmt.Errorf("%w: password must be %d to %d characters", ErrInvalidInput, MinPasswordLength, MaxPasswordLength)
	}
	return nil
}

// Acquire reserves one hashing slot, waiting at most the configured Wait.
// It returns ErrBusy when none frees up in time, or ctx's error. Hash and
// Verify call it; callers may hold a slot around other memory-heavy work.
func (h *Hasher) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem }, nil
	default:
	}
	t := time.NewTimer(h.cfg.Wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Hash returns the PHC string of pw:
// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<threads>$<salt>$<hash> (unpadded
// standard base64). It does not apply the length rule; see
// [ValidatePassword].
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(h.cfg.Rand, salt); err != nil {
		return "", fmt.Errorf("auth: password salt: %w", err)
	}
	release, err := h.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return h.encode(pw, salt), nil
}

func (h *Hasher) encode(pw string, salt []byte) string {
	c := h.cfg
	key := argon2.IDKey([]byte(pw), salt, c.Time, c.Memory, c.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.Memory, c.Time, c.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

type argonParams struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon(encoded string) (argonParams, error) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, errors.New("auth: not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, errors.New("auth: unsupported argon2 version")
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil ||
		p.memory == 0 || p.time == 0 || threads == 0 || threads > 255 || p.memory > 4*1024*1024 || p.time > 64 {
		return p, errors.New("auth: bad argon2 parameters")
	}
	p.threads = uint8(threads)
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, errors.New("auth: bad argon2 salt")
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return p, errors.New("auth: bad argon2 hash")
	}
	return p, nil
}

func isBcrypt(encoded string) bool {
	return strings.HasPrefix(encoded, "$2a$") || strings.HasPrefix(encoded, "$2b$") || strings.HasPrefix(encoded, "$2y$")
}

// Verify reports whether pw matches encoded (argon2id PHC or bcrypt
// $2a$/$2b$/$2y$), comparing in constant time. needsRehash is true for a
// match whose hash is bcrypt or uses other argon2id parameters than the
// configured ones. A malformed hash is an error; ErrBusy or ctx's error
// when no slot frees up.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (ok, needsRehash bool, err error) {
	release, err := h.Acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	return h.verify(encoded, pw)
}

func (h *Hasher) verify(encoded, pw string) (ok, needsRehash bool, err error) {
	if isBcrypt(encoded) {
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
			return false, false, nil
		}
		return false, false, fmt.Errorf("auth: verify bcrypt hash: %w", err)
	}
	p, err := parseArgon(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	if subtle.ConstantTimeCompare(got, p.key) != 1 {
		return false, false, nil
	}
	c := h.cfg
	return true, p.memory != c.Memory || p.time != c.Time || p.threads != c.Threads || len(p.key) != argonKeyLen, nil
}

// VerifyDummy spends the time of one verification against a fixed dummy
// hash and reports nothing: logins for unknown emails call it so that
// response time does not reveal which emails exist.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	release, err := h.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	h.dummyOnce.Do(func() {
		h.dummy = h.encode("aragora-dummy-password", make([]byte, argonSaltLen))
	})
	_, _, err = h.verify(h.dummy, pw)
	return err
}
