//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// fanPoller reads the subscribers' sockets with one epoll instance per
// goroutine.
type fanPoller struct {
	ctx     context.Context
	subs    []*fanSub
	workers []*fanWorker
	wg      sync.WaitGroup
	rd      atomic.Int64 // bytes read from the sockets
	frames  *atomic.Int64
	errMu   sync.Mutex
	err     error
}

type fanWorker struct {
	epfd int
	mu   sync.Mutex // held while a socket is added: the worker then sees its fanSub
}

func newFanPoller(ctx context.Context, n, workers int, frames *atomic.Int64) (*fanPoller, error) {
	p := &fanPoller{ctx: ctx, subs: make([]*fanSub, n), frames: frames}
	for range workers {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("bench: epoll: %w", err)
		}
		w := &fanWorker{epfd: fd}
		p.workers = append(p.workers, w)
		p.wg.Go(func() { p.run(w) })
	}
	return p, nil
}

// add hands s, connected by conn, to a poller goroutine, after parsing
// what the upgrade already read (rest). The socket leaves Go's poller:
// conn is closed, a duplicate of its descriptor stays open.
func (p *fanPoller) add(s *fanSub, conn net.Conn, rest []byte) error {
	p.rd.Add(int64(len(rest)))
	s.tsc = &tsCache{}
	if n := s.feed(rest, time.Now()); n > 0 {
		p.frames.Add(int64(n))
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		_ = conn.Close()
		return errors.New("bench: not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		_ = conn.Close()
		return err
	}
	var derr error
	err = rc.Control(func(fd uintptr) { s.fd, derr = syscall.Dup(int(fd)) })
	_ = conn.Close()
	if err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("bench: dup: %w", err)
	}
	syscall.CloseOnExec(s.fd)
	if err := syscall.SetNonblock(s.fd, true); err != nil {
		return err
	}
	if len(s.pong) > 0 {
		_, _ = syscall.Write(s.fd, s.pong)
		s.pong = s.pong[:0]
	}
	w := p.workers[s.idx%len(p.workers)]
	w.mu.Lock()
	defer w.mu.Unlock()
	p.subs[s.idx] = s // stop closes its socket
	if s.done {
		return nil
	}
	s.tsc = nil // the worker's from now on
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(s.idx)}
	return syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev)
}

func (p *fanPoller) run(w *fanWorker) {
	evs := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	tsc := &tsCache{}
	ready := make([]*fanSub, len(evs))
	for p.ctx.Err() == nil {
		n, err := syscall.EpollWait(w.epfd, evs, 50)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			p.fail(fmt.Errorf("bench: epoll_wait: %w", err))
			return
		}
		w.mu.Lock() // the fanSubs were stored before their sockets were added
		for i, ev := range evs[:n] {
			ready[i] = p.subs[ev.Fd]
		}
		w.mu.Unlock()
		for _, s := range ready[:n] {
			s.tsc = tsc
			p.readable(w, s, buf)
		}
	}
}

// readable reads s's socket until it would block or s is done.
func (p *fanPoller) readable(w *fanWorker, s *fanSub, buf []byte) {
	for !s.done {
		n, err := syscall.Read(s.fd, buf)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return
		case err != nil:
			s.end(fmt.Errorf("bench: read: %w", err))
		case n == 0:
			s.end(io.ErrUnexpectedEOF)
		default:
			now := time.Now()
			p.rd.Add(int64(n))
			if f := s.feed(buf[:n], now); f > 0 {
				p.frames.Add(int64(f))
			}
			if len(s.pong) > 0 {
				_, _ = syscall.Write(s.fd, s.pong)
				s.pong = s.pong[:0]
			}
			if n < len(buf) && !s.done {
				return // level-triggered: epoll reports what comes next
			}
		}
	}
	_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
}

func (p *fanPoller) fail(err error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

// stop waits for the poller goroutines (they return once ctx ends) and
// closes every socket and epoll instance.
func (p *fanPoller) stop() {
	p.wg.Wait()
	for _, w := range p.workers {
		_ = syscall.Close(w.epfd)
	}
	for _, s := range p.subs {
		if s != nil && s.fd >= 0 {
			_ = syscall.Close(s.fd)
		}
	}
}
