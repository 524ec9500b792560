package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	authpkg "github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/memstore"
)

// patchedStore is a memstore whose records read back changed by patch, as
// after an operator rewrote a stored document. With unended set, its event
// logs read back without their debate_end, so that no debate is sealed.
type patchedStore struct {
	*memstore.Store
	mu      sync.Mutex
	patch   func(*store.Debate)
	unended bool
	gets    int
}

func (p *patchedStore) ListEvents(ctx context.Context, id string, after int64, limit int) ([]store.Event, error) {
	evs, err := p.Store.ListEvents(ctx, id, after, limit)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unended {
		evs = slices.DeleteFunc(evs, func(e store.Event) bool { return e.Type == store.EventDebateEnd })
	}
	return evs, err
}

func (p *patchedStore) getCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gets
}

func (p *patchedStore) set(patch func(*store.Debate)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.patch = patch
}

func (p *patchedStore) GetDebate(ctx context.Context, id string) (*store.Debate, error) {
	d, err := p.Store.GetDebate(ctx, id)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gets++
	if err == nil && p.patch != nil {
		p.patch(d)
	}
	return d, err
}

// finishedWithReceipt creates a debate with body and waits until GET shows
// it finished with its receipt.
func finishedWithReceipt(t *testing.T, h http.Handler, body string) string {
	t.Helper()
	w := do(t, h, "POST", "/api/debates", body, auth)
	require.Equal(t, 202, w.Code, w.Body.String())
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &created))
	waitFinished(t, h, created.ID)
	require.Eventually(t, func() bool {
		return strings.Contains(do(t, h, "GET", "/api/debates/"+created.ID, "", auth).Body.String(), `"receipt_id":"`)
	}, 20*time.Second, 10*time.Millisecond)
	return created.ID
}

// TestGetDebateCachedBody checks that GET /api/debates/{id} of a finished
// debate answers the bytes a fresh server computes, and follows changes of
// the stored record and result document while the debate is not sealed
// (here: its log reads back without debate_end).
func TestGetDebateCachedBody(t *testing.T) {
	st := &patchedStore{Store: memstore.New(), unended: true}
	s := newServerOn(t, st, nil)
	h := s.Handler()
	id := finishedWithReceipt(t, h, `{"question":"Cache?","rounds":2,"metadata":{"a":"<b>&"}}`)

	// fresh answers the same request from a server with empty caches.
	fresh := func() string {
		t.Helper()
		s2, err := server.New(st, demoRegistry{}, server.Config{Version: "0.8.0", Auth: &authpkg.Authenticator{ServiceToken: token}})
		require.NoError(t, err)
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, s2.Shutdown(ctx))
		}()
		w := do(t, s2.Handler(), "GET", "/api/debates/"+id, "", auth)
		require.Equal(t, 200, w.Code)
		return w.Body.String()
	}
	get := func() string {
		t.Helper()
		w := do(t, h, "GET", "/api/debates/"+id, "", auth)
		require.Equal(t, 200, w.Code)
		assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
		return w.Body.String()
	}

	first, second := get(), get()
	assert.Equal(t, first, second)
	assert.Equal(t, fresh(), second)
	assert.Contains(t, second, `"metadata":{"a":"\u003cb\u003e\u0026"}`)

	ctx := context.Background()
	d, err := st.GetDebate(ctx, id)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(d.Result, &doc))

	tests := []struct {
		name    string
		verdict string
		at      time.Time
		want    string
	}{
		// Same updated_at: only the document's bytes differ.
		{"result bytes change", "rejected", d.UpdatedAt, `"verdict":"rejected"`},
		{"record changes too", "approved", d.UpdatedAt.Add(time.Second), `"verdict":"approved"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc["verdict"] = tt.verdict
			raw, err := json.Marshal(doc)
			require.NoError(t, err)
			st.set(func(d *store.Debate) { d.Result, d.UpdatedAt = raw, tt.at })
			got := get()
			assert.Contains(t, got, tt.want)
			assert.Equal(t, fresh(), got)
			assert.Equal(t, got, get())
			// The record as stored, through json.Marshal, encodes alike.
			d, err := st.GetDebate(ctx, id)
			require.NoError(t, err)
			want, err := json.Marshal(lifecycle.RecordObject(d, time.Now()))
			require.NoError(t, err)
			assert.Equal(t, string(want)+"\n", got)
		})
	}
}

// TestGetDebateSealed checks that a finished debate whose log ends with
// debate_end is served from memory after the first GET (the store is not
// read again, so a record rewritten behind the API is not seen), with the
// bytes a fresh server computes, and that authentication and revocation
// still apply to every request.
func TestGetDebateSealed(t *testing.T) {
	st := &patchedStore{Store: memstore.New()}
	svc, err := authpkg.New(context.Background(), st.Store, []byte(testSecret), fastAuth())
	require.NoError(t, err)
	s := newServerOn(t, st, func(c *server.Config) {
		c.Accounts = svc
		c.Auth = &authpkg.Authenticator{Service: svc, ServiceToken: token}
	})
	h := s.Handler()
	id := finishedWithReceipt(t, h, `{"question":"Seal?","rounds":1}`)

	u, err := svc.CreateUser(context.Background(), authpkg.NewUser{Email: "viewer@example.com", Password: testPassword, Role: authpkg.RoleViewer})
	require.NoError(t, err)
	tok, claims, err := svc.IssueAccessToken(context.Background(), u, time.Hour)
	require.NoError(t, err)
	viewer := map[string]string{"Authorization": "Bearer " + tok}

	first := do(t, h, "GET", "/api/debates/"+id, "", viewer)
	require.Equal(t, 200, first.Code, first.Body.String())
	gets := st.getCount()
	st.set(func(d *store.Debate) { d.Topic = "rewritten behind the API" })
	for range 3 {
		w := do(t, h, "GET", "/api/debates/"+id, "", viewer)
		require.Equal(t, 200, w.Code)
		assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Equal(t, first.Body.String(), w.Body.String())
	}
	assert.Equal(t, gets, st.getCount(), "a sealed debate is not read from the store")
	st.set(nil)
	s2, err := server.New(st, demoRegistry{}, server.Config{Version: "0.8.0", Auth: &authpkg.Authenticator{ServiceToken: token}})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s2.Shutdown(ctx))
	})
	assert.Equal(t, do(t, s2.Handler(), "GET", "/api/debates/"+id, "", auth).Body.String(), first.Body.String())

	// Credentials are checked before the sealed body is served.
	assert.Equal(t, 401, do(t, h, "GET", "/api/debates/"+id, "", nil).Code)
	assert.Equal(t, 401, do(t, h, "GET", "/api/debates/"+id, "", map[string]string{"Authorization": "Bearer nope"}).Code)
	_, err = svc.RevokeToken(context.Background(), claims.TokenID, "test", "")
	require.NoError(t, err)
	w := do(t, h, "GET", "/api/debates/"+id, "", viewer)
	assert.Equal(t, 401, w.Code)
	assert.Equal(t, "token_revoked", errCode(t, w))
	// An unknown id still reads the store and answers 404.
	assert.Equal(t, 404, do(t, h, "GET", "/api/debates/deb_missing", "", auth).Code)
}
