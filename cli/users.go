package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/service"
	"github.com/aragora/aragora/store"
)

// openAccounts opens the store and the auth core the way serve does (same
// ARAGORA_JWT_SECRET, or the development secret under ARAGORA_DATA_DIR),
// for the CLI verbs that write straight to the store.
func openAccounts(ctx context.Context, getenv env) (*auth.Service, *service.Backends, error) {
	c, err := serviceConfig(ctx, getenv)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, nil, usageErr(fmt.Errorf("config: ARAGORA_DATA_DIR=%q: %w", c.DataDir, err))
	}
	if _, err := service.EnsureJWTSecret(&c); err != nil {
		return nil, nil, serviceErr(err)
	}
	be, err := service.OpenBackends(ctx, c)
	if err != nil {
		return nil, nil, serviceErr(err)
	}
	svc, _, err := service.OpenAuth(ctx, c, be)
	if err != nil {
		be.Close()
		return nil, nil, &exitError{code: exitFailure, err: err}
	}
	return svc, be, nil
}

// storeFlags are serve's --data-dir and --database-url on the commands that
// write to the store directly (users, token): a flag given overrides its
// variable.
type storeFlags struct{ dataDir, dbURL string }

// register adds the flags to cmd and its subcommands.
func (f *storeFlags) register(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.dataDir, "data-dir", "", "data directory, as for serve (ARAGORA_DATA_DIR)")
	fl.StringVar(&f.dbURL, "database-url", "", "store URL, as for serve (ARAGORA_DATABASE_URL)")
}

// env returns getenv with the flags given on top.
func (f *storeFlags) env(getenv env) env {
	return func(k string) string {
		switch {
		case k == "ARAGORA_DATA_DIR" && f.dataDir != "":
			return f.dataDir
		case k == "ARAGORA_DATABASE_URL" && f.dbURL != "":
			return f.dbURL
		}
		return getenv(k)
	}
}

func newUsersCmd(getenv env) *cobra.Command {
	users := &cobra.Command{Use: "users", Short: "Manage user accounts in the store"}
	var sf storeFlags
	sf.register(users)
	var email, role, name string
	var fromStdin, generate bool
	create := noArgsCmd("create", "Create a user (the first one is usually the owner)", func(cmd *cobra.Command) error {
		if email == "" {
			return usageErr(errors.New("users create: --email is required"))
		}
		r, err := auth.ParseRole(role)
		if err != nil {
			return usageErr(fmt.Errorf("users create: --role %q: want owner, admin, member or viewer", role))
		}
		if fromStdin && generate {
			return usageErr(errors.New("users create: --password-stdin and --generate-password exclude each other"))
		}
		var password string
		switch {
		case generate:
			if password, err = generatePassword(24); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
		case fromStdin:
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return &exitError{code: exitFailure, err: fmt.Errorf("users create: read password: %w", err)}
			}
			password = strings.TrimRight(line, "\r\n")
		default:
			if password, err = promptPassword(cmd); err != nil {
				return err
			}
		}
		if err := auth.ValidatePassword(password); err != nil {
			return usageErr(fmt.Errorf("users create: password must be %d to %d characters", auth.MinPasswordLength, auth.MaxPasswordLength))
		}
		svc, be, err := openAccounts(cmd.Context(), sf.env(getenv))
		if err != nil {
			return err
		}
		defer be.Close()
		u, err := svc.CreateUser(cmd.Context(), auth.NewUser{Email: email, Password: password, Name: name, Role: r})
		if errors.Is(err, store.ErrConflict) {
			return &exitError{code: exitFailure, err: fmt.Errorf("users create: a user with email %s already exists", strings.ToLower(email))}
		} else if errors.Is(err, auth.ErrInvalidInput) {
			return usageErr(fmt.Errorf("users create: %w", err))
		} else if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		_ = svc.Audit(cmd.Context(), store.AuditEntry{Actor: store.AuditActor{ID: "system", Type: "system"},
			Action: "cli.users_create", Target: u.ID, Details: []byte(fmt.Sprintf(`{"role":%q}`, u.Role))})
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "created user %s (%s, %s)\n", u.ID, u.Email, u.Role)
		if generate {
			fmt.Fprintf(out, "password: %s\n", password)
		}
		return nil
	})
	f := create.Flags()
	f.StringVar(&email, "email", "", "email address (required)")
	f.StringVar(&role, "role", "owner", "owner, admin, member or viewer")
	f.StringVar(&name, "name", "", "display name")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	f.BoolVar(&generate, "generate-password", false, "generate a random password and print it")
	users.AddCommand(create)
	return users
}

// promptPassword asks twice on a terminal; without one it is a usage error.
func promptPassword(cmd *cobra.Command) (string, error) {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return "", usageErr(errors.New("users create: no terminal: use --password-stdin or --generate-password"))
	}
	errw := cmd.ErrOrStderr()
	fmt.Fprint(errw, "Password: ")
	a, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(errw)
	if err != nil {
		return "", &exitError{code: exitFailure, err: err}
	}
	fmt.Fprint(errw, "Repeat password: ")
	b, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(errw)
	if err != nil {
		return "", &exitError{code: exitFailure, err: err}
	}
	if string(a) != string(b) {
		return "", usageErr(errors.New("users create: the passwords differ"))
	}
	return string(a), nil
}

const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// generatePassword returns n random characters of passwordAlphabet.
func generatePassword(n int) (string, error) {
	var sb strings.Builder
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := 0; i < n; i++ {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("users create: generate password: %w", err)
		}
		sb.WriteByte(passwordAlphabet[k.Int64()])
	}
	return sb.String(), nil
}
