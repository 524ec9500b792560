package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, "Should we adopt Postgres?"))
	s := out.String()
	assert.Contains(t, s, "[round 1] demo-analyst proposes: ")
	assert.Contains(t, s, "[round 1] demo-critic proposes: ")
	assert.Contains(t, s, "status:     ")
	assert.Contains(t, s, "verdict:    ")
	assert.Regexp(t, `receipt:    DR-\d{8}-[0-9a-f]{6} sha256:[0-9a-f]{64}`, s)
}

func TestRunIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	require.NoError(t, run(context.Background(), &a, "Q?"))
	require.NoError(t, run(context.Background(), &b, "Q?"))
	// Everything but the receipt line (its id and hash depend on the clock).
	cut := func(s string) string { return s[:strings.LastIndex(s, "receipt:")] }
	assert.Equal(t, cut(a.String()), cut(b.String()))
}

func TestRunRejectsBlankQuestion(t *testing.T) {
	assert.Error(t, run(context.Background(), &bytes.Buffer{}, "  "))
}
