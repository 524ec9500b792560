package bench_test

import (
	"os"

	"github.com/aragora/aragora/internal/bench"
)

func ExampleMedian() {
	runs := []bench.Table{
		{{Scenario: "http", Case: "GET /api/health", Metric: "req/s", Value: 900, Baseline: "hello req/s", BaselineValue: 1000}},
		{{Scenario: "http", Case: "GET /api/health", Metric: "req/s", Value: 800, Baseline: "hello req/s", BaselineValue: 1000}},
		{{Scenario: "http", Case: "GET /api/health", Metric: "req/s", Value: 700, Baseline: "hello req/s", BaselineValue: 1000}},
	}
	_ = bench.Median(runs).Print(os.Stdout, true)
	// Output:
	// | scenario | case | metric | value | baseline | baseline value | ratio |
	// |---|---|---|---|---|---|---|
	// | http | GET /api/health | req/s | 800.0 | hello req/s | 1000 | 0.800 |
}
