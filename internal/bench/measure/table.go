// Package measure holds what every benchmark scenario of Aragora measures
// with: the [Row] and [Table] of figures, [Median] over runs, the
// process's own RSS, peak RSS and CPU time (/proc/self), the runtime's
// peaks ([SampleRuntime]) and the mid-run heap profile ([HeapProbe]). It
// imports only the standard library and the agent package, so that a
// scenario built on it alone (internal/bench/peerbench, run by
// cmd/benchpeer) links nothing but the engine it measures; the harness
// internal/bench, which links every backend, builds on it too.
package measure

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one measured figure of a scenario, with the baseline it is
// compared to. A Row is a plain value, safe to copy.
type Row struct {
	Scenario string  `json:"scenario"` // e.g. "engine"
	Case     string  `json:"case"`     // e.g. "serial, instant demo agents"
	Metric   string  `json:"metric"`   // e.g. "debates/s"
	Value    float64 `json:"value"`
	// Baseline names what Value is compared to; "" means no comparison.
	Baseline      string  `json:"baseline,omitempty"`
	BaselineValue float64 `json:"baseline_value,omitempty"`
}

// Ratio returns Value / BaselineValue, or NaN without a baseline.
func (r Row) Ratio() float64 {
	if r.Baseline == "" || r.BaselineValue == 0 {
		return math.NaN()
	}
	return r.Value / r.BaselineValue
}

func (r Row) key() string {
	return r.Scenario + "\x00" + r.Case + "\x00" + r.Metric + "\x00" + r.Baseline
}

// Table is an ordered list of rows.
type Table []Row

// Median folds several runs of the same scenarios into one table: for each
// (scenario, case, metric, baseline) it keeps the median Value and the
// median BaselineValue, in the order the rows first appear. Rows missing
// from some runs are folded over the runs that have them.
func Median(runs []Table) Table {
	var order []string
	vals := map[string][]float64{}
	bases := map[string][]float64{}
	first := map[string]Row{}
	for _, t := range runs {
		for _, r := range t {
			k := r.key()
			if _, ok := first[k]; !ok {
				order = append(order, k)
				first[k] = r
			}
			vals[k] = append(vals[k], r.Value)
			bases[k] = append(bases[k], r.BaselineValue)
		}
	}
	out := make(Table, 0, len(order))
	for _, k := range order {
		r := first[k]
		r.Value = median(vals[k])
		r.BaselineValue = median(bases[k])
		out = append(out, r)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Print writes t as an aligned text table (markdown when md is true).
func (t Table) Print(w io.Writer, md bool) error {
	hdr := []string{"scenario", "case", "metric", "value", "baseline", "baseline value", "ratio"}
	var lines [][]string
	for _, r := range t {
		ratio, bv := "", ""
		if r.Baseline != "" {
			bv = fmtNum(r.BaselineValue)
			ratio = fmtNum(r.Ratio())
		}
		lines = append(lines, []string{r.Scenario, r.Case, r.Metric, fmtNum(r.Value), r.Baseline, bv, ratio})
	}
	if md {
		var b strings.Builder
		b.WriteString("| " + strings.Join(hdr, " | ") + " |\n")
		b.WriteString("|" + strings.Repeat("---|", len(hdr)) + "\n")
		for _, l := range lines {
			b.WriteString("| " + strings.Join(l, " | ") + " |\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	for _, l := range lines {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	return tw.Flush()
}

// fmtNum prints 3 significant digits, without exponent for everyday sizes.
func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e9 || math.Abs(v) < 1e-3:
		return fmt.Sprintf("%.3g", v)
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// MS converts a duration to float milliseconds.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Percentile returns the p-th percentile (0..100) of ds by nearest rank.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.SortFunc(s, cmp.Compare)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Write writes t to w: as JSON lines, one row a line (what cmd/benchall
// reads from its child runs), with rowsJSON, else as [Table.Print] does.
func (t Table) Write(w io.Writer, rowsJSON, md bool) error {
	if !rowsJSON {
		return t.Print(w, md)
	}
	enc := json.NewEncoder(w)
	for _, r := range t {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
