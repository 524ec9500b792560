package server

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// A WebSocket connection costs one goroutine while idle: its reader (the
// handler's goroutine), which handles control frames and client messages.
// Everything a connection writes goes through its send queue (wsConn.q):
// the hub appends live events, the reader appends replies and
// subscribe/unsubscribe requests, and a writer goroutine, started when the
// queue becomes non-empty and ended once it is empty, writes all that is
// queued as one batch (one system call) through corkConn. Live events
// usually skip both: the hub's fan-out writes a batch of events itself,
// without blocking, to a connection with nothing queued (pushEvents), and
// leaves to a writer goroutine only what the socket does not take at once
// (a slow reader) or a gap to fill from the store. Subscriptions
// have no goroutine of their own unless they follow a debate another
// replica runs. The queue holds at most Config.WSSendBuffer entries, the
// batch being written included: one more closes the connection with 1013
// (docs/websocket.md#liveness-and-backpressure).
//
// Data frames are framed here, not by the WebSocket library: a live
// event's frame (header and payload) is encoded once by the hub and its
// bytes copied into every subscriber's batch. The library writes only
// control frames (pong, ping, close), each in one Write of its 256-byte
// buffer, so they never split a data frame; after its close frame no data
// frame is written (corkConn.shut).

// frameOp is what one queue entry asks the writer to do.
type frameOp uint8

const (
	opFrame       frameOp = iota // write b
	opEvent                      // a debate event of sub: seq > 0 durable, 0 ephemeral (agent_token)
	opReplay                     // send what the store holds beyond sub's last seq (up to seq, if > 0)
	opSubscribe                  // run a subscribe request (req)
	opUnsubscribe                // end the subscription to req.debateID
	opClose                      // close with code seq and reason b, after what precedes it
)

// outFrame is one queue entry. For opEvent, b is a whole WebSocket frame
// (wsFrame); for opFrame, the message to frame.
type outFrame struct {
	op  frameOp
	sub *subscription
	seq int64
	b   []byte
	req *subscribeReq
}

// wsKeepCap is the largest queue capacity a connection keeps once its
// queue is written, so that steady traffic does not allocate per event.
const wsKeepCap = 16

// appendTextHeader appends the header of one final, unmasked text frame of
// n payload bytes (RFC 6455, section 5.2).
func appendTextHeader(dst []byte, n int) []byte {
	switch {
	case n <= 125:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x81, 126, byte(n>>8), byte(n))
	default:
		return append(dst, 0x81, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// wsFrame returns b as one final, unmasked text frame, the bytes every
// subscriber of an event gets.
func wsFrame(b []byte) []byte {
	return append(appendTextHeader(make([]byte, 0, len(b)+10), len(b)), b...)
}

// enqueue appends f to the send queue and starts the writer if none runs.
// It never blocks. A full queue closes the connection with 1013 (opClose
// entries are always accepted); it returns false if f was not queued.
func (c *wsConn) enqueue(f outFrame) bool {
	c.qmu.Lock()
	if c.qclosed || c.overflow {
		c.qmu.Unlock()
		return false
	}
	if f.op != opClose && len(c.q)+c.inflight >= c.s.cfg.WSSendBuffer {
		c.overflow = true
		c.qmu.Unlock()
		go c.slow()
		return false
	}
	c.q = append(c.q, f)
	c.startLocked()
	c.qmu.Unlock()
	return true
}

// pushEvents hands sub's live events evs (one batch of the hub's
// fan-out) to the connection. When the connection is idle (accepted,
// nothing queued, no writer running) and its socket can be written
// without blocking, the caller writes them at once, in one system call
// that never waits: no goroutine is started for a connection whose
// socket takes the batch. What the socket does not take, a gap to fill
// from the store, or anything else goes to a writer goroutine, as
// enqueue does; the queue's limit and the 1013 cut-off are the same.
func (c *wsConn) pushEvents(sub *subscription, evs []pubEvent) {
	c.qmu.Lock()
	if c.qclosed || c.overflow {
		c.qmu.Unlock()
		return
	}
	// A connection that does not send these (overflow, close) is ending.
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].seq > 0 {
			sub.handed.Store(max(sub.handed.Load(), evs[i].seq))
			break
		}
	}
	if !c.ready || c.writing || len(c.q) > 0 || c.cc.raw == nil || len(evs) > c.s.cfg.WSSendBuffer || c.ctx.Err() != nil {
		c.enqueueEventsLocked(sub, evs)
		c.qmu.Unlock()
		return
	}
	// This goroutine is the connection's writer until it returns.
	c.writing, c.inflight = true, len(evs)
	c.writers.Add(1)
	c.qmu.Unlock()
	rest, flushed, err := c.writeNow(sub, evs)
	if err != nil {
		if errors.Is(err, errShut) {
			// A close frame waits behind the collected frames: send them
			// as writeBatch does, within the write timeout.
			go func() {
				defer c.writers.Done()
				c.cc.endFailed()
				c.writerFailed()
			}()
			return
		}
		if c.ctx.Err() == nil {
			c.s.hub.connError("write_error")
		}
		c.writerFailed()
		c.writers.Done()
		return
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(rest) > 0 && !c.qclosed {
		q := make([]outFrame, 0, len(rest)+len(c.q))
		for _, e := range rest {
			q = append(q, outFrame{op: opEvent, sub: sub, seq: e.seq, b: e.f})
		}
		c.q, c.inflight = append(q, c.q...), len(evs)-len(rest)
	}
	if !flushed || len(c.q) > 0 {
		go c.writeLoop() // writes the rest, then the queue; the Add(1) is its
		return
	}
	c.writing, c.inflight = false, 0
	c.writers.Done()
}

// writeNow collects sub's events evs, up to a gap that only the store
// can fill, and writes them without blocking. It returns the events from
// the gap on, whether the socket took every byte (if not, the rest stays
// corked for the writer), and an error: errShut (still corked) if the
// library wrote a close frame, else the write's.
func (c *wsConn) writeNow(sub *subscription, evs []pubEvent) (rest []pubEvent, flushed bool, err error) {
	c.cc.cork()
	defer c.countSent()
	for i, e := range evs {
		gap, err := c.deliverNow(sub, e.seq, e.f)
		if err != nil {
			return nil, false, err
		}
		if gap {
			rest = evs[i:]
			break
		}
	}
	flushed, err = c.cc.tryUncork()
	return rest, flushed, err
}

// enqueueEventsLocked appends sub's live events evs to the send queue, as
// enqueue does one by one, and starts the writer once; c.qmu is held.
func (c *wsConn) enqueueEventsLocked(sub *subscription, evs []pubEvent) {
	for _, e := range evs {
		if len(c.q)+c.inflight >= c.s.cfg.WSSendBuffer {
			c.overflow = true
			go c.slow()
			return
		}
		c.q = append(c.q, outFrame{op: opEvent, sub: sub, seq: e.seq, b: e.f})
	}
	c.startLocked()
}

// writerFailed ends the queue once the writer cannot go on.
func (c *wsConn) writerFailed() {
	c.qmu.Lock()
	c.qclosed, c.writing, c.inflight, c.q, c.spare = true, false, 0, nil, nil
	c.qmu.Unlock()
	c.cancel()
}

// startLocked starts the writer if it may run and none runs; c.qmu is
// held.
func (c *wsConn) startLocked() {
	if c.ready && !c.writing && !c.qclosed && len(c.q) > 0 {
		c.writing = true
		c.writers.Add(1)
		go c.writeLoop()
	}
}

// start lets the writer run once the WebSocket is accepted.
func (c *wsConn) start() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.ready = true
	c.startLocked()
}

// stopQueue refuses further entries, drops what is queued and waits for
// the writer to return (the WebSocket must be closed first, so that a
// blocked write fails at once).
func (c *wsConn) stopQueue() {
	c.qmu.Lock()
	c.qclosed = true
	c.q = nil
	c.qmu.Unlock()
	c.writers.Wait()
}

// writeLoop writes what pushEvents left corked, then the queue in
// batches until it is empty, then returns.
func (c *wsConn) writeLoop() {
	defer c.writers.Done()
	if err := c.cc.resume(wsWriteTimeout); err != nil {
		if c.ctx.Err() == nil && !errors.Is(err, errShut) {
			c.s.hub.connError("write_error")
		}
		c.writerFailed()
		return
	}
	for {
		c.qmu.Lock()
		if len(c.q) == 0 || c.qclosed {
			c.writing, c.inflight = false, 0
			if c.qclosed || cap(c.q) > wsKeepCap {
				c.q, c.spare = nil, nil
			} else if cap(c.q) == 0 {
				c.q, c.spare = c.spare, nil // the next entries reuse it
			}
			c.qmu.Unlock()
			return
		}
		batch := c.q
		c.q, c.spare, c.inflight = c.spare, nil, len(batch)
		c.qmu.Unlock()
		if !c.writeBatch(batch) {
			c.writerFailed()
			return
		}
		// Reuse the written batch's array (writeBatch cleared its entries).
		c.qmu.Lock()
		if cap(batch) <= wsKeepCap && !c.qclosed {
			c.spare = batch[:0]
		}
		c.qmu.Unlock()
	}
}

// writeBatch carries out batch with the connection corked, so that its
// frames leave in one write. It returns false once the connection is done.
func (c *wsConn) writeBatch(batch []outFrame) bool {
	c.cc.cork()
	defer c.countSent()
	for i := range batch {
		f := &batch[i]
		if c.ctx.Err() != nil {
			c.cc.endFailed()
			return false
		}
		var err error
		switch f.op {
		case opFrame:
			err = c.write(f.b)
		case opEvent:
			err = c.deliver(f.sub, f.seq, f.b)
		case opReplay:
			f.sub.replayQueued.Store(false)
			if !f.sub.stopped && (f.seq == 0 || f.sub.lastSeq.Load() < f.seq) {
				err = c.replay(f.sub, 0)
			}
		case opSubscribe:
			err = c.subscribe(f.req)
		case opUnsubscribe:
			err = c.unsubscribe(f.req.debateID)
		case opClose:
			if err := c.cc.uncork(wsWriteTimeout); err != nil {
				return false
			}
			_ = c.c.Close(websocket.StatusCode(f.seq), string(f.b))
			return false
		}
		if err == nil && c.cc.buffered() >= wsBatchBytes {
			err = c.cc.flushCorked(wsWriteTimeout)
		}
		if err != nil {
			// The library's close frame may sit in the batch, behind the
			// frames before it: endFailed sends them unless aborted.
			c.cc.endFailed()
			if errors.Is(err, errShut) {
				return false // closing, not a write error
			}
			if c.ctx.Err() == nil {
				c.s.hub.connError("write_error")
			}
			return false
		}
		*f = outFrame{}
	}
	if err := c.cc.uncork(wsWriteTimeout); err != nil {
		if c.ctx.Err() == nil {
			c.s.hub.connError("write_error")
		}
		return false
	}
	return true
}

// write sends one message and writeFrame one encoded frame (wsFrame).
// Only the writer calls them: the connection is corked, so they only copy
// the bytes (the time limit applies to the batch).
func (c *wsConn) write(b []byte) error { return c.cc.frame(b, false) }

func (c *wsConn) writeFrame(f []byte) error { return c.cc.frame(f, true) }

// countSent adds the messages framed since the last call to the sent
// totals: one atomic add per batch instead of one per message.
func (c *wsConn) countSent() {
	n := c.cc.takeFramed()
	if n == 0 {
		return
	}
	c.s.hub.sent.Add(n)
	if o := c.s.cfg.WSObserver; o != nil {
		for range n {
			o.MessageSent()
		}
	}
}

const (
	// wsBatchBytes is how much a batch collects before it is written out.
	wsBatchBytes = 64 << 10
	// wsWriteBuf is the library's write buffer: frame headers and small
	// frames; corkConn collects the rest.
	wsWriteBuf = 256
	// wsReadBuf is the read buffer: clients send small messages.
	wsReadBuf = 1 << 10
)

// corkConn is the hijacked connection under a WebSocket. While corked,
// what is written (data frames by the writer, control frames by the
// library) is collected in a pooled buffer and sent in one write by
// uncork; otherwise (pings and close frames of other goroutines) it is
// written through. Its mutex keeps the bytes in order.
//
// A close frame another goroutine writes while the writer is corked is
// collected behind the frames of the batch. The library closes the
// connection right after writing its echo of a client's close frame, so
// Close first sends what is collected (within wsWriteTimeout): the client
// gets the batch's frames and the close frame, then the end of the
// connection. Once abort was called, Close drops what is collected.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	closed bool
	// shut is set once the library wrote a close frame: no data frame may
	// follow it.
	shut   bool
	framed int64 // data frames collected since takeFramed
	buf    *[]byte
	// raw is the socket's, if it is one: tryUncork writes through it
	// without blocking, with tryWrite (tryWriteFn, bound once), which
	// leaves its result in wn and werr.
	raw      syscall.RawConn
	tryWrite func(uintptr) bool
	wn       int
	werr     error
	aborted  atomic.Bool
	closeBy  atomic.Int64 // once Close began: the deadline (Unix ns) of every write
}

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// errShut refuses a data frame after the close frame.
var errShut = fmt.Errorf("server: websocket closing: %w", net.ErrClosed)

// Write is the library's: whole control frames (and the handshake's bytes
// before any frame).
func (cc *corkConn) Write(p []byte) (int, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed {
		return 0, net.ErrClosed
	}
	if len(p) > 0 && p[0] == 0x88 { // FIN + close opcode
		cc.shut = true
	}
	if cc.corked {
		*cc.buf = append(*cc.buf, p...)
		return len(p), nil
	}
	return len(p), cc.writeLocked(p, 0)
}

// writeLocked writes p through within timeout (0: no limit of its own),
// or by the deadline Close set.
func (cc *corkConn) writeLocked(p []byte, timeout time.Duration) error {
	if by := cc.closeBy.Load(); by != 0 {
		_ = cc.Conn.SetWriteDeadline(time.Unix(0, by))
		_, err := cc.Conn.Write(p)
		return err
	}
	if timeout > 0 {
		_ = cc.Conn.SetWriteDeadline(time.Now().Add(timeout))
		defer func() { _ = cc.Conn.SetWriteDeadline(time.Time{}) }()
	}
	_, err := cc.Conn.Write(p)
	return err
}

// Close sends what is collected, then closes the connection; after abort
// it closes at once. Writes end within wsWriteTimeout from its start, the
// one in progress included.
func (cc *corkConn) Close() error {
	if cc.aborted.Load() {
		return cc.Conn.Close()
	}
	by := time.Now().Add(wsWriteTimeout)
	cc.closeBy.CompareAndSwap(0, by.UnixNano())
	_ = cc.Conn.SetWriteDeadline(time.Unix(0, cc.closeBy.Load()))
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.closed {
		cc.closed = true
		_ = cc.flushLocked(0)
	}
	return cc.Conn.Close()
}

// abort makes Close drop what is collected and close at once (a slow or
// unresponsive client); with now it also closes the connection, so that a
// write in progress fails at once.
func (cc *corkConn) abort(now bool) {
	cc.aborted.Store(true)
	if now {
		_ = cc.Conn.Close()
	}
}

// frame collects one data frame: b itself when framed (wsFrame), else b
// behind a text frame header. The connection must be corked.
func (cc *corkConn) frame(b []byte, framed bool) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.shut || cc.closed || !cc.corked {
		return errShut
	}
	if !framed {
		*cc.buf = appendTextHeader(*cc.buf, len(b))
	}
	*cc.buf = append(*cc.buf, b...)
	cc.framed++
	return nil
}

// takeFramed returns how many data frames were collected since the last
// call.
func (cc *corkConn) takeFramed() int64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	n := cc.framed
	cc.framed = 0
	return n
}

func (cc *corkConn) cork() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.corked = true
	if cc.buf == nil {
		cc.buf = corkPool.Get().(*[]byte)
	}
}

func (cc *corkConn) buffered() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.buf == nil {
		return 0
	}
	return len(*cc.buf)
}

// tryUncork writes what is collected without blocking (one system call)
// and uncorks if the socket took all of it; else what is left stays
// corked, and done is false. While Close runs it writes nothing.
func (cc *corkConn) tryUncork() (done bool, err error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.buf != nil && len(*cc.buf) > 0 {
		if cc.closed || cc.closeBy.Load() != 0 {
			return false, nil // resume writes it by Close's deadline
		}
		b := *cc.buf
		err = cc.raw.Write(cc.tryWrite)
		n, werr := cc.wn, cc.werr
		cc.werr = nil
		if err == nil && werr != nil && werr != syscall.EAGAIN {
			err = werr
		}
		n = max(n, 0)
		if err == nil && n < len(b) {
			*cc.buf = b[:copy(b, b[n:])]
			return false, nil
		}
	}
	cc.corked = false
	cc.release()
	return err == nil, err
}

// tryWriteFn is tryWrite for RawConn.Write: it writes what is collected
// once (cc.mu is held) and never waits for the socket.
func (cc *corkConn) tryWriteFn(fd uintptr) bool {
	for {
		cc.wn, cc.werr = syscall.Write(int(fd), *cc.buf)
		if cc.werr != syscall.EINTR {
			return true
		}
	}
}

// resume writes what tryUncork left, within timeout, and uncorks; after
// abort it drops it and returns errShut. Not corked, it does nothing.
func (cc *corkConn) resume(timeout time.Duration) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.corked {
		return nil
	}
	err := errShut
	if !cc.aborted.Load() {
		err = cc.flushLocked(timeout)
	}
	cc.corked = false
	cc.release()
	return err
}

// flushCorked writes what is collected and stays corked.
func (cc *corkConn) flushCorked(timeout time.Duration) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.flushLocked(timeout)
}

func (cc *corkConn) flushLocked(timeout time.Duration) error {
	if cc.buf == nil || len(*cc.buf) == 0 {
		return nil
	}
	err := cc.writeLocked(*cc.buf, timeout)
	*cc.buf = (*cc.buf)[:0]
	return err
}

// uncork writes what is collected and writes through from then on.
func (cc *corkConn) uncork(timeout time.Duration) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	err := cc.flushLocked(timeout)
	cc.corked = false
	cc.release()
	return err
}

// endFailed ends a batch that failed. What is collected is whole frames
// and may end with a close frame another goroutine wrote (the library
// refuses the writer's frames after it): unless abort was called, it
// still goes out (within wsWriteTimeout) and the writes after it fail.
func (cc *corkConn) endFailed() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.aborted.Load() && !cc.closed {
		_ = cc.flushLocked(wsWriteTimeout)
	}
	cc.corked = false
	cc.release()
}

func (cc *corkConn) release() {
	if cc.buf == nil {
		return
	}
	if cap(*cc.buf) <= wsBatchBytes*2 {
		*cc.buf = (*cc.buf)[:0]
		corkPool.Put(cc.buf)
	}
	cc.buf = nil
}

// corkWriter hands websocket.Accept the hijacked connection wrapped in a
// corkConn, with small buffers instead of net/http's 4 KiB ones (an idle
// connection keeps them).
type corkWriter struct {
	http.ResponseWriter
	cc *corkConn
}

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.cc = &corkConn{Conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			w.cc.raw, w.cc.tryWrite = rc, w.cc.tryWriteFn
		}
	}
	r := brw.Reader
	if n := r.Buffered(); n <= wsReadBuf {
		// Move what the client already sent into a small reader; Accept
		// takes the buffered bytes from it.
		b, _ := r.Peek(n)
		pending := append([]byte(nil), b...)
		r = bufio.NewReaderSize(w.cc, wsReadBuf)
		if len(pending) > 0 {
			r.Reset(&prefixReader{p: pending, r: w.cc})
			if _, err := r.Peek(len(pending)); err != nil {
				_ = conn.Close()
				return nil, nil, err
			}
		}
	}
	return w.cc, bufio.NewReadWriter(r, bufio.NewWriterSize(w.cc, wsWriteBuf)), nil
}

// prefixReader reads p, then r; a single Read never mixes the two.
type prefixReader struct {
	p []byte
	r net.Conn
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.p) > 0 {
		n := copy(b, p.p)
		p.p = p.p[n:]
		return n, nil
	}
	return p.r.Read(b)
}
