package dynamodb

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Accounts (docs/design.md): one partition per account holding the
// account item (aggregate state, view, outbox) and one small member item
// per lead, so the account item's size does not grow with its leads.
const (
	accountPrefix      = "ACCOUNT#"
	accountSK          = "#ACCOUNT"
	memberPrefix       = "MEMBER#"
	accountStagePrefix = "ACCOUNT#" // list_stage of accounts: ACCOUNT#<stage>

	attrMember = "member"
	attrAt     = "at"
	attrView   = "view"
)

var (
	_ leadscore.AccountStore  = (*Store)(nil)
	_ leadscore.AccountReader = (*Store)(nil)
)

func accountKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: sAttr(accountPrefix + id), attrSK: sAttr(accountSK)}
}

func memberKey(accountID, leadID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: sAttr(accountPrefix + accountID), attrSK: sAttr(memberPrefix + leadID)}
}

// PutMembers stores or removes each member's item under account id
// (leadscore.AccountStore), each conditioned on being no older than the
// stored one.
func (s *Store) PutMembers(ctx context.Context, id string, ms []leadscore.Member) error {
	for _, m := range ms {
		var err error
		if m.Erased {
			err = s.putMemberTombstone(ctx, id, m.LeadID)
		} else if m.AccountID == id {
			err = s.putMember(ctx, id, m)
		} else {
			err = s.removeMember(ctx, id, m)
		}
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("account %s: member %s: %w", id, m.LeadID, err)
		}
	}
	return nil
}

func (s *Store) putMember(ctx context.Context, id string, m leadscore.Member) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	item := memberKey(id, m.LeadID)
	item[attrMember] = &types.AttributeValueMemberB{Value: body}
	item[attrAt] = nAttr(m.At.UnixNano())
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#at) OR #at <= :at"),
		ExpressionAttributeNames:  map[string]string{"#at": attrAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": nAttr(m.At.UnixNano())},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return err
	}
	meter(ctx, "PutMember", out.ConsumedCapacity)
	return nil
}

// putMemberTombstone replaces an erased lead's member item with one holding
// nothing of the person, stamped with the largest time so that no summary
// of the lead still in flight can bring it back.
func (s *Store) putMemberTombstone(ctx context.Context, id, leadID string) error {
	item := memberKey(id, leadID)
	item[attrAt] = nAttr(math.MaxInt64)
	item[attrErasedAt] = nAttr(time.Now().Unix())
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return err
	}
	meter(ctx, "EraseMember", out.ConsumedCapacity)
	return nil
}

func (s *Store) removeMember(ctx context.Context, id string, m leadscore.Member) error {
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: memberKey(id, m.LeadID),
		ConditionExpression:       aws.String("attribute_not_exists(#at) OR #at <= :at"),
		ExpressionAttributeNames:  map[string]string{"#at": attrAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": nAttr(m.At.UnixNano())},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return err
	}
	meter(ctx, "RemoveMember", out.ConsumedCapacity)
	return nil
}

// Members reads every member item of account id, strongly consistent
// (leadscore.AccountStore). Its cost grows with the members (about 0.5 KB
// each: 1 RRU per 8), which is why evaluations are coalesced per batch.
func (s *Store) Members(ctx context.Context, id string) ([]leadscore.Member, error) {
	return s.members(ctx, id, true)
}

// AccountMembers is Members at half the price, eventually consistent: for
// the API's reads (leadscore.AccountReader).
func (s *Store) AccountMembers(ctx context.Context, id string) ([]leadscore.Member, error) {
	return s.members(ctx, id, false)
}

func (s *Store) members(ctx context.Context, id string, consistent bool) ([]leadscore.Member, error) {
	var out []leadscore.Member
	var start map[string]types.AttributeValue
	for {
		page, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), ConsistentRead: aws.Bool(consistent),
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :m)"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(accountPrefix + id), ":m": sAttr(memberPrefix)},
			ExclusiveStartKey:         start,
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, fmt.Errorf("read the members of account %s: %w", id, err)
		}
		meter(ctx, "Members", page.ConsumedCapacity)
		for _, it := range page.Items {
			if isTombstone(it) {
				continue
			}
			var m leadscore.Member
			if err := json.Unmarshal(bin(it, attrMember), &m); err != nil {
				return nil, fmt.Errorf("account %s: member item %s: %w", id, str(it, attrSK), err)
			}
			out = append(out, m)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// ReadAccount reads the account item for an update (leadscore.AccountStore).
func (s *Store) ReadAccount(ctx context.Context, id string) (*leadscore.AccountRecord, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: accountKey(id), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, fmt.Errorf("read account %s for update: %w", id, err)
	}
	meter(ctx, "ReadAccount", out.ConsumedCapacity)
	if len(out.Item) == 0 {
		rec := &leadscore.AccountRecord{}
		rec.ID = id
		rec.State = scoring.NewAccountState(id)
		return rec, nil
	}
	return decodeAccount(out.Item)
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
	if err := json.Unmarshal(bin(item, attrView), &rec.View); err != nil {
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
	view, err := json.Marshal(rec.View)
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
