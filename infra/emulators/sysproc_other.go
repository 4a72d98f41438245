//go:build !linux

package emulators

import "syscall"

// sysProcAttr puts an emulator in its own process group, which Stop kills.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
