package debate_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/debate"
)

func TestStopReasonText(t *testing.T) {
	t.Parallel()
	for _, r := range debate.StopReasons {
		got, err := debate.ParseStopReason(r.String())
		require.NoError(t, err)
		assert.Equal(t, r, got)
	}
	_, err := debate.ParseStopReason("done")
	assert.ErrorContains(t, err, `debate: stop reason "done" is unknown`)

	var end debate.DebateEndData
	require.NoError(t, json.Unmarshal([]byte(`{"status":"timeout","stop_reason":"stale"}`), &end))
	assert.Equal(t, debate.StopStale, end.StopReason)
	b, err := json.Marshal(end)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"stop_reason":"stale"`, "the wire form is the bare name")
	assert.Error(t, json.Unmarshal([]byte(`{"status":"timeout","stop_reason":"bored"}`), &end))
	assert.Error(t, json.Unmarshal([]byte(`{"status":"paused","stop_reason":"stale"}`), &end))
}
