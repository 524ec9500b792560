package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

const wsBenchToken = "ws-bench-service-token-0123456789"

// wsBench is a server with n raw WebSocket subscribers of one debate.
// The clients parse frames without allocating and read nothing but the
// stream, so allocations and write system calls measured around a
// publish are the server's.
type wsBench struct {
	s       *Server
	ts      *httptest.Server
	id      string
	clients []*rawClient
	// left counts the frames still expected by every client; the client
	// that brings it to zero closes done.
	left atomic.Int64
	done chan struct{}
}

type rawClient struct {
	conn   net.Conn
	r      *bufio.Reader
	h      [4]byte
	frames atomic.Int64
	err    error
}

func newWSBench(tb testing.TB, n int) *wsBench {
	tb.Helper()
	lg := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	st := memstore.New()
	ctx := context.Background()
	now := time.Now().UTC()
	// A finished debate with no stored event: the benchmark publishes its
	// seqs from 1, and no subscription follows it.
	d := &store.Debate{ID: "deb_wsbench", Topic: "t", Status: store.StatusConsensusReached, Config: []byte(`{}`),
		CreatedAt: now, UpdatedAt: now, StartedAt: now, FinishedAt: now}
	if err := st.CreateDebate(ctx, d); err != nil {
		tb.Fatal(err)
	}
	s, err := New(st, nil, Config{Version: "bench", Auth: &auth.Authenticator{ServiceToken: wsBenchToken},
		Logger: lg, AuthLogger: lg, WSLogger: lg, Lifecycle: lifecycle.Config{Logger: lg},
		WSMaxConnections: n + 10, WSMaxPerIP: n + 10, WSSendBuffer: 4096, WSHeartbeat: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	b := &wsBench{s: s, ts: httptest.NewServer(s.WSHandler()), id: d.ID}
	tb.Cleanup(b.close)
	addr := strings.TrimPrefix(b.ts.URL, "http://")
	for range n {
		c, err := dialRaw(addr, "/ws/debates/"+d.ID)
		if err != nil {
			tb.Fatal(err)
		}
		b.clients = append(b.clients, c)
		if err := c.waitSubscribed(); err != nil {
			tb.Fatal(err)
		}
	}
	for _, c := range b.clients {
		go b.read(c)
	}
	return b
}

func dialRaw(addr, path string) (*rawClient, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer " + wsBenchToken + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		_ = conn.Close()
		return nil, err
	}
	c := &rawClient{conn: conn, r: bufio.NewReaderSize(conn, 32<<10)}
	status, err := c.r.ReadString('\n')
	if err == nil && !strings.Contains(status, " 101 ") {
		err = fmt.Errorf("handshake: %q", status)
	}
	for err == nil {
		var line string
		if line, err = c.r.ReadString('\n'); line == "\r\n" {
			break
		}
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// frame reads one server frame; with keep it returns the payload.
func (c *rawClient) frame(keep bool) ([]byte, error) {
	h := c.h[:2]
	if _, err := io.ReadFull(c.r, h); err != nil {
		return nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		e := c.h[2:4]
		if _, err := io.ReadFull(c.r, e); err != nil {
			return nil, err
		}
		n = int(e[0])<<8 | int(e[1])
	case 127:
		return nil, fmt.Errorf("frame too large")
	}
	if !keep {
		_, err := c.r.Discard(n)
		return nil, err
	}
	p := make([]byte, n)
	_, err := io.ReadFull(c.r, p)
	return p, err
}

func (c *rawClient) waitSubscribed() error {
	for {
		p, err := c.frame(true)
		if err != nil {
			return err
		}
		if strings.Contains(string(p), `"type":"subscribed"`) {
			return nil
		}
	}
}

func (b *wsBench) read(c *rawClient) {
	for {
		if _, err := c.frame(false); err != nil {
			c.err = err
			return
		}
		c.frames.Add(1)
		if b.left.Add(-1) == 0 {
			close(b.done)
		}
	}
}

func (b *wsBench) close() {
	b.s.CloseAll(1001)
	for _, c := range b.clients {
		_ = c.conn.Close()
	}
	b.ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.s.Shutdown(ctx)
}

// publish sends events seq from..from+k-1 to every subscriber and waits
// until every client has read them.
func (b *wsBench) publish(tb testing.TB, from int64, k int, payload []byte) {
	b.done = make(chan struct{})
	b.left.Store(int64(k * len(b.clients)))
	for i := range k {
		b.s.hub.publish(b.id, from+int64(i), payload)
	}
	select {
	case <-b.done:
	case <-time.After(time.Minute):
		tb.Fatalf("subscribers got %d frames fewer than sent", b.left.Load())
	}
}

// writeSyscalls is the process's count of write system calls.
func writeSyscalls() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "syscw: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// processCPU is the process's user and system CPU time in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkWSPublish publishes debate events (a 420-byte frame, the size
// of a proposal) to n subscribers over loopback, k events at a time (k =
// 1: each event alone; k = 10: a burst, as a phase's events come), and
// waits until every subscriber has read them. Per op: one event to n
// subscribers. writes/frame is the server's write system calls per frame
// delivered (the clients only read); cpu-ns/frame is the process's CPU
// time (server and clients) per frame delivered: compare it between
// versions of the server, the clients being the same.
func BenchmarkWSPublish(b *testing.B) {
	payload := []byte(`{"type":"proposal","debate_id":"deb_wsbench","seq":0,"ts":"2026-12-07T03:00:00.000000Z","epoch":"ep","data":{"agent":"demo-1","content":"` +
		strings.Repeat("x", 280) + `","round":1}}`)
	for _, n := range []int{100, 1000} {
		for _, k := range []int{1, 10} {
			b.Run(fmt.Sprintf("subs=%d/burst=%d", n, k), func(b *testing.B) {
				wb := newWSBench(b, n)
				seq := int64(1)
				wb.publish(b, seq, k, payload) // warm up
				seq += int64(k)
				w0, cpu0 := writeSyscalls(), processCPU()
				b.ReportAllocs()
				b.ResetTimer()
				ops := 0
				for ; ops < b.N; ops += k {
					wb.publish(b, seq, k, payload)
					seq += int64(k)
				}
				b.StopTimer()
				if w0 >= 0 {
					b.ReportMetric(float64(writeSyscalls()-w0)/float64(ops*n), "writes/frame")
				}
				b.ReportMetric(float64(processCPU()-cpu0)/float64(ops*n), "cpu-ns/frame")
			})
		}
	}
}

// TestWSBenchHarness runs the benchmark's harness once: every raw client
// gets every event.
func TestWSBenchHarness(t *testing.T) {
	wb := newWSBench(t, 20)
	wb.publish(t, 1, 5, []byte(`{"type":"x"}`))
	for _, c := range wb.clients {
		if got := c.frames.Load(); got != 5 {
			t.Errorf("client got %d frames, want 5", got)
		}
	}
}
