package emulators

import "syscall"

// sysProcAttr puts an emulator in its own process group (Stop kills the
// group) and has the kernel kill it if the test binary dies without calling
// Stop, so a crashed or timed-out test leaves no java or node behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
