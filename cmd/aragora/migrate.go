package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newMigrateCmd is `aragora migrate [--dry-run]` (docs/cli.md): it applies
// the pending store migrations (under an advisory lock on Postgres) and
// prints one line per migration; --dry-run only lists them. A schema this
// binary cannot run on exits 2 naming the oldest binary that can.
func newMigrateCmd(getenv env) *cobra.Command {
	var dryRun bool
	var dataDir, dbURL string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending store migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadServeConfig(getenv)
			if err != nil {
				return usageErr(err)
			}
			if f := cmd.Flags(); f.Changed("data-dir") {
				c.DataDir = dataDir
				if !c.DatabaseURLExplicit {
					c.DatabaseURL = sqliteURL(dataDir)
				}
			}
			if cmd.Flags().Changed("database-url") {
				c.DatabaseURL, c.DatabaseURLExplicit = dbURL, true
			}
			c.AutoMigrate = false // open without migrating, then decide
			be, err := openBackends(cmd.Context(), c)
			if err != nil {
				if errIncompatible(err) {
					return usageErr(err)
				}
				return &exitError{code: exitFailure, err: err}
			}
			defer be.Close()
			if be.migrator == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "store %s has no migrations\n", be.Kind)
				return nil
			}
			ctx := cmd.Context()
			ms, err := be.migrator.pending(ctx)
			if err == nil && !dryRun {
				ms, err = be.migrator.migrate(ctx)
			}
			if err != nil {
				if errIncompatible(err) {
					return usageErr(err)
				}
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
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&dryRun, "dry-run", false, "list pending migrations without applying them")
	fl.StringVar(&dataDir, "data-dir", "./data", "data directory (ARAGORA_DATA_DIR)")
	fl.StringVar(&dbURL, "database-url", "", "store URL (ARAGORA_DATABASE_URL)")
	return cmd
}
