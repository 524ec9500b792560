package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
)

// CLI lease timing: the same lease as a server replica's (docs/operations.md#stop-drain-and-restart).
const (
	cliLeaseTTL       = 30 * time.Second
	cliHeartbeatEvery = 10 * time.Second
)

// cliHolder names this process as a lease owner.
func cliHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("cli:%s:%d", host, os.Getpid())
}

// holdLease claims debate id for this process when the store keeps leases
// and refreshes the claim every 10 s until the returned stop is called, so
// that a server's sweeper never takes over a debate the CLI is running. A
// debate another live process holds is taken over only by --resume
// (docs/cli.md): then one of the two loses at its next checkpoint write.
func holdLease(ctx context.Context, st store.DebateStore, id string, now func() time.Time, warn io.Writer) (stop func()) {
	l, ok := st.(store.Leaser)
	if !ok {
		return func() {}
	}
	owner := cliHolder()
	if _, err := l.ClaimDebate(ctx, id, owner, now(), cliLeaseTTL); err != nil {
		fmt.Fprintf(warn, "aragora: debate %s: lease not taken (%v); continuing\n", id, err)
		return func() {}
	}
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(cliHeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
				if err := l.Heartbeat(hctx, id, owner, now(), cliLeaseTTL); errors.Is(err, store.ErrConflict) {
					fmt.Fprintf(warn, "aragora: debate %s: lease lost: %v\n", id, err)
					return
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// recordResult stores the finished debate's result document, as the
// server does, so that the API shows its verdict and receipt.
func recordResult(ctx context.Context, st store.DebateStore, res *debate.Result, runErr error, now time.Time) error {
	l, ok := st.(store.Leaser)
	if !ok || !store.Terminal(res.Status) {
		return nil
	}
	if err := l.SetResult(ctx, res.DebateID, server.ResultDocument(res, runErr), now); err != nil {
		return fmt.Errorf("debate: record result of %s: %w", res.DebateID, err)
	}
	return nil
}
