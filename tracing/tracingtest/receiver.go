// Package tracingtest is an OTLP/HTTP trace receiver for tests
// (docs/observability.md#traces): an httptest.Server that decodes each
// protobuf ExportTraceServiceRequest with go.opentelemetry.io/proto/otlp
// and keeps its spans, so a test asserts the spans a program really
// exported.
package tracingtest

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span with its resource and scope.
type Span struct {
	*tracepb.Span
	Resource map[string]any
	Scope    string
}

// TraceID returns the span's trace id in hex.
func (s Span) TraceID() string { return hex.EncodeToString(s.Span.TraceId) }

// SpanID returns the span's id in hex.
func (s Span) SpanID() string { return hex.EncodeToString(s.Span.SpanId) }

// ParentID returns the span's parent id in hex ("" for a root).
func (s Span) ParentID() string { return hex.EncodeToString(s.Span.ParentSpanId) }

// Attr returns the value of the span attribute key (string, int64,
// float64, bool or []any), nil when absent.
func (s Span) Attr(key string) any { return attrOf(s.Attributes, key) }

// Event returns the first event of the span named name, nil when none.
func (s Span) Event(name string) *tracepb.Span_Event {
	for _, e := range s.Events {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// EventAttr returns the value of attribute key of event e.
func EventAttr(e *tracepb.Span_Event, key string) any { return attrOf(e.Attributes, key) }

func attrOf(kvs []*commonpb.KeyValue, key string) any {
	for _, kv := range kvs {
		if kv.Key == key {
			return value(kv.Value)
		}
	}
	return nil
}

func value(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_ArrayValue:
		out := []any{}
		for _, e := range x.ArrayValue.Values {
			out = append(out, value(e))
		}
		return out
	}
	return nil
}

// Receiver is a running OTLP/HTTP receiver. It is safe for concurrent use.
type Receiver struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []Span
	requests int
	errs     []error
}

// NewReceiver starts a receiver answering POST /v1/traces; close it with
// Close. Its URL is the OTEL_EXPORTER_OTLP_ENDPOINT of the program under
// test.
func NewReceiver() *Receiver {
	rc := &Receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		rc.fail(fmt.Errorf("tracingtest: unexpected %s %s", r.Method, r.URL.Path))
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			rc.fail(fmt.Errorf("tracingtest: gzip: %w", err))
			http.Error(w, "bad gzip", http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		rc.fail(fmt.Errorf("tracingtest: read: %w", err))
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		rc.fail(fmt.Errorf("tracingtest: Content-Type %q, want application/x-protobuf", ct))
	}
	var req collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		rc.fail(fmt.Errorf("tracingtest: decode ExportTraceServiceRequest: %w", err))
		http.Error(w, "bad protobuf", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.requests++
	for _, rs := range req.ResourceSpans {
		res := map[string]any{}
		for _, kv := range rs.GetResource().GetAttributes() {
			res[kv.Key] = value(kv.Value)
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				rc.spans = append(rc.spans, Span{Span: sp, Resource: res, Scope: ss.GetScope().GetName()})
			}
		}
	}
	rc.mu.Unlock()
	out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (rc *Receiver) fail(err error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.errs = append(rc.errs, err)
}

// Err returns the protocol errors seen (a bad path, content type or
// body), nil when none.
func (rc *Receiver) Err() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) == 0 {
		return nil
	}
	msgs := make([]string, len(rc.errs))
	for i, e := range rc.errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// Spans returns the spans received so far, ordered by start time.
func (rc *Receiver) Spans() []Span {
	rc.mu.Lock()
	out := append([]Span(nil), rc.spans...)
	rc.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTimeUnixNano < out[j].StartTimeUnixNano })
	return out
}

// Requests returns the number of export requests decoded.
func (rc *Receiver) Requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.requests
}

// Tree renders the spans of trace (hex id) as an indented tree of names,
// children in start order: the text form of a trace for test failures
// and documentation.
func Tree(spans []Span, trace string) string {
	children := map[string][]Span{}
	ids := map[string]bool{}
	for _, s := range spans {
		if s.TraceID() == trace {
			ids[s.SpanID()] = true
		}
	}
	var roots []Span
	for _, s := range spans {
		if s.TraceID() != trace {
			continue
		}
		if p := s.ParentID(); p != "" && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b bytes.Buffer
	var walk func(s Span, depth int)
	walk = func(s Span, depth int) {
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), s.Name)
		for _, c := range children[s.SpanID()] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}
