// Command localstack is `make run`: the whole pipeline on one machine, built
// from template.yaml. It starts DynamoDB Local and the SQS emulator with the
// template's table and queues, builds the real bootstrap of every function
// for the host and runs it behind a Lambda Runtime API, serves the
// template's HTTP API routes on 127.0.0.1:3000 as API Gateway v2 events,
// feeds the SQS event sources and the schedule, and receives the webhooks.
// Ctrl-C stops everything it started.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/localapi"
	"github.com/leadscore/leadscore/infra/runtimeapi"
	"github.com/leadscore/leadscore/infra/template"
	"github.com/leadscore/leadscore/shared/webhook"
)

// Local defaults, documented in the README.
const (
	DefaultAPIKey        = "local-dev-key"
	DefaultWebhookSecret = "local-dev-webhook-secret"
	// DefaultForms configures the demo form `contact` for any localhost page:
	// a contact_request, the hand-raise the demo is about.
	DefaultForms = `{"contact":{"type":"contact_request","allowed_origins":["http://localhost:*","http://127.0.0.1:*"]}}`
	// DefaultWriteKeys is the local write key: point a Segment or
	// RudderStack SDK at the local API with it.
	DefaultWriteKeys = "wk_local_dev_write_key"
	// DefaultSites is the local tracker site: any localhost page (the demo
	// page included) may load t.js with data-site="pk_local_dev_site_key".
	DefaultSites = `{"local":{"key":"pk_local_dev_site_key","allowed_origins":["http://localhost:*","http://127.0.0.1:*"]}}`
	// DefaultSegmentWebhookSecret signs local Segment webhook posts.
	DefaultSegmentWebhookSecret = "local-dev-segment-secret"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address of the HTTP API")
	invokeAddr := flag.String("invoke-addr", "127.0.0.1:3001", "address of the Lambda Invoke API used by make invoke")
	ddbPort := flag.Int("dynamodb-port", 8000, "DynamoDB Local port (a free one if taken)")
	sqsPort := flag.Int("sqs-port", 9324, "SQS emulator port (a free one if taken)")
	verbose := flag.Bool("v", false, "print the emulators' own output")
	meter := flag.Bool("meter", false, "count every DynamoDB and SQS request of the functions and event sources through a proxy (GET/DELETE /local/requests on the invoke address; infra/load uses it)")
	flag.Var(batching, "batching", "Event=BatchSize/WindowSeconds: override an SQS event source's batching for this run (repeatable; make tradeoff)")
	flag.IntVar(&sqsConcurrency, "sqs-concurrency", 2, "execution environments (and pollers) per SQS-triggered function; Lambda scales these with the backlog")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *invokeAddr, *ddbPort, *sqsPort, *verbose, *meter); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

// sqsConcurrency is -sqs-concurrency; batching is -batching.
var (
	sqsConcurrency = 2
	batching       = batchingFlag{}
)

// run is the local stack from start to Ctrl-C: load the template, listen,
// build the functions, start the emulators, the webhook receiver and the
// functions' runtimes, serve the HTTP API and the Invoke API, run the event
// sources and schedules, print the banner and wait. Everything started is
// stopped in reverse order on return.
func run(ctx context.Context, addr, invokeAddr string, ddbPort, sqsPort int, verbose, metered bool) error {
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	repo, err := loadRepo()
	if err != nil {
		return err
	}
	// Listen first: a taken port should fail before anything starts.
	apiLn, invokeLn, err := listen(addr, invokeAddr)
	if err != nil {
		return err
	}
	defer apiLn.Close()
	defer invokeLn.Close()

	binaries, err := buildAll(ctx, repo.Root, repo.Functions, repo.Targets)
	if err != nil {
		return err
	}
	fmt.Println("starting DynamoDB Local and the SQS emulator ...")
	var emuLog io.Writer
	if verbose {
		emuLog = os.Stdout
	}
	st, err := emulators.StartWith(ctx, emulators.Options{DynamoDBPort: ddbPort, SQSPort: sqsPort, Log: emuLog})
	if err != nil {
		return err
	}
	defer st.Stop()

	hooks, err := startWebhooks()
	if err != nil {
		return err
	}
	defer hooks.close()
	var meter *requestMeter
	if metered {
		meter = newRequestMeter()
		defer meter.close()
	}
	params := map[string]string{
		"ApiKey":               envOr("API_KEY", DefaultAPIKey),
		"WebhookUrlSales":      hooks.salesURL,
		"WebhookUrlNurture":    hooks.nurtureURL,
		"WebhookSecret":        hooks.secret,
		"Forms":                envOr("FORMS", DefaultForms),
		"WriteKeys":            envOr("WRITE_KEYS", DefaultWriteKeys),
		"Sites":                envOr("SITES", DefaultSites),
		"SegmentWebhookSecret": envOr("SEGMENT_WEBHOOK_SECRET", DefaultSegmentWebhookSecret),
		"LogLevel":             envOr("LOG_LEVEL", "info"),
	}
	fns, err := startFunctions(ctx, repo, st, meter, binaries, params)
	defer fns.stop()
	if err != nil {
		return err
	}

	routes, err := repo.Template.Routes()
	if err != nil {
		return err
	}
	api := &http.Server{
		Handler: newThrottle(repo.Template, newRouter(routes),
			&apiHandler{router: newRouter(routes), functions: fns.byID, log: log, now: time.Now, newID: newID}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = api.Serve(apiLn) }()
	defer api.Close()
	invokeSrv := &http.Server{Handler: invokeMux(fns.byID, repo.Targets, meter), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = invokeSrv.Serve(invokeLn) }()
	defer invokeSrv.Close()

	pollCtx, cancelPolls := context.WithCancel(ctx)
	wait, schedules, err := startTriggers(pollCtx, log, repo.Template, st, meter, fns)
	defer func() { cancelPolls(); wait() }()
	if err != nil {
		return err
	}

	printBanner(os.Stdout, banner{
		api: "http://" + apiLn.Addr().String(), invoke: "http://" + invokeLn.Addr().String(),
		st: st, salesURL: hooks.salesURL, nurtureURL: hooks.nurtureURL, apiKey: params["ApiKey"], writeKeys: params["WriteKeys"],
		routes: routes, sources: fns.sources, schedules: schedules, runtimes: fns.all,
	})
	<-ctx.Done()
	fmt.Println("\nstopping ...")
	return nil
}

// listen opens the HTTP API's and the Invoke API's addresses.
func listen(addr, invokeAddr string) (api, invoke net.Listener, err error) {
	api, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("HTTP API address %s: %w (set -addr)", addr, err)
	}
	invoke, err = net.Listen("tcp", invokeAddr)
	if err != nil {
		api.Close()
		return nil, nil, fmt.Errorf("invoke address %s: %w (set -invoke-addr)", invokeAddr, err)
	}
	return api, invoke, nil
}

// loadRepo reads the repository this command runs in.
func loadRepo() (*template.Repo, error) {
	root, err := template.RepoRoot()
	if err != nil {
		return nil, err
	}
	return template.ReadRepo(root)
}

// webhooks are where the handoff function delivers: the user's receivers
// (WEBHOOK_URL_SALES, WEBHOOK_URL_NURTURE), else a printing receiver.
type webhooks struct {
	secret, salesURL, nurtureURL string
	receiver                     *http.Server
}

func startWebhooks() (*webhooks, error) {
	w := &webhooks{secret: envOr("WEBHOOK_SECRET", DefaultWebhookSecret),
		salesURL: os.Getenv("WEBHOOK_URL_SALES"), nurtureURL: os.Getenv("WEBHOOK_URL_NURTURE")}
	if w.salesURL != "" && w.nurtureURL != "" {
		return w, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	base := "http://" + ln.Addr().String()
	w.receiver = &http.Server{Handler: webhookReceiver(os.Stdout, w.secret), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = w.receiver.Serve(ln) }()
	if w.salesURL == "" {
		w.salesURL = base + "/sales"
	}
	if w.nurtureURL == "" {
		w.nurtureURL = base + "/nurture"
	}
	return w, nil
}

func (w *webhooks) close() {
	if w.receiver != nil {
		w.receiver.Close()
	}
}

// functions are the running functions' runtimes.
type functions struct {
	byID    map[string]invoker
	all     []*runtimeapi.Runtime
	sources []template.SQSSource
	// perSource is the environments (and pollers) per event source.
	perSource int
}

// stop stops every runtime, in parallel.
func (f *functions) stop() {
	var wg sync.WaitGroup
	for _, rt := range f.all {
		wg.Add(1)
		go func() { defer wg.Done(); rt.Stop() }()
	}
	wg.Wait()
}

// startFunctions starts one runtime per function of the template, with its
// environment resolved for the emulators (through the meter's proxies when
// metered). Two environments per event source (-sqs-concurrency): enough to
// see concurrent writers without loading a laptop. Each source brings its
// own, as each event source mapping scales on its own in Lambda, so the
// urgent score queue's batches never wait behind the score queue's.
func startFunctions(ctx context.Context, r *template.Repo, st *emulators.Stack, meter *requestMeter, binaries, params map[string]string) (*functions, error) {
	f := &functions{byID: map[string]invoker{}, perSource: max(sqsConcurrency, 1)}
	sources, err := r.Template.SQSSources()
	if err != nil {
		return f, err
	}
	if sources, err = applyBatching(sources, batching); err != nil {
		return f, err
	}
	f.sources = sources
	concurrency := map[string]int{}
	for _, s := range sources {
		concurrency[s.Function] += f.perSource
	}
	for _, fn := range r.Functions {
		env, err := st.FunctionEnv(fn, params)
		if err != nil {
			return f, err
		}
		if meter != nil {
			for name, target := range map[string]string{"dynamodb": st.DynamoDBEndpoint, "sqs": st.SQSEndpoint} {
				u, err := meter.proxy(name, fn.LogicalID, target)
				if err != nil {
					return f, err
				}
				env["AWS_ENDPOINT_URL_"+strings.ToUpper(name)] = u
			}
		}
		n := concurrency[fn.LogicalID]
		if len(fnRoutes(r.Template, fn.LogicalID)) > 0 {
			n = 4
		}
		rt, err := runtimeapi.Start(ctx, runtimeapi.Function{
			Name:        fn.LogicalID,
			Binary:      binaries[fn.LogicalID],
			Env:         env,
			Timeout:     fn.Timeout,
			MemoryMB:    fn.MemorySize,
			Concurrency: max(n, 1),
			Output:      os.Stdout,
			Observe:     observer(meter, fn.LogicalID, fn.MemorySize),
		})
		if err != nil {
			return f, err
		}
		f.all = append(f.all, rt)
		f.byID[fn.LogicalID] = rt
	}
	return f, nil
}

// invokeMux serves the Lambda Invoke API (make invoke) by logical id or
// by the function's folder name, and the request meter when metered.
func invokeMux(byID map[string]invoker, targets map[string]string, meter *requestMeter) http.Handler {
	byName := map[string]invoker{}
	for id, rt := range byID {
		byName[id] = rt
		if short, ok := targets[id]; ok {
			byName[short] = rt
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /2015-03-31/functions/{name}/invocations", &invokeHandler{functions: byName})
	if meter != nil {
		mux.Handle(localapi.RequestsPath, meter)
	}
	return mux
}

// startTriggers runs the SQS event sources' pollers and the schedules'
// timers until ctx ends; wait waits for them to return.
func startTriggers(ctx context.Context, log *slog.Logger, tmpl *template.Template, st *emulators.Stack, meter *requestMeter,
	fns *functions) (wait func(), schedules []template.Schedule, err error) {
	var wg sync.WaitGroup
	wait = wg.Wait
	pollClient := st.SQS()
	if meter != nil {
		// The event source mapping's receives and deletes are SQS requests
		// the account pays for too.
		u, err := meter.proxy("sqs", "EventSourceMapping", st.SQSEndpoint)
		if err != nil {
			return wait, nil, err
		}
		cfg, err := st.AWSConfig(ctx)
		if err != nil {
			return wait, nil, err
		}
		pollClient = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(u) })
	}
	for _, s := range fns.sources {
		p := &poller{source: s, queueURL: st.QueueURLs[s.Queue], queueARN: st.QueueARNs[s.Queue], client: pollClient, fn: fns.byID[s.Function], log: log}
		for range fns.perSource {
			wg.Add(1)
			go func() { defer wg.Done(); p.run(ctx) }()
		}
	}
	schedules, err = tmpl.Schedules()
	if err != nil {
		return wait, nil, err
	}
	for _, s := range schedules {
		if s.Every == 0 {
			log.Warn("schedule is not a rate(); invoke it by hand", "function", s.Function, "expression", s.Expression)
			continue
		}
		sc := &scheduler{schedule: s, fn: fns.byID[s.Function], log: log, now: time.Now}
		wg.Add(1)
		go func() { defer wg.Done(); sc.run(ctx) }()
	}
	return wait, schedules, nil
}

func fnRoutes(t *template.Template, id string) []template.Route {
	rs, _ := t.Routes()
	var out []template.Route
	for _, r := range rs {
		if r.Function == id {
			out = append(out, r)
		}
	}
	return out
}

// buildAll builds every function's bootstrap for the host, from the folder
// its Makefile build target names.
func buildAll(ctx context.Context, root string, fns []template.Function, targets map[string]string) (map[string]string, error) {
	out := map[string]string{}
	var pkgs []string
	for _, fn := range fns {
		folder, ok := targets[fn.LogicalID]
		if !ok {
			return nil, fmt.Errorf("the Makefile has no build-%s target naming a functions/ folder", fn.LogicalID)
		}
		out[fn.LogicalID] = filepath.Join(root, "build", "local", fn.LogicalID, "bootstrap")
		pkgs = append(pkgs, fn.LogicalID+"="+folder)
	}
	fmt.Println("building", len(fns), "functions for this machine ...")
	for _, p := range pkgs {
		id, folder, _ := strings.Cut(p, "=")
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out[id], "./functions/"+folder)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s (./functions/%s): %w\n%s", id, folder, err, b)
		}
	}
	return out, nil
}

type banner struct {
	api, invoke          string
	st                   *emulators.Stack
	salesURL, nurtureURL string
	apiKey, writeKeys    string
	routes               []template.Route
	sources              []template.SQSSource
	schedules            []template.Schedule
	runtimes             []*runtimeapi.Runtime
}

func printBanner(w io.Writer, b banner) {
	fmt.Fprintf(w, "\nleadscore local stack is up\n")
	fmt.Fprintf(w, "  HTTP API        %s   (x-api-key: %s)\n", b.api, b.apiKey)
	fmt.Fprintf(w, "  write keys      %s   (Segment/RudderStack SDKs: HTTP Basic user name)\n", b.writeKeys)
	fmt.Fprintf(w, "  tracker         %s/v1/t.js   (sites: SITES; demo page at %s/)\n", b.api, b.api)
	for _, r := range b.routes {
		fmt.Fprintf(w, "    %-8s %s\n", r.Method, r.Path)
	}
	fmt.Fprintf(w, "  invoke API      %s   (make invoke FN=<function> EVENT=<file>)\n", b.invoke)
	fmt.Fprintf(w, "  DynamoDB Local  %s   table %s\n", b.st.DynamoDBEndpoint, b.st.TableName)
	fmt.Fprintf(w, "  SQS emulator    %s\n", b.st.SQSEndpoint)
	ids := make([]string, 0, len(b.st.QueueURLs))
	for id := range b.st.QueueURLs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(w, "    %-14s %s\n", id, b.st.QueueURLs[id])
	}
	for _, s := range b.sources {
		fmt.Fprintf(w, "  %s <- %s (batch %d, window %s)\n", s.Function, s.Queue, s.BatchSize, s.MaxBatchingWindow)
	}
	for _, s := range b.schedules {
		fmt.Fprintf(w, "  %s <- %s\n", s.Function, s.Expression)
	}
	fmt.Fprintf(w, "  webhooks        sales %s, nurture %s\n", b.salesURL, b.nurtureURL)
	var pids []string
	for _, p := range b.st.PIDs() {
		pids = append(pids, fmt.Sprint(p))
	}
	for _, rt := range b.runtimes {
		for _, p := range rt.PIDs() {
			pids = append(pids, fmt.Sprint(p))
		}
	}
	fmt.Fprintf(w, "  processes       %s\n", strings.Join(pids, " "))
	fmt.Fprintf(w, "Ctrl-C stops everything.\n\n")
}

// webhookReceiver prints each handoff it receives: its type, its lead_id
// (never the email) and whether X-Signature verifies with secret.
func webhookReceiver(w io.Writer, secret string) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		var h struct {
			TransitionID string `json:"transition_id"`
			Type         string `json:"type"`
			Lead         struct {
				LeadID string `json:"lead_id"`
			} `json:"lead"`
		}
		_ = json.Unmarshal(body, &h)
		verified := webhook.Verify(secret, req.Header.Get("X-Timestamp"), req.Header.Get("X-Signature"), body, time.Now(), webhook.DefaultMaxAge) == nil
		mu.Lock()
		fmt.Fprintf(w, "webhook %s: %s lead_id=%s transition_id=%s signature_verified=%v\n",
			req.URL.Path, h.Type, h.Lead.LeadID, h.TransitionID, verified)
		mu.Unlock()
		if !verified {
			http.Error(rw, `{"error":"bad_signature"}`, http.StatusUnauthorized)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	})
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
