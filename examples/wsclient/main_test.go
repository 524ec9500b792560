package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "wsclient-test-token-0123456789abcdef"

// demos resolves demo-<name>[:<style>] specs.
type demos struct{}

func (demos) Resolve(spec string, seed int64) (lifecycle.Agent, error) {
	name, style, err := demo.ParseSpec(spec)
	if err != nil {
		return lifecycle.Agent{}, fmt.Errorf("%w: %v", lifecycle.ErrUnknownAgent, err)
	}
	return lifecycle.Agent{Name: name, Provider: "demo", Model: demo.Prefix + string(style), Agent: demo.New(name, style, seed)}, nil
}

// serve starts aragora's server on loopback and creates one debate; it
// returns the server, the ws:// base URL and the debate id.
func serve(t *testing.T) (*server.Server, string, string) {
	t.Helper()
	s, err := server.New(memstore.New(), demos{}, server.Config{Auth: &auth.Authenticator{ServiceToken: token}})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.CloseAll(1001)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
		ts.Close()
	})
	req, _ := http.NewRequest("POST", ts.URL+"/api/debates",
		strings.NewReader(`{"topic":"Adopt Postgres?","agents":["demo-a","demo-b","demo-c"],"rounds":2}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var d struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&d))
	return s, "ws" + strings.TrimPrefix(ts.URL, "http"), d.ID
}

// TestFollowResumesWithoutGapsOrDuplicates drops the connection with 1012
// (what SIGUSR1 does) after the first event; the client resumes by seq.
func TestFollowResumesWithoutGapsOrDuplicates(t *testing.T) {
	s, base, id := serve(t)
	var mu sync.Mutex
	var seqs []int64
	var types []string
	var once sync.Once
	err := Follow(context.Background(), base, id, token, func(e Event) {
		mu.Lock()
		seqs, types = append(seqs, e.Seq), append(types, e.Type)
		mu.Unlock()
		once.Do(func() { go s.CloseAll(1012) })
	})
	require.NoError(t, err)
	require.NotEmpty(t, seqs)
	for i, seq := range seqs {
		assert.Equal(t, int64(i+1), seq, "events arrive once each, in seq order")
	}
	assert.Equal(t, "debate_start", types[0])
	assert.Equal(t, "debate_end", types[len(types)-1])
}

// TestFollowStopsWhenRefused: a wrong token is refused on the upgrade and
// no token at all gets an unauthorized error; the client stops at once.
func TestFollowStopsWhenRefused(t *testing.T) {
	_, base, id := serve(t)
	for name, tok := range map[string]string{"wrong token": "nope", "no token": ""} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := Follow(ctx, base, id, tok, func(Event) { t.Error("no event may arrive") })
			require.ErrorIs(t, err, ErrRefused)
		})
	}
}

// TestFollowUnknownDebate: the server answers not_found and closes with
// 1000; the client stops.
func TestFollowUnknownDebate(t *testing.T) {
	_, base, _ := serve(t)
	err := Follow(context.Background(), base, "deb_unknown", token, func(Event) {})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no debate")
}

// TestFollowStopsOn1008: a server that closes with 1008 (policy: the
// credential is missing, invalid or expired) is not retried.
func TestFollowStopsOn1008(t *testing.T) {
	var mu sync.Mutex
	dials := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		dials++
		mu.Unlock()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		_ = c.Close(websocket.StatusPolicyViolation, "authentication required")
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := Follow(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), "deb_x", token, func(Event) {})
	require.ErrorIs(t, err, ErrRefused)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, dials, "no reconnection after 1008")
}
