package localcluster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie (state Z) has ended; only its parent has not reaped it yet.
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] != "Z"
}

func sleepBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/sleep", "/usr/bin/sleep"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no sleep binary on this machine")
	return ""
}

func TestStopEndsTheProcessAndRemovesItsPidFile(t *testing.T) {
	dir := t.TempDir()
	p, err := start("sleeper", sleepBinary(t), []string{"300"}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := p.cmd.Process.Pid
	if _, err := os.Stat(filepath.Join(dir, "sleeper.pid")); err != nil {
		t.Fatalf("no pid file: %v", err)
	}
	p.stop(5 * time.Second)
	if done, _ := p.exited(); !done || alive(pid) {
		t.Fatal("the process is still running after stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "sleeper.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

func TestKillLeftoversEndsOnlyProcessesItStarted(t *testing.T) {
	dir := t.TempDir()
	p, err := start("leftover", sleepBinary(t), []string{"300"}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(time.Second) })
	pid := p.cmd.Process.Pid

	// A pid file whose pid now runs another program must not be acted on.
	if err := os.WriteFile(filepath.Join(dir, "stranger.pid"), []byte(strconv.Itoa(os.Getpid())+"\n/not/the/binary\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := killLeftovers(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the leftover process survived killLeftovers")
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("leftover ended with %v, want SIGKILL", p.cmd.ProcessState)
	}
	if alive(pid) {
		t.Error("leftover still alive")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.pid")); len(matches) != 0 {
		t.Errorf("pid files left: %v", matches)
	}
}
