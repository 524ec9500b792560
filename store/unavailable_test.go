package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/store"
)

type pgErr struct{ code string }

func (e pgErr) Error() string    { return "ERROR: something (SQLSTATE " + e.code + ")" }
func (e pgErr) SQLState() string { return e.code }

func TestUnavailableClassifiesStoreFaults(t *testing.T) {
	t.Parallel()
	full := []error{
		fmt.Errorf("sqlitestore: save: %w", errors.New("database or disk is full (13)")),
		&os.PathError{Op: "write", Path: "/data/aragora.db-wal", Err: syscall.ENOSPC},
		fmt.Errorf("pgstore: %w", pgErr{"53100"}),
		fmt.Errorf("x: %w", store.ErrStorageFull),
	}
	down := []error{
		fmt.Errorf("pgstore: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}),
		fmt.Errorf("pgstore: %w", pgErr{"57P01"}),
		fmt.Errorf("pgstore: %w", pgErr{"08006"}),
		errors.New("failed to connect to `user=postgres database=test`: dial error"),
		errors.New("sqlitestore: database is locked (5) (SQLITE_BUSY)"),
		errors.New("disk I/O error (10)"),
		fmt.Errorf("x: %w", store.ErrUnavailable),
	}
	other := []error{
		store.ErrNotFound, store.ErrConflict, context.Canceled,
		fmt.Errorf("pgstore: %w", pgErr{"23505"}),
		errors.New("sqlitestore: constraint failed: UNIQUE constraint failed"),
	}
	for _, err := range full {
		assert.Equal(t, store.ErrStorageFull, store.Unavailable(err), err.Error())
		assert.ErrorIs(t, store.Unavailable(err), store.ErrUnavailable, "full is a kind of unavailable")
	}
	for _, err := range down {
		assert.Equal(t, store.ErrUnavailable, store.Unavailable(err), err.Error())
	}
	for _, err := range other {
		assert.NoError(t, store.Unavailable(err), err.Error())
	}
	assert.NoError(t, store.Unavailable(nil))
}
