package server_test

import (
	"context"
	"encoding/json"
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
// after an operator rewrote a stored document.
type patchedStore struct {
	*memstore.Store
	mu    sync.Mutex
	patch func(*store.Debate)
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
	if err == nil && p.patch != nil {
		p.patch(d)
	}
	return d, err
}

// TestGetDebateCachedBody checks that GET /api/debates/{id} of a finished
// debate answers the bytes a fresh server computes, and follows changes of
// the stored record and result document.
func TestGetDebateCachedBody(t *testing.T) {
	st := &patchedStore{Store: memstore.New()}
	s := newServerOn(t, st, nil)
	h := s.Handler()
	w := do(t, h, "POST", "/api/debates", `{"question":"Cache?","rounds":2,"metadata":{"a":"<b>&"}}`, auth)
	require.Equal(t, 202, w.Code, w.Body.String())
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &created))
	id := created.ID
	waitFinished(t, h, id)
	require.Eventually(t, func() bool {
		return strings.Contains(do(t, h, "GET", "/api/debates/"+id, "", auth).Body.String(), `"receipt_id":"`)
	}, 20*time.Second, 10*time.Millisecond)

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
