package agenttest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/internal/fakeprovider"
)

// TestConformanceReference runs the suite against refAgent, a minimal
// OpenAI-format client written here, to show that the suite can be passed
// and how an adapter wires its Harness.
func TestConformanceReference(t *testing.T) {
	agenttest.Conformance(t, agenttest.Harness{
		NewAgent: func(baseURL string, client *http.Client) agent.Agent {
			return &refAgent{base: baseURL, client: client}
		},
		Wire:     refWire,
		Provider: "ref",
		Model:    "ref-model",
	})
}

// refWire speaks the OpenAI Chat Completions format.
var refWire = agenttest.Wire{
	Reply: func(w http.ResponseWriter, text string, u agent.Usage) {
		fakeprovider.WriteJSON(w, http.StatusOK, map[string]any{
			"model":   "ref-model",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": u.InputTokens, "completion_tokens": u.OutputTokens},
		})
	},
	Empty: fakeprovider.JSON(http.StatusOK, map[string]any{"model": "ref-model", "choices": []any{}}),
	Error: func(w http.ResponseWriter, status int, message string, quota bool) {
		e := map[string]any{"message": message, "type": "server_error", "code": nil}
		if quota {
			e["type"], e["code"] = "insufficient_quota", "insufficient_quota"
		}
		fakeprovider.WriteJSON(w, status, map[string]any{"error": e})
	},
	Stream: func(chunks []string, u agent.Usage) []string {
		var events []string
		for _, c := range chunks {
			events = append(events, fakeprovider.SSE(map[string]any{"model": "ref-model", "choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": c}}}}))
		}
		events = append(events,
			fakeprovider.SSE(map[string]any{"model": "ref-model", "choices": []any{}, "usage": map[string]any{"prompt_tokens": u.InputTokens, "completion_tokens": u.OutputTokens}}),
			"data: [DONE]\n\n")
		return events
	},
	DecodeRequest: func(_ *http.Request, body []byte) (agenttest.Sent, error) {
		var req refRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return agenttest.Sent{}, err
		}
		return fakeprovider.ChatSent(agenttest.Sent{MaxTokens: req.MaxTokens, Stream: req.Stream}, req.Messages), nil
	},
}

type refMessage = fakeprovider.ChatMessage

type refRequest struct {
	Model     string       `json:"model"`
	Messages  []refMessage `json:"messages"`
	MaxTokens int          `json:"max_tokens"`
	Stream    bool         `json:"stream"`
}

type refReply struct {
	Model   string `json:"model"`
	Choices []struct {
		Message refMessage `json:"message"`
		Delta   refMessage `json:"delta"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// refAgent is a minimal OpenAI-format adapter.
type refAgent struct {
	base   string
	client *http.Client
}

var _ agent.Streamer = (*refAgent)(nil)

func (a *refAgent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	return a.do(ctx, req, nil)
}

func (a *refAgent) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	return a.do(ctx, req, onChunk)
}

func (a *refAgent) fail(ctx context.Context, status int, err error) error {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return &agent.ProviderError{Provider: "ref", StatusCode: status, Err: err}
}

func (a *refAgent) do(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	body, _ := json.Marshal(refRequest{
		Model:     "ref-model",
		Messages:  []refMessage{{Role: "system", Content: req.System}, {Role: "user", Content: req.Prompt}},
		MaxTokens: req.MaxTokens,
		Stream:    onChunk != nil,
	})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return agent.Response{}, a.fail(ctx, 0, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(hreq)
	if err != nil {
		return agent.Response{}, a.fail(ctx, 0, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return agent.Response{}, a.statusError(resp)
	}
	out := agent.Response{Provider: "ref", Model: "ref-model"}
	if onChunk == nil {
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return agent.Response{}, a.fail(ctx, 0, err)
		}
		var r refReply
		if err := json.Unmarshal(data, &r); err != nil {
			return agent.Response{}, fmt.Errorf("ref: %w: %v", agent.ErrInvalidResponse, err)
		}
		if len(r.Choices) == 0 {
			return agent.Response{}, fmt.Errorf("ref: %w: no choices", agent.ErrInvalidResponse)
		}
		out.Text = r.Choices[0].Message.Content
		if r.Usage != nil {
			out.Usage = agent.Usage{InputTokens: r.Usage.PromptTokens, OutputTokens: r.Usage.CompletionTokens}
		}
		return out, nil
	}
	var text strings.Builder
	br := bufio.NewReader(resp.Body)
	var data strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return agent.Response{}, a.fail(ctx, 0, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if payload, ok := strings.CutPrefix(line, "data:"); ok {
			data.WriteString(strings.TrimPrefix(payload, " "))
			continue
		}
		if line != "" || data.Len() == 0 {
			continue
		}
		ev := data.String()
		data.Reset()
		if ev == "[DONE]" {
			out.Text = text.String()
			return out, nil
		}
		var r refReply
		if err := json.Unmarshal([]byte(ev), &r); err != nil {
			return agent.Response{}, fmt.Errorf("ref: %w: %v", agent.ErrInvalidResponse, err)
		}
		if r.Usage != nil {
			out.Usage = agent.Usage{InputTokens: r.Usage.PromptTokens, OutputTokens: r.Usage.CompletionTokens}
		}
		if len(r.Choices) > 0 && r.Choices[0].Delta.Content != "" {
			text.WriteString(r.Choices[0].Delta.Content)
			onChunk(r.Choices[0].Delta.Content)
		}
	}
}

func (a *refAgent) statusError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var body struct {
		Error struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &body) == nil && body.Error.Message != "" {
		msg = body.Error.Message
	}
	err := errors.New(msg)
	switch {
	case resp.StatusCode == http.StatusPaymentRequired || body.Error.Code == "insufficient_quota":
		err = fmt.Errorf("%w: %s", agent.ErrQuotaExhausted, msg)
	case resp.StatusCode == http.StatusTooManyRequests:
		err = fmt.Errorf("%w: %s", agent.ErrRateLimited, msg)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		err = fmt.Errorf("%w: %s", agent.ErrAuth, msg)
	}
	pe := &agent.ProviderError{Provider: "ref", StatusCode: resp.StatusCode, Err: err}
	if s, convErr := strconv.Atoi(resp.Header.Get("Retry-After")); convErr == nil && s > 0 {
		pe.RetryAfter = time.Duration(s) * time.Second
	}
	return pe
}
