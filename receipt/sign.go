package receipt

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Signature algorithms.
const (
	AlgHMACSHA256 = "HMAC-SHA256"
	AlgEd25519    = "Ed25519"
)

// MinHMACKeySize is the shortest accepted HMAC-SHA256 key, in bytes.
const MinHMACKeySize = 32

var (
	// ErrShortKey reports an HMAC key shorter than [MinHMACKeySize] bytes.
	ErrShortKey = errors.New("receipt: hmac key shorter than 32 bytes")
	// ErrInvalidKey reports an Ed25519 private key of the wrong size.
	ErrInvalidKey = errors.New("receipt: invalid ed25519 private key")
)

// sigEncoding encodes signature values: base64url without padding.
var sigEncoding = base64.RawURLEncoding.Strict()

// Signer signs the canonical bytes of a receipt. A Signer shared between
// goroutines must be safe for concurrent use, as [HMACSigner] and
// [Ed25519Signer] are.
type Signer interface {
	// Algorithm returns AlgHMACSHA256 or AlgEd25519.
	Algorithm() string
	// KeyID names the key; it is part of the signed bytes.
	KeyID() string
	// Sign returns the raw signature of msg.
	Sign(msg []byte) ([]byte, error)
}

var (
	_ Signer = (*HMACSigner)(nil)
	_ Signer = (*Ed25519Signer)(nil)
)

// HMACKeyID returns the key id of an HMAC key: "hmac-" + the first 16 hex
// characters of SHA-256(key).
func HMACKeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return "hmac-" + hex.EncodeToString(sum[:8])
}

// Ed25519KeyID returns the key id of an Ed25519 public key: "ed25519-" + the
// first 16 hex characters of SHA-256(public key).
func Ed25519KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "ed25519-" + hex.EncodeToString(sum[:8])
}

// HMACSigner signs with HMAC-SHA256 and a shared key. It is safe for
// concurrent use. The zero value has no key and its Sign fails; use
// [NewHMACSigner].
type HMACSigner struct {
	key   []byte
	keyID string
}

// NewHMACSigner returns a signer for key, which it copies. A key shorter
// than [MinHMACKeySize] bytes gives an error wrapping [ErrShortKey].
func NewHMACSigner(key []byte) (*HMACSigner, error) {
	if len(key) < MinHMACKeySize {
		return nil, fmt.Errorf("%w: got %d", ErrShortKey, len(key))
	}
	return &HMACSigner{key: append([]byte(nil), key...), keyID: HMACKeyID(key)}, nil
}

// Algorithm returns [AlgHMACSHA256].
func (s *HMACSigner) Algorithm() string { return AlgHMACSHA256 }

// KeyID returns "hmac-" + the first 16 hex characters of SHA-256(key).
func (s *HMACSigner) KeyID() string {
	if s == nil {
		return ""
	}
	return s.keyID
}

// Sign returns HMAC-SHA256(key, msg).
func (s *HMACSigner) Sign(msg []byte) ([]byte, error) {
	if s == nil || len(s.key) < MinHMACKeySize {
		return nil, ErrShortKey
	}
	return hmacSum(s.key, msg), nil
}

func hmacSum(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// Ed25519Signer signs with an Ed25519 private key; anyone holding the public
// key can verify. It is safe for concurrent use. The zero value, like a
// signer made from a key of the wrong size, fails to sign with
// [ErrInvalidKey].
type Ed25519Signer struct {
	priv  ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
}

// NewEd25519Signer returns a signer for priv, which it copies. Build priv
// from a 32-byte seed with ed25519.NewKeyFromSeed.
func NewEd25519Signer(priv ed25519.PrivateKey) *Ed25519Signer {
	if len(priv) != ed25519.PrivateKeySize {
		return &Ed25519Signer{}
	}
	p := append(ed25519.PrivateKey(nil), priv...)
	pub := p.Public().(ed25519.PublicKey)
	return &Ed25519Signer{priv: p, pub: pub, keyID: Ed25519KeyID(pub)}
}

// Algorithm returns [AlgEd25519].
func (s *Ed25519Signer) Algorithm() string { return AlgEd25519 }

// KeyID returns "ed25519-" + the first 16 hex characters of SHA-256(public
// key), or "" for an invalid key.
func (s *Ed25519Signer) KeyID() string {
	if s == nil {
		return ""
	}
	return s.keyID
}

// PublicKey returns a copy of the public key (nil for an invalid key), e.g.
// to publish it (docs/http-api.md#receipt).
func (s *Ed25519Signer) PublicKey() ed25519.PublicKey {
	if s == nil || s.pub == nil {
		return nil
	}
	return append(ed25519.PublicKey(nil), s.pub...)
}

// Sign returns the Ed25519 signature of msg.
func (s *Ed25519Signer) Sign(msg []byte) ([]byte, error) {
	if s == nil || len(s.priv) != ed25519.PrivateKeySize {
		return nil, ErrInvalidKey
	}
	return ed25519.Sign(s.priv, msg), nil
}

// Sign seals r and signs it with s. The signed bytes are the canonical form
// of the receipt with content_hash set and with a signature object holding
// only algorithm and key_id. On success Signature holds the algorithm, key
// id and base64url (unpadded) value; on failure it is left unchanged.
func (r *Receipt) Sign(s Signer) error {
	if s == nil {
		return errors.New("receipt: sign: nil signer")
	}
	alg := s.Algorithm()
	if alg != AlgHMACSHA256 && alg != AlgEd25519 {
		return fmt.Errorf("receipt: sign: unsupported algorithm %q", alg)
	}
	if err := r.Seal(); err != nil {
		return err
	}
	keyID := s.KeyID()
	msg, err := r.signedBytes(alg, keyID)
	if err != nil {
		return err
	}
	sig, err := s.Sign(msg)
	if err != nil {
		return fmt.Errorf("receipt: sign: %w", err)
	}
	r.Signature = &Signature{Algorithm: alg, KeyID: keyID, Value: sigEncoding.EncodeToString(sig)}
	return nil
}

// signedBytes returns the bytes a signature covers.
func (r *Receipt) signedBytes(alg, keyID string) ([]byte, error) {
	t, err := r.tree(true, &Signature{Algorithm: alg, KeyID: keyID}, false)
	if err != nil {
		return nil, err
	}
	c, err := Canonical(t)
	if err != nil {
		return nil, fmt.Errorf("receipt: sign: %w", err)
	}
	return c, nil
}

// Verify reports whether r carries a valid signature for key, which is an
// HMAC key ([]byte, at least [MinHMACKeySize] bytes) or an
// [ed25519.PublicKey]. It is true only when the signature is present, its
// algorithm matches the key type, ContentHash matches a recomputation and
// the signature checks out (HMAC compared in constant time). Any change to
// any field, key id included, makes it false. The key id is not compared
// with one derived from key: it is covered by the signature instead.
func Verify(r *Receipt, key any) bool {
	if r == nil || r.Signature == nil || !r.VerifyHash() {
		return false
	}
	sig, err := sigEncoding.DecodeString(r.Signature.Value)
	if err != nil {
		return false
	}
	msg, err := r.signedBytes(r.Signature.Algorithm, r.Signature.KeyID)
	if err != nil {
		return false
	}
	switch k := key.(type) {
	case []byte:
		if r.Signature.Algorithm != AlgHMACSHA256 || len(k) < MinHMACKeySize {
			return false
		}
		return hmac.Equal(sig, hmacSum(k, msg))
	case ed25519.PublicKey:
		if r.Signature.Algorithm != AlgEd25519 || len(k) != ed25519.PublicKeySize {
			return false
		}
		return ed25519.Verify(k, msg, sig)
	}
	return false
}
