package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealedPrefix marks a secret stored encrypted (AES-256-GCM under a key
// derived from Config.SecretKey).
const sealedPrefix = "sealed:v1:"

const sealInfo = "aragora webhook endpoint secrets v1"

// ErrSealed reports a stored secret that cannot be opened: it was sealed
// under another Config.SecretKey (ARAGORA_JWT_SECRET changed), or the
// worker has none.
var ErrSealed = errors.New("webhook: cannot open the stored endpoint secret")

// sealer encrypts endpoint secrets at rest. A nil *sealer stores them as
// they are.
type sealer struct{ aead cipher.AEAD }

func newSealer(root []byte) (*sealer, error) {
	if len(root) == 0 {
		return nil, nil
	}
	key, err := hkdf.Key(sha256.New, root, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("webhook: derive the secret key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("webhook: secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webhook: secret key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal returns the stored form of secret; the endpoint id is the
// additional data, so a sealed secret cannot be moved to another endpoint.
func (s *sealer) seal(id, secret string) string {
	if s == nil || secret == "" {
		return secret
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(id))
	return sealedPrefix + base64.StdEncoding.EncodeToString(out)
}

// open returns the plain secret of a stored one.
func (s *sealer) open(id, stored string) (string, error) {
	enc, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	if s == nil {
		return "", fmt.Errorf("%w %s: no key configured", ErrSealed, id)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", fmt.Errorf("%w %s: malformed", ErrSealed, id)
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(id))
	if err != nil {
		return "", fmt.Errorf("%w %s: wrong key", ErrSealed, id)
	}
	return string(plain), nil
}
