//go:build !linux

package bench

import "syscall"

// childAttr has no parent-death signal outside Linux: the bench stops its
// children itself, but a killed bench leaves them running.
func childAttr() *syscall.SysProcAttr { return nil }
