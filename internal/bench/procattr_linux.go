package bench

import "syscall"

// childAttr makes a child process (the server under test) receive SIGTERM
// when the bench process dies, so it never outlives it.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} }
