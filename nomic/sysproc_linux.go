package nomic

import "syscall"

// sysProcAttr puts a verify command in its own process group and kills
// it when the loop dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
