package main

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/webhook"
)

func signed(t *testing.T, secret, id string, at time.Time, body string) *http.Request {
	t.Helper()
	key, err := webhook.ParseSecret(secret)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/aragora", strings.NewReader(body))
	r.Header.Set("webhook-id", id)
	r.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	r.Header.Set("webhook-signature", webhook.Sign(key, id, at, []byte(body)))
	return r
}

func TestReceiver(t *testing.T) {
	secret := webhook.NewSecret()
	var handled []string
	fail := true
	rc := newReceiver(secret, func(id string, e Event) error {
		if e.Type == "debate.failed_once" && fail {
			fail = false
			return errors.New("database busy")
		}
		handled = append(handled, id+" "+e.Type)
		return nil
	}, log.New(io.Discard, "", 0))
	now := time.Now()
	body := `{"type":"debate.finished","timestamp":"2024-01-15T10:31:02.5Z","data":{"id":"deb_1","receipt_id":"DR-20240115-a3f8c2"}}`
	serve := func(r *http.Request) int {
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, r)
		return w.Code
	}
	assert.Equal(t, http.StatusNoContent, serve(signed(t, secret, "msg_1", now, body)))
	assert.Equal(t, http.StatusOK, serve(signed(t, secret, "msg_1", now.Add(time.Minute), body)), "a retry of a handled message")
	assert.Equal(t, []string{"msg_1 debate.finished"}, handled, "handled once")

	assert.Equal(t, http.StatusUnauthorized, serve(signed(t, webhook.NewSecret(), "msg_2", now, body)), "wrong secret")
	assert.Equal(t, http.StatusUnauthorized, serve(signed(t, secret, "msg_2", now.Add(-6*time.Minute), body)), "stale timestamp")
	tampered := signed(t, secret, "msg_2", now, body)
	tampered.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "deb_1", "deb_2", 1)))
	assert.Equal(t, http.StatusUnauthorized, serve(tampered), "altered body")
	unsigned := signed(t, secret, "msg_2", now, body)
	unsigned.Header.Del("webhook-signature")
	assert.Equal(t, http.StatusUnauthorized, serve(unsigned))

	once := `{"type":"debate.failed_once","timestamp":"2024-01-15T10:31:02.5Z","data":{}}`
	assert.Equal(t, http.StatusServiceUnavailable, serve(signed(t, secret, "msg_3", now, once)), "a failure asks for a retry")
	assert.Equal(t, http.StatusNoContent, serve(signed(t, secret, "msg_3", now, once)), "the retry is handled")
	assert.Equal(t, http.StatusMethodNotAllowed, serve(httptest.NewRequest(http.MethodGet, "/aragora", nil)))
}

// TestReceivesAragoraDeliveries sends real deliveries from a webhook
// worker to the receiver.
func TestReceivesAragoraDeliveries(t *testing.T) {
	secret := webhook.NewSecret()
	var mu sync.Mutex
	var types []string
	rc := newReceiver(secret, func(_ string, e Event) error {
		mu.Lock()
		defer mu.Unlock()
		types = append(types, e.Type)
		return nil
	}, log.New(io.Discard, "", 0))
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w, err := webhook.New(memstore.New(), webhook.Config{Guard: webhook.Guard{AllowPrivate: true},
		Endpoints: []webhook.Endpoint{{ID: "env-1", URL: srv.URL, Secret: secret, Events: []string{webhook.AllEvents}}}})
	require.NoError(t, err)
	defer w.Close(context.Background())
	ctx := context.Background()
	for _, typ := range []string{webhook.EventDebateCreated, webhook.EventDebateFinished} {
		_, err := w.Enqueue(ctx, typ, map[string]string{"id": "deb_1"}, "")
		require.NoError(t, err)
	}
	require.NoError(t, w.RunOnce(ctx))
	mu.Lock()
	defer mu.Unlock()
	assert.ElementsMatch(t, []string{"debate.created", "debate.finished"}, types)
}
