// Package servertest holds what the tests of the HTTP API share across
// packages (server, service, cli): reading the answer to a debate's
// creation (docs/http-api.md#create-a-debate). It is imported only from
// _test.go files.
package servertest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// CreatedID returns the id of the debate that POST /api/debates created,
// from the answer's status code and body: it requires 202 Accepted and an
// id.
func CreatedID(t testing.TB, code int, body []byte) string {
	t.Helper()
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	var d struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &d), "%s", body)
	require.NotEmpty(t, d.ID, "%s", body)
	return d.ID
}
