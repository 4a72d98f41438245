package dynamodb

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrBadCursor is returned by LeadsByStage, DueLeads and the scans for a
// cursor they did not issue (or issued for another stage or shard).
var ErrBadCursor = errors.New("cursor is not valid")

// cursor is the one opaque cursor of the store's listings and scans: the
// LastEvaluatedKey a page stopped at, as base64url JSON. A key names a
// lead item (pk, sk) and, for an index query, the index's partition and
// numeric sort key.
type cursor struct {
	PK   string `json:"p"`
	SK   string `json:"s"`
	Part string `json:"k,omitempty"` // the index partition (stage or due shard)
	Sort string `json:"n,omitempty"` // the index sort key, a number
}

// encodeCursor is the cursor of key, "" when there is no next page.
// partAttr and sortAttr name the index's key attributes; both are "" for
// a scan of the table.
func encodeCursor(key map[string]types.AttributeValue, partAttr, sortAttr string) string {
	if len(key) == 0 {
		return ""
	}
	c := cursor{PK: str(key, attrPK), SK: str(key, attrSK)}
	if partAttr != "" {
		c.Part = str(key, partAttr)
	}
	if n, ok := key[sortAttr].(*types.AttributeValueMemberN); ok && sortAttr != "" {
		c.Sort = n.Value
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses what encodeCursor wrote.
func decodeCursor(s string) (cursor, error) {
	var c cursor
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	return c, nil
}

// indexStart is the ExclusiveStartKey of an index query resuming at s,
// which must belong to the listing of partition wantPart; nil for "".
func indexStart(s, partAttr, sortAttr, wantPart string) (map[string]types.AttributeValue, error) {
	return itemIndexStart(s, partAttr, sortAttr, wantPart, leadPrefix, leadSK)
}

// itemIndexStart is indexStart for a listing of items whose key is
// pkPrefix<id> / sk (leads, accounts).
func itemIndexStart(s, partAttr, sortAttr, wantPart, pkPrefix, sk string) (map[string]types.AttributeValue, error) {
	if s == "" {
		return nil, nil
	}
	c, err := decodeCursor(s)
	if err != nil {
		return nil, err
	}
	if c.Part != wantPart || !strings.HasPrefix(c.PK, pkPrefix) || c.SK != sk {
		return nil, fmt.Errorf("%w: it belongs to another listing", ErrBadCursor)
	}
	if _, err := strconv.ParseFloat(c.Sort, 64); err != nil {
		return nil, fmt.Errorf("%w: sort key %q is not a number", ErrBadCursor, c.Sort)
	}
	return map[string]types.AttributeValue{
		attrPK: sAttr(c.PK), attrSK: sAttr(c.SK), partAttr: sAttr(c.Part),
		sortAttr: &types.AttributeValueMemberN{Value: c.Sort},
	}, nil
}

// scanStart is the ExclusiveStartKey of a table scan resuming at s: any
// item of a lead's partition (a scan's filter applies after its Limit);
// nil for "".
func scanStart(s string) (map[string]types.AttributeValue, error) {
	if s == "" {
		return nil, nil
	}
	c, err := decodeCursor(s)
	if err != nil {
		return nil, err
	}
	if c.PK == "" || c.SK == "" {
		return nil, fmt.Errorf("%w: it is not a scan position", ErrBadCursor)
	}
	return map[string]types.AttributeValue{attrPK: sAttr(c.PK), attrSK: sAttr(c.SK)}, nil
}
