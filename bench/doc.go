// Package bench holds Aragora's benchmark scenarios (issue 8): the debate
// engine, the HTTP API and the WebSocket fan-out of a running `aragora
// serve`, the rate limiters and the store backends. Each scenario measures
// one Aragora figure next to a baseline taken in the same run on the same
// machine (a raw driver loop, a bare net/http handler, a bare
// x/time/rate limiter, redis-benchmark, the ideal wall time), and reports
// both with their ratio, so that results compare across machines.
//
// Scenarios return [Row]s; [Median] folds several runs into one table and
// [Table.Print] writes it. The entry point is the command
// bench/cmd/benchall; bench/README.md says how to run each scenario and how
// to read its rows. Nothing here runs during `go test ./...` except a
// small smoke test with tiny parameters.
//
// The package is for the benchmark command only: its functions start
// processes, listeners and goroutines, and are not meant for library use.
package bench
