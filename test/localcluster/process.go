package localcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one child of the local control plane, with its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// spawner starts every child from one goroutine locked to its OS thread, which never exits: the
// children's parent-death signal fires when the thread that forked them ends, so a thread that
// lives as long as the process makes every child die with the test or demo that started it, even
// when that is killed.
var spawner = struct {
	once sync.Once
	reqs chan spawnRequest
}{}

type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

func startChild(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for r := range spawner.reqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, errc: errc}
	return <-errc
}

// start runs binary with args; its output goes to logDir/name.log and its pid to logDir/name.pid,
// so a later run in the same directory can end it if it was ever left behind.
func start(name, binary string, args []string, logDir string, env []string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startChild(cmd); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	// /proc/<pid>/exe shows the resolved path, so record that one.
	exe, err := filepath.EvalSymlinks(binary)
	if err == nil {
		exe, err = filepath.Abs(exe)
	}
	if err != nil {
		exe = binary
	}
	_ = os.WriteFile(filepath.Join(logDir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"+exe+"\n"), 0o600)
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop asks the process group to terminate, then kills it after grace.
func (p *process) stop(grace time.Duration) {
	if done, _ := p.exited(); done {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	_ = os.Remove(filepath.Join(filepath.Dir(p.logPath), p.name+".pid"))
}

// tail returns the last lines of the process's log, for error messages.
func (p *process) tail(lines int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// killLeftovers ends processes a previous run in logDir left behind (it was killed before it
// could stop them), recognised by their pid file naming both the pid and the binary it ran.
func killLeftovers(logDir string) error {
	pidFiles, err := filepath.Glob(filepath.Join(logDir, "*.pid"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range pidFiles {
		b, err := os.ReadFile(f)
		_ = os.Remove(f)
		if err != nil {
			continue
		}
		fields := strings.Fields(string(b))
		if len(fields) != 2 {
			continue
		}
		pid, err := strconv.Atoi(fields[0])
		if err != nil || pid <= 1 {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != fields[1] {
			continue // gone, or the pid now belongs to another program
		}
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill leftover %s (pid %d): %w", filepath.Base(f), pid, err))
		}
	}
	return errors.Join(errs...)
}
