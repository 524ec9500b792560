package bench

import (
	"time"

	"github.com/aragora/aragora/internal/bench/measure"
	"github.com/aragora/aragora/internal/bench/peerbench"
)

// Row is one measured figure of a scenario, with the baseline it is
// compared to (package measure, shared with the lean binaries of the peer
// and concurrent scenarios).
type Row = measure.Row

// Table is an ordered list of rows.
type Table = measure.Table

// HeapProbe takes one heap profile in the middle of a concurrent run.
type HeapProbe = measure.HeapProbe

// Median folds several runs of the same scenarios into one table (see
// [measure.Median]).
func Median(runs []Table) Table { return measure.Median(runs) }

// question is the Question of every benchmark debate.
const question = peerbench.Question

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return measure.MS(d) }

// percentile returns the p-th percentile (0..100) of ds by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration { return measure.Percentile(ds, p) }
