package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/spf13/cobra"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/receipt"
	"github.com/aragora/aragora/store"
)

// remote is `aragora debate --server URL`: the debate is created through
// the API (server defaults and limits apply, docs/http-api.md#create-a-debate) and followed over
// the WebSocket stream, resuming by seq after a dropped connection.
type remote struct {
	base  *url.URL
	token string
	http  *http.Client
	out   io.Writer
}

// apiError is the error body of docs/http-api.md#errors.
type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Msg)
}

// exitFor maps an API error to an exit code: the caller's mistakes
// (validation, unknown agent, credentials, role) are usage errors.
func (e *apiError) exitCode() int {
	if e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests && e.Status != http.StatusConflict {
		return exitUsage
	}
	return exitFailure
}

func (r *remote) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base.JoinPath(path).String(), rd)
	if err != nil {
		return err
	}
	if strings.Contains(path, "?") { // JoinPath escapes the query
		u := *r.base
		u.Path = strings.TrimSuffix(u.Path, "/") + path[:strings.Index(path, "?")]
		u.RawQuery = path[strings.Index(path, "?")+1:]
		req.URL = &u
	}
	req.Header.Set("Content-Type", "application/json")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("debate: --server: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("debate: --server: read %s: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error apiError `json:"error"`
		}
		_ = json.Unmarshal(data, &env)
		env.Error.Status = resp.StatusCode
		if env.Error.Msg == "" {
			env.Error.Msg = strings.TrimSpace(string(data))
		}
		return &env.Error
	}
	switch v := out.(type) {
	case nil:
	case *[]byte:
		*v = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("debate: --server: decode %s: %w", path, err)
		}
	}
	return nil
}

// remoteErr turns a request error into the command's exit error.
func remoteErr(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return &exitError{code: ae.exitCode(), err: fmt.Errorf("debate: %w", err)}
	}
	return &exitError{code: exitFailure, err: err}
}

// runRemoteDebate creates the debate on the server and follows it.
func runRemoteDebate(cmd *cobra.Command, question string, f *debateFlags, getenv env, format string) error {
	ctx := cmd.Context()
	base, err := url.Parse(strings.TrimSpace(f.server))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return usageErr(fmt.Errorf("debate: --server %q: want an http:// or https:// URL", f.server))
	}
	if cmd.Flags().Changed("convergence-stop") || cmd.Flags().Changed("no-store") {
		return usageErr(errors.New("debate: --convergence-stop and --no-store do not apply to --server debates"))
	}
	token := f.token
	if token == "" {
		token = getenv("ARAGORA_TOKEN")
	}
	r := &remote{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}, out: cmd.OutOrStdout()}
	body := map[string]any{"topic": question}
	// The flags the user gave, under their JSON names (- becomes _).
	given := map[string]any{"agents": splitAgentSpecs(f.agents), "rounds": f.rounds, "consensus": f.consensus,
		"threshold": f.threshold, "topology": f.topology, "seed": f.seed, "max-tokens": f.maxTokens}
	for name, v := range given {
		if cmd.Flags().Changed(name) {
			body[strings.ReplaceAll(name, "-", "_")] = v
		}
	}
	if f.trickster {
		body["trickster"] = true
	}
	if f.stream {
		body["stream_tokens"] = true
	}
	var created struct {
		ID        string   `json:"id"`
		Agents    []string `json:"agents"`
		Rounds    int      `json:"rounds"`
		Topology  string   `json:"topology"`
		Consensus struct {
			Method string `json:"method"`
		} `json:"consensus"`
	}
	if err := r.do(ctx, http.MethodPost, "/api/debates", body, &created); err != nil {
		return remoteErr(err)
	}
	var printer *transcriptPrinter
	if format == formatText {
		printer = newTranscriptPrinter(r.out, writerIsTerminal(r.out), f.stream)
		printer.header(debateHeader{ID: created.ID, Question: question, Agents: created.Agents, Rounds: created.Rounds,
			Method: created.Consensus.Method, Topology: created.Topology, Persisted: true, Server: base.String()})
	}
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	end, err := r.follow(sigCtx, created.ID, printer)
	interrupted := sigCtx.Err() != nil && ctx.Err() == nil
	if interrupted {
		// Record the cancellation on the server, then report it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if cerr := r.do(cctx, http.MethodPost, "/api/debates/"+created.ID+"/cancel", map[string]string{"reason": "SIGINT"}, nil); cerr != nil {
			return &exitError{code: exitInterrupt, err: fmt.Errorf("debate: interrupted; cancelling %s failed: %w", created.ID, cerr)}
		}
		if end == nil {
			end, _ = r.follow(cctx, created.ID, printer)
		}
	} else if err != nil {
		return remoteErr(err)
	}
	if printer != nil {
		printer.finish()
	}
	if end == nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("debate: %s: the stream ended without debate_end", created.ID)}
	}
	if err := r.finish(ctx, created.ID, end, format, f.receiptOut); err != nil {
		return err
	}
	switch {
	case interrupted:
		return &exitError{code: exitInterrupt, err: fmt.Errorf("debate: interrupted: debate %s recorded as %s", created.ID, end.Status)}
	case end.Status == store.StatusConsensusReached || end.Status == store.StatusNoConsensus:
		return nil
	}
	return &exitError{code: exitFailure, err: fmt.Errorf("debate %s ended with status %s (%s)", created.ID, end.Status, end.StopReason)}
}

// follow streams the debate's events to printer until debate_end, and
// reconnects with after_seq when the connection drops (close 1001 or 1012:
// a server restart). It returns the debate_end data.
func (r *remote) follow(ctx context.Context, id string, printer *transcriptPrinter) (*debate.DebateEndData, error) {
	ws := *r.base
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[r.base.Scheme]
	ws.Path = strings.TrimSuffix(ws.Path, "/") + "/ws/debates/" + url.PathEscape(id)
	var last int64
	backoff := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		u := ws
		u.RawQuery = url.Values{"after_seq": {fmt.Sprint(last)}}.Encode()
		end, err := r.stream(ctx, u.String(), &last, printer)
		if end != nil || ctx.Err() != nil {
			return end, ctx.Err()
		}
		var ae *apiError
		if errors.As(err, &ae) || attempt >= 8 {
			return nil, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// stream reads one WebSocket connection; it returns debate_end's data, or
// the error that ended the connection.
func (r *remote) stream(ctx context.Context, u string, last *int64, printer *transcriptPrinter) (*debate.DebateEndData, error) {
	h := http.Header{}
	if r.token != "" {
		h.Set("Authorization", "Bearer "+r.token)
	}
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return nil, &apiError{Status: resp.StatusCode, Code: "websocket", Msg: err.Error()}
		}
		return nil, err
	}
	defer c.CloseNow()
	c.SetReadLimit(4 << 20)
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return nil, err
		}
		var head struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &head) != nil {
			continue
		}
		switch head.Type {
		case "hello", "subscribed", "heartbeat", "pong", "unsubscribed":
			continue
		case "error":
			return nil, &apiError{Status: http.StatusBadRequest, Code: head.Code, Msg: head.Message}
		case "reset":
			*last = 0 // history changed: replay it all
			return nil, errors.New("stream reset by the server")
		}
		var e debate.Event
		if json.Unmarshal(b, &e) != nil {
			continue
		}
		if e.Seq != 0 {
			if e.Seq <= *last {
				continue // already printed before a reconnect
			}
			*last = e.Seq
		}
		if printer != nil {
			printer.OnEvent(e)
		}
		if d, ok := e.Data.(debate.DebateEndData); ok && e.Type == debate.EventDebateEnd {
			c.Close(websocket.StatusNormalClosure, "")
			return &d, nil
		}
	}
}

// waitFinished waits until the API reports the debate finished: the
// server stores the receipt just after the engine's debate_end, so for a
// moment the receipt answers 409 invalid_state.
func (r *remote) waitFinished(ctx context.Context, id string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d struct {
			Status store.Status `json:"status"`
		}
		if err := r.do(ctx, http.MethodGet, "/api/debates/"+id, nil, &d); err != nil {
			return err
		}
		if store.Terminal(d.Status) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("debate: %s still %s 30 s after its debate_end", id, d.Status)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// finish prints the outcome in the requested format and writes
// --receipt-out, reading the debate and its receipt from the API.
func (r *remote) finish(ctx context.Context, id string, end *debate.DebateEndData, format, receiptOut string) error {
	receiptPath := "/api/debates/" + id + "/receipt"
	if err := r.waitFinished(ctx, id); err != nil {
		return remoteErr(err)
	}
	switch format {
	case formatJSON:
		var d, rc json.RawMessage
		if err := r.do(ctx, http.MethodGet, "/api/debates/"+id, nil, &d); err != nil {
			return remoteErr(err)
		}
		if err := r.do(ctx, http.MethodGet, receiptPath, nil, &rc); err != nil {
			return remoteErr(err)
		}
		b, err := json.MarshalIndent(map[string]json.RawMessage{"debate": d, "receipt": rc}, "", "  ")
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		fmt.Fprintf(r.out, "%s\n", b)
	case formatMarkdown, formatHTML:
		var b []byte
		if err := r.do(ctx, http.MethodGet, receiptPath+"?format="+format, nil, &b); err != nil {
			return remoteErr(err)
		}
		_, _ = r.out.Write(b)
	default:
		// The same summary as a local debate's, from the stored receipt
		// and the debate object (docs/cli.md#aragora-debate).
		var raw json.RawMessage
		if err := r.do(ctx, http.MethodGet, receiptPath, nil, &raw); err != nil {
			return remoteErr(err)
		}
		rc, err := receipt.Parse(raw)
		if err != nil {
			return &exitError{code: exitFailure, err: fmt.Errorf("debate: %s: %w", id, err)}
		}
		var d struct {
			StopReason debate.StopReason `json:"stop_reason"`
			Error      *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := r.do(ctx, http.MethodGet, "/api/debates/"+id, nil, &d); err != nil {
			return remoteErr(err)
		}
		stop, errMsg := cmp.Or(d.StopReason, end.StopReason), ""
		if d.Error != nil {
			errMsg = d.Error.Message
		}
		printSummary(r.out, rc, stop, errMsg, receiptOut)
	}
	if receiptOut == "" {
		return nil
	}
	ext := map[string]string{".md": "markdown", ".html": "html"}[strings.ToLower(filepath.Ext(receiptOut))]
	if ext == "" {
		ext = "json"
	}
	var b []byte
	if err := r.do(ctx, http.MethodGet, receiptPath+"?format="+ext, nil, &b); err != nil {
		return remoteErr(err)
	}
	if err := os.WriteFile(receiptOut, b, 0o644); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("debate: --receipt-out: %w", err)}
	}
	return nil
}
