package validate

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func script(t *testing.T, name string) string {
	return filepath.Join(repoRoot(t), "scripts", name)
}

func TestShellcheck(t *testing.T) {
	sc := requireTool(t, "shellcheck", "apt-get install shellcheck")
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "scripts", "*.sh"))
	files = append(files, filepath.Join(repoRoot(t), "deploy", "validate", "check.sh"))
	mustRun(t, "", nil, sc, files...)
}

// backup.sh on SQLite: aragora backup copies the three databases, the
// copies hold the stored debate, and the retention deletes old copies only.
func TestBackupScriptSQLite(t *testing.T) {
	sqlite3 := requireTool(t, "sqlite3", "apt-get install sqlite3")
	bin := aragoraBinary(t)
	data, out := t.TempDir(), t.TempDir()
	env := []string{"ARAGORA_DATA_DIR=" + data, "ARAGORA_DATABASE_URL=", "ARAGORA_BIN=" + bin, "BACKUP_DIR=" + out,
		"ENV_FILE=/nonexistent", "ARAGORA_ENV=development"}
	mustRun(t, "", env, bin, "debate", "Backups are tested", "--seed", "1", "--format", "json")
	old := filepath.Join(out, "aragora_20000101_000000.db")
	if err := os.WriteFile(old, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	past := time.Now().AddDate(0, 0, -40)
	_ = os.Chtimes(old, past, past)
	unrelated := filepath.Join(out, "notes.txt")
	_ = os.WriteFile(unrelated, []byte("keep"), 0o640)
	_ = os.Chtimes(unrelated, past, past)

	log := mustRun(t, "", env, script(t, "backup.sh"))
	t.Log(log)
	dbs, _ := filepath.Glob(filepath.Join(out, "aragora_*.db"))
	elo, _ := filepath.Glob(filepath.Join(out, "agent_elo_*.db"))
	if len(dbs) != 1 || len(elo) != 1 {
		t.Fatalf("want one aragora_*.db and one agent_elo_*.db, got %v %v", dbs, elo)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("a backup older than RETENTION_DAYS was kept")
	}
	if _, err := os.Stat(unrelated); err != nil {
		t.Error("retention deleted a file that is not a backup")
	}
	if got := strings.TrimSpace(mustRun(t, "", nil, sqlite3, dbs[0], "PRAGMA integrity_check")); got != "ok" {
		t.Errorf("integrity_check: %s", got)
	}
	if got := strings.TrimSpace(mustRun(t, "", nil, sqlite3, dbs[0], "SELECT count(*) FROM debates")); got != "1" {
		t.Errorf("the backup holds %s debates, want 1", got)
	}
}

// backup.sh on Postgres: pg_dump -Fc of the database, read back by pg_restore.
func TestBackupScriptPostgres(t *testing.T) {
	requireTool(t, "pg_dump", "apt-get install postgresql-client")
	pgRestore := requireTool(t, "pg_restore", "apt-get install postgresql-client")
	psql := requireTool(t, "psql", "apt-get install postgresql-client")
	pgURL := requirePostgres(t)
	bin := aragoraBinary(t)
	schema := fmt.Sprintf("deploy_backup_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	t.Cleanup(func() { _, _ = run(t, "", nil, psql, pgURL, "-qc", "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	out := t.TempDir()
	env := []string{"ARAGORA_DATABASE_URL=" + pgURL, "ARAGORA_DB_SCHEMA=" + schema, "BACKUP_DIR=" + out, "ENV_FILE=/nonexistent",
		"ARAGORA_BIN=" + bin, "ARAGORA_DATA_DIR=" + t.TempDir()}
	mustRun(t, "", env, bin, "migrate")
	t.Log(mustRun(t, "", env, script(t, "backup.sh")))
	dumps, _ := filepath.Glob(filepath.Join(out, "aragora_*.dump"))
	if len(dumps) != 1 {
		t.Fatalf("want one dump, got %v", dumps)
	}
	list := mustRun(t, "", nil, pgRestore, "--list", dumps[0])
	if !strings.Contains(list, "TABLE "+schema+" debates") {
		t.Errorf("the dump lacks %s.debates:\n%s", schema, list)
	}
	// A bad URL fails with exit 1 and leaves no partial file.
	bad := append(env, "ARAGORA_DATABASE_URL=postgres://postgres@127.0.0.1:1/none?sslmode=disable")
	if _, err := run(t, "", bad, script(t, "backup.sh")); exitCode(err) != 1 {
		t.Errorf("backup.sh with an unreachable database: %v, want exit 1", err)
	}
	if partial, _ := filepath.Glob(filepath.Join(out, "*.partial")); len(partial) != 0 {
		t.Errorf("partial files left: %v", partial)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// emergency_recovery.sh with a recording systemctl: it stops the unit,
// kills only the matching leftover process, flushes the aragora Redis
// database, writes the safe-defaults drop-in, starts the unit and waits
// for readiness.
func TestEmergencyRecoveryScript(t *testing.T) {
	redisBin := requireTool(t, "redis-server", "apt-get install redis-server")
	requireTool(t, "redis-cli", "apt-get install redis-tools")
	requireTool(t, "pg_isready", "apt-get install postgresql-client")
	dir := t.TempDir()
	port := freePort(t)
	start(t, "redis-server", nil, redisBin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	redisURL := fmt.Sprintf("redis://127.0.0.1:%d/3", port)
	eventually(t, "redis answers", 30*time.Second, func() (bool, string) {
		out, err := run(t, "", nil, "redis-cli", "-u", redisURL, "SET", "aragora:cache", "x")
		return err == nil && strings.TrimSpace(out) == "OK", out
	})
	mustRun(t, "", nil, "redis-cli", "-p", fmt.Sprint(port), "-n", "4", "SET", "other-app", "y")

	// A leftover process whose command line matches the pattern.
	marker := fmt.Sprintf("aragora-e2e-%d serve", os.Getpid())
	stray := start(t, "stray", nil, "bash", "-c", fmt.Sprintf("exec -a %q sleep 300", marker))

	// A recording systemctl and a ready server.
	bindir := filepath.Join(dir, "bin")
	_ = os.MkdirAll(bindir, 0o755)
	calls := filepath.Join(dir, "systemctl.calls")
	if err := os.WriteFile(filepath.Join(bindir, "systemctl"), []byte("#!/bin/sh\necho \"$*\" >>"+calls+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health/ready" {
			_, _ = w.Write([]byte(`{"status":"ready"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"healthy"}`))
	}))
	defer srv.Close()
	envFile := filepath.Join(dir, "aragora.env")
	_ = os.WriteFile(envFile, []byte("ARAGORA_REDIS_URL="+redisURL+"\nARAGORA_DATABASE_URL="+os.Getenv("ARAGORA_TEST_POSTGRES_URL")+"\n"), 0o640)
	env := []string{"PATH=" + bindir + ":" + os.Getenv("PATH"), "ENV_FILE=" + envFile, "ARAGORA_URL=" + srv.URL,
		"DROPIN_DIR=" + filepath.Join(dir, "dropin"), "EMERGENCY_ENV=" + filepath.Join(dir, "emergency.env"), "SERVE_PATTERN=" + marker}

	dry := mustRun(t, "", env, script(t, "emergency_recovery.sh"), "--dry-run")
	if _, err := os.Stat(calls); err == nil {
		t.Errorf("--dry-run ran systemctl:\n%s", dry)
	}
	out := mustRun(t, "", env, script(t, "emergency_recovery.sh"))
	t.Log(out)
	select {
	case <-stray.done:
	case <-time.After(10 * time.Second):
		t.Error("the leftover process was not killed")
	}
	got, _ := os.ReadFile(calls)
	if want := "stop aragora\ndaemon-reload\nstart aragora\n"; string(got) != want {
		t.Errorf("systemctl calls %q, want %q", got, want)
	}
	if v := mustRun(t, "", nil, "redis-cli", "-u", redisURL, "EXISTS", "aragora:cache"); strings.TrimSpace(v) != "0" {
		t.Error("the aragora Redis database was not flushed")
	}
	if v := mustRun(t, "", nil, "redis-cli", "-p", fmt.Sprint(port), "-n", "4", "EXISTS", "other-app"); strings.TrimSpace(v) != "1" {
		t.Error("another Redis database was flushed")
	}
	dropin, _ := os.ReadFile(filepath.Join(dir, "dropin", "emergency.conf"))
	safe, _ := os.ReadFile(filepath.Join(dir, "emergency.env"))
	if !strings.Contains(string(dropin), "EnvironmentFile="+filepath.Join(dir, "emergency.env")) ||
		string(safe) != "ARAGORA_MAX_CONCURRENT_DEBATES=3\nARAGORA_RATE_LIMIT_DISABLED=1\n" {
		t.Errorf("drop-in %q, env %q", dropin, safe)
	}
	if !strings.Contains(out, "recovered") {
		t.Error("no recovery confirmation")
	}
}
