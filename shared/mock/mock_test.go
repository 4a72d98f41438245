package mock

import "github.com/leadscore/leadscore/shared/leadscore"

// The mocks implement the interfaces they stand in for.
var (
	_ leadscore.ScoreQueue   = (*ScoreQueue)(nil)
	_ leadscore.RulesStore   = (*RulesStore)(nil)
	_ leadscore.LeadReader   = (*Leads)(nil)
	_ leadscore.LeadEraser   = (*Leads)(nil)
	_ leadscore.LeadScanner  = (*Leads)(nil)
	_ leadscore.RescoreStore = (*RescoreStore)(nil)
)
