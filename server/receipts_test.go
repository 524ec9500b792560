package server_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/server"
)

// testEd25519Signer is a receipt signer with a fixed Ed25519 key.
func testEd25519Signer() *receipt.Ed25519Signer {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(3*i + 1)
	}
	return receipt.NewEd25519Signer(ed25519.NewKeyFromSeed(seed))
}

// finishedDemoDebate creates a short demo debate on h and waits for its end.
func finishedDemoDebate(t *testing.T, h http.Handler) string {
	t.Helper()
	id := createDebate(t, h, `{"topic":"Adopt Postgres?","agents":["demo-a","demo-b"],"rounds":1}`, auth)
	waitFinished(t, h, id)
	return id
}

// TestReceiptPublicKey checks GET /api/receipts/public-key: with an
// Ed25519 key it is public and returns the key that verifies the API's
// receipts; with an HMAC key or none it is 404 not_configured.
func TestReceiptPublicKey(t *testing.T) {
	signer := testEd25519Signer()
	s, _ := newServer(t, func(c *server.Config) { c.Lifecycle.ReceiptSigner = signer })
	w := do(t, s, "GET", "/api/receipts/public-key", "", nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var key struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"key_id"`
		PublicKey string `json:"public_key"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &key))
	assert.Equal(t, receipt.AlgEd25519, key.Algorithm)
	pub, err := base64.StdEncoding.DecodeString(key.PublicKey)
	require.NoError(t, err)
	assert.Equal(t, []byte(signer.PublicKey()), pub)
	assert.Equal(t, receipt.Ed25519KeyID(pub), key.KeyID)

	id := finishedDemoDebate(t, s)
	rj := do(t, s, "GET", "/api/debates/"+id+"/receipt", "", auth)
	require.Equal(t, http.StatusOK, rj.Code, rj.Body.String())
	rc, err := receipt.Parse(rj.Body.Bytes())
	require.NoError(t, err)
	require.NotNil(t, rc.Signature)
	assert.Equal(t, key.KeyID, rc.Signature.KeyID)
	assert.True(t, receipt.Verify(rc, ed25519.PublicKey(pub)), "the published key verifies the receipt")

	hmacSigner, err := receipt.NewHMACSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	for name, signer := range map[string]receipt.Signer{"hmac": hmacSigner, "none": nil} {
		s, _ := newServer(t, func(c *server.Config) { c.Lifecycle.ReceiptSigner = signer })
		w := do(t, s, "GET", "/api/receipts/public-key", "", nil)
		assert.Equal(t, http.StatusNotFound, w.Code, name)
		assert.Equal(t, "not_configured", errCode(t, w), name)
		assert.NotContains(t, w.Body.String(), base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))), name)
	}
}

// TestReceiptExportsFromStore checks that the Markdown and HTML receipts
// are rendered from the stored receipt: after the process dropped what it
// rendered at the finish (cleanup-caches), and on another server over the
// same store, the bytes are those served before.
func TestReceiptExportsFromStore(t *testing.T) {
	s, st := newServer(t, nil)
	id := finishedDemoDebate(t, s)
	get := func(h http.Handler, format string) string {
		t.Helper()
		w := do(t, h, "GET", "/api/debates/"+id+"/receipt?format="+format, "", auth)
		require.Equal(t, http.StatusOK, w.Code, "%s: %s", format, w.Body.String())
		return w.Body.String()
	}
	md, html := get(s, "markdown"), get(s, "html")
	rj := do(t, s, "GET", "/api/debates/"+id+"/receipt", "", auth)
	var rc struct {
		ReceiptID string `json:"receipt_id"`
	}
	require.NoError(t, json.Unmarshal(rj.Body.Bytes(), &rc))
	assert.True(t, strings.HasPrefix(md, "# Decision Receipt "+rc.ReceiptID), "%.80s", md)
	assert.Contains(t, html, rc.ReceiptID)

	c := do(t, s, "POST", "/api/admin/cleanup-caches", "", auth)
	require.Equal(t, http.StatusOK, c.Code, c.Body.String())
	assert.Equal(t, md, get(s, "markdown"), "re-rendered from the store")
	assert.Equal(t, html, get(s, "html"), "re-rendered from the store")

	other := newServerOn(t, st, nil) // another replica, or the next process
	assert.Equal(t, md, get(other, "markdown"))
	assert.Equal(t, html, get(other, "html"))
}

// TestCreateReportsStartedAt checks that the 202 of POST /api/debates is
// the debate as GET shows it: running with its started_at when a worker
// took it, or pending without one when it is queued.
func TestCreateReportsStartedAt(t *testing.T) {
	s, _ := newServer(t, func(c *server.Config) { c.Lifecycle.MaxConcurrent = 1 })
	type obj struct {
		ID        string  `json:"id"`
		Status    string  `json:"status"`
		StartedAt *string `json:"started_at"`
	}
	create := func() obj {
		t.Helper()
		w := do(t, s, "POST", "/api/debates", `{"topic":"Adopt Postgres?","agents":["demo-a","demo-b"],"rounds":2}`, auth)
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		var o obj
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &o))
		return o
	}
	first := create()
	require.Equal(t, "running", first.Status, "a worker slot was free")
	require.NotNil(t, first.StartedAt, "a running debate has started")
	second := create()
	if second.Status == "pending" {
		assert.Nil(t, second.StartedAt, "a queued debate has not started")
	} else { // the first one already finished
		assert.NotNil(t, second.StartedAt)
	}
	for _, o := range []obj{first, second} {
		fin := waitFinished(t, s, o.ID)
		if o.StartedAt != nil {
			assert.Equal(t, *o.StartedAt, fin["started_at"], "started_at of %s is the one the 202 reported", o.ID)
		}
	}
}
