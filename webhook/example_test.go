package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/webhook"
)

// A worker delivers an event to a receiver, which verifies the Standard
// Webhooks signature.
func Example() {
	secret := webhook.NewSecret()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now(), webhook.DefaultTolerance); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Printf("verified %s\n", body[:len(`{"type":"debate.created"`)])
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	w, err := webhook.New(memstore.New(), webhook.Config{
		Endpoints: []webhook.Endpoint{{ID: "env-1", URL: receiver.URL, Secret: secret, Events: []string{webhook.AllEvents}}},
		Guard:     webhook.Guard{AllowPrivate: true}, // the receiver listens on 127.0.0.1
	})
	if err != nil {
		panic(err)
	}
	defer w.Close(context.Background())
	ctx := context.Background()
	if _, err := w.Enqueue(ctx, webhook.EventDebateCreated, map[string]string{"id": "deb_01"}, ""); err != nil {
		panic(err)
	}
	if err := w.RunOnce(ctx); err != nil { // Start would run it in the background
		panic(err)
	}
	q, _ := w.Queue(ctx)
	fmt.Println("pending:", q.Size)
	// Output:
	// verified {"type":"debate.created"
	// pending: 0
}

// The k-th retry waits min(5 s × 4^(k−1), 6 h), ±20 %.
func ExampleBackoff() {
	for k := 1; k <= 8; k++ {
		fmt.Print(webhook.Backoff(k), " ")
	}
	fmt.Println()
	// Output: 5s 20s 1m20s 5m20s 21m20s 1h25m20s 5h41m20s 6h0m0s
}

// Registration refuses literal private addresses at once; host names are
// checked again at every dial.
func ExampleGuard_CheckURL() {
	g := webhook.Guard{RequireHTTPS: true}
	for _, u := range []string{"https://hooks.example.com/aragora", "https://169.254.169.254/latest", "http://hooks.example.com/"} {
		_, err := g.CheckURL(u)
		fmt.Println(u, "→", err)
	}
	// Output:
	// https://hooks.example.com/aragora → <nil>
	// https://169.254.169.254/latest → webhook: url: destination 169.254.169.254 is a private, loopback, link-local or reserved address
	// http://hooks.example.com/ → webhook: url: must be https in production
}
