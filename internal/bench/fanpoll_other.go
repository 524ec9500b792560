//go:build !linux

package bench

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
)

// fanPoller reads the subscribers' sockets with epoll, which only Linux
// has: elsewhere the fanout scenario reports this error and the other
// scenarios run as usual.
type fanPoller struct {
	rd  atomic.Int64
	err error
}

func newFanPoller(context.Context, int, int, *atomic.Int64) (*fanPoller, error) {
	return nil, errors.New("bench: the fanout scenario's subscribers need Linux (epoll)")
}

func (p *fanPoller) add(*fanSub, net.Conn, []byte) error { return p.err }

func (p *fanPoller) stop() {}
