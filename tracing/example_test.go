package tracing_test

import (
	"context"
	"fmt"
	"log"
	"sort"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/tracing"
)

// Example traces a debate run with the engine alone (no HTTP, no
// lifecycle), the library user's way: the debate's span from Start, the
// events through Observer, each participant's calls through Agent. Here
// the spans go to an in-memory exporter; a program passes its own
// TracerProvider, or one from tracing.NewProvider(ctx, tracing.FromEnv(os.Getenv)).
func Example() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	tr := tracing.New(tp)

	var ps []debate.Participant
	for _, name := range []string{"demo-analyst", "demo-critic", "demo-judge"} {
		style := demo.DefaultStyle(name)
		a := demo.New(name, style, 1)
		ps = append(ps, debate.Participant{Name: name, Agent: tr.Agent(name, demo.Provider, a.Model(), a)})
	}
	o, err := debate.New(debate.Config{Rounds: 1, Observers: []debate.Observer{tr.Observer()}}, ps...)
	if err != nil {
		log.Fatal(err)
	}
	ctx, end := tr.Start(context.Background(), "deb-example")
	res, err := o.RunTask(ctx, debate.Task{ID: "deb-example", Question: "Should we adopt Postgres?"})
	end(string(res.Status), err)

	// Count the spans by name.
	count := map[string]int{}
	for _, s := range exp.GetSpans() {
		name, _, _ := strings.Cut(s.Name, " demo-") // "chat demo-critical" → "chat"
		count[name]++
	}
	var names []string
	for n := range count {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n, count[n])
	}
	// Output:
	// chat 12
	// debate 1
	// phase critique 1
	// phase propose 1
	// phase vote 1
	// round 1 1
}
