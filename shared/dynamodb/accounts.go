package dynamodb

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Accounts (docs/design.md): one partition per account holding the
// account item (aggregate state, view, outbox) and its member pages
// (leadscore.MemberPages), so the account item's size does not grow with
// its leads and an evaluation writes a page, not an item per lead.
const (
	accountPrefix      = "ACCOUNT#"
	accountSK          = "#ACCOUNT"
	pagePrefix         = "#PAGE#"   // member pages: #PAGE#0000, #PAGE#0001, ...
	accountStagePrefix = "ACCOUNT#" // list_stage of accounts: ACCOUNT#<stage>

	attrMembers = "members"
	attrView    = "view"

	// maxPages bounds the page numbers a page key may carry: 2^12 pages
	// of MaxPageMembers hold 260,000 leads.
	maxPages = 4096
)

var (
	_ leadscore.AccountStore  = (*Store)(nil)
	_ leadscore.AccountReader = (*Store)(nil)
)

func accountKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: sAttr(accountPrefix + id), attrSK: sAttr(accountSK)}
}

func pageKey(accountID string, n int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: sAttr(accountPrefix + accountID), attrSK: sAttr(fmt.Sprintf("%s%04d", pagePrefix, n))}
}

// PutMembers merges ms into account id's member pages (leadscore.
// MemberWriter): read, merge, and a conditional write of each changed
// page, again on a conflict.
func (s *Store) PutMembers(ctx context.Context, id string, ms []leadscore.Member) error {
	for attempt := 1; ; attempt++ {
		rec := &leadscore.AccountRecord{}
		rec.ID = id
		pages, err := s.readPartition(ctx, id, pagePrefix, true, "PutMembers")
		if err != nil {
			return err
		}
		if rec.Members, err = decodePages(id, pages); err != nil {
			return err
		}
		for _, m := range ms {
			rec.Members.Merge(id, m)
		}
		err = s.WriteMembers(ctx, rec)
		if !errors.Is(err, leadscore.ErrConflict) || attempt >= 5 {
			return err
		}
	}
}

// WriteMembers writes rec's changed member pages, each conditioned on the
// version it was read at (leadscore.AccountStore).
func (s *Store) WriteMembers(ctx context.Context, rec *leadscore.AccountRecord) error {
	for _, n := range rec.Members.Changed() {
		pg := &rec.Members.Pages[n]
		body, err := encodePage(pg.Members)
		if err != nil {
			return fmt.Errorf("account %s: encode member page %d: %w", rec.ID, n, err)
		}
		item := pageKey(rec.ID, n)
		item[attrVersion] = nAttr(pg.Version + 1)
		item[attrMembers] = &types.AttributeValueMemberB{Value: body}
		out, err := s.client.PutItem(ctx, s.versionedPut(item, pg.Version > 0, pg.Version))
		if err != nil {
			if isConditionFailed(err) {
				return fmt.Errorf("write member page %d of account %s at version %d: %w", n, rec.ID, pg.Version, leadscore.ErrConflict)
			}
			return fmt.Errorf("write member page %d of account %s: %w", n, rec.ID, err)
		}
		meter(ctx, "WriteMembers", out.ConsumedCapacity)
		pg.Version++
		pg.Changed = false
	}
	return nil
}

// AccountMembers returns the members of account id, eventually consistent
// (leadscore.AccountReader): the per-lead lists of an account's view.
func (s *Store) AccountMembers(ctx context.Context, id string) ([]leadscore.Member, error) {
	items, err := s.readPartition(ctx, id, pagePrefix, false, "Members")
	if err != nil {
		return nil, err
	}
	pages, err := decodePages(id, items)
	if err != nil {
		return nil, err
	}
	return pages.Current(id), nil
}

// readPartition reads the items of account id's partition whose sort key
// begins with prefix: "#" for the account item and its member pages.
func (s *Store) readPartition(ctx context.Context, id, prefix string, consistent bool, op string) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	var start map[string]types.AttributeValue
	for {
		page, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), ConsistentRead: aws.Bool(consistent),
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :p)"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(accountPrefix + id), ":p": sAttr(prefix)},
			ExclusiveStartKey:         start,
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, fmt.Errorf("read account %s: %w", id, err)
		}
		meter(ctx, op, page.ConsumedCapacity)
		items = append(items, page.Items...)
		if len(page.LastEvaluatedKey) == 0 {
			return items, nil
		}
		start = page.LastEvaluatedKey
	}
}

// decodePages turns the page items of account id into MemberPages, each
// entry on its own page (MemberPages.Place).
func decodePages(id string, items []map[string]types.AttributeValue) (leadscore.MemberPages, error) {
	var p leadscore.MemberPages
	for _, it := range items {
		sk := str(it, attrSK)
		if !strings.HasPrefix(sk, pagePrefix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(sk, pagePrefix))
		if err != nil || n < 0 || n >= maxPages {
			return p, fmt.Errorf("account %s: member page key %q", id, sk)
		}
		for len(p.Pages) <= n {
			p.Pages = append(p.Pages, leadscore.MemberPage{Members: map[string]leadscore.Member{}})
		}
		pg := &p.Pages[n]
		if pg.Version, err = num(it, attrVersion); err != nil {
			return p, fmt.Errorf("account %s: member page %d: %w", id, n, err)
		}
		if pg.Members, err = decodePage(bin(it, attrMembers)); err != nil {
			return p, fmt.Errorf("account %s: member page %d: %w", id, n, err)
		}
	}
	p.Place()
	return p, nil
}

// encodePage is a page's entries, by lead id, as compressed JSON.
func encodePage(members map[string]leadscore.Member) ([]byte, error) {
	return compressJSON(slices.SortedFunc(maps.Values(members), func(a, b leadscore.Member) int { return strings.Compare(a.LeadID, b.LeadID) }))
}

func decodePage(body []byte) (map[string]leadscore.Member, error) {
	var list []leadscore.Member
	if err := decompressJSON(body, &list); err != nil {
		return nil, fmt.Errorf("decode member page: %w", err)
	}
	out := make(map[string]leadscore.Member, len(list))
	for _, m := range list {
		out[m.LeadID] = m
	}
	return out, nil
}

// compressJSON is v as deflated JSON. Member pages and account views are
// written on every evaluation and a write costs a unit per KB; the
// summaries of one company's people repeat their keys, domain and
// attributes, and a view its field names, so they shrink to a third or
// less.
func compressJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decompressJSON(body []byte, v any) error {
	return json.NewDecoder(flate.NewReader(bytes.NewReader(body))).Decode(v)
}

// ReadAccount reads the account item and its member pages for an update
// (leadscore.AccountStore): one strongly consistent Query of the
// account's "#" items.
func (s *Store) ReadAccount(ctx context.Context, id string) (*leadscore.AccountRecord, error) {
	items, err := s.readPartition(ctx, id, "#", true, "ReadAccount")
	if err != nil {
		return nil, fmt.Errorf("read account %s for update: %w", id, err)
	}
	rec := &leadscore.AccountRecord{}
	rec.ID = id
	rec.State = scoring.NewAccountState(id)
	for _, it := range items {
		if str(it, attrSK) == accountSK {
			if rec, err = decodeAccount(it); err != nil {
				return nil, err
			}
		}
	}
	if rec.Members, err = decodePages(id, items); err != nil {
		return nil, err
	}
	return rec, nil
}

func decodeAccount(item map[string]types.AttributeValue) (*leadscore.AccountRecord, error) {
	id := strings.TrimPrefix(str(item, attrPK), accountPrefix)
	rec := &leadscore.AccountRecord{Exists: true}
	rec.ID = id
	var err error
	if rec.Version, err = num(item, attrVersion); err != nil {
		return nil, fmt.Errorf("account %s: %w", id, err)
	}
	rec.State = scoring.NewAccountState(id)
	if err := rec.State.UnmarshalBinary(bin(item, attrState)); err != nil {
		return nil, fmt.Errorf("account %s: decode state: %w", id, err)
	}
	if err := decompressJSON(bin(item, attrView), &rec.View); err != nil {
		return nil, fmt.Errorf("account %s: decode view: %w", id, err)
	}
	if rec.Outbox, err = decodeOutbox(item); err != nil {
		return nil, fmt.Errorf("account %s: %w", id, err)
	}
	due, err := num(item, attrDueAt)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", id, err)
	}
	rec.IndexDueAt = unixTime(due)
	return rec, nil
}

// WriteAccount writes the account item in one PutItem conditioned on the
// version read (leadscore.AccountStore). While the outbox holds unsent
// transitions the account is in the due index, so the sweep resends them.
func (s *Store) WriteAccount(ctx context.Context, rec *leadscore.AccountRecord, now time.Time) error {
	state, err := rec.State.MarshalBinary()
	if err != nil {
		return fmt.Errorf("account %s: encode state: %w", rec.ID, err)
	}
	view, err := compressJSON(rec.View)
	if err != nil {
		return fmt.Errorf("account %s: encode view: %w", rec.ID, err)
	}
	item := accountKey(rec.ID)
	item[attrVersion] = nAttr(rec.Version + 1)
	item[attrState] = &types.AttributeValueMemberB{Value: state}
	item[attrView] = &types.AttributeValueMemberB{Value: view}
	item[attrStage] = sAttr(accountStagePrefix + string(rec.View.Stage))
	// Banded like a lead's (listing.go): an exact key moved the account's
	// index entry on nearly every evaluation.
	item[attrEngagement] = &types.AttributeValueMemberN{Value: ListingKey(rec.View.Score.Engagement)}
	due := leadscore.IndexDue(rec.IndexDueAt, time.Time{}, len(rec.Outbox), now)
	if len(rec.Outbox) > 0 {
		item[attrOutbox] = encodeOutbox(rec.Outbox)
	}
	if !due.IsZero() {
		item[attrDueShard] = sAttr(DueShardKey(DueShard(rec.ID)))
		item[attrDueAt] = nAttr(due.Unix())
	}
	in := s.versionedPut(item, rec.Exists, rec.Version)
	out, err := s.client.PutItem(ctx, in)
	if err != nil {
		if isConditionFailed(err) {
			return fmt.Errorf("write account %s at version %d: %w", rec.ID, rec.Version, leadscore.ErrConflict)
		}
		return fmt.Errorf("write account %s at version %d: %w", rec.ID, rec.Version, err)
	}
	meter(ctx, "WriteAccount", out.ConsumedCapacity)
	rec.Version++
	rec.Exists = true
	rec.IndexDueAt = due
	return nil
}

// MarkAccountSent removes delivered transitions from the account's outbox
// and bumps its version, so a writer holding the older outbox cannot put
// them back (leadscore.AccountStore). When the account is still at rec's
// version and nothing stays unsent, it also leaves the due index.
func (s *Store) MarkAccountSent(ctx context.Context, rec *leadscore.AccountRecord, transitionIDs []string, now time.Time) error {
	if len(transitionIDs) == 0 {
		return nil
	}
	sent, remaining := splitSent(rec.Outbox, transitionIDs)
	names := map[string]string{"#outbox": attrOutbox, "#version": attrVersion}
	removes := outboxRemovals(sent, names)
	cond := "#version = :v"
	values := map[string]types.AttributeValue{":one": nAttr(1), ":v": nAttr(rec.Version)}
	if len(remaining) == 0 {
		names["#due"], names["#shard"] = attrDueAt, attrDueShard
		removes = append(removes, "#due", "#shard")
	}
	err := s.updateAccount(ctx, rec.ID, "SET #version = #version + :one REMOVE "+strings.Join(removes, ", "), cond, names, values)
	if err == nil {
		rec.Version++
		rec.Outbox = remaining
		if len(remaining) == 0 {
			rec.IndexDueAt = time.Time{}
		}
		return nil
	}
	if !isConditionFailed(err) {
		return fmt.Errorf("mark %d transitions of account %s sent: %w", len(sent), rec.ID, err)
	}
	// Written since: remove only the entries; the due entry stays and the
	// sweep's next look finds nothing to send.
	if err := s.removeSent(ctx, accountKey(rec.ID), sent, "MarkAccountSent"); err != nil {
		return fmt.Errorf("mark %d transitions of account %s sent: %w", len(sent), rec.ID, err)
	}
	rec.Outbox = remaining
	return nil
}

func (s *Store) updateAccount(ctx context.Context, id, update, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: accountKey(id),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return err
	}
	meter(ctx, "MarkAccountSent", out.ConsumedCapacity)
	return nil
}

// Account returns the account with id, eventually consistent
// (leadscore.AccountReader).
func (s *Store) Account(ctx context.Context, id string) (*leadscore.Account, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: accountKey(id),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	meter(ctx, "GetAccount", out.ConsumedCapacity)
	if len(out.Item) == 0 {
		return nil, leadscore.ErrNotFound
	}
	rec, err := decodeAccount(out.Item)
	if err != nil {
		return nil, err
	}
	return &rec.Account, nil
}

// AccountsByStage lists the accounts in stage, highest engagement first
// (leadscore.AccountReader): the stage index under partition
// ACCOUNT#<stage>, then one batch read of the page's items.
func (s *Store) AccountsByStage(ctx context.Context, stage scoring.AccountStage, limit int, cursor string) ([]*leadscore.Account, string, error) {
	part := accountStagePrefix + string(stage)
	start, err := itemIndexStart(cursor, attrStage, attrEngagement, part, accountPrefix, accountSK)
	if err != nil {
		return nil, "", err
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(StageIndex),
		KeyConditionExpression:    aws.String("#st = :st"),
		ExpressionAttributeNames:  map[string]string{"#st": attrStage},
		ExpressionAttributeValues: map[string]types.AttributeValue{":st": sAttr(part)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(min(max(limit, 1), 100))),
		ExclusiveStartKey:         start,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list accounts in stage %s: %w", stage, err)
	}
	meter(ctx, "ListAccountStage", out.ConsumedCapacity)
	keys := make([]map[string]types.AttributeValue, len(out.Items))
	for i, it := range out.Items {
		keys[i] = map[string]types.AttributeValue{attrPK: it[attrPK], attrSK: it[attrSK]}
	}
	got := map[string]map[string]types.AttributeValue{}
	if len(keys) > 0 {
		if got, err = s.batchGet(ctx, keys); err != nil {
			return nil, "", fmt.Errorf("list accounts in stage %s: %w", stage, err)
		}
	}
	accounts := make([]*leadscore.Account, 0, len(keys))
	for _, k := range keys {
		it, ok := got[str(k, attrPK)]
		if !ok {
			continue
		}
		rec, err := decodeAccount(it)
		if err != nil {
			return nil, "", err
		}
		accounts = append(accounts, &rec.Account)
	}
	return accounts, encodeCursor(out.LastEvaluatedKey, attrStage, attrEngagement), nil
}
