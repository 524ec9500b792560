//go:build !linux

package nomic

import "syscall"

// sysProcAttr puts a verify command in its own process group.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
