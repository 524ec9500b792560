// Package apitest checks real HTTP exchanges against the OpenAPI document
// of the API (server.OpenAPI(), docs/http-api.md), so that a test that
// talks to the server, in process or over the network, fails when a
// response carries an undocumented status or field, or a documented field
// of the wrong shape.
//
// The rules, for each request and its response:
//
//   - a WebSocket upgrade is not checked (the protocol is not HTTP);
//   - a request to no documented operation must get 404 not_found or 405
//     method_not_allowed, with the error body;
//   - a request the document rejects (a missing required field, a value out
//     of range) must get a 4xx, whose body must validate;
//   - every other response must validate: its status must be documented for
//     the operation, and its body must match the schema of its content type.
//
// A body sent without Content-Type, or as application/x-www-form-urlencoded
// when it is a JSON object, is checked as JSON, as the server reads it
// (docs/http-api.md#requests).
// Use it from tests only: it links kin-openapi.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/aragora/aragora/server"
)

// Validator checks exchanges against one OpenAPI document. It is safe for
// concurrent use.
type Validator struct {
	doc      *openapi3.T
	router   routers.Router
	listener string // "api" unless ForListener

	mu      *sync.Mutex
	checked map[string]int // "METHOD /path" → exchanges checked
}

// New loads and validates an OpenAPI 3.1 document (JSON or YAML).
func New(spec []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("apitest: load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apitest: the document is invalid: %w", err)
	}
	doc.Servers = nil // match any host: tests run on loopback ports
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: router: %w", err)
	}
	registerDecoders.Do(func() {
		text := func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(body)
			return string(b), err
		}
		openapi3filter.RegisterBodyDecoder("text/markdown", text)
		openapi3filter.RegisterBodyDecoder("text/html", text)
	})
	return &Validator{doc: doc, router: router, listener: "api", mu: &sync.Mutex{}, checked: map[string]int{}}, nil
}

// registerDecoders registers, once per process, the body decoders of the
// document's text types (receipt exports).
var registerDecoders sync.Once

// ForListener returns a Validator for the exchanges of one listener, "api"
// (the default) or "ws": an operation whose x-aragora-listeners does not
// name it counts as an unknown route there. It shares Checked with v.
func (v *Validator) ForListener(name string) *Validator {
	c := *v
	c.listener = name
	return &c
}

func listenersOf(op *openapi3.Operation) []string {
	raw, ok := op.Extensions["x-aragora-listeners"].([]any)
	if !ok {
		return []string{"api"}
	}
	var out []string
	for _, l := range raw {
		if s, ok := l.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

var (
	serverOnce sync.Once
	serverDoc  *Validator
	serverErr  error
)

// Server returns the Validator of the server's own document
// (server.OpenAPI()), loaded once per test process and shared: its Checked
// counts every test's exchanges. Use [New] for a private one.
func Server(t testing.TB) *Validator {
	t.Helper()
	serverOnce.Do(func() { serverDoc, serverErr = New(server.OpenAPI()) })
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return serverDoc
}

// Must is New for tests: it fails t on error.
func Must(t testing.TB, spec []byte) *Validator {
	t.Helper()
	v, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Operation is one documented operation.
type Operation struct {
	Method string // GET, POST, DELETE
	Path   string // /api/debates/{id}
	// Role is the x-aragora-role extension: public, viewer, member, admin
	// or owner.
	Role string
	// Listeners is the x-aragora-listeners extension: "api", "ws" or both.
	Listeners []string
	// RateLimit is the x-aragora-rate-limit extension (general,
	// debate_create, auth), "" for a route never rate limited.
	RateLimit string
}

// Key returns "METHOD /path".
func (o Operation) Key() string { return o.Method + " " + o.Path }

// Operations returns every documented operation, sorted by path and method.
func (v *Validator) Operations() []Operation {
	var out []Operation
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			role, _ := op.Extensions["x-aragora-role"].(string)
			class, _ := op.Extensions["x-aragora-rate-limit"].(string)
			out = append(out, Operation{Method: method, Path: path, Role: role, Listeners: listenersOf(op), RateLimit: class})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// Checked returns how many exchanges were checked per operation
// ("METHOD /path"), for tests that want every operation exercised.
func (v *Validator) Checked() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.checked))
	for k, n := range v.checked {
		out[k] = n
	}
	return out
}

// IsUpgrade reports whether r asks for a WebSocket upgrade.
func IsUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// isPreflight reports whether r is a CORS preflight, which the server
// answers for every route (docs/http-api.md#cors).
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// Check validates one exchange: the request r with its body, and the
// response's status, header and body. It returns nil for a WebSocket
// upgrade and for a CORS preflight.
func (v *Validator) Check(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	if IsUpgrade(r) || isPreflight(r) {
		return nil
	}
	head := r.Method == http.MethodHead
	ctx := context.Background()
	req := r.Clone(ctx)
	if req.Method == http.MethodHead {
		req.Method = http.MethodGet
		body = nil
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	req.ContentLength = int64(len(reqBody))
	// The server reads a body without Content-Type, or sent as a form that
	// is a JSON object, as JSON.
	if ct := req.Header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") && json.Valid(reqBody) {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(bytes.TrimSpace(reqBody)) == 0 {
		req.Header.Del("Content-Type")
	}
	route, params, err := v.router.FindRoute(req)
	if err == nil && !slices.Contains(listenersOf(route.Operation), v.listener) {
		err = routers.ErrPathNotFound
	}
	if err != nil {
		var re *routers.RouteError
		if !errors.As(err, &re) {
			return fmt.Errorf("route: %w", err)
		}
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s %s is not in the OpenAPI document (for the %s listener), but the server answered %d (document the route, or answer 404/405)",
				r.Method, r.URL.Path, v.listener, status)
		}
		if head {
			return nil
		}
		return checkErrorBody(header, body)
	}
	v.mu.Lock()
	v.checked[strings.ToUpper(route.Method)+" "+route.Path]++
	v.mu.Unlock()

	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && (status < 400 || status > 499) {
		return fmt.Errorf("%s %s: the request does not match the document (%v), yet the server answered %d, not a 4xx",
			r.Method, r.URL.Path, reqErr, status)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	if head || status == http.StatusNoContent || len(body) == 0 && status >= 200 && status < 300 && header.Get("Content-Type") == "" {
		out.Options = &openapi3filter.Options{AuthenticationFunc: opts.AuthenticationFunc, IncludeResponseStatus: true,
			MultiError: true, ExcludeResponseBody: true}
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s %s → %d: the response does not match the document: %w", r.Method, r.URL.Path, status, err)
	}
	return nil
}

// checkErrorBody checks the error body of a 404 or 405 for an unknown
// route.
func checkErrorBody(header http.Header, body []byte) error {
	if !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		return fmt.Errorf("an unknown route's answer is %q, not the JSON error body", header.Get("Content-Type"))
	}
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Code == "" {
		return fmt.Errorf("an unknown route's answer is not the JSON error body: %s", body)
	}
	return nil
}

// Handler wraps h so that every exchange (but WebSocket upgrades) is
// checked; a mismatch fails t. Use it around the handler a test serves.
func (v *Validator) Handler(t testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsUpgrade(r) {
			h.ServeHTTP(w, r)
			return
		}
		var reqBody []byte
		if r.Body != nil {
			reqBody, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		orig := r.Clone(r.Context())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Header().Get("Content-Type") == "" && rec.Body.Len() > 0 {
			// net/http sniffs what a handler leaves unset; the recorder does not.
			rec.Header().Set("Content-Type", http.DetectContentType(rec.Body.Bytes()))
		}
		if err := v.Check(orig, reqBody, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Errorf("openapi: %v", err)
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// Transport wraps rt (nil: http.DefaultTransport) so that every exchange
// an http.Client makes through it (but WebSocket upgrades) is checked; a
// mismatch fails t.
func (v *Validator) Transport(t testing.TB, rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		var reqBody []byte
		if r.Body != nil {
			var err error
			if reqBody, err = io.ReadAll(r.Body); err != nil {
				return nil, err
			}
			_ = r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		resp, err := rt.RoundTrip(r)
		if err != nil || IsUpgrade(r) {
			return resp, err
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err := v.Check(r, reqBody, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("openapi: %v", err)
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
