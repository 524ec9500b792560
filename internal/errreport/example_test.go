package errreport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/internal/errreport"
)

// A service wraps its loggers' handlers and its listeners with a Reporter,
// and flushes it at shutdown. Here a local server stands in for Sentry.
func Example() {
	var mu sync.Mutex
	var events []map[string]any
	sentry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil && e["event_id"] != nil && e["level"] != nil {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}
		}
	}))
	defer sentry.Close()

	rep, err := errreport.New(errreport.Config{
		DSN:         strings.Replace(sentry.URL, "http://", "http://publickey@", 1) + "/1",
		Environment: "production",
		Release:     "aragora@0.8.0",
		Secrets:     []string{"s3cret-jwt-signing-key"},
	})
	if err != nil {
		panic(err)
	}
	log := slog.New(rep.Handler(slog.NewTextHandler(io.Discard, nil))).With("logger", "aragora.api")
	log.Error("request_error", "code", "internal", "route", "/api/debates/{id}",
		"correlation_id", "corr-7k2m9x4q1z8c3v5b", "debate_id", "deb_01hq3z8k2m4n6p8r0t2v4x6z8b",
		"error", "signing with s3cret-jwt-signing-key failed")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep.Flush(ctx)
	rep.Close()

	mu.Lock()
	defer mu.Unlock()
	for _, e := range events {
		tags := e["tags"].(map[string]any)
		fmt.Println(e["message"])
		fmt.Println(tags["correlation_id"], tags["debate_id"], tags["route"], e["environment"], e["release"])
	}
	// Output:
	// request_error: signing with [Filtered] failed
	// corr-7k2m9x4q1z8c3v5b deb_01hq3z8k2m4n6p8r0t2v4x6z8b /api/debates/{id} production aragora@0.8.0
}
