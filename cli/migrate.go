package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aragora/aragora/service"
	"github.com/aragora/aragora/store/pgstore"
	"github.com/aragora/aragora/store/sqlitestore"
)

// newMigrateCmd is `aragora migrate [--dry-run]` (docs/cli.md): it applies
// the pending store migrations (under an advisory lock on Postgres) and
// prints one line per migration; --dry-run only lists them. A schema this
// binary cannot run on exits 2 naming the oldest binary that can.
func newMigrateCmd(getenv env) *cobra.Command {
	var dryRun bool
	var dataDir, dbURL string
	cmd := noArgsCmd("migrate", "Apply pending store migrations", func(cmd *cobra.Command) error {
		c, err := serviceConfig(cmd.Context(), getenv)
		if err != nil {
			return usageErr(err)
		}
		if f := cmd.Flags(); f.Changed("data-dir") {
			c.DataDir = dataDir
		}
		if cmd.Flags().Changed("database-url") {
			c.DatabaseURL = dbURL
		}
		c.SkipMigrations = true // open without migrating, then decide
		be, err := service.OpenBackends(cmd.Context(), c)
		if err != nil {
			return serviceErr(err)
		}
		defer be.Close()
		if !be.HasMigrations() {
			fmt.Fprintf(cmd.OutOrStdout(), "store %s has no migrations\n", be.Kind)
			return nil
		}
		ctx := cmd.Context()
		ms, err := be.PendingMigrations(ctx)
		if err == nil && !dryRun {
			ms, err = be.Migrate(ctx)
		}
		if errors.Is(err, sqlitestore.ErrIncompatible) || errors.Is(err, pgstore.ErrIncompatible) {
			return usageErr(err)
		} else if err != nil {
			return &exitError{code: exitFailure, err: fmt.Errorf("migrate: %w", err)}
		}
		w := cmd.OutOrStdout()
		verb := "applied"
		if dryRun {
			verb = "pending"
		}
		if len(ms) == 0 {
			fmt.Fprintf(w, "%s: schema is up to date\n", be.Kind)
			return nil
		}
		for _, m := range ms {
			fmt.Fprintf(w, "%s %s\n", verb, formatMigration(m))
		}
		return nil
	})
	fl := cmd.Flags()
	fl.BoolVar(&dryRun, "dry-run", false, "list pending migrations without applying them")
	fl.StringVar(&dataDir, "data-dir", "./data", "data directory (ARAGORA_DATA_DIR)")
	fl.StringVar(&dbURL, "database-url", "", "store URL (ARAGORA_DATABASE_URL)")
	return cmd
}

// formatMigration is one line of `aragora migrate`.
func formatMigration(m service.Migration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %04d %s", m.Database, m.Version, m.Name)
	if m.Additive {
		b.WriteString(" (additive")
	} else {
		b.WriteString(" (contract")
	}
	if m.MinBinary != "" {
		fmt.Fprintf(&b, ", min binary %s", m.MinBinary)
	}
	b.WriteString(")")
	return b.String()
}
