package testenv_test

import (
	"bufio"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/internal/testenv"
)

// echo serves a line-echo server on loopback until t ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					_, _ = c.Write(append(sc.Bytes(), '\n'))
				}
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

func roundTrip(t *testing.T, addr string) error {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil {
		require.Equal(t, "ping\n", line)
	}
	return err
}

func TestProxyCutAndRestore(t *testing.T) {
	p := testenv.NewProxy(t, echo(t))
	require.NoError(t, roundTrip(t, p.Addr()))

	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("x\n"))
	require.NoError(t, err)
	_, err = bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	p.Cut()
	_, err = bufio.NewReader(c).ReadString('\n')
	require.Error(t, err, "a cut closes the open connections")
	require.Error(t, roundTrip(t, p.Addr()), "and refuses new ones")

	p.Restore(t)
	require.NoError(t, roundTrip(t, p.Addr()))
}
