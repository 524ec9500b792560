package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/internal/bench/measure"
)

// FanoutConfig sizes the WebSocket fan-out scenario. The zero value uses
// 100, 1000 and 10000 subscribers on one debate of 3 fake model agents
// answering in 20 ms, 2 rounds.
type FanoutConfig struct {
	Aragora     string // path of the aragora binary; required
	Subscribers []int  // default 100, 1000, 10000
	AgentDelay  time.Duration
	Rounds      int
	// DialWorkers connects subscribers in parallel; default 200.
	DialWorkers int
	// Grace is how long readers may lag once the debate has finished;
	// default 15s.
	Grace time.Duration
	// Verbose prints the frame types of one subscriber on stderr.
	Verbose bool
}

func (c FanoutConfig) withDefaults() FanoutConfig {
	if len(c.Subscribers) == 0 {
		c.Subscribers = []int{100, 1000, 10000}
	}
	if c.AgentDelay == 0 {
		c.AgentDelay = 20 * time.Millisecond
	}
	if c.Rounds == 0 {
		c.Rounds = 2
	}
	if c.Grace == 0 {
		c.Grace = 15 * time.Second
	}
	if c.DialWorkers == 0 {
		c.DialWorkers = 200
	}
	return c
}

// fakeModel is an OpenAI-compatible chat endpoint (used as OLLAMA_HOST)
// that holds every call until the gate opens, then answers after a delay
// with a reply that parses as a proposal, a critique and a vote.
type fakeModel struct {
	delay  time.Duration
	gate   chan struct{}
	choice atomic.Value // string
}

func (f *fakeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-f.gate:
	case <-r.Context().Done():
		return
	}
	time.Sleep(f.delay)
	choice, _ := f.choice.Load().(string)
	text, _ := json.Marshal(map[string]any{"choice": choice, "confidence": 0.8, "issues": []string{"cost of the migration"},
		"suggestions": []string{"run a 90-day pilot"}, "severity": 4, "reasoning": "a staged migration with a rollback plan limits the risk because billing cannot stop"})
	_ = json.NewEncoder(w).Encode(map[string]any{
		"model":   "bench",
		"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": string(text)}, "finish_reason": "stop"}},
		"usage":   map[string]int{"prompt_tokens": 500, "completion_tokens": 60},
	})
}

type wireFrame struct {
	Type    string `json:"type"`
	Seq     int64  `json:"seq"`
	Ts      string `json:"ts"`
	LastSeq int64  `json:"last_seq"`
	FromSeq int64  `json:"from_seq"`
}

type subResult struct {
	lats   []time.Duration
	frames int
	types  []string
	ended  bool
	gap    bool // a seq was skipped
	dups   int  // frames of a seq already received
	err    error
}

// scanEvent reads type, seq and ts of a debate event frame as the server
// sends it ({"epoch":…,"seq":…,…,"ts":…,"data":…}: every field it needs
// comes before data) without decoding the rest; typ and ts are slices of
// b. ok is false for any other shape, which json.Unmarshal then reads. It
// spares the bench's readers, which share the machine with the server,
// most of their per-frame work.
func scanEvent(b []byte) (typ, ts []byte, seq int64, ok bool) {
	if !bytes.HasPrefix(b, []byte(`{"epoch":"`)) {
		return nil, nil, 0, false
	}
	var haveSeq bool
	for i := 1; i < len(b); {
		if b[i] != '"' {
			return nil, nil, 0, false
		}
		end := bytes.IndexByte(b[i+1:], '"')
		if end < 0 {
			return nil, nil, 0, false
		}
		key := b[i+1 : i+1+end]
		i += end + 2
		if i >= len(b) || b[i] != ':' {
			return nil, nil, 0, false
		}
		i++
		if string(key) == "data" {
			return typ, ts, seq, typ != nil && haveSeq && ts != nil
		}
		if i >= len(b) {
			return nil, nil, 0, false
		}
		switch b[i] {
		case '"':
			end := bytes.IndexByte(b[i+1:], '"')
			if end < 0 {
				return nil, nil, 0, false
			}
			v := b[i+1 : i+1+end]
			if bytes.IndexByte(v, '\\') >= 0 {
				return nil, nil, 0, false
			}
			switch string(key) {
			case "type":
				typ = v
			case "ts":
				ts = v
			}
			i += end + 2
		case '{', '[':
			return nil, nil, 0, false
		default:
			j := i
			for j < len(b) && b[j] != ',' && b[j] != '}' {
				j++
			}
			if string(key) == "seq" {
				n, err := parseDigits(b[i:j])
				if err != nil {
					return nil, nil, 0, false
				}
				seq, haveSeq = n, true
			}
			i = j
		}
		if i >= len(b) || b[i] != ',' {
			return nil, nil, 0, false
		}
		i++
	}
	return nil, nil, 0, false
}

// parseDigits parses a non-negative decimal integer (a seq).
func parseDigits(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 18 {
		return 0, strconv.ErrSyntax
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// Fanout runs one debate per subscriber count on a fresh aragora server
// and reports delivery latency and bytes per connection.
func Fanout(ctx context.Context, cfg FanoutConfig) (Table, error) {
	cfg = cfg.withDefaults()
	fm := &fakeModel{delay: cfg.AgentDelay}
	model := httptest.NewServer(fm)
	defer model.Close()
	srv, err := StartAragora(ctx, cfg.Aragora, "OLLAMA_HOST="+model.URL)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	var t Table
	for _, n := range cfg.Subscribers {
		rows, err := fanoutOnce(ctx, cfg, srv, fm, n)
		if err != nil {
			return nil, fmt.Errorf("fanout %d: %w", n, err)
		}
		t = append(t, rows...)
	}
	return t, nil
}

func fanoutOnce(ctx context.Context, cfg FanoutConfig, srv *Aragora, fm *fakeModel, n int) ([]Row, error) {
	fm.gate = make(chan struct{})
	d, err := srv.CreateDebate(ctx, map[string]any{"topic": question, "agents": []string{"ollama:m1", "ollama:m2", "ollama:m3"},
		"rounds": cfg.Rounds, "min_rounds": cfg.Rounds, "consensus": "majority", "convergence": false})
	if err != nil {
		return nil, err
	}
	fm.choice.Store(d.Agents[0])
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	url := srv.WSBase + "/ws/debates/" + d.ID
	var subscribed sync.WaitGroup
	subscribed.Add(n)
	var finished, totalFrames atomic.Int64
	allDone := make(chan struct{})
	done := func() {
		if finished.Add(1) == int64(n) {
			close(allDone)
		}
	}
	// The pollers stop (and close every socket) once the figures are
	// taken: the teardown of n connections is not frame delivery.
	pctx, stopPoll := context.WithCancel(rctx)
	p, err := newFanPoller(pctx, n, max(runtime.GOMAXPROCS(0), 1), &totalFrames)
	if err != nil {
		stopPoll()
		return nil, err
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopPoll()
			p.stop()
		}
	}
	defer stop()
	subs := make([]*fanSub, n)
	jobs := make(chan int)
	var dialErr atomic.Value
	var dialers sync.WaitGroup
	dialer := &net.Dialer{}
	for range cfg.DialWorkers {
		dialers.Go(func() {
			for i := range jobs {
				s := newFanSub(i, cfg.Verbose && i == 0, subscribed.Done, done)
				subs[i] = s
				conn, rest, err := dialFan(rctx, dialer, url, BenchToken)
				if err == nil {
					err = p.add(s, conn, rest)
				}
				if err != nil {
					dialErr.Store(err)
					s.end(err)
				}
			}
		})
	}
	pid := strconv.Itoa(srv.cmd.Process.Pid)
	rssBefore := measure.ProcStatusKB(pid, "VmRSS")
	connStart := time.Now()
	for i := range n {
		jobs <- i
	}
	close(jobs)
	dialers.Wait()
	subscribed.Wait()
	connTime := time.Since(connStart)
	// Every subscriber is connected, replayed and idle (the model holds
	// the debate): the server's RSS growth is what they cost.
	time.Sleep(500 * time.Millisecond)
	rssIdle := measure.ProcStatusKB(pid, "VmRSS")
	if err, ok := dialErr.Load().(error); ok {
		close(fm.gate)
		return nil, fmt.Errorf("dial: %w", err)
	}
	if cfg.Verbose {
		fmt.Fprintf(os.Stderr, "fanout %d: all subscribed in %s\n", n, connTime)
	}
	framesIdle, cpuIdle, clientIdle := totalFrames.Load(), procCPU(srv.cmd.Process.Pid), procCPU(os.Getpid())
	writesIdle := procWrites(srv.cmd.Process.Pid)
	close(fm.gate) // the debate proceeds; every event from now on is live
	// Wait for every reader to see debate_end; once the debate has a final
	// status, give stragglers a grace period, then count them as missing
	// the end (the server dropped their last events).
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var finishedAt time.Time
wait:
	for {
		select {
		case <-allDone:
			break wait
		case <-tick.C:
			var st debateObj
			if err := srv.do(rctx, http.MethodGet, "/api/debates/"+d.ID, nil, &st); err == nil && finishedAt.IsZero() &&
				st.Status != "running" && st.Status != "pending" {
				finishedAt = time.Now()
			}
			if cfg.Verbose {
				fmt.Fprintf(os.Stderr, "fanout %d: %d readers done, %d frames; debate %s last_seq %d\n",
					n, finished.Load(), totalFrames.Load(), st.Status, st.LastSeq)
			}
			if !finishedAt.IsZero() && time.Since(finishedAt) > cfg.Grace || rctx.Err() != nil {
				break wait
			}
		}
	}
	// Server CPU per frame delivered after the gate opened: unlike the
	// latencies, it does not depend on how much of the machine the other
	// processes leave to the server and the readers.
	liveCPU, liveFrames := procCPU(srv.cmd.Process.Pid)-cpuIdle, totalFrames.Load()-framesIdle
	// The subscribers' side (this process: reading and parsing each
	// frame) shares the machine with the server.
	clientCPU := procCPU(os.Getpid()) - clientIdle
	// Write system calls of the server (frames, store, logs) per frame.
	writes := procWrites(srv.cmd.Process.Pid)
	stop() // the subscribers' results are final
	if p.err != nil {
		return nil, p.err
	}
	var lats []time.Duration
	frames, missed, gaps := 0, 0, 0
	for _, s := range subs {
		r := s.res
		if !r.ended {
			missed++
		}
		if r.gap || !r.ended || r.dups > 0 {
			gaps++
		}
		if r.err != nil && !r.ended && finishedAt.IsZero() && rctx.Err() == nil {
			return nil, r.err
		}
		lats = append(lats, r.lats...)
		frames += r.frames
	}
	if cfg.Verbose {
		fmt.Fprintf(os.Stderr, "fanout %d: frames of subscriber 0: %v\n", n, subs[0].res.types)
	}
	if len(lats) == 0 {
		return nil, fmt.Errorf("no live event received")
	}

	c := fmt.Sprintf("%d subscribers, one debate (3 agents, %d rounds)", n, cfg.Rounds)
	rows := []Row{
		{Scenario: "fanout", Case: c, Metric: "delivery p50 (ms)", Value: ms(percentile(lats, 50)),
			Baseline: "fake model latency (ms)", BaselineValue: ms(cfg.AgentDelay)},
		{Scenario: "fanout", Case: c, Metric: "delivery p99 (ms)", Value: ms(percentile(lats, 99)),
			Baseline: "fake model latency (ms)", BaselineValue: ms(cfg.AgentDelay)},
		{Scenario: "fanout", Case: c, Metric: "bytes received/connection", Value: float64(p.rd.Load()) / float64(n)},
		{Scenario: "fanout", Case: c, Metric: "frames/connection", Value: float64(frames) / float64(n)},
		{Scenario: "fanout", Case: c, Metric: "live events measured", Value: float64(len(lats))},
		{Scenario: "fanout", Case: c, Metric: "connect+subscribe all (s)", Value: connTime.Seconds()},
		{Scenario: "fanout", Case: c, Metric: "server RSS/idle subscribed connection (KB)", Value: float64(rssIdle-rssBefore) * 1024 / 1000 / float64(n)},
		{Scenario: "fanout", Case: c, Metric: "server RSS before connecting (MB)", Value: float64(rssBefore) * 1024 / 1e6},
		{Scenario: "fanout", Case: c, Metric: "server CPU µs/frame delivered live", Value: float64(liveCPU.Microseconds()) / float64(max(liveFrames, 1))},
		{Scenario: "fanout", Case: c, Metric: "bench subscribers' CPU µs/frame received live", Value: float64(clientCPU.Microseconds()) / float64(max(liveFrames, 1))},
	}
	if writes >= 0 && writesIdle >= 0 {
		rows = append(rows, Row{Scenario: "fanout", Case: c, Metric: "server write syscalls/frame delivered live",
			Value: float64(writes-writesIdle) / float64(max(liveFrames, 1))})
	}
	return append(rows, Row{Scenario: "fanout", Case: c, Metric: "subscribers missing debate_end", Value: float64(missed),
		Baseline: "subscribers", BaselineValue: float64(n)},
		Row{Scenario: "fanout", Case: c, Metric: "subscribers missing an event (seq gap, duplicate or no end)", Value: float64(gaps),
			Baseline: "subscribers", BaselineValue: float64(n)}), nil
}
