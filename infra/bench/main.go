// Command bench measures each function (stripped linux/arm64 bootstrap
// size, cold init, peak memory for a 100-message batch) and writes the
// Benchmarks section of README.md between its markers, together with the
// Go benchmarks' output and infra/load's results. `make bench` runs it.
//
//	go run ./infra/bench                      # measure the functions, print markdown
//	go run ./infra/bench -readme README.md -gobench build/bench/gobench.txt \
//	    -load 'throughput=build/bench/load-max.json' -load 'paced=build/bench/load-paced.json'
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/leadscore/leadscore/infra/template"
)

type loadFlags []string

func (l *loadFlags) String() string     { return strings.Join(*l, ",") }
func (l *loadFlags) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	readme := flag.String("readme", "", "write the generated section into this README between "+MarkerStart+" and "+MarkerEnd+" (default: print it)")
	perf := flag.String("perf", "", "also write the targets, request units and cost tables into this file (docs/performance.md) between its markers")
	gobench := flag.String("gobench", "", "output of `go test -bench` to tabulate")
	gobenchCmd := flag.String("gobench-cmd", "", "the command that made -gobench, for the record")
	goSkipped := flag.String("gobench-note", "", "a note printed above the Go benchmarks table (e.g. what was skipped)")
	functions := flag.Bool("functions", true, "measure the functions (bootstrap size, cold init, batch memory)")
	inits := flag.Int("inits", 10, "cold starts to measure per function")
	var loads loadFlags
	flag.Var(&loads, "load", "label=file: an infra/load -json result to include (repeatable)")
	chart := flag.String("chart", "", "draw the trade-off chart (SVG) of the infra/load -json results named as arguments, one design each, and stop")
	chartTable := flag.String("chart-table", "", "with -chart: also write the trade-off as a markdown table to this file")
	flag.Parse()

	if *chart != "" {
		if err := drawTradeoff(*chart, *chartTable, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *readme, *perf, *gobench, *gobenchCmd, *goSkipped, *functions, *inits, loads); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, readme, perf, gobench, gobenchCmd, goSkipped string, functions bool, inits int, loads []string) error {
	root, err := template.RepoRoot()
	if err != nil {
		return err
	}
	r := Report{Commands: []string{"make bench    # all of the below"}, GoSkipped: goSkipped}
	if gobench != "" {
		f, err := os.Open(gobench)
		if err != nil {
			return fmt.Errorf("reading -gobench: %w", err)
		}
		r.GoBench, err = parseGoBench(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("reading -gobench %s: %w", gobench, err)
		}
		if gobenchCmd != "" {
			r.Commands = append(r.Commands, gobenchCmd)
		}
	}
	for _, l := range loads {
		label, path, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-load %q: want label=file", l)
		}
		run, err := readLoadRun(path)
		if err != nil {
			return fmt.Errorf("-load %s: %w", l, err)
		}
		run.Label = label
		r.Loads = append(r.Loads, run)
		r.Commands = append(r.Commands, run.Command)
	}
	if functions {
		r.Functions, err = measureFunctions(ctx, root, inits, os.Stderr)
		if err != nil {
			return err
		}
		r.Commands = append(r.Commands, fmt.Sprintf("go run ./infra/bench -inits %d   # bootstrap sizes (make build-<LogicalId>), cold inits, 100-message batches", inits))
	}
	r.Machine = machine()
	if perf != "" {
		if err := writeSection(root, perf, r.perfMarkdown()); err != nil {
			return err
		}
	}
	md := r.markdown()
	if readme == "" {
		_, err := os.Stdout.Write(md)
		return err
	}
	return writeSection(root, readme, md)
}

// writeSection replaces what is between the markers of the file at path
// (relative to the repository root) with md.
func writeSection(root, path string, md []byte) error {
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	out, err := replaceBetweenMarkers(doc, md)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote the generated section of %s\n", path)
	return nil
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		CPUModel: "unknown CPU", LoadAvg: "n/a", Date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	if out, err := exec.Command("nproc").Output(); err == nil {
		fmt.Sscan(string(out), &m.CPUs)
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if k, v, ok := strings.Cut(string(line), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// readLoadRun reads one infra/load -json result.
func readLoadRun(path string) (LoadRun, error) {
	var run LoadRun
	b, err := os.ReadFile(path)
	if err != nil {
		return run, err
	}
	if err := json.Unmarshal(b, &run); err != nil {
		return run, fmt.Errorf("%s: %w", path, err)
	}
	return run, nil
}

// drawTradeoff writes the trade-off chart of the load runs in files to
// svgPath, and their table to tablePath when it is set.
func drawTradeoff(svgPath, tablePath string, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("-chart: name the infra/load -json results to draw as arguments")
	}
	var points []TradeoffPoint
	for _, f := range files {
		run, err := readLoadRun(f)
		if err != nil {
			return fmt.Errorf("-chart: %w", err)
		}
		points = append(points, TradeoffPoint{Label: tradeoffLabel(run), Run: run})
	}
	m := machine()
	title := fmt.Sprintf("Score queue batching: speed to lead against cost (paced load, %s)", m.Date[:10])
	if err := os.WriteFile(svgPath, tradeoffSVG(points, title), 0o644); err != nil {
		return err
	}
	if tablePath == "" {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- Generated by make tradeoff; do not edit. -->\n_Generated by `make tradeoff` on %s: %d CPUs (%s), %s, %s; load average when done: %s._\n\n", m.Date, m.CPUs, m.CPUModel, m.OS, m.GoVersion, m.LoadAvg)
	b.Write(tradeoffTable(points))
	return os.WriteFile(tablePath, b.Bytes(), 0o644)
}
