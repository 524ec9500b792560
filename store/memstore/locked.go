package memstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aragora/aragora/store"
)

// The helpers below are the shapes every method of this package repeats:
// check ctx, then work on a map with the owner's mutex held, copying values
// out.

// locked returns ctx.Err() if ctx is done; otherwise it runs f with mu held.
func locked[T any](ctx context.Context, mu *sync.Mutex, f func() (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	mu.Lock()
	defer mu.Unlock()
	return f()
}

// lockedErr is [locked] for methods that return only an error.
func lockedErr(ctx context.Context, mu *sync.Mutex, f func() error) error {
	_, err := locked(ctx, mu, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// notFound returns "memstore: <what>: " wrapping store.ErrNotFound.
func notFound(format string, args ...any) error {
	return fmt.Errorf("memstore: %s: %w", fmt.Sprintf(format, args...), store.ErrNotFound)
}

// get returns cp(m[k]), or [notFound] of format and args when k is absent.
// Callers hold the lock that guards m.
func get[K comparable, V, R any](m map[K]V, k K, cp func(V) R, format string, args ...any) (R, error) {
	v, ok := m[k]
	if !ok {
		var zero R
		return zero, notFound(format, args...)
	}
	return cp(v), nil
}

// collect appends cp(v) to out for every v of m that keep accepts (nil keep:
// all), and sorts the result with order. Callers hold the lock that guards m.
func collect[K comparable, V, R any](out []R, m map[K]V, keep func(V) bool, cp func(V) R, order func(R, R) int) []R {
	for _, v := range m {
		if keep == nil || keep(v) {
			out = append(out, cp(v))
		}
	}
	slices.SortFunc(out, order)
	return out
}

// deleteExpired deletes the values of m that expire (per expires) at or
// before now and returns how many it deleted. Callers hold the lock that
// guards m.
func deleteExpired[K comparable, V any](m map[K]V, now time.Time, expires func(V) time.Time) int64 {
	var n int64
	for k, v := range m {
		if !expires(v).After(now) {
			delete(m, k)
			n++
		}
	}
	return n
}

// insertNew stores v under k, or returns "memstore: <what>: " wrapping
// store.ErrConflict when k is taken. Callers hold the lock that guards m.
func insertNew[K comparable, V any](m map[K]V, k K, v V, format string, args ...any) error {
	if _, ok := m[k]; ok {
		return fmt.Errorf("memstore: %s: %w", fmt.Sprintf(format, args...), store.ErrConflict)
	}
	m[k] = v
	return nil
}
