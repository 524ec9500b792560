package receipt_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/receipt"
)

var (
	hmacKey  = bytes.Repeat([]byte{0x42}, 32)
	hmacKey2 = bytes.Repeat([]byte{0x43}, 32)
)

func edKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func TestNewHMACSigner(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31} {
		_, err := receipt.NewHMACSigner(make([]byte, n))
		require.ErrorIs(t, err, receipt.ErrShortKey, "key of %d bytes", n)
	}
	s, err := receipt.NewHMACSigner(hmacKey)
	require.NoError(t, err)
	sum := sha256.Sum256(hmacKey)
	assert.Equal(t, "hmac-"+hex.EncodeToString(sum[:])[:16], s.KeyID())
	assert.Equal(t, receipt.HMACKeyID(hmacKey), s.KeyID())
	assert.Equal(t, receipt.AlgHMACSHA256, s.Algorithm())

	var zero receipt.HMACSigner
	_, err = zero.Sign([]byte("x"))
	assert.ErrorIs(t, err, receipt.ErrShortKey)
}

func TestNewEd25519Signer(t *testing.T) {
	t.Parallel()
	priv := edKey(1)
	s := receipt.NewEd25519Signer(priv)
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	assert.Equal(t, "ed25519-"+hex.EncodeToString(sum[:])[:16], s.KeyID())
	assert.Equal(t, pub, s.PublicKey())
	assert.Equal(t, receipt.AlgEd25519, s.Algorithm())

	bad := receipt.NewEd25519Signer(priv[:10])
	assert.Equal(t, "", bad.KeyID())
	assert.Nil(t, bad.PublicKey())
	_, err := bad.Sign([]byte("x"))
	assert.ErrorIs(t, err, receipt.ErrInvalidKey)
	require.ErrorIs(t, sample().Sign(bad), receipt.ErrInvalidKey)
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	hs, err := receipt.NewHMACSigner(hmacKey)
	require.NoError(t, err)
	tests := []struct {
		name     string
		signer   receipt.Signer
		key      any
		wrongKey any
		otherAlg any
	}{
		{"HMAC-SHA256", hs, hmacKey, hmacKey2, edKey(1).Public()},
		{"Ed25519", receipt.NewEd25519Signer(edKey(1)), edKey(1).Public(), edKey(2).Public(), hmacKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sample() // not sealed: Sign seals
			require.NoError(t, r.Sign(tt.signer))
			require.NotNil(t, r.Signature)
			assert.True(t, r.VerifyHash())
			assert.Equal(t, tt.name, r.Signature.Algorithm)
			assert.Equal(t, tt.signer.KeyID(), r.Signature.KeyID)
			assert.Regexp(t, regexp.MustCompile(`^[A-Za-z0-9_-]+$`), r.Signature.Value, "base64url without padding")

			assert.True(t, receipt.Verify(r, tt.key))
			assert.False(t, receipt.Verify(r, tt.wrongKey), "wrong key")
			assert.False(t, receipt.Verify(r, tt.otherAlg), "key of the other algorithm")
			assert.False(t, receipt.Verify(r, "not a key"), "unsupported key type")
			assert.False(t, receipt.Verify(r, nil))

			out, err := r.JSON()
			require.NoError(t, err)
			back, err := receipt.Parse(out)
			require.NoError(t, err)
			assert.True(t, receipt.Verify(back, tt.key), "export → parse → verify")
			assert.Equal(t, r.Signature, back.Signature)

			// Re-signing the same content gives the same signature (both
			// HMAC and Ed25519 are deterministic).
			again := sample()
			require.NoError(t, again.Sign(tt.signer))
			assert.Equal(t, r.Signature.Value, again.Signature.Value)
		})
	}
}

func TestVerifyFalse(t *testing.T) {
	t.Parallel()
	hs, err := receipt.NewHMACSigner(hmacKey)
	require.NoError(t, err)
	signed := func(t *testing.T) *receipt.Receipt {
		t.Helper()
		r := sample()
		require.NoError(t, r.Sign(hs))
		return r
	}
	tests := map[string]func(r *receipt.Receipt){
		"key id":              func(r *receipt.Receipt) { r.Signature.KeyID = "hmac-0000000000000000" },
		"algorithm":           func(r *receipt.Receipt) { r.Signature.Algorithm = receipt.AlgEd25519 },
		"value tampered":      func(r *receipt.Receipt) { r.Signature.Value = flipFirst(r.Signature.Value) },
		"value not base64url": func(r *receipt.Receipt) { r.Signature.Value = "!!!" },
		"value padded":        func(r *receipt.Receipt) { r.Signature.Value += "=" },
		"value empty":         func(r *receipt.Receipt) { r.Signature.Value = "" },
		"unsigned":            func(r *receipt.Receipt) { r.Signature = nil },
		"hash tampered":       func(r *receipt.Receipt) { r.ContentHash = "sha256:" + hex.EncodeToString(make([]byte, 32)) },
		"hash missing":        func(r *receipt.Receipt) { r.ContentHash = "" },
		"resealed after edit": func(r *receipt.Receipt) { r.Question = "other"; _ = r.Seal() },
	}
	for name, mutate := range mutations() {
		tests["field "+name] = mutate
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := signed(t)
			require.True(t, receipt.Verify(r, hmacKey))
			mutate(r)
			assert.False(t, receipt.Verify(r, hmacKey))
		})
	}
	assert.False(t, receipt.Verify(nil, hmacKey))
	short := signed(t)
	assert.False(t, receipt.Verify(short, hmacKey[:16]), "short HMAC key")
	ed := sample()
	require.NoError(t, ed.Sign(receipt.NewEd25519Signer(edKey(3))))
	assert.False(t, receipt.Verify(ed, ed25519.PublicKey(make([]byte, 5))), "malformed public key")
	assert.False(t, receipt.Verify(ed, []byte(edKey(3).Public().(ed25519.PublicKey))), "public key bytes as HMAC key")
}

// TestSignedBytes checks the documented signing input independently of the
// package: the canonical form with content_hash and a signature object of
// algorithm and key_id only.
func TestSignedBytes(t *testing.T) {
	t.Parallel()
	r := sample()
	require.NoError(t, r.Sign(receipt.NewEd25519Signer(edKey(4))))
	out, err := r.JSON()
	require.NoError(t, err)
	var generic map[string]any
	require.NoError(t, jsonUnmarshalNumber(out, &generic))
	sig := generic["signature"].(map[string]any)
	delete(sig, "value")
	msg, err := receipt.Canonical(generic)
	require.NoError(t, err)
	value, err := base64.RawURLEncoding.DecodeString(r.Signature.Value)
	require.NoError(t, err)
	assert.True(t, ed25519.Verify(edKey(4).Public().(ed25519.PublicKey), msg, value))

	delete(generic, "signature")
	delete(generic, "content_hash")
	c, err := receipt.Canonical(generic)
	require.NoError(t, err)
	sum := sha256.Sum256(c)
	assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), r.ContentHash)
}

type failingSigner struct{ alg string }

func (f failingSigner) Algorithm() string         { return f.alg }
func (failingSigner) KeyID() string               { return "k" }
func (failingSigner) Sign([]byte) ([]byte, error) { return nil, errBoom }

var errBoom = errors.New("boom")

func TestSignErrors(t *testing.T) {
	t.Parallel()
	r := sample()
	require.Error(t, r.Sign(nil))
	require.Error(t, r.Sign(failingSigner{alg: "RSA"}))
	require.ErrorIs(t, r.Sign(failingSigner{alg: receipt.AlgHMACSHA256}), errBoom)
	assert.Nil(t, r.Signature, "a failed Sign leaves no signature")

	bad := sample()
	bad.Confidence = nan()
	hs, err := receipt.NewHMACSigner(hmacKey)
	require.NoError(t, err)
	require.Error(t, bad.Sign(hs))
}

func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func jsonUnmarshalNumber(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}
