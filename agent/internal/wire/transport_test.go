package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/pricing"
)

// lines is a minimal provider: a reply {"text","model","in","out"}, and
// streams of events {"delta"} ended by {"done":true}.
type lines struct{ finished bool }

type lineEvent struct {
	Text  string `json:"text"`
	Delta string `json:"delta"`
	Model string `json:"model"`
	In    int    `json:"in"`
	Out   int    `json:"out"`
	Done  bool   `json:"done"`
}

func (l *lines) Reply(data []byte, status int, r *Reply) (string, error) {
	var e lineEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return "", Invalid("lines", status, "decode reply: %v", err)
	}
	r.Model, r.Usage = e.Model, agent.Usage{InputTokens: e.In, OutputTokens: e.Out}
	return e.Text, nil
}

func (l *lines) Event(_ string, data []byte, status int, r *Reply) (string, bool, error) {
	var e lineEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return "", false, Invalid("lines", status, "decode event: %v", err)
	}
	if e.Out > 0 {
		r.Usage = agent.Usage{InputTokens: e.In, OutputTokens: e.Out}
	}
	l.finished = l.finished || e.Done
	return e.Delta, e.Done, nil
}

func (l *lines) Finish(_ string, eof bool, _ int, _ *Reply) error {
	if eof && !l.finished {
		return Truncated("lines")
	}
	return nil
}

func client(t *testing.T, h http.HandlerFunc) (*Client, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Client{Provider: "lines", Package: "lines", Model: "m-1", HTTPClient: srv.Client(),
		Pricing: pricing.Table{"m-1": {InputPerMTok: 1e6, OutputPerMTok: 2e6}}, Now: time.Now}, srv.URL
}

func TestDoReply(t *testing.T) {
	t.Parallel()
	var got http.Header
	c, url := client(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		body, _ := io.ReadAll(r.Body)
		if string(body) != `{"q":"hi"}` {
			http.Error(w, "bad body "+string(body), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Ratelimit-Remaining-Requests", "41")
		fmt.Fprint(w, `{"text":"hello","model":"m-1-2025","in":3,"out":2}`)
	})
	var quota int
	c.OnQuota = func(n int, _ time.Time) { quota = n }
	h := http.Header{}
	h.Set("X-Key", "k")
	resp, err := c.Do(context.Background(), Exchange{URL: url, Header: h, Body: map[string]string{"q": "hi"}, Decoder: &lines{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := agent.Response{Text: "hello", Provider: "lines", Model: "m-1-2025", Usage: agent.Usage{InputTokens: 3, OutputTokens: 2},
		CostUSD: 7, Attempts: 1}
	if resp != want {
		t.Errorf("Do = %+v, want %+v", resp, want)
	}
	if got.Get("X-Key") != "k" || got.Get("Accept") != "application/json" || got.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", got)
	}
	if quota != 41 {
		t.Errorf("OnQuota got %d, want 41", quota)
	}
}

func TestDoStreamFramings(t *testing.T) {
	t.Parallel()
	events := []string{`{"delta":"Hel"}`, `{"delta":"lo"}`, `{"out":5,"in":1,"done":true}`, `{"delta":" ignored"}`}
	for _, tc := range []struct {
		name    string
		framing Framing
		accept  string
		body    func(evs []string) string
	}{
		{"sse", SSE, "text/event-stream", func(evs []string) string { return "data: " + strings.Join(evs, "\n\ndata: ") + "\n\n" }},
		{"ndjson", NDJSON, "application/x-ndjson", func(evs []string) string { return strings.Join(evs, "\n\n") + "\n" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cut := false
			c, url := client(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Accept") != tc.accept {
					http.Error(w, "accept "+r.Header.Get("Accept"), http.StatusBadRequest)
					return
				}
				evs := events
				if cut {
					evs = events[:2]
				}
				fmt.Fprint(w, tc.body(evs))
			})
			var chunks []string
			resp, err := c.Do(context.Background(), Exchange{URL: url, Body: struct{}{}, Stream: true, Framing: tc.framing, Decoder: &lines{}},
				func(s string) { chunks = append(chunks, s) })
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != "Hello" || resp.Usage.OutputTokens != 5 || strings.Join(chunks, "|") != "Hel|lo" {
				t.Errorf("Do = %+v, chunks %q", resp, chunks)
			}
			cut = true
			_, err = c.Do(context.Background(), Exchange{URL: url, Body: struct{}{}, Stream: true, Framing: tc.framing, Decoder: &lines{}},
				func(string) {})
			if agent.KindOf(err) != agent.KindServer {
				t.Errorf("a stream cut before its terminator: kind %q (%v), want server", agent.KindOf(err), err)
			}
		})
	}
}

func TestDoErrors(t *testing.T) {
	t.Parallel()
	c, url := client(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"message":"slow down","type":"rate_limit"}}`)
	})
	_, err := c.Do(context.Background(), Exchange{URL: url, Body: struct{}{}, Decoder: &lines{}}, nil)
	if agent.KindOf(err) != agent.KindRateLimited || agent.RetryAfter(err) != 7*time.Second || agent.StatusCode(err) != 429 {
		t.Errorf("429: %v (kind %s)", err, agent.KindOf(err))
	}

	called := false
	c.StatusError = func(status int, _ http.Header, body []byte, _ time.Time) error {
		called = true
		return &agent.ProviderError{Provider: "lines", StatusCode: status, Err: errors.New(string(body))}
	}
	_, err = c.Do(context.Background(), Exchange{URL: url, Body: struct{}{}, Decoder: &lines{}}, nil)
	if !called || agent.StatusCode(err) != 429 {
		t.Errorf("Client.StatusError not used: %v", err)
	}
}

func TestDoRedactsSecret(t *testing.T) {
	t.Parallel()
	c := &Client{Provider: "lines", Package: "lines", HTTPClient: &http.Client{}, Now: time.Now, Secret: "s3cr3t-key"}
	_, err := c.Do(context.Background(), Exchange{URL: "http://127.0.0.1:1/v1?key=s3cr3t-key", Body: struct{}{}, Decoder: &lines{}}, nil)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %v quotes the secret", err)
	}
	if agent.KindOf(err) != agent.KindServer {
		t.Errorf("a refused connection: kind %s, want server", agent.KindOf(err))
	}
}

func TestNDJSONReaderLimits(t *testing.T) {
	t.Parallel()
	r := NewNDJSONReader(strings.NewReader("{}\n" + strings.Repeat("x", MaxLine+1)))
	if _, data, err := r.Next(); err != nil || string(data) != "{}" {
		t.Fatalf("first line: %q %v", data, err)
	}
	if _, _, err := r.Next(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a line over MaxLine: %v, want ErrTooLarge", err)
	}
}
