package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// canonicalJSON is an independent rendering of the canonical form of
// docs/receipts.md (what `jq -cSj` writes): compact, keys sorted, numbers
// as they were written, no HTML escaping. It does not use the receipt
// package, so it checks it.
func canonicalJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// decodeReceipt decodes a receipt keeping its numbers' text.
func decodeReceipt(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m), "%s", raw)
	return m
}

// checkReceipt verifies a receipt without the receipt package: its content
// hash, and its signature with verify (given the signed bytes and the
// decoded value) under the algorithm alg.
func checkReceipt(t *testing.T, raw []byte, alg string, verify func(signed, sig []byte) bool) {
	t.Helper()
	m := decodeReceipt(t, raw)
	sigObj, ok := m["signature"].(map[string]any)
	require.True(t, ok, "the receipt is signed: %s", raw)
	assert.Equal(t, alg, sigObj["algorithm"])

	unsealed := decodeReceipt(t, raw)
	delete(unsealed, "content_hash")
	delete(unsealed, "signature")
	sum := sha256.Sum256(canonicalJSON(t, unsealed))
	assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), m["content_hash"], "content hash")

	value, _ := sigObj["value"].(string)
	sig, err := base64.RawURLEncoding.DecodeString(value)
	require.NoError(t, err, "signature value %q: base64url without padding", value)
	m["signature"] = map[string]any{"algorithm": sigObj["algorithm"], "key_id": sigObj["key_id"]}
	assert.True(t, verify(canonicalJSON(t, m), sig), "the %s signature verifies", alg)
}

// cliDebate runs `aragora debate` (the binary) on dataDir with env and
// returns the debate id it recorded.
func cliDebate(t *testing.T, dataDir string, env map[string]string, question string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, aragoraBinary(t), "debate", question, "--rounds", "1", "--format", "json")
	cmd.Env = []string{"ARAGORA_DATA_DIR=" + dataDir, "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "aragora debate: %s", stderr.String())
	var out struct {
		Debate struct {
			ID string `json:"id"`
		} `json:"debate"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "%s", stdout.String())
	require.NotEmpty(t, out.Debate.ID)
	return out.Debate.ID
}

// receiptFormats fetches the JSON, Markdown and HTML receipts of id.
func (p *serverProc) receiptFormats(t *testing.T, id string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{"json", "markdown", "html"} {
		code, body := p.get(t, "/api/debates/"+id+"/receipt?format="+f)
		require.Equal(t, http.StatusOK, code, "%s receipt of %s: %s", f, id, body)
		out[f] = body
	}
	var rc struct {
		ReceiptID string `json:"receipt_id"`
		DebateID  string `json:"debate_id"`
	}
	require.NoError(t, json.Unmarshal(out["json"], &rc))
	assert.Equal(t, id, rc.DebateID)
	assert.True(t, strings.HasPrefix(string(out["markdown"]), "# Decision Receipt "+rc.ReceiptID), "%.80s", out["markdown"])
	assert.Contains(t, string(out["html"]), "<html")
	assert.Contains(t, string(out["html"]), rc.ReceiptID)
	return out
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serverProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	p.waitExit(t)
}

// waitExit waits for the process to exit cleanly.
func (p *serverProc) waitExit(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(e2eDeadline):
		t.Fatal("server did not exit after SIGTERM")
	}
	require.NoError(t, p.exitErr, "exit status; output:\n%s", p.out.String())
}

// TestE2EReceiptsSignedAndRendered runs, with an HMAC key and with an
// Ed25519 key, one debate with `aragora debate` and one through
// `aragora serve` on the same data directory. The API's receipts verify
// with an independent check (HMAC recomputed; Ed25519 with the key of
// GET /api/receipts/public-key), and JSON, Markdown and HTML are served
// for both debates, identical after a restart.
func TestE2EReceiptsSignedAndRendered(t *testing.T) {
	t.Parallel()
	hmacKey := bytes.Repeat([]byte{0x5a, 0x17, 0xc3}, 12)
	seed := bytes.Repeat([]byte{0x42, 0x07}, ed25519.SeedSize/2)
	cases := []struct {
		name, envVar, alg string
		key               []byte
	}{
		{"hmac", "ARAGORA_RECEIPT_SIGNING_KEY", "HMAC-SHA256", hmacKey},
		{"ed25519", "ARAGORA_RECEIPT_ED25519_KEY", "Ed25519", seed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := map[string]string{tc.envVar: base64.StdEncoding.EncodeToString(tc.key)}
			cliID := cliDebate(t, dir, env, "Adopt Postgres for billing?")

			p := startServer(t, dir, env, nil)
			srvID := p.createDebate(t, `{"topic":"Adopt Postgres for search?","rounds":1,"seed":4}`)
			p.waitDebate(t, srvID, "finished", finished)

			var verify func(signed, sig []byte) bool
			code, body := p.get(t, "/api/receipts/public-key")
			if tc.alg == "Ed25519" {
				require.Equal(t, http.StatusOK, code, "%s", body)
				var key struct {
					Algorithm string `json:"algorithm"`
					KeyID     string `json:"key_id"`
					PublicKey string `json:"public_key"`
				}
				require.NoError(t, json.Unmarshal(body, &key))
				assert.Equal(t, "Ed25519", key.Algorithm)
				pub, err := base64.StdEncoding.DecodeString(key.PublicKey)
				require.NoError(t, err)
				require.Len(t, pub, ed25519.PublicKeySize)
				verify = func(signed, sig []byte) bool { return ed25519.Verify(pub, signed, sig) }
			} else {
				require.Equal(t, http.StatusNotFound, code, "%s", body)
				assert.Contains(t, string(body), `"not_configured"`)
				verify = func(signed, sig []byte) bool {
					m := hmac.New(sha256.New, tc.key)
					m.Write(signed)
					return hmac.Equal(m.Sum(nil), sig)
				}
			}

			before := map[string]map[string][]byte{}
			for _, id := range []string{cliID, srvID} {
				before[id] = p.receiptFormats(t, id)
				checkReceipt(t, before[id]["json"], tc.alg, verify)
			}

			p.stop(t)
			p2 := startServer(t, dir, env, nil)
			for _, id := range []string{cliID, srvID} {
				after := p2.receiptFormats(t, id)
				for f, b := range before[id] {
					assert.Equal(t, string(b), string(after[f]), "%s receipt of %s after the restart", f, id)
				}
			}
		})
	}
}

// TestDebateHelpResume checks that `aragora debate --help` describes
// --resume as the working option it is.
func TestDebateHelpResume(t *testing.T) {
	res := runCLI(t, context.Background(), nil, "debate", "--help")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "--resume string")
	assert.Contains(t, res.stdout, "aragora debate --resume deb_")
	assert.NotContains(t, res.stdout, "not supported")
}
