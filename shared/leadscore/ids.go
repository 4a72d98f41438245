package leadscore

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// NormalizeEmail is the one normalization of an email (docs/scoring.md
// section 1): trim, lower-case, NFC for the local part, IDNA's ASCII form
// for the domain (CanonicalEmail says why). An address whose domain IDNA
// refuses keeps its trimmed, lower-cased NFC form; ingestion refuses such
// events.
func NormalizeEmail(email string) string {
	e, _ := CanonicalEmail(email)
	return e
}

// LeadIDPrefix starts every lead id; visitor ids start with "vi_".
const LeadIDPrefix = "ld_"

// LeadID derives a lead's id from its normalized email, so every function
// finds a lead without a lookup. It is a hash, so logging it reveals no email.
func LeadID(normalizedEmail string) string {
	return LeadIDPrefix + digest("email:"+normalizedEmail)
}

// VisitorID derives the id of an anonymous visitor from its cookie id. A
// visitor's events are kept under this id until identity stitching merges
// them into a lead.
func VisitorID(anonymousID string) string {
	return "vi_" + digest("anon:"+anonymousID)
}

// UserVisitorID derives the id under which the events of a sender's user id
// (a Segment userId) wait until an event names that user id with an email.
// It is a visitor like a cookie's, in its own namespace, so the same string
// used as a cookie and as a user id are two visitors.
func UserVisitorID(userID string) string {
	return "vi_" + digest("user:"+userID)
}

// SubjectID is the id an event is filed under by ingestion: the lead when the
// event names an email, else the user id's visitor (a user id outlives a
// cookie), else the cookie's.
func SubjectID(e *scoring.Event) string {
	switch {
	case e.Email != "":
		return LeadID(e.Email)
	case e.UserID != "":
		return UserVisitorID(e.UserID)
	default:
		return VisitorID(e.AnonymousID)
	}
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

// TransitionID is deterministic, so a transition decided twice (a retried
// write, a re-evaluation) carries the same id and receivers can dedupe.
func TransitionID(leadID string, t scoring.Transition) string {
	return "tr_" + digest(leadID+"|"+string(t.From)+"|"+string(t.To)+"|"+t.At.UTC().Format(time.RFC3339Nano))
}
