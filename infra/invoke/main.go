// Command invoke is `make invoke FN=<function> EVENT=<file>`: it invokes one
// function of the running local stack (make run) with one event file, as
// `sam local invoke` does, and prints the response.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	fn := flag.String("fn", "", "function: ingest, api, score, sweep, handoff (or its logical id)")
	event := flag.String("event", "", "event file, e.g. events/score-sqs-batch.json; - reads stdin")
	endpoint := flag.String("endpoint", "http://127.0.0.1:3001", "the local stack's invoke API")
	flag.Parse()
	if err := run(os.Stdout, *endpoint, *fn, *event); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, endpoint, fn, event string) error {
	if fn == "" || event == "" {
		return fmt.Errorf("usage: invoke -fn <function> -event <file>")
	}
	var payload []byte
	var err error
	if event == "-" {
		payload, err = io.ReadAll(os.Stdin)
	} else {
		payload, err = os.ReadFile(event)
	}
	if err != nil {
		return fmt.Errorf("reading event %s: %w", event, err)
	}
	if !json.Valid(payload) {
		return fmt.Errorf("event %s is not valid JSON", event)
	}
	client := &http.Client{Timeout: 15 * time.Minute}
	resp, err := client.Post(endpoint+"/2015-03-31/functions/"+fn+"/invocations", "application/json", bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("is the local stack running (make run)? %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the response of %s: %w", fn, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("invoking %s: %s: %s", fn, resp.Status, body)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	fmt.Fprintf(w, "%s\n", body)
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return fmt.Errorf("%s failed (%s)", fn, fe)
	}
	return nil
}
