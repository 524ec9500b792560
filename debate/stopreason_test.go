package debate_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/enum/enumtest"
)

func TestStopReasonText(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, debate.StopReasons, debate.ParseStopReason, "done")
	var end debate.DebateEndData
	require.NoError(t, json.Unmarshal([]byte(`{"status":"timeout","stop_reason":"stale"}`), &end))
	assert.Equal(t, debate.StopStale, end.StopReason)
	assert.Error(t, json.Unmarshal([]byte(`{"status":"paused","stop_reason":"stale"}`), &end), "an unknown status too")
}

func TestEventTypeText(t *testing.T) {
	t.Parallel()
	enumtest.CheckOpen(t, debate.EventTypes, debate.ParseEventType, "debate_paused")
	var e debate.Event
	require.NoError(t, json.Unmarshal([]byte(`{"seq":1,"type":"debate_paused","data":{"x":1}}`), &e))
	assert.Equal(t, debate.EventType("debate_paused"), e.Type)
	assert.JSONEq(t, `{"x":1}`, string(e.Data.(json.RawMessage)))
}
