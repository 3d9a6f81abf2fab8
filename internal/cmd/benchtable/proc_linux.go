package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel send cmd's process SIGTERM if this one
// dies first, even of SIGKILL, which runs no deferred stop: a server of
// the run does not outlive it. (The signal follows the death of the
// thread that started the process; the Go runtime ends a thread only for
// a goroutine locked to it, and this command locks none.)
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
