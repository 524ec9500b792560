package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// HTTPConfig sizes the HTTP scenario. The zero value uses 32 workers for 5 s
// per target after a 1 s warm-up.
type HTTPConfig struct {
	Aragora  string // path of the aragora binary; required
	Workers  int    // closed-loop workers; default 32
	Duration time.Duration
	Warmup   time.Duration
}

func (c HTTPConfig) withDefaults() HTTPConfig {
	if c.Workers == 0 {
		c.Workers = 32
	}
	if c.Duration == 0 {
		c.Duration = 5 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	return c
}

// LoadResult is the outcome of one closed-loop load run.
type LoadResult struct {
	Requests int
	Errors   int
	RPS      float64
	P50, P99 time.Duration
	lats     []time.Duration
}

// Load runs a closed loop of workers GETting url with header hdr (may be
// nil) for d and returns throughput and latency percentiles. Any status
// other than 200 counts as an error.
func Load(ctx context.Context, url string, hdr http.Header, workers int, d time.Duration) (LoadResult, error) {
	tr := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	lats := make([][]time.Duration, workers)
	errs := make([]int, workers)
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(stop) && ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					errs[w]++
					return
				}
				for k, v := range hdr {
					req.Header[k] = v
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs[w]++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lats[w] = append(lats[w], time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					errs[w]++
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	var all []time.Duration
	var r LoadResult
	for w := range workers {
		all = append(all, lats[w]...)
		r.Errors += errs[w]
	}
	r.Requests = len(all)
	if r.Requests == 0 {
		return r, fmt.Errorf("bench: no request to %s succeeded", url)
	}
	r.RPS = float64(r.Requests) / wall.Seconds()
	r.P50, r.P99 = percentile(all, 50), percentile(all, 99)
	r.lats = all
	return r, ctx.Err()
}

// mergeLoad combines slices of one target: total requests over total
// time, and the latency percentiles of all requests.
func mergeLoad(rs []LoadResult) LoadResult {
	var m LoadResult
	var secs float64
	for _, r := range rs {
		m.Requests += r.Requests
		m.Errors += r.Errors
		secs += float64(r.Requests) / r.RPS
		m.lats = append(m.lats, r.lats...)
	}
	m.RPS = float64(m.Requests) / secs
	m.P50, m.P99 = percentile(m.lats, 50), percentile(m.lats, 99)
	return m
}

// startHello runs the hello baseline in a separate process (this binary
// re-executed with -serve-hello), like the aragora server.
func startHello(ctx context.Context) (url string, pid int, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", 0, nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(exe, "-serve-hello", addr)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop = func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
	url = "http://" + addr + "/hello"
	for i := 0; ; i++ {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return url, cmd.Process.Pid, stop, nil
		}
		if i > 200 || ctx.Err() != nil {
			stop()
			return "", 0, nil, fmt.Errorf("bench: hello server did not start: %w", err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// HTTP loads /api/health and an authenticated GET /api/debates/{id} of a
// running aragora, each next to the bare hello handler, all served by
// separate processes and loaded by the same generator.
func HTTP(ctx context.Context, cfg HTTPConfig) (Table, error) {
	cfg = cfg.withDefaults()
	srv, err := StartAragora(ctx, cfg.Aragora)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	hello, helloPID, stopHello, err := startHello(ctx)
	if err != nil {
		return nil, err
	}
	defer stopHello()
	d, err := srv.CreateDebate(ctx, map[string]any{"topic": question, "agents": []string{"demo-a", "demo-b", "demo-c"}, "rounds": 2, "seed": 7})
	if err != nil {
		return nil, err
	}
	if _, err := srv.WaitFinished(ctx, d.ID, time.Minute); err != nil {
		return nil, err
	}
	auth := http.Header{"Authorization": {"Bearer " + BenchToken}}
	targets := []struct {
		name string
		url  string
		hdr  http.Header
		pid  int
	}{
		{"hello", hello, nil, helloPID},
		{"GET /api/health", srv.APIBase + "/api/health", nil, srv.cmd.Process.Pid},
		{"GET /api/debates/{id} (service token)", srv.APIBase + "/api/debates/" + d.ID, auth, srv.cmd.Process.Pid},
	}
	for _, tg := range targets {
		if _, err := Load(ctx, tg.url, tg.hdr, cfg.Workers, cfg.Warmup); err != nil {
			return nil, err
		}
	}
	// Interleave the targets in slices so that noise from other load on the
	// machine hits all of them alike.
	const slices = 5
	parts := map[string][]LoadResult{}
	cpu := map[string]time.Duration{} // the serving process's CPU time
	for range slices {
		for _, tg := range targets {
			cpu0 := procCPU(tg.pid)
			r, err := Load(ctx, tg.url, tg.hdr, cfg.Workers, cfg.Duration/slices)
			cpu[tg.name] += procCPU(tg.pid) - cpu0
			if err != nil {
				return nil, err
			}
			if r.Errors > 0 {
				return nil, fmt.Errorf("bench: %s: %d of %d requests failed", tg.name, r.Errors, r.Requests)
			}
			parts[tg.name] = append(parts[tg.name], r)
		}
	}
	res := map[string]LoadResult{}
	for name, rs := range parts {
		res[name] = mergeLoad(rs)
	}
	h := res["hello"]
	// Server CPU per request does not depend on how much of the machine
	// the other processes leave to the server, unlike req/s.
	cpuPerReq := func(name string) float64 { return float64(cpu[name].Microseconds()) / float64(res[name].Requests) }
	var t Table
	for _, tg := range targets[1:] {
		r := res[tg.name]
		c := fmt.Sprintf("%s, %d workers", tg.name, cfg.Workers)
		t = append(t,
			Row{Scenario: "http", Case: c, Metric: "req/s", Value: r.RPS, Baseline: "bare net/http hello req/s", BaselineValue: h.RPS},
			Row{Scenario: "http", Case: c, Metric: "server CPU µs/request", Value: cpuPerReq(tg.name),
				Baseline: "hello server CPU µs/request", BaselineValue: cpuPerReq("hello")},
			Row{Scenario: "http", Case: c, Metric: "p50 (ms)", Value: ms(r.P50), Baseline: "hello p50 (ms)", BaselineValue: ms(h.P50)},
			Row{Scenario: "http", Case: c, Metric: "p99 (ms)", Value: ms(r.P99), Baseline: "hello p99 (ms)", BaselineValue: ms(h.P99)},
		)
	}
	return t, nil
}
