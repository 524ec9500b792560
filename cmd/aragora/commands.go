package main

import "github.com/spf13/cobra"

// extraCommands returns the subcommands beyond version and debate (serve,
// migrate, users, token, ...). Each lives in its own file.
func extraCommands(getenv env) []*cobra.Command {
	return []*cobra.Command{newServeCmd(getenv), newMigrateCmd(getenv), newBackupCmd(getenv), newRatingsCmd(getenv), newMemoryCmd(getenv), newUsersCmd(getenv), newTokenCmd(getenv),
		newNomicCmd(getenv), newConstitutionCmd(getenv)}
}
