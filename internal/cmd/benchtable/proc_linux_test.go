package main

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	if os.Getenv("BENCHTABLE_START_ORPHAN") != "" {
		startOrphan()
		os.Exit(0)
	}
}

// startOrphan, in the process TestDieWithParent starts, starts sleep as
// startProcess starts a server, prints its pid and waits to be killed.
func startOrphan() {
	cmd := exec.Command("sleep", "60")
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	os.Stdout.WriteString(strconv.Itoa(cmd.Process.Pid) + "\n")
	cmd.Wait()
}

// TestDieWithParent kills, with SIGKILL, a process that started a child as
// benchtable starts its servers, and checks that the child ends too.
func TestDieWithParent(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), "BENCHTABLE_START_ORPHAN=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		parent.Process.Kill()
		t.Fatalf("no pid from the parent: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	parent.Process.Kill()
	parent.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		// The child, reparented, is a zombie until init reaps it, or gone.
		b, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("the child %d outlived its parent by 10 s: %s", child, b)
		}
	}
}
