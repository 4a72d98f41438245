// Package score is the score function's handler: it turns batches of
// score-queue messages into lead writes, one per lead per batch, and hands
// the stage changes they cause to the handoff queue through the lead's
// outbox (docs/architecture.md invariants 1 to 5).
package score

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// maxMessageBytes is the SQS limit; a bigger body is not ours.
const maxMessageBytes = 256 * 1024

// ParseMessage decodes and checks one score-queue message body. Anything it
// rejects can never succeed, so the caller fails that message alone and lets
// the redrive policy park it in the DLQ.
func ParseMessage(body []byte) (leadscore.ScoreMessage, error) {
	var m leadscore.ScoreMessage
	if len(body) > maxMessageBytes {
		return m, fmt.Errorf("message body is %d bytes, over %d", len(body), maxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("message body is not a score message: %w", err)
	}
	if dec.More() {
		return m, fmt.Errorf("message body has data after the score message")
	}
	switch m.Kind {
	case leadscore.KindEvent:
		e := m.Event
		if e == nil {
			return m, fmt.Errorf("event message has no event")
		}
		switch {
		case e.EventID == "":
			return m, fmt.Errorf("event has no event_id")
		case len(e.EventID) > 128:
			return m, fmt.Errorf("event_id is %d characters, over 128", len(e.EventID))
		case e.Type == "":
			return m, fmt.Errorf("event %s has no type", e.EventID)
		case e.OccurredAt.IsZero():
			return m, fmt.Errorf("event %s has no occurred_at", e.EventID)
		case e.Email == "" && e.AnonymousID == "" && e.UserID == "":
			return m, fmt.Errorf("event %s has no email, anonymous_id or user_id", e.EventID)
		case e.Email != leadscore.NormalizeEmail(e.Email):
			return m, fmt.Errorf("event %s: email is not normalized", e.EventID)
		}
		e.OccurredAt = e.OccurredAt.UTC()
		subject := leadscore.SubjectID(e)
		if m.LeadID != "" && m.LeadID != subject {
			return m, fmt.Errorf("event %s: lead_id %q is not the event's subject %q", e.EventID, m.LeadID, subject)
		}
		m.LeadID = subject
	case leadscore.KindEvaluate:
		if m.LeadID == "" {
			return m, fmt.Errorf("evaluate message has no lead_id")
		}
		if m.Now.IsZero() {
			return m, fmt.Errorf("evaluate message for %s has no now", m.LeadID)
		}
		m.Now = m.Now.UTC()
	case leadscore.KindRescore:
		if m.LeadID == "" {
			return m, fmt.Errorf("rescore message has no lead_id")
		}
		if m.RulesVersion <= 0 {
			return m, fmt.Errorf("rescore message for %s has no rules_version", m.LeadID)
		}
		m.Now = m.Now.UTC()
	case leadscore.KindAccount:
		if m.AccountID == "" {
			return m, fmt.Errorf("account message has no account_id")
		}
		if m.Now.IsZero() {
			return m, fmt.Errorf("account message for %s has no now", m.AccountID)
		}
		m.Now = m.Now.UTC()
		for i, mb := range m.Members {
			if mb.LeadID == "" {
				return m, fmt.Errorf("account message for %s: member %d has no lead_id", m.AccountID, i)
			}
		}
	default:
		return m, fmt.Errorf("message kind %q is not one of event, evaluate, rescore, account", m.Kind)
	}
	return m, nil
}
