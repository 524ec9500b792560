// Command wsclient follows one debate's event stream over WebSocket, the
// way a client of `aragora serve` should (docs/websocket.md): it
// authenticates on the upgrade, resumes by seq and epoch after a dropped
// connection without gaps or duplicates, backs off with jitter, and stops
// for good when the server refuses its credential (HTTP 401/403 on the
// upgrade, an `unauthorized` error, or close code 1008) instead of
// retrying forever.
//
//	export ARAGORA_TOKEN=$(aragora token create --user admin@example.com)
//	go run ./examples/wsclient -server ws://localhost:8766 deb_01hq3z8k2m4n6p8r0t2v4x6z8b
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"time"

	"github.com/coder/websocket"
)

func main() {
	server := flag.String("server", "ws://localhost:8766", "WebSocket base URL of aragora serve (either listener)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wsclient [-server ws://host:port] DEBATE_ID   (credential: ARAGORA_TOKEN)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := Follow(ctx, *server, flag.Arg(0), os.Getenv("ARAGORA_TOKEN"), func(e Event) {
		fmt.Printf("%4d %-22s %s\n", e.Seq, e.Type, e.Agent)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsclient:", err)
		os.Exit(1)
	}
}

// Event is the part of a debate event this client reads (docs/events.md).
type Event struct {
	Seq   int64           `json:"seq"`
	Type  string          `json:"type"`
	Agent string          `json:"agent"`
	Data  json.RawMessage `json:"data"`
}

// frame is any server message: a debate event, or a protocol message
// (hello, subscribed, heartbeat, reset, error).
type frame struct {
	Event
	Epoch   string `json:"epoch"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrRefused reports that the server refused the credential: retrying with
// the same one cannot help.
var ErrRefused = errors.New("wsclient: credential refused")

// Follow delivers debate id's events to onEvent, in seq order, from the
// stored history through the live stream, and returns nil after
// debate_end. It reconnects on its own and resumes where it left off; it
// returns an error wrapping ErrRefused when the server refuses the
// credential, and ctx.Err() when ctx ends.
func Follow(ctx context.Context, base, id, token string, onEvent func(Event)) error {
	var last int64   // highest seq delivered
	var epoch string // stream epoch of the events delivered
	for attempt := 0; ; attempt++ {
		done, wait, err := stream(ctx, base, id, token, &last, &epoch, onEvent)
		switch {
		case done || err != nil:
			return err
		case wait < 0: // exponential backoff with full jitter, 0.5 s to 30 s
			wait = time.Duration(rand.Float64() * float64(min(30*time.Second, 500*time.Millisecond<<min(attempt, 6))))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// stream runs one connection. It reports done when the stream is over (or
// must not be retried, with err set); otherwise the caller reconnects after
// wait (negative: its own backoff).
func stream(ctx context.Context, base, id, token string, last *int64, epoch *string, onEvent func(Event)) (done bool, wait time.Duration, err error) {
	q := url.Values{"after_seq": {fmt.Sprint(*last)}}
	if *epoch != "" {
		q.Set("epoch", *epoch)
	}
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if token != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+token)
	}
	c, resp, err := websocket.Dial(ctx, base+"/ws/debates/"+url.PathEscape(id)+"?"+q.Encode(), opts)
	if err != nil {
		if ctx.Err() != nil {
			return true, 0, ctx.Err()
		}
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return true, 0, fmt.Errorf("%w: the upgrade got HTTP %d", ErrRefused, resp.StatusCode)
		}
		return false, -1, nil // refused connection, 429, 503: back off and retry
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			switch websocket.CloseStatus(err) {
			case websocket.StatusPolicyViolation: // 1008: authentication missing, failed or expired
				return true, 0, fmt.Errorf("%w: closed with 1008: %v", ErrRefused, err)
			case websocket.StatusNormalClosure: // 1000: the server has nothing more for us
				return true, 0, fmt.Errorf("wsclient: the server closed the stream: %v", err)
			case websocket.StatusMessageTooBig: // 1009: a frame of ours was too big; a bug, not a hiccup
				return true, 0, err
			case websocket.StatusGoingAway, websocket.StatusServiceRestart: // 1001, 1012: restart or reload
				return false, time.Duration(rand.Float64() * float64(2*time.Second)), nil
			}
			if ctx.Err() != nil {
				return true, 0, ctx.Err()
			}
			return false, -1, nil // 1011, 1013, a dropped connection: back off and resume
		}
		var f frame
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		switch f.Type {
		case "hello", "heartbeat", "pong", "agent_token":
		case "subscribed":
			*epoch = f.Epoch
		case "reset": // history changed (epoch_changed, events_purged): replay it whole
			*epoch, *last = f.Epoch, 0
			return false, 0, nil
		case "error":
			if f.Code == "unauthorized" {
				return true, 0, fmt.Errorf("%w: %s", ErrRefused, f.Message)
			}
			if f.Code == "not_found" {
				return true, 0, fmt.Errorf("wsclient: no debate %s", id)
			}
		default: // a debate event
			if f.Seq <= *last {
				continue // already delivered
			}
			*last = f.Seq
			onEvent(f.Event)
			if f.Type == "debate_end" {
				_ = c.Close(websocket.StatusNormalClosure, "done")
				return true, 0, nil
			}
		}
	}
}
