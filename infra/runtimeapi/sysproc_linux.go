package runtimeapi

import "syscall"

// sysProcAttr puts a bootstrap in its own process group (kill reaches
// anything it forks) and has the kernel kill it if the local stack dies
// without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
