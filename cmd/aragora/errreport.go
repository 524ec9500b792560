package main

import (
	"context"
	"net/url"
	"os"
	"time"

	"github.com/aragora/aragora/internal/errreport"
)

// sentryFlushTimeout bounds the wait for queued error reports at exit, after
// the shutdown sequence (docs/DEPLOY.md: the stop timeouts leave room for it).
const sentryFlushTimeout = 2 * time.Second

// newErrorReporter returns the Sentry reporter of SENTRY_DSN, or nil when it
// is unset (docs/DEPLOY.md, "Sentry"). Every secret of the configuration and
// of the environment is scrubbed from the events.
func newErrorReporter(c serveConfig) (*errreport.Reporter, error) {
	secrets := errreport.SecretsFromEnv(os.Environ())
	secrets = append(secrets, c.APIToken, c.JWTSecret, c.BootstrapToken, c.ReceiptSigningKey, c.ReceiptEd25519Key)
	for _, raw := range []string{c.DatabaseURL, c.RedisURL} {
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				secrets = append(secrets, pw)
			}
		}
	}
	return errreport.New(errreport.Config{DSN: c.SentryDSN, Environment: c.Env, Release: "aragora@" + Version, Secrets: secrets})
}

// flushErrorReporter sends the queued reports and stops the reporter.
func flushErrorReporter(rep *errreport.Reporter) {
	ctx, cancel := context.WithTimeout(context.Background(), sentryFlushTimeout)
	defer cancel()
	rep.Flush(ctx)
	rep.Close()
}
