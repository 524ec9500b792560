// Command embedservice is `aragora serve` inside another Go program, on SQLite
// under ./data, with the Acme provider of examples/provider and a route of its own:
//
//	ACME_API_KEY=… go run ./examples/embedservice   # then: curl localhost:8080/api/hello
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/examples/provider"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, nil); err != nil {
		fmt.Fprintln(os.Stderr, "embedservice:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; opened, when set, sees the service first (tests).
func run(ctx context.Context, getenv func(string) string, opened func(*service.Service)) error {
	cfg, err := service.ConfigFromEnv(getenv) // every variable `aragora serve` reads
	if err != nil {
		return err
	}
	cfg.Agents.Providers = append(cfg.Agents.Providers, provider.Provider())
	cfg.Routes = append(cfg.Routes, server.Route{Pattern: "GET /api/hello", Role: auth.Public,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello from my program") })})
	svc, err := service.Open(ctx, cfg)
	if err != nil {
		return err
	}
	if opened != nil {
		opened(svc)
	}
	return svc.Run(ctx) // listeners, then the graceful shutdown sequence when ctx ends
}
