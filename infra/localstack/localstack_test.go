package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/template"
)

// batchFunc answers an SQS batch by failing the messages whose body is "fail".
type batchFunc struct{ batches []events.SQSEvent }

func (f *batchFunc) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.batches = append(f.batches, ev)
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		if m.Body == "fail" {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return json.Marshal(resp)
}

// TestPollerDeletesOnlySucceededMessages runs the SQS event source against
// the real emulator: the failed message stays in flight (it returns after
// the visibility timeout, toward the DLQ), the others are deleted.
func TestPollerDeletesOnlySucceededMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the emulators")
	}
	st, err := emulators.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	sources, err := st.Template.SQSSources()
	if err != nil {
		t.Fatal(err)
	}
	var src template.SQSSource
	for _, s := range sources {
		if s.Queue == emulators.ScoreQueueID {
			src = s
		}
	}
	url := st.ScoreQueueURL
	for _, body := range []string{"ok-1", "fail", "ok-2"} {
		if _, err := st.SQS().SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"lead_id": {DataType: aws.String("String"), StringValue: aws.String("ld_1")}}}); err != nil {
			t.Fatal(err)
		}
	}
	fn := &batchFunc{}
	p := &poller{source: src, queueURL: url, queueARN: st.QueueARNs[src.Queue], client: st.SQS(), fn: fn, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var batch []sqstypes.Message
	for len(batch) < 3 {
		got, err := p.gather(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, got...)
	}
	p.deliver(t.Context(), batch)

	rec := fn.batches[0].Records[0]
	if rec.EventSource != "aws:sqs" || rec.EventSourceARN != st.QueueARNs[src.Queue] || rec.Attributes["ApproximateReceiveCount"] != "1" ||
		rec.MessageAttributes["lead_id"].StringValue == nil {
		t.Errorf("SQS record %+v lacks what Lambda sends", rec)
	}
	left, err := st.SQS().ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range left.Messages {
		t.Errorf("message %q visible after the batch; want succeeded ones deleted and the failed one in flight", aws.ToString(m.Body))
	}
	attrs, err := st.SQS().GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	if nv := attrs.Attributes["ApproximateNumberOfMessagesNotVisible"]; nv != "1" {
		t.Errorf("%s messages in flight after the batch, want 1 (the failed one, back after the visibility timeout)", nv)
	}
}

// TestInterruptStopsEverything runs make run's program, checks it serves,
// interrupts it as Ctrl-C does, and checks that no process it started lives on.
func TestInterruptStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole local stack")
	}
	bin := filepath.Join(t.TempDir(), "localstack")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building localstack: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-invoke-addr", "127.0.0.1:0", "-dynamodb-port", "0", "-sqs-port", "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	apiRE := regexp.MustCompile(`HTTP API\s+(http://\S+)`)
	invokeRE := regexp.MustCompile(`invoke API\s+(http://\S+)`)
	var api, invoke string
	var pids []int
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if m := apiRE.FindStringSubmatch(line); m != nil {
			api = m[1]
		}
		if m := invokeRE.FindStringSubmatch(line); m != nil {
			invoke = m[1]
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "processes"); ok {
			for _, f := range strings.Fields(rest) {
				n, _ := strconv.Atoi(f)
				pids = append(pids, n)
			}
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if api == "" || invoke == "" || len(pids) < 6 {
		t.Fatalf("banner gave api %q invoke %q processes %v; want both addresses, the 2 emulators and the functions", api, invoke, pids)
	}
	resp, err := http.Get(api + "/no/such/route")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown route: %d, want 404", resp.StatusCode)
	}
	resp, err = http.Post(invoke+"/2015-03-31/functions/sweep/invocations", "application/json",
		strings.NewReader(fmt.Sprintf(`{"detail-type":"Scheduled Event","time":%q}`, time.Now().UTC().Format(time.RFC3339))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("invoke sweep: %d, want 200", resp.StatusCode)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("localstack exited with %v after Ctrl-C, want 0", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still alive after Ctrl-C", pid)
		}
	}
}
