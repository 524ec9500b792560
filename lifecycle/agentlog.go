package lifecycle

import (
	"context"
	"log/slog"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/debate"
)

// maxLoggedError bounds the error message an agent_error record carries.
const maxLoggedError = 500

// logCalls wraps a's agent so that every call is logged to log
// (aragora.agent.<provider>, docs/operations.md#logs): agent_call (INFO) for
// each call with its phase, round, duration, tokens, cost and outcome;
// agent_error (WARN; INFO for a cancelled call) with the error kind for
// each failed call and for a primary rescued by its fallback, then agent_fallback (WARN) naming both.
// Every record carries the debate id, the correlation id, the agent, its
// provider and model, and is logged with the call's context (so that a
// tracing log handler adds the call's trace_id and span_id).
func logCalls(a Agent, d debateIDs, log *slog.Logger) agent.Agent {
	log = log.With("debate_id", d.id, "correlation_id", d.correlationID, "agent", a.Name, "provider", a.Provider, "model", a.Model)
	return agent.Wrap(a.Agent, func(ctx context.Context, c agent.Call) (agent.Response, error) {
		start := time.Now()
		resp, err := c.Next(ctx)
		call := []any{"phase", string(c.Request.Phase), "round", c.Request.Round}
		if c.Request.Target != "" {
			call = append(call, "target", c.Request.Target)
		}
		outcome := "ok"
		if fb := resp.Fallback; fb != nil && err == nil {
			outcome = "fallback"
			msg := "primary failed"
			if fb.Err != nil {
				msg = fb.Err.Error()
			}
			log.Log(ctx, slog.LevelWarn, "agent_error", append(call, "error_kind", string(fb.Reason), "error", truncate(msg), "recoverable", true)...)
			log.Log(ctx, slog.LevelWarn, "agent_fallback", append(call, "error_kind", string(fb.Reason), "from_provider", fb.FromProvider,
				"from_model", fb.FromModel, "to_provider", fb.ToProvider, "to_model", fb.ToModel)...)
		}
		if err != nil {
			outcome = "error"
			kind := agent.KindOf(err)
			attrs := append(call, "error_kind", string(kind), "error", truncate(err.Error()), "recoverable", false)
			if resp.Attempts > 0 {
				attrs = append(attrs, "attempts", resp.Attempts)
			}
			if code := agent.StatusCode(err); code != 0 {
				attrs = append(attrs, "status_code", code)
			}
			level := slog.LevelWarn
			if kind == agent.KindCancelled { // the debate was cancelled or suspended, not the agent's fault
				level = slog.LevelInfo
			}
			log.Log(ctx, level, "agent_error", attrs...)
		}
		log.Log(ctx, slog.LevelInfo, "agent_call", append(call, "duration_ms", time.Since(start).Milliseconds(),
			"tokens_in", resp.Usage.InputTokens, "tokens_out", resp.Usage.OutputTokens, "cost_usd", resp.CostUSD,
			"outcome", outcome)...)
		return resp, err
	})
}

func truncate(s string) string {
	if len(s) <= maxLoggedError {
		return s
	}
	cut := maxLoggedError
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

// debateIDs names the debate a call or event belongs to.
type debateIDs struct{ id, correlationID string }

// roundLog logs round_start and round_end (INFO, docs/operations.md#logs)
// of one debate from its events, with the round's duration, tokens and
// cost. Replayed events are not logged again. Its events arrive from one
// goroutine, in order.
type roundLog struct {
	log    *slog.Logger
	starts map[int]time.Time
}

func newRoundLog(log *slog.Logger, d debateIDs) *roundLog {
	return &roundLog{log: log.With("debate_id", d.id, "correlation_id", d.correlationID), starts: map[int]time.Time{}}
}

// OnEvent implements debate.Observer.
func (l *roundLog) OnEvent(e debate.Event) {
	if e.Replayed {
		return
	}
	switch data := e.Data.(type) {
	case debate.RoundStartData:
		l.starts[e.Round] = e.Time
		l.log.Info("round_start", "round", e.Round)
	case debate.RoundEndData:
		attrs := []any{"round", e.Round, "consensus_reached", data.ConsensusReached, "interrupted", data.Interrupted,
			"tokens_in", data.Tokens.Input, "tokens_out", data.Tokens.Output, "cost_usd", data.CostUSD}
		if start, ok := l.starts[e.Round]; ok {
			attrs = append(attrs, "duration_ms", e.Time.Sub(start).Milliseconds())
			delete(l.starts, e.Round)
		}
		l.log.Info("round_end", attrs...)
	}
}
