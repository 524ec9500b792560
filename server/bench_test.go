package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/store/sqlitestore"
)

// benchServer builds a server the way `aragora serve` does for the http
// scenario of bench/ (service token through auth.Authenticator, loggers at
// warn level, no rate limiting) over st.
func benchServer(b *testing.B, st store.DebateStore) *server.Server {
	b.Helper()
	lg := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := server.Config{Version: "0.8.0",
		Auth:   &authpkg.Authenticator{ServiceToken: token},
		Logger: lg, AuthLogger: lg, WSLogger: lg, Lifecycle: lifecycle.Config{Logger: lg}}
	return startServer(b, st, demoRegistry{}, cfg)
}

// finishedDebate runs a demo debate through the API and returns its id
// once it is finished.
func finishedDebate(b *testing.B, h http.Handler) string {
	b.Helper()
	r := httptest.NewRequest("POST", "/api/debates", strings.NewReader(`{"question":"Use Postgres?","rounds":2,"metadata":{"ticket":"OPS-1"}}`))
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusAccepted {
		b.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		w := serveGet(h, "/api/debates/"+created.ID)
		var obj struct {
			Status    store.Status `json:"status"`
			ReceiptID *string      `json:"receipt_id"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &obj)
		if store.Terminal(obj.Status) && obj.ReceiptID != nil {
			return created.ID
		}
	}
	b.Fatal("debate did not finish")
	return ""
}

func serveGet(h http.Handler, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func benchGet(b *testing.B, h http.Handler, path string) {
	b.Helper()
	if w := serveGet(h, path); w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		if w := serveGet(h, path); w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, w.Code)
		}
	}
}

// BenchmarkGetDebate serves GET /api/debates/{id} of one finished debate
// with the service token, over memstore and over sqlitestore (the http
// scenario's store).
func BenchmarkGetDebate(b *testing.B) {
	b.Run("memstore", func(b *testing.B) {
		h := benchServer(b, memstore.New()).Handler()
		benchGet(b, h, "/api/debates/"+finishedDebate(b, h))
	})
	b.Run("sqlite", func(b *testing.B) {
		ctx := context.Background()
		st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "aragora.db"), sqlitestore.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		h := benchServer(b, st).Handler()
		benchGet(b, h, "/api/debates/"+finishedDebate(b, h))
	})
}

// BenchmarkHealth serves GET /api/health with the same credentials, for
// comparison with BenchmarkGetDebate.
func BenchmarkHealth(b *testing.B) {
	h := benchServer(b, memstore.New()).Handler()
	benchGet(b, h, "/api/health")
}
