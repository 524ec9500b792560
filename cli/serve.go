package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aragora/aragora/service"
)

// serveFlags are the flags of `aragora serve`; each beats its variable.
type serveFlags struct {
	apiPort, wsPort                                   int
	host, dataDir, dbURL, logFormat, logLevel, logDir string
}

func newServeCmd(getenv env) *cobra.Command {
	var f serveFlags
	cmd := noArgsCmd("serve", "Run the HTTP API and WebSocket server", func(cmd *cobra.Command) error {
		c, err := serviceConfig(cmd.Context(), getenv)
		if err != nil {
			return usageErr(err)
		}
		f.apply(cmd, &c)
		if err := c.Validate(); err != nil {
			return usageErr(err)
		}
		c.Signals, c.Stderr = true, cmd.ErrOrStderr()
		svc, err := service.Open(cmd.Context(), c)
		if err != nil {
			return serviceErr(err)
		}
		err = svc.Run(cmd.Context())
		if errors.Is(err, service.ErrForcedExit) {
			return &exitError{code: exitFailure}
		}
		return serviceErr(err)
	})
	fl := cmd.Flags()
	fl.IntVar(&f.apiPort, "api-port", 8080, "API listener port (ARAGORA_API_PORT)")
	fl.IntVar(&f.wsPort, "ws-port", 8766, "WebSocket listener port, 0 = off (ARAGORA_WS_PORT)")
	fl.StringVar(&f.host, "host", "0.0.0.0", "bind address (ARAGORA_BIND_HOST)")
	fl.StringVar(&f.dataDir, "data-dir", "./data", "data directory (ARAGORA_DATA_DIR)")
	fl.StringVar(&f.dbURL, "database-url", "", "store URL (ARAGORA_DATABASE_URL)")
	fl.StringVar(&f.logFormat, "log-format", "", "json or text (ARAGORA_LOG_FORMAT)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (ARAGORA_LOG_LEVEL)")
	fl.StringVar(&f.logDir, "log-dir", "", "directory of api/websocket/debate/agent.log (ARAGORA_LOG_DIR)")
	return cmd
}

// apply sets the flags the user gave on c.
func (f *serveFlags) apply(cmd *cobra.Command, c *service.Config) {
	set := map[string]func(){
		"api-port":     func() { c.APIPort = f.apiPort },
		"ws-port":      func() { c.WSPort = f.wsPort },
		"host":         func() { c.Host = f.host },
		"data-dir":     func() { c.DataDir = f.dataDir },
		"database-url": func() { c.DatabaseURL = f.dbURL },
		"log-format":   func() { c.LogFormat = f.logFormat },
		"log-level":    func() { c.LogLevel = strings.ToLower(f.logLevel) },
		"log-dir":      func() { c.LogDir = f.logDir },
	}
	for name, apply := range set {
		if cmd.Flags().Changed(name) {
			apply()
		}
	}
}

// serviceConfig reads the environment with this binary's version (the
// Options of the run in ctx).
// openBackends reads the configuration of serve from getenv and opens its
// backends, as the commands that work on serve's data do: a configuration
// error is a usage error (exit 2), a backend that does not open exit 1.
func openBackends(ctx context.Context, getenv env) (service.Config, *service.Backends, error) {
	c, err := serviceConfig(ctx, getenv)
	if err != nil {
		return c, nil, usageErr(err)
	}
	b, err := service.OpenBackends(ctx, c)
	if err != nil {
		return c, nil, &exitError{code: exitFailure, err: err}
	}
	return c, b, nil
}

func serviceConfig(ctx context.Context, getenv env) (service.Config, error) {
	c, err := service.ConfigFromEnv(getenv)
	o := optionsFrom(ctx)
	c.Version, c.Commit = o.Version, o.commit()
	return c, err
}

// serviceErr maps an error of the service: configuration errors and
// another live server on the address or data directory exit 2, every
// other error 1.
func serviceErr(err error) error {
	switch {
	case err == nil:
		return nil
	case service.IsConfigError(err), service.IsInstanceError(err):
		return usageErr(err)
	}
	return &exitError{code: exitFailure, err: err}
}
