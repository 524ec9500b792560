package service_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/service"
)

// Example_wholeService is the third level of README.md's "Use it as a
// library": the whole service (stores, auth, rate limits, agents, metrics,
// the web console) with a route of the program's own, its handler mounted
// in the program's mux. examples/embedservice runs it on its own
// listener instead, with a custom provider.
func Example_wholeService() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "aragora")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// The zero Config is development mode on SQLite under DataDir with the
	// demo agents; service.ConfigFromEnv(os.Getenv) reads the environment
	// exactly as `aragora serve` does (docs/configuration.md).
	cfg := service.Config{DataDir: dir, Stderr: io.Discard}
	cfg.Routes = append(cfg.Routes, server.Route{Pattern: "GET /api/hello", Role: auth.Public,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello from my program") })})
	svc, err := service.Open(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	svc.Start()             // the sweeper and the webhook worker; svc.Run(ctx) does it all, listeners included
	defer svc.Shutdown(ctx) // drains, then suspends running debates for the next process

	mux := http.NewServeMux()
	mux.Handle("/", svc.Handler()) // the API, WebSockets included, and the console
	for _, path := range []string{"/api/health", "/api/hello"} {
		w := httptest.NewRecorder() // a real program serves mux on its listener
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, w.Code)
	}
	// Output:
	// /api/health 200
	// /api/hello 200
}
