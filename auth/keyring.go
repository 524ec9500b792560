package auth

import (
	"cmp"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/store"
)

// MinSecretLength is the minimum length of ARAGORA_JWT_SECRET in bytes.
const MinSecretLength = 32

const (
	signingKeyLen = 32
	hkdfInfo      = "aragora jwt key ring v1"
)

// KeyRingConfig tunes a [KeyRing]. The zero value works.
type KeyRingConfig struct {
	// ReloadEvery is how often the ring is reloaded from the store when
	// used; default 30s.
	ReloadEvery time.Duration
	// MissReloadEvery bounds reloads caused by an unknown kid; default 30s.
	MissReloadEvery time.Duration
	// KeepFor is how long a key retired with keepPrevious keeps verifying:
	// the refresh-token TTL; default 720h.
	KeepFor time.Duration
	Now     func() time.Time // default time.Now
	Rand    io.Reader        // key material and nonces; default crypto/rand.Reader
}

func (c KeyRingConfig) withDefaults() KeyRingConfig {
	if c.ReloadEvery <= 0 {
		c.ReloadEvery = 30 * time.Second
	}
	if c.MissReloadEvery <= 0 {
		c.MissReloadEvery = 30 * time.Second
	}
	if c.KeepFor <= 0 {
		c.KeepFor = 720 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// KeyInfo describes one key of the ring, without its material.
type KeyInfo struct {
	KID        string
	CreatedAt  time.Time
	RetiredAt  time.Time // zero for the current key
	ValidUntil time.Time // zero: no limit; else the key verifies only before it
	Current    bool
}

// Rotation is the outcome of [KeyRing.Rotate] (docs/operations.md#rotate-keys-and-respond-to-a-compromise).
type Rotation struct {
	KID                string
	PreviousKID        string    // "" when the ring was empty
	PreviousValidUntil time.Time // zero unless keepPrevious
}

type ringKey struct {
	info   KeyInfo
	secret []byte
}

// KeyRing holds the HS256 signing keys of docs/operations.md#rotate-keys-and-respond-to-a-compromise: one current key
// signs, retired keys verify until their ValidUntil. Keys are persisted
// through a [store.KeyRingStore], encrypted with AES-256-GCM under a key
// derived by HKDF-SHA-256 from the root secret, so every replica and every
// restart that shares the store and the secret shares the ring. It is safe
// for concurrent use; it starts no goroutines (reloads happen lazily on
// use). The zero value is not usable; call [NewKeyRing].
type KeyRing struct {
	st   store.KeyRingStore
	aead cipher.AEAD
	cfg  KeyRingConfig

	mu       sync.Mutex
	keys     map[string]ringKey
	current  string
	loadedAt time.Time
	missAt   time.Time
}

// NewKeyRing loads the ring from st, decrypting it with a key derived from
// secret (ARAGORA_JWT_SECRET, at least [MinSecretLength] bytes), and
// creates the first key when the ring is empty.
func NewKeyRing(ctx context.Context, st store.KeyRingStore, secret []byte, cfg KeyRingConfig) (*KeyRing, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("%w: jwt secret must be at least %d bytes", ErrInvalidInput, MinSecretLength)
	}
	kek, err := hkdf.Key(sha256.New, secret, nil, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("auth: derive key ring key: %w", err)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("auth: key ring cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("auth: key ring cipher: %w", err)
	}
	k := &KeyRing{st: st, aead: aead, cfg: cfg.withDefaults()}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	if k.CurrentKID() == "" {
		if _, err := k.rotate(ctx, false); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		if err := k.Reload(ctx); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Reload replaces the in-memory ring with the stored one. A key that does
// not decrypt (another ARAGORA_JWT_SECRET) is an error.
func (k *KeyRing) Reload(ctx context.Context) error {
	now := k.cfg.Now()
	stored, err := k.st.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("auth: load key ring: %w", err)
	}
	keys := make(map[string]ringKey, len(stored))
	current := ""
	for _, sk := range stored {
		secret, err := k.open(sk)
		if err != nil {
			return err
		}
		keys[sk.KID] = ringKey{info: KeyInfo{KID: sk.KID, CreatedAt: sk.CreatedAt, RetiredAt: sk.RetiredAt, ValidUntil: sk.ValidUntil}, secret: secret}
		if sk.RetiredAt.IsZero() {
			current = sk.KID
		}
	}
	if current != "" {
		rk := keys[current]
		rk.info.Current = true
		keys[current] = rk
	}
	k.mu.Lock()
	k.keys, k.current, k.loadedAt = keys, current, now
	k.mu.Unlock()
	return nil
}

func (k *KeyRing) seal(kid string, secret []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	if _, err := io.ReadFull(k.cfg.Rand, nonce); err != nil {
		return nil, fmt.Errorf("auth: key ring nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, secret, []byte(kid)), nil
}

func (k *KeyRing) open(sk store.SigningKey) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sk.Ciphertext) < ns+k.aead.Overhead() {
		return nil, fmt.Errorf("auth: key ring: key %q: ciphertext too short", sk.KID)
	}
	secret, err := k.aead.Open(nil, sk.Ciphertext[:ns], sk.Ciphertext[ns:], []byte(sk.KID))
	if err != nil {
		return nil, fmt.Errorf("auth: key ring: key %q does not decrypt (different ARAGORA_JWT_SECRET?): %w", sk.KID, err)
	}
	return secret, nil
}

// Rotate generates a new current key. With keepPrevious the previous key
// keeps verifying for KeepFor (the refresh TTL); without it, it stops
// verifying at once, so every token it signed is rejected. A concurrent
// rotation by another replica is retried after a reload.
func (k *KeyRing) Rotate(ctx context.Context, keepPrevious bool) (Rotation, error) {
	var err error
	for range 3 {
		var r Rotation
		r, err = k.rotate(ctx, keepPrevious)
		if err == nil {
			return r, k.Reload(ctx)
		}
		if !errors.Is(err, store.ErrConflict) {
			return Rotation{}, err
		}
		if err := k.Reload(ctx); err != nil {
			return Rotation{}, err
		}
	}
	return Rotation{}, err
}

func (k *KeyRing) rotate(ctx context.Context, keepPrevious bool) (Rotation, error) {
	now := k.cfg.Now()
	k.mu.Lock()
	prev, n := k.current, len(k.keys)
	k.mu.Unlock()
	secret := make([]byte, signingKeyLen)
	if _, err := io.ReadFull(k.cfg.Rand, secret); err != nil {
		return Rotation{}, fmt.Errorf("auth: new signing key: %w", err)
	}
	tag := make([]byte, 4)
	if _, err := io.ReadFull(k.cfg.Rand, tag); err != nil {
		return Rotation{}, fmt.Errorf("auth: new signing key: %w", err)
	}
	kid := fmt.Sprintf("k%d-%s", n+1, hex.EncodeToString(tag))
	ct, err := k.seal(kid, secret)
	if err != nil {
		return Rotation{}, err
	}
	r := Rotation{KID: kid, PreviousKID: prev}
	validUntil := now
	if keepPrevious {
		validUntil = now.Add(k.cfg.KeepFor)
		if prev != "" {
			r.PreviousValidUntil = validUntil
		}
	}
	next := &store.SigningKey{KID: kid, Alg: "HS256", Ciphertext: ct, CreatedAt: now}
	if err := k.st.RotateSigningKey(ctx, prev, validUntil, next); err != nil {
		return Rotation{}, fmt.Errorf("auth: rotate signing key: %w", err)
	}
	return r, nil
}

// CurrentKID returns the kid new tokens are signed with ("" only before
// the first key exists).
func (k *KeyRing) CurrentKID() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current
}

// Keys returns every key of the ring, oldest first, without material.
func (k *KeyRing) Keys() []KeyInfo {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]KeyInfo, 0, len(k.keys))
	for _, rk := range k.keys {
		out = append(out, rk.info)
	}
	slices.SortFunc(out, func(a, b KeyInfo) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.KID, b.KID))
	})
	return out
}

// maybeReload reloads when the ring is older than ReloadEvery. A failed
// reload keeps the cached ring (a store blip must not stop verification).
func (k *KeyRing) maybeReload(ctx context.Context, now time.Time) {
	k.mu.Lock()
	stale := now.Sub(k.loadedAt) >= k.cfg.ReloadEvery
	if stale {
		k.loadedAt = now // one reload at a time, not a stampede
	}
	k.mu.Unlock()
	if stale {
		_ = k.Reload(ctx)
	}
}

// signingKey returns the current kid and key.
func (k *KeyRing) signingKey(ctx context.Context) (string, []byte, error) {
	k.maybeReload(ctx, k.cfg.Now())
	k.mu.Lock()
	defer k.mu.Unlock()
	rk, ok := k.keys[k.current]
	if !ok {
		return "", nil, errors.New("auth: key ring has no current key")
	}
	return rk.info.KID, rk.secret, nil
}

// verifyKey returns the key of kid if it may verify at now: ErrUnauthorized
// for an unknown kid (after at most one reload per MissReloadEvery),
// ErrTokenRevoked for a key retired past its ValidUntil.
func (k *KeyRing) verifyKey(ctx context.Context, kid string) ([]byte, error) {
	now := k.cfg.Now()
	k.maybeReload(ctx, now)
	k.mu.Lock()
	rk, ok := k.keys[kid]
	reload := !ok && now.Sub(k.missAt) >= k.cfg.MissReloadEvery
	if reload {
		k.missAt = now
	}
	k.mu.Unlock()
	if reload {
		if err := k.Reload(ctx); err == nil {
			k.mu.Lock()
			rk, ok = k.keys[kid]
			k.mu.Unlock()
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: unknown kid", ErrUnauthorized)
	}
	if !rk.info.ValidUntil.IsZero() && !now.Before(rk.info.ValidUntil) {
		return nil, fmt.Errorf("%w: signing key %s retired", ErrTokenRevoked, kid)
	}
	return rk.secret, nil
}
