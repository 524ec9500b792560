package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/debate"
)

// scanFrame is scanEvent's result as json.Unmarshal gives it.
func scanFrame(b []byte) (wireFrame, bool) {
	typ, ts, seq, ok := scanEvent(b)
	if !ok {
		return wireFrame{}, false
	}
	return wireFrame{Type: string(typ), Seq: seq, Ts: string(ts)}, true
}

// TestScanFrameMatchesJSON checks the fanout readers' scanner against
// json.Unmarshal: on every frame it accepts it reads the same type, seq
// and ts; it accepts the server's debate event frames and leaves other
// messages to json.Unmarshal.
func TestScanFrameMatchesJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	types := []debate.EventType{debate.EventProposal, debate.EventCritique, debate.EventVote, debate.EventDebateEnd, "agent_token"}
	texts := []string{"plain", `quote " and \ backslash`, "é ünïcode", "", `{"nested":"json"}`, "line\nbreak"}
	var frames [][]byte
	for i := range 500 {
		e := debate.Event{Seq: int64(rng.IntN(1000)), DebateID: "deb_" + fmt.Sprint(i), Type: types[rng.IntN(len(types))],
			Round: rng.IntN(5), Agent: texts[rng.IntN(len(texts))], Time: time.Unix(1_700_000_000+int64(i), int64(rng.IntN(1e9))),
			Data: map[string]any{"content": texts[rng.IntN(len(texts))], "n": i}}
		b, err := json.Marshal(e)
		require.NoError(t, err)
		frames = append(frames, []byte(`{"epoch":"ep`+fmt.Sprint(i)+`",`+string(b[1:])))
	}
	others := []string{`{"type":"hello","connection_id":"ws_1"}`, `{"debate_id":"d","epoch":"e","from_seq":1,"last_seq":4,"status":"running","type":"subscribed"}`,
		`{"subscriptions":{"d":3},"ts":"2026-12-07T04:00:00Z","type":"heartbeat"}`, `{"epoch":"e","type":"x"}`, `{"epoch":"e","seq":`, `{"epoch":"`}
	for _, o := range others {
		frames = append(frames, []byte(o))
	}
	accepted, plain := 0, 0
	for i, b := range frames {
		head, _, _ := strings.Cut(string(b), `"data":`)
		if i < 500 && !strings.Contains(head, `\`) {
			plain++ // no escape before data: the scanner must read it
		}
		got, ok := scanFrame(b)
		if !ok {
			continue
		}
		accepted++
		var want wireFrame
		require.NoError(t, json.Unmarshal(b, &want), "%s", b)
		assert.Equal(t, want, got, "%s", b)
	}
	assert.Equal(t, plain, accepted, "every event frame without escapes before data is read by the scanner")
	assert.Greater(t, plain, 100)
	for _, o := range others {
		_, ok := scanFrame([]byte(o))
		assert.False(t, ok, o)
	}
	assert.True(t, strings.HasPrefix(string(frames[0]), `{"epoch":"ep0","seq":`))
}
