package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/aragora/aragora/store"
)

// Sentinel errors the agent registry adapter and other seams wrap so that
// the server maps them to API.md §2.4 codes.
var (
	// ErrUnknownAgent reports an agent name or spec that names no agent.
	ErrUnknownAgent = errors.New("server: unknown agent")
	// ErrAgentUnavailable reports a known agent without credential or fallback.
	ErrAgentUnavailable = errors.New("server: agent unavailable")
	// ErrUnauthorized reports a missing or invalid credential.
	ErrUnauthorized = errors.New("server: unauthorized")
	// ErrAtCapacity reports a full debate queue.
	ErrAtCapacity = errors.New("server: at capacity")
	// ErrShuttingDown reports a server that is draining.
	ErrShuttingDown = errors.New("server: shutting down")
)

// Error is an API error with its HTTP status, stable code and optional
// details (API.md §2.4). Handlers return it; writeError renders it.
type Error struct {
	Status     int
	Code       string
	Message    string
	Details    map[string]any
	RetryAfter int // seconds; 0: no Retry-After header
	Header     http.Header
	Err        error // optional cause, logged, never sent
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("server: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("server: %s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func apiErr(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func (e *Error) with(k string, v any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[k] = v
	return e
}

// errorFor maps any error to the API error the client sees. It is the one
// place where errors become HTTP statuses (CONVENTIONS §6).
func errorFor(err error) *Error {
	var ae *Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		return apiErr(http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, store.ErrConflict):
		return apiErr(http.StatusConflict, "conflict", "conflict")
	case errors.Is(err, ErrUnknownAgent):
		return apiErr(http.StatusBadRequest, "unknown_agent", err.Error())
	case errors.Is(err, ErrAgentUnavailable):
		return apiErr(http.StatusBadRequest, "agent_unavailable", err.Error())
	case errors.Is(err, ErrUnauthorized):
		return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing or invalid credential",
			Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}}
	case errors.Is(err, ErrAtCapacity):
		return &Error{Status: http.StatusServiceUnavailable, Code: "at_capacity", Message: "debate queue is full", RetryAfter: 30}
	case errors.Is(err, ErrShuttingDown):
		return &Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "server is shutting down", RetryAfter: 5}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "dependency timed out", RetryAfter: 1, Err: err}
	case isInvalidConfig(err):
		return apiErr(http.StatusBadRequest, "validation_failed", err.Error())
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Err: err}
}

// StatusFor returns the HTTP status the server answers err with.
func StatusFor(err error) int { return errorFor(err).Status }

type errorBody struct {
	Error errorPayload `json:"error"`
}

type errorPayload struct {
	Code          string         `json:"code"`
	Message       string         `json:"message"`
	CorrelationID string         `json:"correlation_id"`
	Details       map[string]any `json:"details,omitempty"`
}

// writeError renders err as the API error body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := errorFor(err)
	info := infoFrom(r.Context())
	msg := e.Message
	if e.Status >= 500 {
		attrs := []any{"code", e.Code, "status", e.Status, "correlation_id", info.correlationID}
		if e.Err != nil {
			attrs = append(attrs, "error", e.Err.Error())
		} else if e.Status == 500 {
			attrs = append(attrs, "error", err.Error())
		}
		s.log.Error("request_error", attrs...)
		if e.Status == 500 && s.cfg.production() {
			msg = "internal error"
		}
	}
	for k, v := range e.Header {
		w.Header()[k] = v
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, errorBody{Error: errorPayload{Code: e.Code, Message: msg, CorrelationID: info.correlationID, Details: e.Details}})
}
