package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/leadscore/leadscore/infra/template"
)

// stack is `make run` (./infra/localstack) as a child process on free
// ports: the real functions behind the template's routes, DynamoDB Local,
// the SQS emulator and the event sources. Its output goes to a log file.
type stack struct {
	URL     string // the HTTP API, e.g. http://127.0.0.1:41234
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

var bannerEnd = regexp.MustCompile(`^Ctrl-C stops everything`)

// startStack builds ./infra/localstack and starts it with apiKey, logging to
// logPath, and returns once its banner says it is up.
func startStack(ctx context.Context, apiKey, logPath string) (*stack, error) {
	root, err := template.RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "build", "local", "localstack")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./infra/localstack")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building ./infra/localstack: %w\n%s", err, out)
	}
	apiAddr, invokeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &stack{URL: "http://" + apiAddr, LogPath: logPath, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, "-addr", apiAddr, "-invoke-addr", invokeAddr, "-dynamodb-port", "0", "-sqs-port", "0")
	s.cmd.Dir = root
	s.cmd.Env = append(os.Environ(), "API_KEY="+apiKey, "LOG_LEVEL=warn")
	// Its own process group: stop() interrupts it as Ctrl-C would, and it
	// stops the emulators and functions it started.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	up := make(chan struct{})
	go func() {
		defer close(s.exited)
		defer logFile.Close()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		signalled := false
		for sc.Scan() {
			logFile.Write(append(sc.Bytes(), '\n'))
			if !signalled && bannerEnd.Match(sc.Bytes()) {
				signalled = true
				close(up)
			}
		}
		io.Copy(io.Discard, out)
		s.cmd.Wait()
	}()
	select {
	case <-up:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("the local stack exited before it was up; see %s", logPath)
	case <-time.After(5 * time.Minute):
		s.stop()
		return nil, fmt.Errorf("the local stack was not up within 5 minutes; see %s", logPath)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop interrupts the stack and kills its process group if it lingers.
func (s *stack) stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

func freeAddr() (api, invoke string, err error) {
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs[0], addrs[1], nil
}
