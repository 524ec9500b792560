// Package enginebench holds the engine scenarios of the benchmarks (issue
// 8 and 13): a debate's CPU, allocations and per-round overhead with
// instant and sleeping fake providers (the engine scenario), and 1000
// debates at once whose fake providers answer after 50 ms (the concurrent
// scenarios). It imports only the engine (debate, agent, agent/demo), the
// measuring tools (internal/bench/measure), the peer scenario's question
// and the standard library, so that the lean binary cmd/benchconcurrent,
// which runs the concurrent scenarios for cmd/benchall, holds the engine
// and its fakes and nothing else (see bench/README.md).
package enginebench

import "github.com/aragora/aragora/internal/bench/peerbench"

// question is the Question of every benchmark debate.
const question = peerbench.Question
