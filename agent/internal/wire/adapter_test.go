package wire

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aragora/aragora/agent"
)

func TestAdapterDefaultsAndStream(t *testing.T) {
	t.Parallel()
	c, url := client(t, func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "data: {\"delta\":\"a\"}\n\ndata: {\"out\":1,\"done\":true}\n\n")
	})
	a := NewAdapter(Client{Provider: "lines", Model: "m-1", HTTPClient: c.HTTPClient}, url, func(_ *Client, _ agent.Request, stream, _ bool) Exchange {
		return Exchange{URL: url, Body: struct{}{}, Stream: stream, Decoder: &lines{}}
	})
	if a.c.Now == nil || a.c.Pricing == nil {
		t.Fatal("NewAdapter left Now or Pricing unset")
	}
	resp, err := a.RespondStream(t.Context(), agent.Request{Prompt: "p"}, nil) // a nil callback is allowed
	if err != nil || resp.Text != "a" {
		t.Fatalf("RespondStream = %+v, %v", resp, err)
	}
	if !a.SupportsSchema() {
		t.Error("a fresh adapter supports the schema parameter")
	}
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, model, base string
		max               int
		want              string
	}{
		{"ok", "m", "https://x.test", 0, ""},
		{"no model", "", "https://x.test", 0, "p: model required"},
		{"relative URL", "m", "x.test", 0, `p: base URL "x.test": want an absolute http or https URL`},
		{"negative max", "m", "http://x.test", -1, "p: max tokens -1: want >= 0"},
	}
	for _, tt := range tests {
		err := CheckConfig("p", tt.model, tt.base, tt.max)
		if got := fmt.Sprint(err); (err == nil) != (tt.want == "") || (err != nil && got != tt.want) {
			t.Errorf("%s: CheckConfig = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestDecodeAndEmbedded(t *testing.T) {
	t.Parallel()
	var v struct{ A int }
	if err := Decode("p", 200, "reply", []byte(`{"A":1}`), &v); err != nil || v.A != 1 {
		t.Errorf("Decode = %v, %+v", err, v)
	}
	err := Decode("p", 200, "stream event", []byte(`{`), &v)
	if agent.KindOf(err) != agent.KindInvalidResponse || !strings.Contains(err.Error(), "decode stream event") {
		t.Errorf("Decode of bad JSON = %v", err)
	}
	c := &Client{Provider: "p", Now: time.Now}
	for _, raw := range []string{``, `null`} {
		if err := c.Embedded(json.RawMessage(raw), 502); err != nil {
			t.Errorf("Embedded(%q) = %v, want nil", raw, err)
		}
	}
	if got := agent.StatusCode(c.Embedded(json.RawMessage(`{"code":503,"message":"busy"}`), 502)); got != 503 {
		t.Errorf("Embedded with code 503: status %d", got)
	}
	if got := agent.StatusCode(c.Embedded(json.RawMessage(`{"message":"busy"}`), 502)); got != 502 {
		t.Errorf("Embedded without code: status %d, want the fallback 502", got)
	}
	if info := ParseErrorObject(json.RawMessage(`{"type":"overloaded_error","message":"x"}`)); info.Type != "overloaded_error" {
		t.Errorf("ParseErrorObject type = %q", info.Type)
	}
}
