// Package conform is the runner the conformance suites share (storetest,
// memorytest, webhooktest): each check is a named function of a fresh
// implementation, run as a parallel subtest. It is imported only by those
// suites, from _test.go files.
package conform

import (
	"context"
	"testing"
	"time"
)

// Base is a fixed, non-UTC instant with nanoseconds: stored and read back,
// it checks a backend's UTC conversion and microsecond precision.
var Base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 5*3600+1800))

// Case is one named check of a suite over implementations of type S.
type Case[S any] struct {
	Name string
	Fn   func(*testing.T, S)
}

// Run runs every case as a parallel subtest of t, each on its own
// implementation from newImpl (called from the subtest, which owns its
// cleanup).
func Run[S any](t *testing.T, newImpl func(*testing.T) S, cases []Case[S]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			c.Fn(t, newImpl(t))
		})
	}
}

// Context returns a context that ends after 30 s or when t ends, whichever
// comes first: a check that hangs fails instead of stalling the suite.
func Context(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
