package leadscore

import "errors"

// ErrNotFound is returned by readers when the asked-for item does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by a conditional lead write that lost to a
// concurrent writer: re-read the lead and try again.
var ErrConflict = errors.New("lead was changed by a concurrent writer")

// ErrErased is returned by ScoreStore.ReadLead for a lead erased by a
// privacy request: its queued events must be dropped, not score a new lead.
var ErrErased = errors.New("lead was erased")
