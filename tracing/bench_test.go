package tracing_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/tracing"
)

// benchDebate runs the peer benchmark's debate (docs/BENCHMARKS.md: five
// demo agents, three rounds, early stop off) b.N times, traced by tr
// (nil: not traced at all, as the service runs with tracing off).
func benchDebate(b *testing.B, tr *tracing.Tracer) {
	var ps []debate.Participant
	for i, style := range []demo.Style{"supportive", "critical", "balanced", "supportive", "critical"} {
		name := fmt.Sprintf("demo-%c", 'a'+i)
		a := demo.New(name, style, 42)
		p := debate.Participant{Name: name, Agent: a}
		if tr != nil {
			p.Agent = tr.Agent(name, demo.Provider, a.Model(), a)
		}
		ps = append(ps, p)
	}
	cfg := debate.Config{Rounds: 3, DisableEarlyStop: true}
	if tr != nil {
		cfg.Observers = []debate.Observer{tr.Observer()}
	}
	o, err := debate.New(cfg, ps...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		n++
		id := fmt.Sprintf("deb-%d", n)
		rctx, end := ctx, func(string, error) {}
		if tr != nil {
			rctx, end = tr.Start(ctx, id)
		}
		res, err := o.RunTask(rctx, debate.Task{ID: id, Question: "Should we migrate the billing service to Postgres?"})
		if err != nil {
			b.Fatal(err)
		}
		end(string(res.Status), err)
	}
	// The process's CPU time, background goroutines (the batch processor,
	// the exporter) included: less sensitive than ns/op to other processes
	// on a shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDebateTracing measures what tracing costs a debate
// (docs/BENCHMARKS.md#tracing-overhead): off (nothing wrapped, the
// service's default), the no-op tracer (wrapped, nothing recorded), and on
// at 100 % sampling with the SDK's batch processor, exporting to an
// exporter that drops the spans and with the OTLP/HTTP exporter to a local
// receiver that reads and drops each request.
func BenchmarkDebateTracing(b *testing.B) {
	b.Run("off", func(b *testing.B) { benchDebate(b, nil) })
	b.Run("noop", func(b *testing.B) { benchDebate(b, tracing.New(nil)) })
	b.Run("on-discard", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer tp.Shutdown(context.Background())
		benchDebate(b, tracing.New(tp))
	})
	b.Run("on-otlp", func(b *testing.B) {
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
		}))
		defer rc.Close()
		exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(rc.URL+"/v1/traces"))
		if err != nil {
			b.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(exp))
		defer tp.Shutdown(context.Background())
		benchDebate(b, tracing.New(tp))
	})
}
