package agenttest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
)

// Harness describes a provider adapter to [Conformance]: how to build it
// against a fake server, and how its provider speaks on the wire.
//
// The zero value is not usable: NewAgent, Wire.Reply, Wire.Empty and
// Wire.Error are required.
type Harness struct {
	// NewAgent returns the adapter under test. Every request must go to
	// baseURL (an httptest server URL without a trailing slash; the adapter
	// appends its own paths) through client. The adapter must not retry:
	// retries belong to agent.Retry. Required.
	NewAgent func(baseURL string, client *http.Client) agent.Agent
	// Wire writes the provider's wire format. Required.
	Wire Wire
	// Provider, when set, is the expected Response.Provider and
	// agent.ProviderError.Provider.
	Provider string
	// Model, when set, is the expected Response.Model of a successful call.
	Model string
}

// Wire holds the hooks that make an httptest server speak one provider's
// wire format. Each hook writes a complete response for the suite; the suite
// decides the status line of success replies and any extra headers.
type Wire struct {
	// Reply writes a successful non-streaming reply (status 200, JSON body)
	// whose text is text and whose token usage is usage. Required.
	Reply func(w http.ResponseWriter, text string, usage agent.Usage)
	// Empty writes a well-formed status-200 reply with no usable content:
	// empty choices (OpenAI), empty content (Anthropic), no candidates
	// (Gemini). Required.
	Empty func(w http.ResponseWriter)
	// Error writes the provider's error response for status: it calls
	// w.WriteHeader(status) and writes the provider's error body carrying
	// message. When quota is true the body is the provider's quota or
	// billing error (OpenAI "insufficient_quota", Gemini
	// "RESOURCE_EXHAUSTED ... quota"); otherwise a plain error of that status
	// that does not mention quota, billing or credit. Headers such as
	// Retry-After are set by the suite before Error is called. Required.
	Error func(w http.ResponseWriter, status int, message string, quota bool)
	// Stream returns the server-sent events of a streamed reply whose text
	// deltas are chunks, in order, one delta event per chunk, reporting
	// usage where the provider reports it and ending with the provider's
	// terminator ("data: [DONE]", "message_stop", a final finishReason).
	// Each element is one complete event ending with a blank line, e.g.
	// "data: {...}\n\n". No event before the one carrying the last chunk may
	// mark the stream finished, since the suite cuts streams halfway to
	// simulate dropped connections: a stream that ends, abruptly or cleanly,
	// before its terminator must fail with kind server, never return a
	// truncated reply. Nil when the adapter does not implement
	// agent.Streamer.
	Stream func(chunks []string, usage agent.Usage) []string
	// DecodeRequest, when set, extracts what the adapter sent, so the suite
	// can check that system prompt, prompt, max tokens and the stream flag
	// reach the provider.
	DecodeRequest func(r *http.Request, body []byte) (Sent, error)
	// QuotaStatuses are the statuses at which the suite sends Error with
	// quota set and expects agent.KindQuotaExhausted; default 429 and 402.
	QuotaStatuses []int
	// Structured writes a successful reply to a structured-reply request
	// (docs/agents.md#structured-replies) carrying value, a JSON object,
	// where the provider puts it: the message content (OpenAI format), the
	// input of a tool_use block named name (Anthropic, beside a text block
	// of prose the adapter must ignore), the candidate's text (Gemini).
	// Nil when the adapter is not an agent.SchemaReplier; when set,
	// DecodeRequest and RejectSchema are required.
	Structured func(w http.ResponseWriter, name, value string, usage agent.Usage)
	// RejectSchema writes the provider's 400 refusing the schema parameter
	// (OpenAI "response_format ... not supported", Anthropic "tools ...",
	// Gemini "Unknown name \"responseSchema\"").
	RejectSchema func(w http.ResponseWriter)
}

// Sent is what an adapter sent to its provider, as decoded by
// Wire.DecodeRequest.
type Sent struct {
	System    string
	Prompt    string
	MaxTokens int
	Stream    bool
	// Structured reports that the request asked for a structured reply
	// (response_format, a forced tool, responseSchema).
	Structured bool
}

// Timing of the suite. Only stopWait bounds the test itself: it guards
// against an adapter that ignores its context.
const (
	callTimeout  = 10 * time.Second
	shortTimeout = 50 * time.Millisecond
	stopWait     = 5 * time.Second
)

// conformanceRequest is the request every case sends.
var conformanceRequest = agent.Request{
	DebateID:    "deb_conformance",
	Participant: "conformance",
	Phase:       agent.PhasePropose,
	Round:       1,
	Rounds:      1,
	System:      "You are the conformance system prompt.",
	Prompt:      "Conformance prompt: say something.",
	MaxTokens:   123,
	Temperature: 0.5,
}

// streamChunks are the deltas of the streaming cases: multi-byte runes,
// newlines, quotes and SSE look-alikes, so that an adapter that splits on
// network reads or parses naively fails.
var streamChunks = []string{
	"Hel", "lo, ", "wörld", " 🌍", "\n", "data: not a frame", "\"quoted\"",
	" MARKER", "\n\n", "end ✓",
}

// Conformance checks that the adapter built by h honours the agent.Agent
// (and, when implemented, agent.Streamer) contract against an httptest
// server speaking the provider's wire format: reply text and usage,
// streaming split across many tiny writes, error statuses mapped to
// *agent.ProviderError and the kinds of agent.KindOf, dropped connections,
// a server that never answers, malformed and empty replies, and, for an
// agent.SchemaReplier, structured replies and the prose fallback after a
// schema rejection (Wire.Structured). It never touches the network beyond
// the loopback interface.
//
// Call it from the adapter's tests:
//
//	func TestConformance(t *testing.T) {
//		agenttest.Conformance(t, agenttest.Harness{
//			NewAgent: func(baseURL string, c *http.Client) agent.Agent {
//				return openai.New(openai.Config{BaseURL: baseURL, APIKey: "k", Model: "m", HTTPClient: c})
//			},
//			Wire: openaiWire,
//		})
//	}
func Conformance(t *testing.T, h Harness) {
	t.Helper()
	require.NotNil(t, h.NewAgent, "agenttest: Harness.NewAgent is required")
	require.NotNil(t, h.Wire.Reply, "agenttest: Harness.Wire.Reply is required")
	require.NotNil(t, h.Wire.Empty, "agenttest: Harness.Wire.Empty is required")
	require.NotNil(t, h.Wire.Error, "agenttest: Harness.Wire.Error is required")

	cases := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Reply", testReply},
		{"ReplyDropped", testReplyDropped},
		{"RateLimitedRetryAfter", testRateLimited},
		{"QuotaExhausted", testQuota},
		{"ServerError", testServerError},
		{"ServerErrorNonJSONBody", testServerErrorHTML},
		{"Unauthorized", testAuth},
		{"BadRequest", testBadRequest},
		{"ConnectionRefused", testConnectionRefused},
		{"NeverAnswers", testNeverAnswers},
		{"Cancelled", testCancelled},
		{"MalformedJSON", testMalformed},
		{"EmptyChoices", testEmpty},
		{"Stream", testStream},
		{"StreamErrorStatus", testStreamErrorStatus},
		{"StreamDropped", testStreamDropped},
		{"StreamTruncated", testStreamTruncated},
		{"StreamStalls", testStreamStalls},
		{"StreamMalformedEvent", testStreamMalformed},
		{"StructuredReply", testStructured},
		{"StructuredRejected", testStructuredRejected},
		{"StructuredBadRequest", testStructuredBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, h)
		})
	}
}

// request records what the fake server received.
type received struct {
	req  *http.Request
	body []byte
}

// serve starts a server whose handler records the request and then calls
// handle. It returns the server URL and a channel receiving each request.
func serve(t *testing.T, handle http.HandlerFunc) (string, *http.Client, <-chan received) {
	t.Helper()
	got := make(chan received, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case got <- received{req: r, body: body}:
		default:
		}
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, srv.Client(), got
}

// newAgent builds the adapter for url.
func newAgent(t *testing.T, h Harness, url string, client *http.Client) agent.Agent {
	t.Helper()
	a := h.NewAgent(url, client)
	require.NotNil(t, a, "agenttest: NewAgent returned nil")
	return a
}

// streamer returns a as an agent.Streamer, skipping the case politely
// (without t.Skip) by reporting false when a does not stream.
func streamer(t *testing.T, h Harness, a agent.Agent) (agent.Streamer, bool) {
	t.Helper()
	return implements[agent.Streamer](t, a, "agent.Streamer", "Stream", h.Wire.Stream != nil)
}

// implements returns a as an I (named iface), reporting false when a is
// not one. The Wire field that serves I (named field; set when it is set)
// must be set exactly when a is an I.
func implements[I any](t *testing.T, a agent.Agent, iface, field string, set bool) (I, bool) {
	t.Helper()
	s, ok := a.(I)
	if !ok {
		if set {
			t.Errorf("agenttest: Wire.%s is set but the agent does not implement %s", field, iface)
		}
		return s, false
	}
	require.True(t, set, "agenttest: the agent implements %s, so Harness.Wire.%s is required", iface, field)
	return s, true
}

// streamTo streams the conformance request from the adapter at url, the
// call bounded by timeout, and hands what came back to check; it checks
// nothing for an adapter that does not stream (see streamer).
func streamTo(t *testing.T, h Harness, url string, client *http.Client, timeout time.Duration,
	check func(resp agent.Response, chunks []string, err error)) {
	t.Helper()
	s, ok := streamer(t, h, newAgent(t, h, url, client))
	if !ok {
		return
	}
	resp, chunks, err := callStream(t, t.Context(), s, timeout)
	check(resp, chunks, err)
}

// call runs a.Respond with a context bounded by timeout, failing the test if
// the call does not return stopWait after the deadline.
func call(t *testing.T, ctx context.Context, a agent.Agent, timeout time.Duration) (agent.Response, error) {
	t.Helper()
	return callFunc(t, ctx, timeout, func(ctx context.Context) (agent.Response, error) {
		return a.Respond(ctx, conformanceRequest)
	})
}

// callStream runs s.RespondStream like call, collecting the chunks.
func callStream(t *testing.T, ctx context.Context, s agent.Streamer, timeout time.Duration) (agent.Response, []string, error) {
	t.Helper()
	var chunks []string
	chunkCh := make(chan []string, 1)
	resp, err := callFunc(t, ctx, timeout, func(ctx context.Context) (agent.Response, error) {
		var got []string
		defer func() { chunkCh <- got }()
		return s.RespondStream(ctx, conformanceRequest, func(c string) { got = append(got, c) })
	})
	chunks = <-chunkCh
	return resp, chunks, err
}

func callFunc(t *testing.T, ctx context.Context, timeout time.Duration, fn func(context.Context) (agent.Response, error)) (agent.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		resp agent.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		r, err := fn(ctx)
		done <- result{r, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-time.After(timeout + stopWait):
		t.Fatalf("agenttest: call did not return within %v after its context deadline", stopWait)
		return agent.Response{}, nil
	}
}

// checkSent checks the decoded request when the harness can decode it.
func checkSent(t *testing.T, h Harness, got <-chan received, stream bool) {
	t.Helper()
	if h.Wire.DecodeRequest == nil {
		return
	}
	var rec received
	select {
	case rec = <-got:
	default:
		t.Error("agenttest: the server received no request")
		return
	}
	sent, err := h.Wire.DecodeRequest(rec.req, rec.body)
	require.NoError(t, err, "agenttest: DecodeRequest")
	assert.Equal(t, http.MethodPost, rec.req.Method)
	assert.Equal(t, conformanceRequest.System, sent.System, "system prompt sent")
	assert.Equal(t, conformanceRequest.Prompt, sent.Prompt, "prompt sent")
	assert.Equal(t, conformanceRequest.MaxTokens, sent.MaxTokens, "max tokens sent")
	assert.Equal(t, stream, sent.Stream, "stream flag sent")
}

// requireKind checks err's kind and, when status is not 0, its
// *agent.ProviderError.
func requireKind(t *testing.T, h Harness, want agent.Kind, status int, err error) *agent.ProviderError {
	t.Helper()
	require.Error(t, err, "agenttest: want an error of kind %s", want)
	assert.Equal(t, want, agent.KindOf(err), "agent.KindOf(%v)", err)
	if status == 0 {
		return nil
	}
	var pe *agent.ProviderError
	require.ErrorAs(t, err, &pe, "agenttest: want a *agent.ProviderError")
	assert.Equal(t, status, pe.StatusCode)
	if h.Provider != "" {
		assert.Equal(t, h.Provider, pe.Provider)
	}
	return pe
}

func checkReply(t *testing.T, h Harness, resp agent.Response, text string, usage agent.Usage) {
	t.Helper()
	assert.Equal(t, text, resp.Text)
	assert.Equal(t, usage, resp.Usage)
	if h.Provider != "" {
		assert.Equal(t, h.Provider, resp.Provider)
	}
	if h.Model != "" {
		assert.Equal(t, h.Model, resp.Model)
	}
	assert.Nil(t, resp.Fallback, "an adapter never sets Response.Fallback")
}

func testReply(t *testing.T, h Harness) {
	const text = "A normal reply.\nWith two lines, \"quotes\" and ünïcode ✓."
	usage := agent.Usage{InputTokens: 17, OutputTokens: 29}
	url, client, got := serve(t, func(w http.ResponseWriter, _ *http.Request) { h.Wire.Reply(w, text, usage) })
	resp, err := call(t, t.Context(), newAgent(t, h, url, client), callTimeout)
	require.NoError(t, err)
	checkReply(t, h, resp, text, usage)
	checkSent(t, h, got, false)
}

// testReplyDropped sends half of a reply body, then drops the connection.
func testReplyDropped(t *testing.T, h Harness) {
	url, client, _ := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		rec := httptest.NewRecorder()
		h.Wire.Reply(rec, "a reply that never fully arrives", agent.Usage{InputTokens: 1, OutputTokens: 2})
		body := rec.Body.Bytes()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		drop(t, w)
	})
	_, err := call(t, t.Context(), newAgent(t, h, url, client), callTimeout)
	requireKind(t, h, agent.KindServer, 0, err)
}

// drop flushes what w holds and closes the connection abruptly, without
// ending the body.
func drop(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		t.Errorf("agenttest: hijack: %v", err)
		return
	}
	_ = conn.Close()
}

func errorHandler(h Harness, status int, message string, quota bool, headers map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		h.Wire.Error(w, status, message, quota)
	}
}

// checkErrorCall runs the error case through Respond and, when the agent
// streams, through RespondStream.
func checkErrorCall(t *testing.T, h Harness, handler http.HandlerFunc, check func(t *testing.T, err error)) {
	t.Helper()
	url, client, _ := serve(t, handler)
	a := newAgent(t, h, url, client)
	t.Run("Respond", func(t *testing.T) {
		_, err := call(t, t.Context(), a, callTimeout)
		check(t, err)
	})
	if s, ok := a.(agent.Streamer); ok {
		t.Run("RespondStream", func(t *testing.T) {
			_, chunks, err := callStream(t, t.Context(), s, callTimeout)
			check(t, err)
			assert.Empty(t, chunks, "no chunk may be delivered from an error reply")
		})
	}
}

func testRateLimited(t *testing.T, h Harness) {
	const msg = "Rate limit reached for requests per minute, slow down"
	checkErrorCall(t, h, errorHandler(h, http.StatusTooManyRequests, msg, false, map[string]string{"Retry-After": "7"}),
		func(t *testing.T, err error) {
			pe := requireKind(t, h, agent.KindRateLimited, http.StatusTooManyRequests, err)
			assert.Equal(t, 7*time.Second, pe.RetryAfter, "Retry-After parsed")
			assert.Equal(t, 7*time.Second, agent.RetryAfter(err))
			assert.True(t, agent.Retryable(err), "a rate-limited call is retryable")
			assert.ErrorIs(t, err, agent.ErrRateLimited)
			assert.Contains(t, err.Error(), msg, "the provider's message is surfaced")
		})
}

func testQuota(t *testing.T, h Harness) {
	statuses := h.Wire.QuotaStatuses
	if len(statuses) == 0 {
		statuses = []int{http.StatusTooManyRequests, http.StatusPaymentRequired}
	}
	for _, status := range statuses {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			const msg = "You exceeded your current quota, please check your plan and billing details"
			checkErrorCall(t, h, errorHandler(h, status, msg, true, nil), func(t *testing.T, err error) {
				requireKind(t, h, agent.KindQuotaExhausted, status, err)
				assert.False(t, agent.Retryable(err), "quota exhaustion is never retried")
			})
		})
	}
}

func testServerError(t *testing.T, h Harness) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			const msg = "The server had an error while processing your request"
			checkErrorCall(t, h, errorHandler(h, status, msg, false, nil), func(t *testing.T, err error) {
				requireKind(t, h, agent.KindServer, status, err)
				assert.True(t, agent.Retryable(err))
				assert.Contains(t, err.Error(), msg, "the provider's message is surfaced")
			})
		})
	}
}

// testServerErrorHTML is a gateway's 502 with an HTML body: still a server
// error with its status, not an invalid response.
func testServerErrorHTML(t *testing.T, h Harness) {
	checkErrorCall(t, h, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	}, func(t *testing.T, err error) {
		requireKind(t, h, agent.KindServer, http.StatusBadGateway, err)
	})
}

func testAuth(t *testing.T, h Harness) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			checkErrorCall(t, h, errorHandler(h, status, "Incorrect API key provided", false, nil), func(t *testing.T, err error) {
				requireKind(t, h, agent.KindAuth, status, err)
				assert.ErrorIs(t, err, agent.ErrAuth)
				assert.False(t, agent.Retryable(err))
			})
		})
	}
}

func testBadRequest(t *testing.T, h Harness) {
	checkErrorCall(t, h, errorHandler(h, http.StatusBadRequest, "max_tokens is too large for this model", false, nil),
		func(t *testing.T, err error) {
			requireKind(t, h, agent.KindOther, http.StatusBadRequest, err)
			assert.False(t, agent.Retryable(err))
		})
}

func testConnectionRefused(t *testing.T, h Harness) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url, client := srv.URL, srv.Client()
	srv.Close()
	_, err := call(t, t.Context(), newAgent(t, h, url, client), callTimeout)
	requireKind(t, h, agent.KindServer, 0, err)
	assert.True(t, agent.Retryable(err), "a refused connection is retryable")
}

// block serves a handler that never answers until the client goes away or
// the test ends, and reports each arrival on the returned channel.
func block(t *testing.T, before func(w http.ResponseWriter)) (string, *http.Client, <-chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	url, client, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(w)
		}
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	// Registered after serve, so it runs before srv.Close.
	t.Cleanup(func() { close(release) })
	return url, client, arrived
}

func testNeverAnswers(t *testing.T, h Harness) {
	url, client, _ := block(t, nil)
	a := newAgent(t, h, url, client)
	t.Run("Respond", func(t *testing.T) {
		_, err := call(t, t.Context(), a, shortTimeout)
		requireKind(t, h, agent.KindTimeout, 0, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	if s, ok := a.(agent.Streamer); ok {
		t.Run("RespondStream", func(t *testing.T) {
			_, _, err := callStream(t, t.Context(), s, shortTimeout)
			requireKind(t, h, agent.KindTimeout, 0, err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

func testCancelled(t *testing.T, h Harness) {
	url, client, arrived := block(t, nil)
	a := newAgent(t, h, url, client)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		select {
		case <-arrived:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := call(t, ctx, a, callTimeout)
	cancel()
	requireKind(t, h, agent.KindCancelled, 0, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, agent.Retryable(err))
}

func testMalformed(t *testing.T, h Harness) {
	url, client, _ := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"id":"x","choices":[{"message":{"content":"trunc`)
	})
	_, err := call(t, t.Context(), newAgent(t, h, url, client), callTimeout)
	requireKind(t, h, agent.KindInvalidResponse, 0, err)
	assert.ErrorIs(t, err, agent.ErrInvalidResponse)
	assert.False(t, agent.Retryable(err))
}

func testEmpty(t *testing.T, h Harness) {
	url, client, _ := serve(t, func(w http.ResponseWriter, _ *http.Request) { h.Wire.Empty(w) })
	_, err := call(t, t.Context(), newAgent(t, h, url, client), callTimeout)
	requireKind(t, h, agent.KindInvalidResponse, 0, err)
	assert.ErrorIs(t, err, agent.ErrInvalidResponse)
}

// writeSSE writes the events as an event stream, split into pieces of 1 to
// 7 bytes with a flush after each, so that frames, lines, JSON values and
// multi-byte runes all straddle network reads.
func writeSSE(w http.ResponseWriter, events []string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	data := ": keep-alive comment\n\n" + strings.Join(events, "")
	for i, n := 0, 0; i < len(data); i += n {
		n = min(1+i%7, len(data)-i)
		if _, err := io.WriteString(w, data[i:i+n]); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func testStream(t *testing.T, h Harness) {
	usage := agent.Usage{InputTokens: 11, OutputTokens: 13}
	url, client, got := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		writeSSE(w, h.Wire.Stream(streamChunks, usage))
	})
	streamTo(t, h, url, client, callTimeout, func(resp agent.Response, chunks []string, err error) {
		require.NoError(t, err)
		checkReply(t, h, resp, strings.Join(streamChunks, ""), usage)
		assert.Equal(t, streamChunks, nonEmpty(chunks), "the callback sees every chunk, in order")
		checkSent(t, h, got, true)
	})
}

func nonEmpty(chunks []string) []string {
	out := make([]string, 0, len(chunks))
	for _, c := range chunks {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// testStreamErrorStatus: a streaming request answered by an error status.
func testStreamErrorStatus(t *testing.T, h Harness) {
	url, client, _ := serve(t, errorHandler(h, http.StatusInternalServerError, "internal error", false, nil))
	streamTo(t, h, url, client, callTimeout, func(_ agent.Response, chunks []string, err error) {
		requireKind(t, h, agent.KindServer, http.StatusInternalServerError, err)
		assert.Empty(t, chunks)
	})
}

// halfStream returns the first half of the stream's events.
func halfStream(h Harness) []string {
	events := h.Wire.Stream(streamChunks, agent.Usage{InputTokens: 3, OutputTokens: 4})
	return events[:len(events)/2]
}

func testStreamDropped(t *testing.T, h Harness) {
	url, client, _ := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		events := halfStream(h)
		writeSSE(w, events)
		// Half of one more frame, then an abrupt close.
		_, _ = io.WriteString(w, "data: {\"partial\":")
		drop(t, w)
	})
	streamTo(t, h, url, client, callTimeout, func(resp agent.Response, _ []string, err error) {
		requireKind(t, h, agent.KindServer, 0, err)
		assert.Empty(t, resp.Text, "a dropped stream is not a truncated success")
	})
}

// testStreamTruncated: the body ends cleanly but before the provider's
// terminator, as when a proxy times out. Still a server error.
func testStreamTruncated(t *testing.T, h Harness) {
	url, client, _ := serve(t, func(w http.ResponseWriter, _ *http.Request) { writeSSE(w, halfStream(h)) })
	streamTo(t, h, url, client, callTimeout, func(resp agent.Response, _ []string, err error) {
		requireKind(t, h, agent.KindServer, 0, err)
		assert.Empty(t, resp.Text, "a truncated stream is not a success")
	})
}

// testStreamStalls: some chunks, then silence until the deadline.
func testStreamStalls(t *testing.T, h Harness) {
	url, client, _ := block(t, func(w http.ResponseWriter) { writeSSE(w, halfStream(h)) })
	streamTo(t, h, url, client, shortTimeout, func(_ agent.Response, _ []string, err error) {
		requireKind(t, h, agent.KindTimeout, 0, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// testStreamMalformed corrupts the JSON of one delta event (the one carrying
// "MARKER"), keeping its event line, so every wire format sees a broken
// payload where it expects a delta.
func testStreamMalformed(t *testing.T, h Harness) {
	if h.Wire.Stream == nil {
		return
	}
	events := h.Wire.Stream(streamChunks, agent.Usage{InputTokens: 3, OutputTokens: 4})
	corrupted := false
	for i, ev := range events {
		if !strings.Contains(ev, "MARKER") {
			continue
		}
		lines := strings.Split(ev, "\n")
		for j, line := range lines {
			if payload, ok := strings.CutPrefix(line, "data:"); ok && json.Valid([]byte(strings.TrimSpace(payload))) {
				lines[j] = "data:" + payload[:len(payload)/2]
				corrupted = true
			}
		}
		events[i] = strings.Join(lines, "\n")
		break
	}
	require.True(t, corrupted, "agenttest: Wire.Stream must put each chunk's JSON on a data: line")
	url, client, _ := serve(t, func(w http.ResponseWriter, _ *http.Request) { writeSSE(w, events) })
	streamTo(t, h, url, client, callTimeout, func(resp agent.Response, _ []string, err error) {
		requireKind(t, h, agent.KindInvalidResponse, 0, err)
		assert.ErrorIs(t, err, agent.ErrInvalidResponse)
		assert.Empty(t, resp.Text)
	})
}
