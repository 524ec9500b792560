// Package validate checks the deployment files of the repository against
// the tools and types that consume them, in a module of its own so that
// the library's go.mod stays free of Kubernetes and Prometheus
// dependencies (docs/DEPLOY.md, "How the deployment files are checked"):
//
//   - every file in k8s/ and every object `helm template` renders from
//     deploy/helm/aragora (with the defaults and with the production values)
//     decodes strictly into the Kubernetes API types (unknown or duplicate
//     fields fail), and keeps the invariants the operations depend on
//     (names, probes, grace period above the shutdown budget, resources,
//     security context);
//   - the alert rules and the Grafana dashboard parse as PromQL, and a real
//     Prometheus scraping a real `aragora serve` (Postgres, a private Redis
//     it stops, a fake model provider that fails) finds a series for every
//     metric they name and fires CircuitBreakerOpen, RedisDown and
//     HighErrorRate; a fake Sentry receives the server's 5xx with its tags
//     and no secret;
//   - the operational scripts run: backup (SQLite and Postgres),
//     health_check, emergency_recovery.
//
// The tests need helm, prometheus, promtool, redis-server, psql, pg_dump and
// a Postgres at ARAGORA_TEST_POSTGRES_URL; .ci/run installs them. Without
// CI set, a missing tool skips its test with the install hint; with CI set
// it fails.
package validate
