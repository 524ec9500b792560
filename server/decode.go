package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultMaxBodyBytes is the request body limit of docs/http-api.md#requests.
const DefaultMaxBodyBytes = 1 << 20

// decodeOr decodes r's body into dst with decodeBody and the server's body
// limit; on failure it answers the error and returns false.
func (s *Server) decodeOr(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := decodeBody(r, s.cfg.MaxBodyBytes, dst); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

// noQueryOr refuses any query parameter (parseQuery with none allowed); on
// failure it answers the error and returns false.
func (s *Server) noQueryOr(w http.ResponseWriter, r *http.Request) bool {
	if _, err := parseQuery(r); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

// limitQueryOr parses the query with parseQuery(r, allowed...) and its
// "limit" with intParam(def, lo, hi); on failure it answers the error and ok
// is false.
func (s *Server) limitQueryOr(w http.ResponseWriter, r *http.Request, def, lo, hi int, allowed ...string) (q query, limit int, ok bool) {
	q, err := parseQuery(r, allowed...)
	if err == nil {
		limit, err = q.intParam("limit", def, lo, hi)
	}
	if err != nil {
		s.writeError(w, r, err)
		return query{}, 0, false
	}
	return q, limit, true
}

// decodeBody reads r's body as exactly one JSON object into dst, with the
// rules of docs/http-api.md#requests: limit (413), content type (415), empty body = {},
// unknown fields (400 unknown_field), trailing data (400 invalid_json).
func decodeBody(r *http.Request, limit int64, dst any) error {
	form := false
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return apiErr(http.StatusUnsupportedMediaType, "unsupported_media_type", "unsupported content type")
		case mt == "application/json":
		case mt == "application/x-www-form-urlencoded":
			form = true
		default:
			return apiErr(http.StatusUnsupportedMediaType, "unsupported_media_type",
				fmt.Sprintf("unsupported content type %q (want application/json)", mt))
		}
	}
	if r.Body == nil {
		return decodeBytes([]byte("{}"), dst, false)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return apiErr(http.StatusBadRequest, "invalid_json", "could not read the request body")
	}
	if int64(len(b)) > limit {
		return tooLarge(limit)
	}
	return decodeBytes(b, dst, form)
}

func tooLarge(limit int64) *Error {
	return apiErr(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body exceeds %d bytes", limit))
}

func decodeBytes(b []byte, dst any, form bool) error {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	if trimmed[0] != '{' {
		if form {
			return apiErr(http.StatusUnsupportedMediaType, "unsupported_media_type", "form bodies must be a JSON object")
		}
		return apiErr(http.StatusBadRequest, "invalid_json", "the body must be one JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, form)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apiErr(http.StatusBadRequest, "invalid_json", "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error, form bool) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	msg := err.Error()
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		reason := "must be " + article(te.Type.Kind().String())
		return apiErr(http.StatusBadRequest, "validation_failed", field+": "+reason).
			with("fields", map[string]string{field: reason})
	case strings.HasPrefix(msg, "json: unknown field "):
		field, uerr := strconv.Unquote(strings.TrimPrefix(msg, "json: unknown field "))
		if uerr != nil {
			field = strings.TrimPrefix(msg, "json: unknown field ")
		}
		return apiErr(http.StatusBadRequest, "unknown_field", fmt.Sprintf("unknown field %q", field)).with("field", field)
	case form && (errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)):
		return apiErr(http.StatusUnsupportedMediaType, "unsupported_media_type", "form bodies must be a JSON object")
	}
	return apiErr(http.StatusBadRequest, "invalid_json", "malformed JSON body")
}

func article(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "of another type"
}

// query is a strictly parsed query string.
type query struct{ v url.Values }

// parseQuery rejects unknown parameters and repeated ones (400 invalid_query).
func parseQuery(r *http.Request, allowed ...string) (query, error) {
	if r.URL.RawQuery == "" {
		return query{}, nil // a nil url.Values reads as empty
	}
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, apiErr(http.StatusBadRequest, "invalid_query", "malformed query string")
	}
	for k, vals := range v {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return query{}, apiErr(http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown query parameter %q", k)).with("parameter", k)
		}
		if len(vals) > 1 {
			return query{}, apiErr(http.StatusBadRequest, "invalid_query", fmt.Sprintf("query parameter %q given twice", k)).with("parameter", k)
		}
	}
	return query{v: v}, nil
}

func (q query) has(k string) bool   { return q.v.Has(k) }
func (q query) get(k string) string { return q.v.Get(k) }

// intParam returns the parameter as an int in [lo, hi], or def when absent.
func (q query) intParam(k string, def, lo, hi int) (int, error) {
	if !q.v.Has(k) {
		return def, nil
	}
	n, err := strconv.Atoi(q.v.Get(k))
	if err != nil || n < lo || n > hi {
		return 0, apiErr(http.StatusBadRequest, "invalid_query", fmt.Sprintf("%s: want an integer in %d..%d", k, lo, hi)).with("parameter", k)
	}
	return n, nil
}

// int64Param is intParam for int64 values >= 0.
func (q query) int64Param(k string) (int64, error) {
	if !q.v.Has(k) {
		return 0, nil
	}
	n, err := strconv.ParseInt(q.v.Get(k), 10, 64)
	if err != nil || n < 0 {
		return 0, apiErr(http.StatusBadRequest, "invalid_query", k+": want an integer >= 0").with("parameter", k)
	}
	return n, nil
}
