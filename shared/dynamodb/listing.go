package dynamodb

import (
	"math"
	"strconv"
)

// ListingStep is the width, in engagement points, of the bands the
// stage-index sorts leads by. On infra/load's workload a 10-point band still
// changed on 62% of lead writes (a content download or a webinar is worth
// 5-20 points), 25 points on 46%, 50 on 34%; 25 keeps a listing's page
// boundary within half the default MQL threshold of the exact order.
//
// The index's sort key is a key attribute: when it changes, DynamoDB deletes
// and re-puts the lead's index entry (2 write units on top of the table
// write). Engagement changes on nearly every lead write (every event adds
// points, decay takes some away), so an exact sort key made the index cost
// 1.3 write units per scored event, more than the event record itself. The
// band changes only when a lead gains or loses a whole step, and a write
// that leaves every indexed attribute as it was costs the index nothing.
//
// The listing stays highest engagement first: across pages by band, and
// exactly within each page (the API sorts the page it read by the exact
// engagement of each lead's view). Engagement decays between writes anyway,
// so the stored order was already a snapshot (docs/design.md, "Table").
const ListingStep = 25

// ListingKey is the stage-index sort key of a lead with engagement e: e
// rounded down to a multiple of ListingStep.
func ListingKey(e float64) string {
	band := math.Floor(e/ListingStep) * ListingStep
	return strconv.FormatFloat(band, 'f', -1, 64)
}
