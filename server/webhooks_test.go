package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
	"github.com/aragora/aragora/webhook"
)

// newWebhookEnv is an authEnv whose server has a webhook worker (not
// started) over the same store, with one WEBHOOK_URL endpoint.
func newWebhookEnv(t *testing.T, guard webhook.Guard) (*authEnv, *webhook.Worker) {
	t.Helper()
	st := memstore.New()
	w, err := webhook.New(st, webhook.Config{Guard: guard, Endpoints: []webhook.Endpoint{
		{ID: "env-1", URL: "https://hooks.example.com/aragora?token=s3cret", Events: []string{webhook.AllEvents}}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return newAuthEnv(t, st, func(c *server.Config) { c.Webhooks = w }), w
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(b, &v), string(b))
	return v
}

func TestWebhookStatusAndQueue(t *testing.T) {
	e, _ := newWebhookEnv(t, webhook.Guard{})
	type status struct {
		Enabled   bool `json:"enabled"`
		Endpoints []struct {
			ID     string   `json:"id"`
			Source string   `json:"source"`
			URL    *string  `json:"url"`
			Events []string `json:"events"`
			State  string   `json:"state"`
		} `json:"endpoints"`
		Queue  map[string]any `json:"queue"`
		Worker struct {
			Running  bool `json:"running"`
			InFlight int  `json:"in_flight"`
		} `json:"worker"`
	}
	w := do(t, e.srv, "GET", "/api/webhooks/status", "", e.bearer(authpkg.RoleViewer))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	st := decode[status](t, w.Body.Bytes())
	assert.True(t, st.Enabled)
	require.Len(t, st.Endpoints, 1)
	assert.Equal(t, "env-1", st.Endpoints[0].ID)
	assert.Equal(t, "env", st.Endpoints[0].Source)
	assert.Nil(t, st.Endpoints[0].URL, "viewers never see the URL")
	assert.Equal(t, []string{"*"}, st.Endpoints[0].Events)
	assert.Equal(t, "active", st.Endpoints[0].State)
	for _, k := range []string{"size", "oldest_age_seconds", "dead_letter", "in_flight", "capacity", "overflowed_total", "next_attempt_at"} {
		assert.Contains(t, st.Queue, k)
	}
	assert.NotContains(t, w.Body.String(), "s3cret")

	w = do(t, e.srv, "GET", "/api/webhooks/status", "", e.bearer(authpkg.RoleAdmin))
	st = decode[status](t, w.Body.Bytes())
	require.NotNil(t, st.Endpoints[0].URL)
	assert.Equal(t, "https://hooks.example.com/aragora", *st.Endpoints[0].URL, "admins see it without its query string")

	w = do(t, e.srv, "GET", "/api/webhooks/queue", "", e.bearer(authpkg.RoleViewer))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	q := decode[map[string]any](t, w.Body.Bytes())
	assert.Equal(t, float64(0), q["size"])
	assert.Equal(t, float64(webhook.DefaultQueueSize), q["capacity"])
	assert.Nil(t, q["next_attempt_at"])

	assert.Equal(t, http.StatusUnauthorized, do(t, e.srv, "GET", "/api/webhooks/queue", "", nil).Code)
	assert.Equal(t, http.StatusBadRequest, do(t, e.srv, "GET", "/api/webhooks/queue?x=1", "", e.bearer(authpkg.RoleViewer)).Code)
}

func TestWebhookEndpointsAPI(t *testing.T) {
	e, wk := newWebhookEnv(t, webhook.Guard{})
	admin := e.bearer(authpkg.RoleAdmin)

	// Only admins manage endpoints.
	for _, r := range []authpkg.Role{authpkg.RoleViewer, authpkg.RoleMember} {
		assert.Equal(t, http.StatusForbidden, do(t, e.srv, "GET", "/api/webhooks/endpoints", "", e.bearer(r)).Code)
		assert.Equal(t, http.StatusForbidden, do(t, e.srv, "POST", "/api/webhooks/endpoints", `{"url":"https://a.example/h"}`, e.bearer(r)).Code)
		assert.Equal(t, http.StatusForbidden, do(t, e.srv, "POST", "/api/webhooks/retry-failed", "", e.bearer(r)).Code)
	}

	w := do(t, e.srv, "POST", "/api/webhooks/endpoints", `{"url":"https://hooks.example.org/in?key=k1","events":["debate.finished"],"description":"ops"}`, admin)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	created := decode[map[string]any](t, w.Body.Bytes())
	id, _ := created["id"].(string)
	assert.True(t, strings.HasPrefix(id, "wh_"), id)
	assert.Equal(t, "/api/webhooks/endpoints/"+id, w.Header().Get("Location"))
	secret, _ := created["secret"].(string)
	_, err := webhook.ParseSecret(secret)
	require.NoError(t, err, "a whsec_ secret, shown once")
	assert.Equal(t, "https://hooks.example.org/in", created["url"])
	assert.Equal(t, []any{"debate.finished"}, created["events"])
	assert.Equal(t, "api", created["source"])
	assert.Equal(t, "active", created["state"])

	w = do(t, e.srv, "GET", "/api/webhooks/endpoints", "", admin)
	require.Equal(t, http.StatusOK, w.Code)
	assert.NotContains(t, w.Body.String(), strings.TrimPrefix(secret, "whsec_"), "the secret is never shown again")
	assert.NotContains(t, w.Body.String(), `"secret"`)
	list := decode[struct {
		Endpoints []map[string]any `json:"endpoints"`
	}](t, w.Body.Bytes())
	require.Len(t, list.Endpoints, 2)
	assert.Equal(t, "env-1", list.Endpoints[0]["id"])
	assert.Equal(t, id, list.Endpoints[1]["id"])

	w = do(t, e.srv, "POST", "/api/webhooks/endpoints/"+id+"/test", "", admin)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	msg := decode[map[string]string](t, w.Body.Bytes())
	assert.True(t, strings.HasPrefix(msg["message_id"], "msg_"))
	q, err := wk.Queue(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, q.Size, "the test event is queued")

	assert.Equal(t, http.StatusNotFound, do(t, e.srv, "POST", "/api/webhooks/endpoints/wh_nope/test", "", admin).Code)
	w = do(t, e.srv, "DELETE", "/api/webhooks/endpoints/env-1", "", admin)
	assert.Equal(t, http.StatusConflict, w.Code)
	assert.Equal(t, "conflict", errCode(t, w))
	assert.Equal(t, http.StatusNoContent, do(t, e.srv, "DELETE", "/api/webhooks/endpoints/"+id, "", admin).Code)
	assert.Equal(t, http.StatusNotFound, do(t, e.srv, "DELETE", "/api/webhooks/endpoints/"+id, "", admin).Code)

	// Every change is audited.
	entries, err := e.st.ListAudit(context.Background(), store.AuditFilter{})
	require.NoError(t, err)
	var actions []string
	for _, a := range entries {
		actions = append(actions, a.Action)
	}
	for _, a := range []string{"webhook.endpoint_create", "webhook.endpoint_test", "webhook.endpoint_delete"} {
		assert.Contains(t, actions, a)
	}
}

func TestWebhookRegistrationRefusals(t *testing.T) {
	e, _ := newWebhookEnv(t, webhook.Guard{})
	prod, _ := newWebhookEnv(t, webhook.Guard{RequireHTTPS: true})
	tests := []struct {
		name, body string
		env        *authEnv
		status     int
		code       string
		field      string
	}{
		{"loopback", `{"url":"https://127.0.0.1/h"}`, e, 400, "validation_failed", "url"},
		{"private", `{"url":"http://10.0.0.7:8080/h"}`, e, 400, "validation_failed", "url"},
		{"link-local metadata", `{"url":"http://169.254.169.254/latest/meta-data"}`, e, 400, "validation_failed", "url"},
		{"IPv6 loopback", `{"url":"https://[::1]/h"}`, e, 400, "validation_failed", "url"},
		{"IPv4-mapped loopback", `{"url":"https://[::ffff:127.0.0.1]/h"}`, e, 400, "validation_failed", "url"},
		{"not http", `{"url":"file:///etc/passwd"}`, e, 400, "validation_failed", "url"},
		{"missing url", `{"events":["*"]}`, e, 400, "validation_failed", "url"},
		{"unknown event", `{"url":"https://a.example/h","events":["debate.exploded"]}`, e, 400, "validation_failed", "events"},
		{"unknown field", `{"url":"https://a.example/h","secret":"whsec_x"}`, e, 400, "unknown_field", ""},
		{"http in production", `{"url":"http://a.example/h"}`, prod, 400, "validation_failed", "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, tt.env.srv, "POST", "/api/webhooks/endpoints", tt.body, tt.env.bearer(authpkg.RoleAdmin))
			require.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, tt.code, errCode(t, w))
			if tt.field != "" {
				var b struct {
					Error struct {
						Details struct {
							Fields map[string]string `json:"fields"`
						} `json:"details"`
					} `json:"error"`
				}
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b))
				assert.Contains(t, b.Error.Details.Fields, tt.field)
			}
		})
	}
}

func TestWebhookRetryFailedAPI(t *testing.T) {
	e, wk := newWebhookEnv(t, webhook.Guard{})
	ctx := context.Background()
	for range 3 {
		_, err := wk.Enqueue(ctx, webhook.EventDebateCreated, map[string]string{"id": "deb_1"}, "")
		require.NoError(t, err)
	}
	// Dead-letter them as a full queue would.
	_, err := e.st.DispatchWebhooks(ctx, time.Now(), 0, 1, func(webhook.Message) []string { return []string{"env-1"} })
	require.NoError(t, err)
	admin := e.bearer(authpkg.RoleAdmin)
	// The runbook's form: curl -X POST with no body and no Content-Type.
	w := do(t, e.srv, "POST", "/api/webhooks/retry-failed", "", admin)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"requeued":2,"skipped":0}`, w.Body.String())
	w = do(t, e.srv, "POST", "/api/webhooks/retry-failed", `{"endpoint_id":"env-1","max":5}`,
		map[string]string{"Authorization": admin["Authorization"], "Content-Type": "application/x-www-form-urlencoded"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"requeued":0,"skipped":0}`, w.Body.String())
	assert.Equal(t, http.StatusBadRequest, do(t, e.srv, "POST", "/api/webhooks/retry-failed", `{"max":0}`, admin).Code)
	assert.Equal(t, http.StatusBadRequest, do(t, e.srv, "POST", "/api/webhooks/retry-failed", `{"endpoint_id":"a b"}`, admin).Code)
}

func TestWebhooksOffAnswerNotFound(t *testing.T) {
	e := newAuthEnv(t, nil, nil)
	w := do(t, e.srv, "GET", "/api/webhooks/status", "", e.bearer(authpkg.RoleViewer))
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, "not_found", errCode(t, w))
}
