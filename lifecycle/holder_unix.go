//go:build unix

package lifecycle

import (
	"errors"
	"syscall"
)

// processAlive reports whether process pid exists: signal 0 delivers
// nothing, ESRCH says there is no such process (EPERM: it exists, another
// user's).
func processAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
