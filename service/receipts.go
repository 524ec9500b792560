package service

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aragora/aragora/receipt"
)

// ParseReceiptKeys builds the receipt signer of ARAGORA_RECEIPT_SIGNING_KEY
// (HMAC-SHA256, base64, at least 32 bytes once decoded) or
// ARAGORA_RECEIPT_ED25519_KEY (a base64 32-byte seed); nil when both are
// empty. Setting both is an error. Errors name the variable.
func ParseReceiptKeys(hmacKey, ed25519Seed string) (receipt.Signer, error) {
	hmacKey, ed25519Seed = strings.TrimSpace(hmacKey), strings.TrimSpace(ed25519Seed)
	switch {
	case hmacKey != "" && ed25519Seed != "":
		return nil, errors.New("config: ARAGORA_RECEIPT_SIGNING_KEY and ARAGORA_RECEIPT_ED25519_KEY are both set: set only one")
	case hmacKey != "":
		key, err := decodeKeyBase64(hmacKey)
		if err != nil {
			return nil, fmt.Errorf("config: ARAGORA_RECEIPT_SIGNING_KEY: want base64: %w", err)
		}
		s, err := receipt.NewHMACSigner(key)
		if err != nil {
			return nil, fmt.Errorf("config: ARAGORA_RECEIPT_SIGNING_KEY: want at least %d bytes once decoded: %w", receipt.MinHMACKeySize, err)
		}
		return s, nil
	case ed25519Seed != "":
		seed, err := decodeKeyBase64(ed25519Seed)
		if err != nil {
			return nil, fmt.Errorf("config: ARAGORA_RECEIPT_ED25519_KEY: want base64: %w", err)
		}
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("config: ARAGORA_RECEIPT_ED25519_KEY: want a %d-byte seed, got %d bytes", ed25519.SeedSize, len(seed))
		}
		return receipt.NewEd25519Signer(ed25519.NewKeyFromSeed(seed)), nil
	}
	return nil, nil
}

// decodeKeyBase64 accepts standard and URL-safe base64, padded or not.
func decodeKeyBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}
