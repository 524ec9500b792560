package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/store"
)

func newTokenCmd(getenv env) *cobra.Command {
	tok := &cobra.Command{Use: "token", Short: "Mint credentials for operators"}
	var sf storeFlags
	sf.register(tok)
	var user, kind string
	var ttl time.Duration
	create := noArgsCmd("create", "Print an access token (or a new API key) for a user", func(cmd *cobra.Command) error {
		if user == "" {
			return usageErr(errors.New("token create: --user is required"))
		}
		if kind != "access" && kind != "api-key" {
			return usageErr(fmt.Errorf("token create: --kind %q: want access or api-key", kind))
		}
		if ttl <= 0 {
			return usageErr(errors.New("token create: --ttl must be positive"))
		}
		svc, be, err := openAccounts(cmd.Context(), sf.env(getenv))
		if err != nil {
			return err
		}
		defer be.Close()
		as := be.Store.(auth.Store)
		u, err := as.GetUserByEmail(cmd.Context(), strings.ToLower(strings.TrimSpace(user)))
		if errors.Is(err, store.ErrNotFound) {
			return &exitError{code: exitFailure, err: fmt.Errorf("token create: no user with email %s", user)}
		} else if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if u.Disabled {
			return &exitError{code: exitFailure, err: fmt.Errorf("token create: user %s is disabled", user)}
		}
		var out, target string
		if kind == "access" {
			t, c, err := svc.IssueAccessToken(cmd.Context(), u, ttl)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			out, target = t, c.TokenID
		} else {
			kttl := auth.DefaultAPIKeyTTL
			if cmd.Flags().Changed("ttl") {
				kttl = ttl
			}
			k, err := svc.CreateAPIKey(cmd.Context(), u.ID, "cli", kttl)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			out, target = k.Key, k.Record.ID
		}
		_ = svc.Audit(cmd.Context(), store.AuditEntry{Actor: store.AuditActor{ID: "system", Type: "system"},
			Action: "cli.token_create", Target: target, Details: []byte(fmt.Sprintf(`{"user_id":%q,"kind":%q}`, u.ID, kind))})
		fmt.Fprintln(cmd.OutOrStdout(), out)
		return nil
	})
	f := create.Flags()
	f.StringVar(&user, "user", "", "the user's email (required)")
	f.DurationVar(&ttl, "ttl", time.Hour, "lifetime of the token")
	f.StringVar(&kind, "kind", "access", "access or api-key")
	tok.AddCommand(create)
	return tok
}
