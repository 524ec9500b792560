package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/webhook"
)

// Error is an API error with its HTTP status, stable code and optional
// details (docs/http-api.md#errors). Handlers return it; writeError renders it.
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
// place where errors become HTTP statuses.
func errorFor(err error) *Error {
	var ae *Error
	var whv *webhook.ValidationError
	var ve *lifecycle.ValidationError
	switch {
	case errors.As(err, &ae):
		return ae
	case store.Unavailable(err) == store.ErrStorageFull:
		return &Error{Status: http.StatusInsufficientStorage, Code: "insufficient_storage",
			Message: "the store's volume is full; reads still work", RetryAfter: 60, Err: err}
	case store.Unavailable(err) != nil:
		return &Error{Status: http.StatusServiceUnavailable, Code: "store_unavailable",
			Message: "the store cannot be reached or cannot write now", RetryAfter: 5, Err: err}
	case auth.CodeOf(err) != "":
		return authError(err)
	case errors.Is(err, store.ErrNotFound):
		return apiErr(http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, store.ErrConflict):
		return apiErr(http.StatusConflict, "conflict", "conflict")
	case errors.As(err, &ve):
		return validationError(ve)
	case errors.Is(err, lifecycle.ErrUnknownAgent):
		return apiErr(http.StatusBadRequest, "unknown_agent", err.Error())
	case errors.Is(err, lifecycle.ErrAgentUnavailable):
		return apiErr(http.StatusBadRequest, "agent_unavailable", err.Error())
	case errors.Is(err, lifecycle.ErrAtCapacity):
		return &Error{Status: http.StatusServiceUnavailable, Code: "at_capacity", Message: "debate queue is full", RetryAfter: 30}
	case errors.Is(err, lifecycle.ErrShuttingDown):
		return &Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "server is shutting down", RetryAfter: 5}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "dependency timed out", RetryAfter: 1, Err: err}
	case errors.Is(err, debate.ErrInvalidConfig):
		return apiErr(http.StatusBadRequest, "validation_failed", err.Error())
	case errors.As(err, &whv):
		return apiErr(http.StatusBadRequest, "validation_failed", whv.Field+": "+whv.Reason).
			with("fields", map[string]string{whv.Field: whv.Reason})
	case errors.Is(err, webhook.ErrConfiguredEndpoint):
		return apiErr(http.StatusConflict, "conflict", "the endpoint comes from WEBHOOK_URL; change the configuration to remove it")
	case errors.Is(err, webhook.ErrEndpointDisabled):
		return apiErr(http.StatusConflict, "invalid_state", "the endpoint is disabled").with("state", "disabled")
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Err: err}
}

// authError maps the errors of package auth (auth.CodeOf) to API errors.
func authError(err error) *Error {
	code := auth.CodeOf(err)
	switch code {
	case "unauthorized", "token_expired", "token_revoked":
		msg := map[string]string{"unauthorized": "missing or invalid credential", "token_expired": "token expired",
			"token_revoked": "token revoked"}[code]
		return &Error{Status: http.StatusUnauthorized, Code: code, Message: msg,
			Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}}
	case "invalid_credentials":
		return apiErr(http.StatusUnauthorized, code, "wrong email or password")
	case "forbidden":
		e := apiErr(http.StatusForbidden, code, "role too low")
		var fe *auth.ForbiddenError
		if errors.As(err, &fe) {
			e.Message = "role " + string(fe.Required) + " required"
			e.with("required_role", string(fe.Required))
		}
		return e
	case "password_change_required":
		return apiErr(http.StatusForbidden, code, "the password must be changed first (POST /api/auth/password)")
	case "rate_limited":
		return &Error{Status: http.StatusTooManyRequests, Code: code, Message: "too many failed logins for this account from this address",
			RetryAfter: 60, Details: map[string]any{"route_class": "auth", "retry_after_seconds": 60}}
	case "unavailable":
		return &Error{Status: http.StatusServiceUnavailable, Code: code, Message: "password hashing is busy", RetryAfter: 1}
	case "validation_failed":
		msg := strings.TrimPrefix(err.Error(), "auth: invalid input: ")
		return apiErr(http.StatusBadRequest, code, msg)
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
		attrs := []any{"code", e.Code, "status", e.Status, "route", info.route, "correlation_id", info.correlationID}
		if id := debateIDOf(r); id != "" {
			attrs = append(attrs, "debate_id", id)
		}
		if e.Err != nil {
			attrs = append(attrs, "error", e.Err.Error())
		} else if e.Status == 500 {
			attrs = append(attrs, "error", err.Error())
		}
		s.log.Error("request_error", attrs...)
		s.errs.add(ErrorRecord{Type: "http", Level: "ERROR", Code: e.Code, Message: e.Message, Route: info.route,
			Method: r.Method, Status: e.Status, CorrelationID: info.correlationID})
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

// debateIDOf returns the debate id of a /api/debates/{id}… or
// /ws/debates/{id} request, or "": error records carry it (docs/operations.md#logs).
func debateIDOf(r *http.Request) string {
	if strings.Contains(r.Pattern, "/debates/{id}") {
		return r.PathValue("id")
	}
	return ""
}
