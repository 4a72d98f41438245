// Package stackproc runs the local stack (./infra/localstack, what `make run`
// runs) as a child process on free ports, for the tools and tests that drive
// the whole system end to end: the load tool, the console's screenshots and
// browser tests, and the sources' SDK and tracker tests.
//
// Start builds the stack, starts it with the caller's environment and
// flags, and returns once its banner says it is up, with the addresses and
// queues the banner names; Stop interrupts it as Ctrl-C would, so it stops
// the emulators and functions it started.
package stackproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/template"
)

// How long the stack may take to come up (it builds five functions and
// starts Java and Node, on a machine other runs share), and to stop once
// interrupted before its process group is killed.
const (
	startTimeout = 10 * time.Minute
	stopTimeout  = 30 * time.Second
)

// Options say how to run the stack. The zero value runs it with the
// environment of this process and its defaults, logging to
// build/local/stack.log.
type Options struct {
	// Name names the binary (build/local/localstack-<Name>), so tools
	// and test packages that run at the same time do not build over each
	// other's. Empty means "stack".
	Name string
	// Env is added to this process's environment, KEY=value: API_KEY,
	// LOG_LEVEL, WEBHOOK_URL_SALES and the rest of `make run`'s settings.
	Env []string
	// Args are flags added to the ones choosing free ports, e.g. -meter.
	Args []string
	// LogPath is the file the stack's output (its banner and the
	// functions' logs) goes to; its folder is created.
	LogPath string
	// Line, when set, is called with every line of the stack's output, in
	// order, from one goroutine; the slice is valid only during the call.
	Line func(line []byte)
}

// Stack is a running local stack.
type Stack struct {
	APIURL    string // the HTTP API, e.g. http://127.0.0.1:41234
	InvokeURL string // the Lambda invoke API and the /local/ endpoints
	LogPath   string

	cmd    *exec.Cmd
	exited chan struct{}

	mu     sync.Mutex
	sqsURL string
	queues map[string]string // banner name (ScoreQueue, ...) → queue URL; not the DLQs
}

var (
	bannerEnd   = regexp.MustCompile(`^Ctrl-C stops everything`)
	bannerSQS   = regexp.MustCompile(`^\s+SQS emulator\s+(http\S+)`)
	bannerQueue = regexp.MustCompile(`^\s+([A-Za-z0-9]+Queue)\s+(http\S+)`)
)

// Start builds ./infra/localstack, starts it on free ports as opt says, and
// returns once its banner says it is up. It fails if the stack exits first,
// is not up within ten minutes, or ctx ends.
func Start(ctx context.Context, opt Options) (*Stack, error) {
	root, err := template.RepoRoot()
	if err != nil {
		return nil, err
	}
	bin, err := build(ctx, root, opt.Name)
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	invokeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if opt.LogPath == "" {
		opt.LogPath = filepath.Join(root, "build", "local", "stack.log")
	}
	if err := os.MkdirAll(filepath.Dir(opt.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("stack log folder: %w", err)
	}
	logFile, err := os.Create(opt.LogPath)
	if err != nil {
		return nil, fmt.Errorf("stack log: %w", err)
	}
	s := &Stack{APIURL: "http://" + apiAddr, InvokeURL: "http://" + invokeAddr, LogPath: opt.LogPath,
		exited: make(chan struct{}), queues: map[string]string{}}
	args := append([]string{"-addr", apiAddr, "-invoke-addr", invokeAddr, "-dynamodb-port", "0", "-sqs-port", "0"}, opt.Args...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = root
	s.cmd.Env = append(os.Environ(), opt.Env...)
	// Its own process group, so a stray signal to ours does not half-stop
	// it; Stop interrupts it and it stops what it started.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	up := make(chan struct{})
	go s.follow(out, logFile, opt.Line, up)
	if err := s.waitUp(ctx, up); err != nil {
		return nil, err
	}
	return s, nil
}

// build compiles ./infra/localstack into build/local and returns the
// binary's path.
func build(ctx context.Context, root, name string) (string, error) {
	if name == "" {
		name = "stack"
	}
	bin := filepath.Join(root, "build", "local", "localstack-"+name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./infra/localstack")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building ./infra/localstack: %w\n%s", err, out)
	}
	return bin, nil
}

// waitUp waits for the banner's end, stopping the stack if it does not come.
func (s *Stack) waitUp(ctx context.Context, up <-chan struct{}) error {
	select {
	case <-up:
		return nil
	case <-s.exited:
		return fmt.Errorf("the local stack exited before it was up; see %s", s.LogPath)
	case <-time.After(startTimeout):
		s.Stop()
		return fmt.Errorf("the local stack was not up within %s; see %s", startTimeout, s.LogPath)
	case <-ctx.Done():
		s.Stop()
		return ctx.Err()
	}
}

// follow copies the stack's output to its log file and to line, reads the
// SQS endpoint and the queues from its banner, and closes up at the
// banner's end.
func (s *Stack) follow(out io.Reader, logFile *os.File, line func([]byte), up chan<- struct{}) {
	defer close(s.exited)
	defer logFile.Close()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inBanner := true
	for sc.Scan() {
		_, _ = logFile.Write(append(sc.Bytes(), '\n'))
		if line != nil {
			line(sc.Bytes())
		}
		if inBanner && s.readBanner(sc.Bytes()) {
			inBanner = false
			close(up)
		}
	}
	_, _ = io.Copy(io.Discard, out)
	_ = s.cmd.Wait()
}

// readBanner notes the SQS endpoint or queue a banner line names, and
// reports whether the line ends the banner.
func (s *Stack) readBanner(line []byte) (end bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := bannerSQS.FindSubmatch(line); m != nil {
		s.sqsURL = string(m[1])
	}
	if m := bannerQueue.FindSubmatch(line); m != nil {
		s.queues[string(m[1])] = string(m[2])
	}
	return bannerEnd.Match(line)
}

// SQSURL is the SQS emulator's endpoint, as the banner names it.
func (s *Stack) SQSURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sqsURL
}

// Queues are the source queues (not the DLQs) the banner names whose names
// end in suffix ("Queue": all of them; "ScoreQueue": the two score queues),
// name → URL.
func (s *Stack) Queues(suffix string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := maps.Clone(s.queues)
	maps.DeleteFunc(m, func(name, _ string) bool { return !strings.HasSuffix(name, suffix) })
	return m
}

// Backlog is the number of messages, visible or in flight, in the banner's
// queues whose names end in suffix, read straight from the emulator (so the
// stack's request meter does not count the reads).
func (s *Stack) Backlog(ctx context.Context, suffix string) (int, error) {
	endpoint, queues := s.SQSURL(), s.Queues(suffix)
	if endpoint == "" || len(queues) == 0 {
		return 0, fmt.Errorf("the stack banner named no SQS endpoint or no queue ending in %q", suffix)
	}
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	total := 0
	for _, q := range queues {
		out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			return 0, fmt.Errorf("queue attributes of %s: %w", q, err)
		}
		for _, v := range out.Attributes {
			n, _ := strconv.Atoi(v)
			total += n
		}
	}
	return total, nil
}

// Stop asks the stack to stop (SIGINT, as Ctrl-C does: it stops its
// emulators and functions), kills its process group if it lingers, and
// returns once it has exited.
func (s *Stack) Stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// freeAddr is a loopback address no one listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
