package provider

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Fake is a stand-in Acme API for tests and offline demos: mount it on an
// httptest server and point ACME_BASE_URL (or Config.BaseURL) at it. It
// checks the bearer key when Key is set and answers every prompt with a
// reply the debate can use in any phase: the prompt echoed back after a
// fixed opening, so that a vote names a participant the prompt lists and
// a critique falls back to one issue (docs/agents.md#phases-and-reply-formats).
type Fake struct {
	// Key, when set, is the only accepted API key (401 otherwise).
	Key string
}

// ServeHTTP implements http.Handler.
func (f Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(status int, code, msg string) {
		var e apiError
		e.Error.Code, e.Error.Message = code, msg
		writeJSON(status, e)
	}
	if r.Method != http.MethodPost || r.URL.Path != completePath {
		fail(http.StatusNotFound, "not_found", "no such endpoint")
		return
	}
	if f.Key != "" && r.Header.Get("Authorization") != "Bearer "+f.Key {
		fail(http.StatusUnauthorized, "unauthorized", "invalid API key")
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Prompt == "" {
		fail(http.StatusBadRequest, "invalid_request", "want a JSON body with a prompt")
		return
	}
	text := "Acme considered it carefully. " + req.Prompt
	var rep reply
	rep.Output = &text
	rep.Usage.InputTokens = len(strings.Fields(req.System + " " + req.Prompt))
	rep.Usage.OutputTokens = len(strings.Fields(text))
	writeJSON(http.StatusOK, rep)
}
