package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/aragora/aragora/store/sqlitestore"
)

// newBackupCmd is `aragora backup`: a consistent online copy of the SQLite
// databases (aragora.db, agent_elo.db, continuum.db), safe while `aragora
// serve` runs. SQLite in WAL mode keeps recent commits in the -wal file, so
// a plain cp of the .db file alone may miss them; VACUUM INTO reads through
// SQLite and writes a self-contained copy.
func newBackupCmd(getenv env) *cobra.Command {
	var out string
	cmd := noArgsCmd("backup --out DIR", "Copy the SQLite databases consistently, safe while the server runs", func(cmd *cobra.Command) error {
		if out == "" {
			return usageErr(errors.New("backup: --out DIR is required"))
		}
		_, b, err := openBackends(cmd.Context(), getenv)
		if err != nil {
			return err
		}
		defer b.Close()
		st, ok := b.Store.(*sqlitestore.Store)
		if !ok {
			return usageErr(fmt.Errorf("backup: the store is %s: back up Postgres with pg_dump (see the README)", b.Kind))
		}
		files, err := backupSQLite(cmd.Context(), st, out, time.Now().UTC())
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		for _, f := range files {
			fmt.Fprintln(cmd.OutOrStdout(), f)
		}
		return nil
	})
	cmd.Flags().StringVar(&out, "out", "", "directory to write the copies to (created if missing)")
	return cmd
}

// backupSQLite writes aragora_<stamp>.db, agent_elo_<stamp>.db and
// continuum_<stamp>.db into dir and returns their paths.
func backupSQLite(ctx context.Context, st *sqlitestore.Store, dir string, now time.Time) ([]string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	stamp := now.Format("20060102_150405")
	name := func(base string) string { return filepath.Join(dir, base+"_"+stamp+".db") }
	files := []string{name("aragora"), name("agent_elo")}
	if err := st.Backup(ctx, files[0]); err != nil {
		return nil, err
	}
	if err := st.BackupRatings(ctx, files[1]); err != nil {
		return nil, err
	}
	dst := name("continuum")
	if err := st.BackupContinuum(ctx, dst); err != nil {
		return nil, err
	}
	return append(files, dst), nil
}
