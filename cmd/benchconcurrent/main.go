// Command benchconcurrent runs the concurrent benchmark scenarios (1000
// debates at once whose fake providers answer after 50 ms; package
// internal/bench/enginebench) in a process that links only the engine,
// the demo agents and the bench's fake providers. cmd/benchall execs it
// for each run of the concurrent and concurrent-goroutines scenarios, so
// that "RSS before" and peak RSS are the engine's, not the start-up of a
// binary that links every backend (bench/README.md).
//
//	go build -o /tmp/benchconcurrent ./cmd/benchconcurrent && /tmp/benchconcurrent -md
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"

	"github.com/aragora/aragora/internal/bench/enginebench"
)

func main() {
	scenario := flag.String("scenario", "concurrent", "concurrent (agent.Async fakes) or concurrent-goroutines (a goroutine per call)")
	quick := flag.Bool("quick", false, "tiny parameters (smoke test, figures meaningless)")
	rowsJSON := flag.Bool("rows-json", false, "print rows as JSON lines (read by benchall)")
	md := flag.Bool("md", false, "print a markdown table")
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("benchconcurrent: ")
	if *scenario != "concurrent" && *scenario != "concurrent-goroutines" {
		log.Fatalf("-scenario %q: want concurrent or concurrent-goroutines", *scenario)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t, err := enginebench.EngineConcurrentSlow(ctx, enginebench.ConcurrentConfig(*scenario, *quick))
	if err == nil {
		err = t.Write(os.Stdout, *rowsJSON, *md)
	}
	if err != nil {
		log.Fatal(err)
	}
}
