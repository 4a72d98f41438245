package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/localapi"
	"github.com/leadscore/leadscore/infra/template"
)

// localStack is `go run ./infra/localstack -meter` as a child process: the
// same binaries, emulators, pollers and schedule as `make run`, with the
// webhooks pointed at the load tool's receiver and every DynamoDB and SQS
// request counted by the stack's request meter. Its output (the functions'
// logs and EMF metrics) goes to a log file and is scanned for EMF.
type localStack struct {
	cmd       *exec.Cmd
	APIURL    string
	invokeURL string
	sqsURL    string
	queues    map[string]string
	emf       *EMF
	exited    chan struct{}
	logPath   string
	mu        sync.Mutex
}

var (
	bannerEnd   = regexp.MustCompile(`^Ctrl-C stops everything`)
	bannerSQS   = regexp.MustCompile(`^\s+SQS emulator\s+(http\S+)`)
	bannerQueue = regexp.MustCompile(`^\s+([A-Za-z0-9]+Queue)\s+(http\S+)`)
)

// startStack builds and starts the local stack with webhooks to hookURL and
// waits until it is up; batching are its -batching overrides.
func startStack(ctx context.Context, apiKey, secret, hookURL, logLevel, logPath string, sqsConcurrency int, batching []string) (*localStack, error) {
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
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	invokeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("stack log folder: %w", err)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("stack log: %w", err)
	}
	s := &localStack{APIURL: "http://" + apiAddr, invokeURL: "http://" + invokeAddr, queues: map[string]string{},
		emf: &EMF{}, exited: make(chan struct{}), logPath: logPath}
	args := []string{"-addr", apiAddr, "-invoke-addr", invokeAddr, "-dynamodb-port", "0", "-sqs-port", "0", "-meter", "-sqs-concurrency", strconv.Itoa(sqsConcurrency)}
	for _, b := range batching {
		args = append(args, "-batching", b)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = root
	s.cmd.Env = append(os.Environ(),
		"API_KEY="+apiKey, "WEBHOOK_SECRET="+secret, "LOG_LEVEL="+logLevel,
		"WEBHOOK_URL_SALES="+hookURL+"/sales", "WEBHOOK_URL_NURTURE="+hookURL+"/nurture")
	// Its own process group, so a stray signal to ours does not half-stop it;
	// stop() signals it and it stops what it started.
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
	go s.follow(out, logFile, up)
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

// follow copies the stack's output to its log file, feeds the score
// function's metrics to s.emf, reads the SQS endpoint and the queues from
// its banner, and closes up at the banner's end.
func (s *localStack) follow(out io.Reader, logFile *os.File, up chan<- struct{}) {
	defer close(s.exited)
	defer logFile.Close()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	signalled := false
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = logFile.Write(append(line, '\n'))
		if s.emf.AddLine(line) {
			continue
		}
		if signalled {
			continue
		}
		s.mu.Lock()
		if m := bannerSQS.FindSubmatch(line); m != nil {
			s.sqsURL = string(m[1])
		}
		if m := bannerQueue.FindSubmatch(line); m != nil {
			s.queues[string(m[1])] = string(m[2])
		}
		s.mu.Unlock()
		if bannerEnd.Match(line) {
			signalled = true
			close(up)
		}
	}
	_, _ = io.Copy(io.Discard, out)
	_ = s.cmd.Wait()
}

// stop asks the stack to stop (SIGINT, as Ctrl-C does: it stops its
// emulators and functions), then kills its group if it lingers.
func (s *localStack) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// resetMeter zeroes the request meter and the EMF sums, so the figures
// cover the load only.
func (s *localStack) resetMeter(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, s.invokeURL+localapi.RequestsPath, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting the request meter: %w", err)
	}
	resp.Body.Close()
	s.emf.Reset()
	return nil
}

// meter reads the stack's request counts.
func (s *localStack) meter(ctx context.Context) ([]OpStats, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.invokeURL+"/local/requests", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the request meter: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the request meter: %s", resp.Status)
	}
	var doc localapi.Requests
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("reading the request meter: %w", err)
	}
	return doc.Requests, nil
}

// backlog is the number of messages still in the source queues (every
// queue the banner lists whose name ends in Queue, not the DLQs; visible or
// in flight), read straight from the emulator so the meter does
// not count it.
func (s *localStack) backlog(ctx context.Context) (int, error) {
	s.mu.Lock()
	endpoint, queues := s.sqsURL, maps.Clone(s.queues)
	s.mu.Unlock()
	if endpoint == "" || len(queues) == 0 {
		return 0, errors.New("the stack banner named no SQS endpoint or queues")
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

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
