package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// The fanout scenario's subscribers are part of the measurement: they
// share the 2 cores with the server. So they are read the way a load
// tool reads them: after the HTTP upgrade, each connection's socket is
// taken out of Go's network poller and read by a few poller goroutines
// (one epoll instance each, one per core), which parse the server's
// frames in place (RFC 6455 framing, then scanFrame) with no allocation
// per frame and no goroutine per connection. Every frame is still read
// and its seq checked; the delivery time of a live event is taken when
// the read that brought it returns.

// fanMaxFrame is the largest frame a subscriber accepts.
const fanMaxFrame = 1 << 20

// fanSub is one subscriber: what it has received, parsed frame by frame.
type fanSub struct {
	idx        int
	fd         int
	part       []byte // the start of a frame whose end has not arrived yet
	replayUpTo int64  // last_seq of the subscribed message; -1 before it
	nextSeq    int64  // the seq expected next (resume from seq 0: 1)
	res        subResult
	keepTypes  bool
	readied    bool
	done       bool
	ready      func()   // once, at subscribed (or at the end)
	finish     func()   // once, when done
	pong       []byte   // masked pong frames to write
	tsc        *tsCache // the reading goroutine's
}

func newFanSub(idx int, keepTypes bool, ready, finish func()) *fanSub {
	return &fanSub{idx: idx, fd: -1, replayUpTo: -1, nextSeq: 1, keepTypes: keepTypes, ready: ready, finish: finish}
}

// end marks s done with err (nil after debate_end).
func (s *fanSub) end(err error) {
	if s.done {
		return
	}
	s.done = true
	if err != nil && s.res.err == nil {
		s.res.err = err
	}
	s.part = nil
	if !s.readied {
		s.readied = true
		s.ready()
	}
	s.finish()
}

// feed parses the frames of data (the bytes of one read, received at
// now) behind what is left of the previous read; it returns the number
// of data frames.
func (s *fanSub) feed(data []byte, now time.Time) int {
	if len(s.part) > 0 {
		s.part = append(s.part, data...)
		data = s.part
	}
	n, used := s.parse(data, now)
	switch rest := data[used:]; {
	case s.done:
	case len(rest) == 0:
		s.part = s.part[:0]
	default:
		s.part = append(s.part[:0], rest...) // copy handles the overlap
	}
	return n
}

// parse reads the whole frames at the start of b; it returns how many
// data frames it read and how many bytes.
func (s *fanSub) parse(b []byte, now time.Time) (frames, used int) {
	for !s.done && len(b)-used >= 2 {
		h := b[used:]
		if h[1]&0x80 != 0 {
			s.end(errors.New("bench: masked frame from the server"))
			break
		}
		hl, pl := 2, uint64(h[1]&0x7f)
		switch pl {
		case 126:
			if len(h) < 4 {
				return frames, used
			}
			hl, pl = 4, uint64(binary.BigEndian.Uint16(h[2:]))
		case 127:
			if len(h) < 10 {
				return frames, used
			}
			hl, pl = 10, binary.BigEndian.Uint64(h[2:])
		}
		if pl > fanMaxFrame {
			s.end(fmt.Errorf("bench: frame of %d bytes", pl))
			break
		}
		if uint64(len(h)) < uint64(hl)+pl {
			break
		}
		p := h[hl : hl+int(pl)]
		used += hl + int(pl)
		switch h[0] {
		case 0x81: // final text frame
			frames++
			s.message(p, now)
		case 0x89: // ping
			s.pong = appendPong(s.pong, p)
		case 0x8a: // pong
		case 0x88:
			code := 0
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
			s.end(fmt.Errorf("bench: closed by the server with %d %q", code, p[min(2, len(p)):]))
		default:
			s.end(fmt.Errorf("bench: unexpected frame (first byte %#x)", h[0]))
		}
	}
	return frames, used
}

// appendPong appends a client's (masked) pong frame echoing a ping's
// payload (at most 125 bytes).
func appendPong(dst, payload []byte) []byte {
	key := [4]byte{0x5a, 0x17, 0xc3, 0x8e}
	dst = append(dst, 0x8a, 0x80|byte(len(payload)))
	dst = append(dst, key[:]...)
	for i, c := range payload {
		dst = append(dst, c^key[i%4])
	}
	return dst
}

// message handles one text message: its type, seq and time stamp.
func (s *fanSub) message(b []byte, now time.Time) {
	s.res.frames++
	var typ string
	var f wireFrame
	tb, tsb, seq, ok := scanEvent(b)
	if ok {
		typ = internType(tb)
	} else {
		if err := json.Unmarshal(b, &f); err != nil {
			s.end(err)
			return
		}
		typ, seq = f.Type, f.Seq
	}
	if s.keepTypes {
		s.res.types = append(s.res.types, typ)
	}
	switch {
	case typ == "subscribed":
		s.replayUpTo, s.nextSeq = f.LastSeq, max(f.FromSeq, 1)
		if !s.readied {
			s.readied = true
			s.ready()
		}
	case seq > 0:
		if seq < s.nextSeq {
			s.res.dups++
			break
		}
		if seq > s.nextSeq {
			s.res.gap = true
		}
		s.nextSeq = seq + 1
		if s.replayUpTo >= 0 && seq > s.replayUpTo {
			var ts time.Time
			if ok {
				ts, ok = s.tsc.parse(tsb)
			} else {
				ts, ok = parseTS(f.Ts)
			}
			if ok {
				s.res.lats = append(s.res.lats, now.Sub(ts))
			}
		}
	}
	if typ == "debate_end" || typ == "error" || typ == "reset" {
		s.res.ended = typ == "debate_end"
		s.end(nil)
	}
}

// internType returns the constant string of a known event type, so that
// the scanner's type (an alias of the read buffer) need not be copied.
func internType(t []byte) string {
	for _, k := range [...]string{"proposal", "critique", "vote", "round_start", "round_end", "consensus_check",
		"debate_start", "debate_end", "agent_token", "agent_error"} {
		if string(t) == k {
			return k
		}
	}
	return string(t)
}

// tsCache parses time stamps once per poller: every subscriber gets the
// same ts for the same event.
type tsCache map[string]time.Time

func (c *tsCache) parse(b []byte) (time.Time, bool) {
	if t, ok := (*c)[string(b)]; ok {
		return t, true
	}
	t, ok := parseTS(string(b))
	if ok {
		if *c == nil || len(*c) > 4096 {
			*c = tsCache{}
		}
		(*c)[string(b)] = t
	}
	return t, ok
}

func parseTS(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// dialFan connects to url (ws://host/path) and upgrades with a Bearer
// token; it returns the connection and what the server sent after the
// response's header (frames already).
func dialFan(ctx context.Context, d *net.Dialer, url, token string) (net.Conn, []byte, error) {
	hostPath, ok := strings.CutPrefix(url, "ws://")
	if !ok {
		return nil, nil, fmt.Errorf("bench: %s: not ws://", url)
	}
	host, path, _ := strings.Cut(hostPath, "/")
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET /" + path + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	fail := func(err error) (net.Conn, []byte, error) {
		_ = conn.Close()
		return nil, nil, err
	}
	if _, err := io.WriteString(conn, req); err != nil {
		return fail(err)
	}
	buf := make([]byte, 0, 2048)
	for {
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			head, rest := string(buf[:i]), buf[i+4:]
			sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			if !strings.HasPrefix(head, "HTTP/1.1 101 ") ||
				!strings.Contains(strings.ToLower(head), "\r\nsec-websocket-accept: "+strings.ToLower(base64.StdEncoding.EncodeToString(sum[:]))) {
				line, _, _ := strings.Cut(head, "\r\n")
				return fail(fmt.Errorf("bench: upgrade: %s", line))
			}
			_ = conn.SetDeadline(time.Time{})
			return conn, rest, nil
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return fail(err)
		}
	}
}
