// Command benchall runs Aragora's benchmark scenarios (issue 8) and prints
// each figure next to its same-run baseline, with the ratio.
//
//	go run ./cmd/benchall -scenario all -runs 3 -md
//
// Scenarios: engine, concurrent, concurrent-goroutines, peer, http, fanout, limiter, store, or all
// (comma-separated lists work too). With more than one scenario or run,
// each (scenario, run) executes in a fresh child process, so peak RSS and
// goroutine counts of one do not leak into another, and the table shows
// the median of the runs. The peer scenario runs in the lean binary
// cmd/benchpeer (engine and demo agents only), and the concurrent
// scenarios in cmd/benchconcurrent (engine, demo agents and the fake
// providers), even for a single run without profiles, when it is found
// next to benchall or given with -benchpeer or -benchconcurrent. See bench/README.md for what each row means and
// what the http and fanout scenarios need (the aragora binary, ulimit -n).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/internal/bench"
	"github.com/aragora/aragora/internal/bench/enginebench"
	"github.com/aragora/aragora/internal/bench/peerbench"
)

var all = []string{"engine", "concurrent", "concurrent-goroutines", "peer", "http", "fanout", "limiter", "store"}

type options struct {
	scenarios  []string
	runs       int
	md         bool
	rowsJSON   bool
	out        string
	quick      bool
	aragora    string
	fanout     string
	redisURL   string
	pgURL      string
	serveHello string
	benchpeer  string
	benchconc  string
	cpuprofile string
	heap       bench.HeapProbe
	verbose    bool
}

func main() {
	var o options
	var sc string
	flag.StringVar(&sc, "scenario", "all", "engine|concurrent|concurrent-goroutines|peer|http|fanout|limiter|store|all (comma-separated)")
	flag.IntVar(&o.runs, "runs", 1, "runs per scenario; the table shows medians")
	flag.BoolVar(&o.md, "md", false, "print a markdown table")
	flag.BoolVar(&o.rowsJSON, "rows-json", false, "print rows as JSON lines (used between parent and child)")
	flag.StringVar(&o.out, "out", "", "also write the median rows as JSON to this file")
	flag.BoolVar(&o.quick, "quick", false, "tiny parameters (smoke test, figures meaningless)")
	flag.StringVar(&o.aragora, "aragora", "/tmp/aragora-bench", "aragora binary for http and fanout (go build -o /tmp/aragora-bench ./cmd/aragora)")
	flag.StringVar(&o.fanout, "fanout", "100,1000,10000", "subscriber counts for the fanout scenario")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/15", "Redis for the limiter scenario; empty skips it")
	flag.StringVar(&o.pgURL, "postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "Postgres for the store scenario; empty skips it")
	flag.StringVar(&o.benchpeer, "benchpeer", "", "lean binary for the peer scenario's child runs (go build ./cmd/benchpeer); default: benchpeer next to this binary, else this binary")
	flag.StringVar(&o.benchconc, "benchconcurrent", "", "lean binary for the concurrent scenarios' child runs (go build ./cmd/benchconcurrent); default: benchconcurrent next to this binary, else this binary")
	flag.StringVar(&o.serveHello, "serve-hello", "", "internal: serve the bare hello handler on this address and block")
	flag.BoolVar(&o.verbose, "v", false, "print diagnostics on stderr")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile (single in-process run only)")
	flag.StringVar(&o.heap.Path, "heapprofile", "", "concurrent and peer: collect the garbage and write a heap profile mid-run (single in-process run only; perturbs the run's other figures)")
	flag.DurationVar(&o.heap.After, "heapprofile-at", 300*time.Millisecond, "when -heapprofile is taken, after the (last) run starts")
	heapPhase := flag.String("heapprofile-phase", "", "take -heapprofile when every debate waits for its agents in this round/phase (e.g. 2/critique) instead")
	memRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate for -heapprofile (0: the default)")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *heapPhase != "" {
		round, phase, ok := strings.Cut(*heapPhase, "/")
		n, err := strconv.Atoi(round)
		if !ok || err != nil || n < 1 {
			log.Fatalf("-heapprofile-phase %q: want round/phase, e.g. 2/critique", *heapPhase)
		}
		o.heap.Round, o.heap.Phase = n, agent.Phase(phase)
	}
	log.SetFlags(log.Ltime)
	log.SetPrefix("benchall: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.serveHello != "" {
		if err := bench.ServeHello(ctx, o.serveHello); err != nil {
			log.Fatal(err)
		}
		return
	}
	if sc == "all" {
		o.scenarios = all
	} else {
		o.scenarios = strings.Split(sc, ",")
	}
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	var runs []bench.Table
	inProcess := len(o.scenarios) == 1 && o.runs == 1
	if inProcess && o.cpuprofile == "" && o.heap.Path == "" && !o.rowsJSON {
		// A single peer or concurrent run runs lean too when its lean
		// binary is at hand.
		exe, err := os.Executable()
		inProcess = err != nil || leanBinary(o, exe, o.scenarios[0]) == ""
	}
	if inProcess {
		if o.cpuprofile != "" {
			f, err := os.Create(o.cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		t, err := scenario(ctx, o, o.scenarios[0])
		if err != nil {
			return err
		}
		runs = append(runs, t)
	} else {
		runs = make([]bench.Table, o.runs)
		for _, s := range o.scenarios {
			for i := range o.runs {
				start := time.Now()
				log.Printf("scenario %s run %d/%d", s, i+1, o.runs)
				t, err := child(ctx, o, s)
				if err != nil {
					return fmt.Errorf("scenario %s run %d: %w", s, i+1, err)
				}
				log.Printf("scenario %s run %d done in %s", s, i+1, time.Since(start).Round(time.Millisecond))
				runs[i] = append(runs[i], t...)
			}
		}
	}
	med := bench.Median(runs)
	if o.rowsJSON {
		return med.Write(os.Stdout, true, false)
	}
	if o.out != "" {
		b, err := json.MarshalIndent(med, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.out, b, 0o644); err != nil {
			return err
		}
	}
	if o.runs > 1 {
		fmt.Printf("medians of %d runs\n", o.runs)
	}
	return med.Print(os.Stdout, o.md)
}

// child runs one scenario once in a fresh process and reads its rows.
func child(ctx context.Context, o options, s string) (bench.Table, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-scenario", s, "-runs", "1", "-rows-json", "-aragora", o.aragora, "-fanout", o.fanout,
		"-redis", o.redisURL, "-postgres", o.pgURL}
	if name := leanNames[s]; name != "" {
		if lean := leanBinary(o, exe, s); lean != "" {
			exe, args = lean, []string{"-rows-json"}
			if name == "benchconcurrent" {
				args = append(args, "-scenario", s)
			}
		} else {
			log.Printf("%s: no lean binary next to %s or given with -%s (go build ./cmd/%s); running it in benchall", s, exe, name, name)
		}
	}
	if o.quick {
		args = append(args, "-quick")
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	var t bench.Table
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r bench.Row
		if err := dec.Decode(&r); err != nil {
			return nil, err
		}
		t = append(t, r)
	}
	return t, nil
}

// leanNames names the lean binary that runs each scenario's child runs:
// cmd/benchpeer (the engine and the demo agents only, as the Python
// original's process held only its library) and cmd/benchconcurrent (the
// engine, the demo agents and the fake providers).
var leanNames = map[string]string{"peer": "benchpeer", "concurrent": "benchconcurrent", "concurrent-goroutines": "benchconcurrent"}

// leanBinary returns the lean binary that runs scenario s's child runs, or
// "" to run it in benchall itself, which links every backend: the one
// given with -benchpeer or -benchconcurrent, else the one next to exe.
func leanBinary(o options, exe, s string) string {
	name := leanNames[s]
	if name == "" {
		return ""
	}
	p := map[string]string{"benchpeer": o.benchpeer, "benchconcurrent": o.benchconc}[name]
	if p == "" {
		p = filepath.Join(filepath.Dir(exe), name)
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func scenario(ctx context.Context, o options, s string) (bench.Table, error) {
	switch s {
	case "engine":
		cfg := enginebench.EngineConfig{}
		if o.quick {
			cfg = enginebench.EngineConfig{Concurrent: 20, SerialFor: 200 * time.Millisecond, OverheadSleep: 10 * time.Millisecond, OverheadRuns: 1, SlowSleep: 5 * time.Millisecond}
		}
		return enginebench.Engine(ctx, cfg)
	case "concurrent", "concurrent-goroutines":
		cfg := enginebench.ConcurrentConfig(s, o.quick)
		cfg.Heap = o.heap
		return enginebench.EngineConcurrentSlow(ctx, cfg)
	case "peer":
		cfg := peerbench.PeerConfig{Heap: o.heap}
		if o.quick {
			cfg.Concurrent = []int{4, 8}
		}
		return peerbench.Peer(ctx, cfg)
	default:
		return extra(ctx, o, s)
	}
}
