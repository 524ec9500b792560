package auth_test

import (
	"context"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/internal/testclock"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var secret = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable test clock.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)) }

// tiny argon2 parameters: tests never run 64 MiB hashes.
var tinyPasswords = auth.PasswordConfig{Memory: 64, Time: 1, Threads: 1}

type fixture struct {
	st  *memstore.Auth
	clk *clock
	svc *auth.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := memstore.NewAuth()
	clk := newClock()
	svc, err := auth.New(context.Background(), st, secret, auth.Config{Now: clk.Now, Password: tinyPasswords})
	require.NoError(t, err)
	return &fixture{st: st, clk: clk, svc: svc}
}

// reopen builds a new Service on the same store and secret (a restart).
func (f *fixture) reopen(t *testing.T) *auth.Service {
	t.Helper()
	svc, err := auth.New(context.Background(), f.st, secret, auth.Config{Now: f.clk.Now, Password: tinyPasswords})
	require.NoError(t, err)
	return svc
}

func (f *fixture) user(t *testing.T, email string, role auth.Role) *store.User {
	t.Helper()
	u, err := f.svc.CreateUser(context.Background(), auth.NewUser{Email: email, Password: "correct horse battery", Role: role})
	require.NoError(t, err)
	return u
}

// pair issues a token pair for u.
func (f *fixture) pair(t *testing.T, u *store.User) auth.Pair {
	t.Helper()
	p, err := f.svc.IssuePair(context.Background(), u)
	require.NoError(t, err)
	return p
}

func nil2rand() io.Reader { return rand.Reader }
