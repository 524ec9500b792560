package conform_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/internal/conform"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunGivesEachCaseItsOwnImplementation(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]*int{}
	record := func(t *testing.T, impl *int) {
		mu.Lock()
		defer mu.Unlock()
		seen[t.Name()] = impl
	}
	t.Run("suite", func(t *testing.T) {
		conform.Run(t, func(*testing.T) *int { return new(int) }, []conform.Case[*int]{{Name: "A", Fn: record}, {Name: "B", Fn: record}})
	})
	assert.Len(t, seen, 2)
	assert.NotSame(t, seen["TestRunGivesEachCaseItsOwnImplementation/suite/A"], seen["TestRunGivesEachCaseItsOwnImplementation/suite/B"])
}

func TestContextEndsWithTheTest(t *testing.T) {
	var ctxDone <-chan struct{}
	t.Run("check", func(t *testing.T) {
		ctx := conform.Context(t)
		_, ok := ctx.Deadline()
		assert.True(t, ok, "a check has a deadline")
		ctxDone = ctx.Done()
	})
	select {
	case <-ctxDone:
	default:
		t.Fatal("the context outlived its test")
	}
}
