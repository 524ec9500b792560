package service

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/syncbuf"
	"github.com/aragora/aragora/webhook"
)

func TestWebhookLease(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 30*time.Second, webhookLease(30*time.Second), "the debate lease")
	assert.Equal(t, 20*time.Second, webhookLease(time.Second), "always longer than an attempt")
}

func TestWebhooksConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"WEBHOOK_URL": "https://a.example/h, https://b.example/h", "ARAGORA_WEBHOOK_SECRET": webhook.NewSecret(),
		"ARAGORA_WEBHOOK_QUEUE_SIZE": "5000", "ARAGORA_WEBHOOK_MAX_ATTEMPTS": "3", "ARAGORA_WEBHOOK_ALLOW_PRIVATE": "yes"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, []string{"https://a.example/h", "https://b.example/h"}, c.Webhooks.URLs)
	assert.Equal(t, 5000, c.Webhooks.QueueSize)
	assert.Equal(t, 3, c.Webhooks.MaxAttempts)
	assert.True(t, c.Webhooks.AllowPrivate)
	require.NoError(t, c.Validate())

	for name, bad := range map[string]map[string]string{
		"ARAGORA_WEBHOOK_QUEUE_SIZE":    {"ARAGORA_WEBHOOK_QUEUE_SIZE": "0"},
		"ARAGORA_WEBHOOK_MAX_ATTEMPTS":  {"ARAGORA_WEBHOOK_MAX_ATTEMPTS": "x"},
		"ARAGORA_WEBHOOK_ALLOW_PRIVATE": {"ARAGORA_WEBHOOK_ALLOW_PRIVATE": "maybe"},
	} {
		_, err := ConfigFromEnv(func(k string) string { return bad[k] })
		require.Error(t, err, name)
		assert.True(t, IsConfigError(err))
		assert.Contains(t, err.Error(), name)
	}
	for want, c := range map[string]Config{
		"ARAGORA_WEBHOOK_ALLOW_PRIVATE": {Webhooks: WebhooksConfig{URLs: []string{"http://127.0.0.1:9/h"}}},
		"WEBHOOK_URL entry 1":           {Webhooks: WebhooksConfig{URLs: []string{"ftp://a.example"}}},
		"ARAGORA_WEBHOOK_SECRET":        {Webhooks: WebhooksConfig{URLs: []string{"https://a.example"}, Secret: "hunter2"}},
	} {
		err := c.Validate()
		require.Error(t, err, want)
		assert.True(t, IsConfigError(err))
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

// TestDebateEventsAreDelivered runs the service on a memory store with a
// WEBHOOK_URL receiver: a debate created through the API produces
// debate.created and debate.finished (and consensus.reached when it
// reached consensus), signed, with the debate's correlation id.
func TestDebateEventsAreDelivered(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSecret()
	type got struct {
		typ, corr string
		data      map[string]any
	}
	var mu sync.Mutex
	var hits []got
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(body, &p)
		mu.Lock()
		hits = append(hits, got{p.Type, r.Header.Get("X-Correlation-ID"), p.Data})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	const token = "service-webhook-test-token-0123456789"
	var stderr syncbuf.Buffer
	svc, err := Open(context.Background(), Config{DatabaseURL: "memory://", DataDir: t.TempDir(), APIToken: token,
		Stderr: &stderr, Webhooks: WebhooksConfig{URLs: []string{rc.URL}, Secret: secret, AllowPrivate: true}})
	require.NoError(t, err)
	defer svc.Close()
	svc.Start()

	id := createDebateAs(t, svc.Handler(), token, `{"topic":"Adopt webhooks?","rounds":1}`, "X-Correlation-ID", "corr-webhook-e2e")

	byType := func() map[string]got {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]got{}
		for _, h := range hits {
			out[h.typ] = h
		}
		return out
	}
	// Deliveries run concurrently: wait for every event the debate owes.
	var ev map[string]got
	require.Eventually(t, func() bool {
		ev = byType()
		_, created := ev[webhook.EventDebateCreated]
		fin, finished := ev[webhook.EventDebateFinished]
		_, reached := ev[webhook.EventConsensusReached]
		return created && finished && (fin.data["status"] != "consensus_reached" || reached)
	}, 60*time.Second, 20*time.Millisecond, "debate.created, debate.finished (and consensus.reached when reached) not all delivered")
	time.Sleep(50 * time.Millisecond) // a consensus.reached not owed has had its chance to show up
	ev = byType()
	created, finished := ev[webhook.EventDebateCreated], ev[webhook.EventDebateFinished]
	assert.Equal(t, id, created.data["id"])
	assert.Equal(t, "corr-webhook-e2e", created.corr)
	assert.Equal(t, id, finished.data["id"])
	assert.Equal(t, "corr-webhook-e2e", finished.corr)
	status, _ := finished.data["status"].(string)
	assert.NotEqual(t, "pending", status)
	assert.NotEqual(t, "running", status)
	assert.NotNil(t, finished.data["receipt_id"], "a finished debate has a receipt")
	assert.NotContains(t, finished.data, "final_answer", "a summary")
	cr, reached := ev[webhook.EventConsensusReached]
	assert.Equal(t, status == "consensus_reached", reached, "consensus.reached iff the debate reached consensus")
	if reached {
		assert.Equal(t, id, cr.data["debate_id"])
		assert.Equal(t, finished.data["receipt_id"], cr.data["receipt_id"])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, svc.Shutdown(ctx))
	require.NoError(t, svc.StopWebhooks(ctx))
}
