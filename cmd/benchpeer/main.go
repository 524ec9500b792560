// Command benchpeer runs the peer benchmark scenario (issue 13, package
// internal/bench/peerbench) in a process that links only the engine and
// the demo agents, as the Python original's process loaded only its
// library. cmd/benchall execs it for each run of the peer scenario, so
// that "RSS before" and peak RSS are the engine's, not the start-up of a
// binary that links every backend (bench/README.md).
//
//	go build -o /tmp/benchpeer ./cmd/benchpeer && /tmp/benchpeer -md
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"

	"github.com/aragora/aragora/internal/bench/peerbench"
)

func main() {
	quick := flag.Bool("quick", false, "tiny parameters (smoke test, figures meaningless)")
	rowsJSON := flag.Bool("rows-json", false, "print rows as JSON lines (read by benchall)")
	md := flag.Bool("md", false, "print a markdown table")
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("benchpeer: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := peerbench.PeerConfig{}
	if *quick {
		cfg.Concurrent = []int{4, 8}
	}
	t, err := peerbench.Peer(ctx, cfg)
	if err == nil {
		err = t.Write(os.Stdout, *rowsJSON, *md)
	}
	if err != nil {
		log.Fatal(err)
	}
}
