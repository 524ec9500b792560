// Package fakeprovider holds the fake-provider plumbing the provider
// adapters' tests share (anthropic, gemini, openai, the registry and the
// agenttest conformance reference): an httptest server that records what
// it was sent, JSON and server-sent-event writers, the table of an
// adapter's error mapping, and the builder that hands an adapter to
// agenttest.Conformance. The wire shapes stay in each adapter's tests; the
// contract suite every adapter must pass is agenttest.Conformance.
package fakeprovider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
)

// WriteJSON writes v as a JSON reply with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// JSON returns what writes v as a JSON reply with status: the answer of
// a Wire field that replies the same whatever is asked (Empty,
// RejectSchema).
func JSON(status int, v any) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) { WriteJSON(w, status, v) }
}

// Replies returns the Wire.Reply answering 200 with reply(text, usage).
func Replies(reply func(text string, u agent.Usage) map[string]any) func(w http.ResponseWriter, text string, u agent.Usage) {
	return func(w http.ResponseWriter, text string, u agent.Usage) { WriteJSON(w, http.StatusOK, reply(text, u)) }
}

// ServeJSON starts a Server answering every request 200 with v as JSON.
func ServeJSON(t testing.TB, v any) *Server {
	t.Helper()
	return Serve(t, func(w http.ResponseWriter, _ *http.Request) { WriteJSON(w, http.StatusOK, v) })
}

// Event returns v as one server-sent event named name ("event: name"
// line), or without a name when name is "".
func Event(name string, v any) string {
	b, _ := json.Marshal(v)
	if name == "" {
		return "data: " + string(b) + "\n\n"
	}
	return "event: " + name + "\ndata: " + string(b) + "\n\n"
}

// SSE returns v as one server-sent event without a name.
func SSE(v any) string { return Event("", v) }

// Answer returns a handler that answers status with header and body, as
// a provider's error reply.
func Answer(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// Adapter builds the adapter under test calling baseURL through client.
type Adapter[A agent.Agent] func(baseURL string, client *http.Client) (A, error)

// Must builds the adapter, failing the test on an error.
func (a Adapter[A]) Must(t testing.TB, baseURL string, client *http.Client) A {
	t.Helper()
	built, err := a(baseURL, client)
	require.NoError(t, err)
	return built
}

// On builds the adapter calling srv.
func (a Adapter[A]) On(t testing.TB, srv *Server) A {
	t.Helper()
	return a.Must(t, srv.URL, srv.Client())
}

// Harness is the agenttest.Harness of the adapter, which speaks w and
// reports provider and model.
func (a Adapter[A]) Harness(t testing.TB, w agenttest.Wire, provider, model string) agenttest.Harness {
	return agenttest.Harness{
		NewAgent: func(baseURL string, client *http.Client) agent.Agent { return a.Must(t, baseURL, client) },
		Wire:     w, Provider: provider, Model: model,
	}
}

// ChatMessage is one message of an OpenAI-format chat request.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatSent is s with the System and Prompt of an OpenAI-format chat
// request: the content of its system and user messages.
func ChatSent(s agenttest.Sent, messages []ChatMessage) agenttest.Sent {
	for _, m := range messages {
		switch m.Role {
		case "system":
			s.System = m.Content
		case "user":
			s.Prompt = m.Content
		}
	}
	return s
}

// Request is what a Server received in one call.
type Request struct {
	Header http.Header
	URL    *url.URL
	Body   []byte
}

// Decode unmarshals the request body into v; a body that is not JSON
// leaves v as it is.
func (r Request) Decode(v any) { _ = json.Unmarshal(r.Body, v) }

// Server is an httptest server that records every request before handing
// it, body intact, to its handler. It is closed when the test ends.
type Server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []Request
}

// Serve starts a Server answering with handle.
func Serve(t testing.TB, handle http.HandlerFunc) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(data))
		s.mu.Lock()
		s.reqs = append(s.reqs, Request{Header: r.Header.Clone(), URL: r.URL, Body: data})
		s.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the requests received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Last returns the last request received, or a zero Request.
func (s *Server) Last() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return Request{URL: &url.URL{}}
	}
	return s.reqs[len(s.reqs)-1]
}

// Fields returns the top-level fields of each request body, in arrival
// order (nil for a body that is not a JSON object).
func (s *Server) Fields() []map[string]json.RawMessage {
	reqs := s.Requests()
	out := make([]map[string]json.RawMessage, len(reqs))
	for i, r := range reqs {
		r.Decode(&out[i])
	}
	return out
}

// ErrorCase is one row of an adapter's error-mapping table: the provider
// answers Status with Header and Body, and the call must fail with the
// *agent.ProviderError the Want fields describe.
type ErrorCase struct {
	Name   string
	Status int
	Header map[string]string
	Body   string

	Kind agent.Kind
	// Is, when set, must be in the error's chain.
	Is error
	// WantStatus is the error's StatusCode when it is not Status (an error
	// embedded in a 200 reply stands for its own status).
	WantStatus int
	Retry      time.Duration
	Overloaded bool
	Retryable  bool
}

// ErrorCases runs each case in parallel against its own Server: call
// sends one request to it through the adapter under test, which must fail
// with the error the case describes, of provider.
func ErrorCases(t *testing.T, provider string, cases []ErrorCase, call func(t *testing.T, srv *Server) error) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			err := call(t, Serve(t, Answer(tc.Status, tc.Header, tc.Body)))
			require.Error(t, err)
			assert.Equal(t, tc.Kind, agent.KindOf(err))
			if tc.Is != nil {
				assert.ErrorIs(t, err, tc.Is)
			}
			pe, ok := errors.AsType[*agent.ProviderError](err)
			require.True(t, ok, "a *agent.ProviderError: %v", err)
			assert.Equal(t, provider, pe.Provider)
			want := tc.WantStatus
			if want == 0 {
				want = tc.Status
			}
			assert.Equal(t, want, pe.StatusCode)
			assert.Equal(t, tc.Retry, pe.RetryAfter)
			assert.Equal(t, tc.Overloaded, pe.Overloaded)
			assert.Equal(t, tc.Retryable, agent.Retryable(err))
		})
	}
}
