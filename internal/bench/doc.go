// Package bench holds Aragora's benchmark scenarios (issue 8): the debate
// engine, the HTTP API and the WebSocket fan-out of a running `aragora
// serve`, the rate limiters and the store backends. Each scenario measures
// one Aragora figure next to a baseline taken in the same run on the same
// machine (a raw driver loop, a bare net/http handler, a bare
// x/time/rate limiter, redis-benchmark, the ideal wall time), and reports
// both with their ratio, so that results compare across machines.
//
// Scenarios return [Row]s; [Median] folds several runs into one table and
// [Table.Print] writes it. The entry point is the command cmd/benchall
// (bench/run.sh builds and runs it); bench/README.md says how to run each
// scenario and how to read its rows. Nothing here runs during
// `go test ./...` except a small smoke test with tiny parameters.
//
// The package is internal because it links every store backend, both
// Redis clients and the server: it exists for the benchmark command only,
// starts processes, listeners and goroutines, and is not meant for library
// use. Importing the engine (debate, consensus, agent, ...) never links it.
package bench
