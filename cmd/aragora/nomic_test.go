package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/nomic"
	_ "modernc.org/sqlite"
)

func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	c := exec.Command("git", args...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// sampleRepo copies examples/nomic/sample into a new git repository and
// writes its constitution and key pair with `aragora constitution init
// --keygen`; it returns the repository and the public key.
func sampleRepo(t *testing.T) (dir, pub, keyDir string) {
	t.Helper()
	dir, keyDir = t.TempDir(), t.TempDir()
	src := filepath.Join("..", "..", "examples", "nomic", "sample")
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644))
	}
	gitCmd(t, dir, "init", "-q", "-b", "main")
	gitCmd(t, dir, "config", "user.email", "t@example.com")
	gitCmd(t, dir, "config", "user.name", "t")
	res := runCLI(t, context.Background(), nil, "constitution", "init", "--path", dir, "--keygen", keyDir)
	require.Equal(t, 0, res.code, res.stderr)
	gitCmd(t, dir, "add", "-A")
	gitCmd(t, dir, "commit", "-q", "-m", "initial")
	b, err := os.ReadFile(filepath.Join(keyDir, "constitution.pub"))
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(keyDir, "constitution.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	return dir, strings.TrimSpace(string(b)), keyDir
}

// TestNomicOfflineDemoCycle is the README's offline demo: one cycle of the
// demo agents on a copy of examples/nomic/sample, committed with --auto and
// NOMIC_AUTO_COMMIT=1, then listed, rolled back and read from outcomes.db.
func TestNomicOfflineDemoCycle(t *testing.T) {
	dir, pub, _ := sampleRepo(t)
	base := gitCmd(t, dir, "rev-parse", "HEAD")
	vars := map[string]string{envConstitutionPubKey: pub, envNomicAutoCommit: "1", "ARAGORA_DATA_DIR": t.TempDir()}

	pre := runCLI(t, context.Background(), vars, "nomic", "preflight", "--path", dir)
	require.Equal(t, 0, pre.code, pre.stdout+pre.stderr)
	for _, check := range []string{"[WARN] Primary API Key", "[PASS] Disk Space", "[PASS] Protected Files", "[PASS] Git Repository",
		"[PASS] Backup Directory", "[PASS] Constitution Signature", "[PASS] Lock"} {
		assert.Contains(t, pre.stdout, check)
	}

	res := runCLI(t, context.Background(), vars, "nomic", "run", "--cycles", "1", "--path", dir, "--auto")
	require.Equal(t, 0, res.code, res.stdout+res.stderr)
	assert.Contains(t, res.stdout, "demo mode")
	for _, phase := range nomic.CyclePhases {
		assert.Contains(t, res.stdout, "phase "+phase)
	}
	assert.Equal(t, base, gitCmd(t, dir, "rev-parse", "HEAD~1"), "exactly one commit")
	assert.Equal(t, "", gitCmd(t, dir, "status", "--porcelain"))
	changes, err := os.ReadFile(filepath.Join(dir, "CHANGES.md"))
	require.NoError(t, err)
	assert.Contains(t, string(changes), "Cycle 1 (c_")

	db, err := sql.Open("sqlite", filepath.Join(dir, nomic.OutcomesDBPath))
	require.NoError(t, err)
	defer db.Close()
	var outcome string
	var committed bool
	require.NoError(t, db.QueryRow(`SELECT outcome, committed FROM outcomes`).Scan(&outcome, &committed))
	assert.Equal(t, "success", outcome)
	assert.True(t, committed)

	list := runCLI(t, context.Background(), vars, "nomic", "list-backups", "--path", dir)
	require.Equal(t, 0, list.code)
	assert.Contains(t, list.stdout, "cycle 1")
	assert.Contains(t, list.stdout, "1 files")
	rb := runCLI(t, context.Background(), vars, "nomic", "rollback", "--path", dir, "--backup", ".nomic/backups/cycle_1/")
	require.Equal(t, 0, rb.code, rb.stderr)
	assert.Contains(t, rb.stdout, "restored CHANGES.md")
	_, err = os.Stat(filepath.Join(dir, "CHANGES.md"))
	assert.True(t, os.IsNotExist(err), "CHANGES.md did not exist before the cycle")

	st := runCLI(t, context.Background(), vars, "nomic", "status", "--path", dir)
	require.Equal(t, 0, st.code, st.stderr)
	assert.Contains(t, st.stdout, `"state": "stopped"`)
	assert.Contains(t, st.stdout, "lock: none")
}

func TestNomicRunRefusals(t *testing.T) {
	dir, pub, keyDir := sampleRepo(t)
	key, err := os.ReadFile(filepath.Join(keyDir, "constitution.key"))
	require.NoError(t, err)
	base := gitCmd(t, dir, "rev-parse", "HEAD")
	for _, tc := range []struct {
		name string
		vars map[string]string
		code int
		want string
	}{
		{"private key in the environment", map[string]string{envConstitutionKey: string(key), envConstitutionPubKey: pub}, exitUsage, "ARAGORA_CONSTITUTION_KEY is set"},
		{"no public key", map[string]string{}, exitUsage, "no constitution public key"},
		{"another key", map[string]string{envConstitutionPubKey: otherKey(t)}, exitFailure, "signature is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.vars["ARAGORA_DATA_DIR"] = t.TempDir()
			res := runCLI(t, context.Background(), tc.vars, "nomic", "run", "--cycles", "1", "--path", dir, "--auto")
			assert.Equal(t, tc.code, res.code, res.stdout+res.stderr)
			assert.Contains(t, res.stderr, tc.want)
			assert.Equal(t, base, gitCmd(t, dir, "rev-parse", "HEAD"))
		})
	}
}

func otherKey(t *testing.T) string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(pub)
}

func TestConstitutionSignVerify(t *testing.T) {
	dir, pub, keyDir := sampleRepo(t)
	file := filepath.Join(dir, nomic.ConstitutionPath)
	ok := runCLI(t, context.Background(), map[string]string{envConstitutionPubKey: pub}, "constitution", "verify", "--file", file)
	assert.Equal(t, 0, ok.code, ok.stdout+ok.stderr)
	withKey := runCLI(t, context.Background(), nil, "constitution", "verify", "--file", file, "--key", filepath.Join(keyDir, "constitution.pub"))
	assert.Equal(t, 0, withKey.code, withKey.stdout)
	none := runCLI(t, context.Background(), nil, "constitution", "verify", "--file", file)
	assert.Equal(t, exitFailure, none.code, "no public key never passes")
	assert.Contains(t, none.stdout, "no constitution public key")

	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(b), "500", "501", 1)), 0o644))
	bad := runCLI(t, context.Background(), map[string]string{envConstitutionPubKey: pub}, "constitution", "verify", "--file", file)
	assert.Equal(t, exitFailure, bad.code)
	assert.Contains(t, bad.stdout, "INVALID")

	noKey := runCLI(t, context.Background(), nil, "constitution", "sign", "--file", file)
	assert.Equal(t, exitUsage, noKey.code)
	signed := runCLI(t, context.Background(), nil, "constitution", "sign", "--file", file, "--key", filepath.Join(keyDir, "constitution.key"))
	require.Equal(t, 0, signed.code, signed.stderr)
	again := runCLI(t, context.Background(), map[string]string{envConstitutionPubKey: pub}, "constitution", "verify", "--file", file)
	assert.Equal(t, 0, again.code, "re-signed after review")
}
