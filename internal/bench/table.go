package bench

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/aragora/aragora/internal/bench/measure"
)

// Row is one measured figure of a scenario, with the baseline it is
// compared to (package measure, shared with the peer scenario's lean
// binary).
type Row = measure.Row

// Table is an ordered list of rows.
type Table = measure.Table

// HeapProbe takes one heap profile in the middle of a concurrent run.
type HeapProbe = measure.HeapProbe

// Median folds several runs of the same scenarios into one table (see
// [measure.Median]).
func Median(runs []Table) Table { return measure.Median(runs) }

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the p-th percentile (0..100) of ds by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.SortFunc(s, cmp.Compare)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
