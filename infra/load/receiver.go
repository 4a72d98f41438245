package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/webhook"
)

// Arrival is the first delivery of one transition type for one lead.
type Arrival struct {
	At           time.Time
	TransitionID string
	// DecidedAt is the transition's occurred_at: the clock of the score
	// batch that decided it, so speed to lead splits into "until scored"
	// and "scored until delivered".
	DecidedAt time.Time
}

// Receiver is the load tool's webhook endpoint: it verifies X-Signature
// with shared/webhook, and records when each lead's transitions first
// arrived. Deliveries of a transition_id already seen are counted as
// redeliveries (at-least-once delivery), not as new arrivals.
type Receiver struct {
	secret string
	now    func() time.Time

	mu           sync.Mutex
	first        map[string]map[string]Arrival // lead_id (account_id) -> type -> first arrival
	seen         map[string]bool               // transition ids
	deliveries   int
	redeliveries int
	badSignature int
	malformed    int
	arrived      chan struct{}
}

// NewReceiver returns a receiver verifying with secret.
func NewReceiver(secret string) *Receiver {
	return &Receiver{secret: secret, now: time.Now, first: map[string]map[string]Arrival{},
		seen: map[string]bool{}, arrived: make(chan struct{}, 1)}
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := r.now()
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(r.secret, req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature), body, at, webhook.DefaultMaxAge); err != nil {
		r.mu.Lock()
		r.badSignature++
		r.mu.Unlock()
		http.Error(w, `{"error":"bad_signature","message":"`+err.Error()+`"}`, http.StatusUnauthorized)
		return
	}
	var h leadscore.Handoff
	if err := json.Unmarshal(body, &h); err != nil || h.TransitionID == "" || h.Subject() == "" {
		r.mu.Lock()
		r.malformed++
		r.mu.Unlock()
		http.Error(w, `{"error":"invalid_json","message":"a handoff needs transition_id and lead.lead_id or account.account_id"}`, http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.deliveries++
	if r.seen[h.TransitionID] {
		r.redeliveries++
	} else {
		r.seen[h.TransitionID] = true
		// Keyed by the lead, or for an account transition (account.mqa)
		// by the account: the types never meet.
		byType := r.first[h.Subject()]
		if byType == nil {
			byType = map[string]Arrival{}
			r.first[h.Subject()] = byType
		}
		if _, ok := byType[h.Type]; !ok {
			byType[h.Type] = Arrival{At: at, TransitionID: h.TransitionID, DecidedAt: h.OccurredAt}
		}
	}
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// First returns the first arrival of typ (e.g. "lead.mql") for leadID.
func (r *Receiver) First(leadID, typ string) (Arrival, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.first[leadID][typ]
	return a, ok
}

// Leads lists the lead ids that received typ.
func (r *Receiver) Leads(typ string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, byType := range r.first {
		if _, ok := byType[typ]; ok {
			out = append(out, id)
		}
	}
	return out
}

// ReceiverCounts are the receiver's totals.
type ReceiverCounts struct {
	Deliveries   int `json:"deliveries"`
	Redeliveries int `json:"redeliveries"`
	BadSignature int `json:"bad_signature"`
	Malformed    int `json:"malformed"`
}

// Counts returns the totals so far.
func (r *Receiver) Counts() ReceiverCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ReceiverCounts{Deliveries: r.deliveries, Redeliveries: r.redeliveries, BadSignature: r.badSignature, Malformed: r.malformed}
}
