// Package sdkclients drives send.mjs, a Node fixture that sends a customer
// journey with the real Segment and RudderStack SDKs (pinned in
// infra/package.json; `make emulators` installs them). Tests use it to
// prove those SDKs work against leadscore unchanged.
package sdkclients

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
)

// SDKs are the SDKs send.mjs can drive.
var SDKs = []string{"segment", "rudder"}

// Report is what send.mjs prints: the ids of the journey and what went wrong.
type Report struct {
	SDK string `json:"sdk"`
	IDs struct {
		Email         string `json:"email"`
		UserID        string `json:"userId"`
		AnonymousID   string `json:"anonymousId"`
		PreviousID    string `json:"previousId"`
		GroupID       string `json:"groupId"`
		PageMessageID string `json:"pageMessageId"`
	} `json:"ids"`
	Failures []string `json:"failures"`
}

// Send runs send.mjs with one SDK against the API at base with key, its ids
// made unique by run. It fails when Node fails or a message was not
// delivered.
func Send(ctx context.Context, sdk, base, key, run string) (*Report, error) {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.CommandContext(ctx, "node", filepath.Join(filepath.Dir(file), "send.mjs"), sdk)
	cmd.Env = append(cmd.Environ(), "LEADSCORE_URL="+base, "LEADSCORE_WRITE_KEY="+key, "LEADSCORE_RUN="+run)
	out, err := cmd.Output()
	var r Report
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		return nil, fmt.Errorf("send.mjs %s: %v (output %q)", sdk, firstErr(err, jerr), out)
	}
	if err != nil || len(r.Failures) > 0 {
		return &r, fmt.Errorf("send.mjs %s: %v, failures %q", sdk, err, r.Failures)
	}
	return &r, nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
