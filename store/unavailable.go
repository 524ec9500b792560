package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Errors of a store that cannot serve now (docs/http-api.md#errors): the
// server answers them 503 store_unavailable and 507 insufficient_storage,
// never 500. ErrStorageFull is a kind of ErrUnavailable.
var (
	// ErrUnavailable reports a store that cannot be reached or cannot
	// write now (stopped, restarting, locked, read-only); retry later.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrStorageFull reports a store whose volume is full: reads still
	// work, writes fail until space is freed.
	ErrStorageFull = &fullError{}
)

type fullError struct{}

func (*fullError) Error() string        { return "store: storage full" }
func (*fullError) Is(target error) bool { return target == ErrUnavailable }

// WriteProber is optional: a store that can prove it writes. ProbeWrite
// performs one small real write (committed, on the store's volume) and
// returns its error; readiness uses it (docs/http-api.md#health-and-metrics).
type WriteProber interface {
	ProbeWrite(ctx context.Context) error
}

// Unavailable classifies err: ErrStorageFull for a full volume or
// database, ErrUnavailable for a store that cannot be reached or cannot
// write now (connection refused or reset, a server shutting down or
// starting, a locked or read-only database, an I/O error), nil otherwise
// (a bug, a constraint, a missing record). Backends may wrap the sentinels
// themselves; drivers' errors are recognised by their errno, their
// SQLSTATE (any error with a SQLState() string method) or their message.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrStorageFull) {
		return ErrStorageFull
	}
	if errors.Is(err, ErrUnavailable) {
		return ErrUnavailable
	}
	if errors.Is(err, syscall.ENOSPC) {
		return ErrStorageFull
	}
	var sqlState interface{ SQLState() string }
	if errors.As(err, &sqlState) {
		switch code := sqlState.SQLState(); {
		case code == "53100":
			return ErrStorageFull
		case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), code == "57P01", code == "57P02", code == "57P03", code == "25006":
			return ErrUnavailable
		}
		return nil
	}
	msg := strings.ToLower(err.Error())
	for _, s := range fullMessages {
		if strings.Contains(msg, s) {
			return ErrStorageFull
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrUnavailable
	}
	for _, s := range unavailableMessages {
		if strings.Contains(msg, s) {
			return ErrUnavailable
		}
	}
	return nil
}

// fullMessages are the lower-case messages of a full volume (SQLite's
// SQLITE_FULL, the kernel's ENOSPC and EDQUOT as text).
var fullMessages = []string{"database or disk is full", "no space left on device", "disk quota exceeded"}

// unavailableMessages are the lower-case messages of a store that cannot
// serve now (SQLite's SQLITE_BUSY, SQLITE_IOERR, SQLITE_READONLY and
// SQLITE_CANTOPEN; a Postgres connection that failed or was closed).
var unavailableMessages = []string{
	"database is locked", "disk i/o error", "readonly database", "unable to open database file",
	"connection refused", "connection reset", "broken pipe", "failed to connect", "conn closed",
	"closed pool", "server closed the connection", "unexpected eof", "the database system is",
	"terminating connection", "no connection to the server", "sql: database is closed", "read-only file system",
}
