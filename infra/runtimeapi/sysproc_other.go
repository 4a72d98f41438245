//go:build !linux

package runtimeapi

import "syscall"

// sysProcAttr puts a bootstrap in its own process group, which Stop kills.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
