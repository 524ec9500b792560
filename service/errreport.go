package service

import (
	"context"
	"net/url"
	"os"
	"time"

	"github.com/aragora/aragora/internal/errreport"
)

// sentryFlushTimeout bounds the wait for queued error reports when the
// service closes, after the shutdown sequence (docs/DEPLOY.md: the stop
// timeouts leave room for it).
const sentryFlushTimeout = 2 * time.Second

// newErrorReporter returns the Sentry reporter of c.SentryDSN, or nil when
// it is unset (docs/DEPLOY.md#sentry). Every secret of the configuration and
// of the environment is scrubbed from the events.
func newErrorReporter(c Config) (*errreport.Reporter, error) {
	secrets := errreport.SecretsFromEnv(os.Environ())
	secrets = append(secrets, c.APIToken, c.JWTSecret, c.BootstrapToken, c.ReceiptSigningKey, c.ReceiptEd25519Key)
	for _, raw := range []string{c.storeURL(), c.RedisURL} {
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				secrets = append(secrets, pw)
			}
		}
	}
	rep, err := errreport.New(errreport.Config{DSN: c.SentryDSN, Environment: c.Env, Release: "aragora@" + c.Version, Secrets: secrets})
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	return rep, nil
}

// flushErrorReporter sends the queued reports and stops the reporter.
func flushErrorReporter(rep *errreport.Reporter) {
	ctx, cancel := context.WithTimeout(context.Background(), sentryFlushTimeout)
	defer cancel()
	rep.Flush(ctx)
	rep.Close()
}
