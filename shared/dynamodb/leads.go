package dynamodb

import (
	"context"
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

func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// decodeLead turns a lead item into a record: what is stored, nothing
// computed (leadscore.View computes the API's view from the state, the
// rules version and the evaluation time). full decodes the write path's
// ring too.
func decodeLead(item map[string]types.AttributeValue, full bool) (*leadscore.LeadRecord, error) {
	pk := str(item, attrPK)
	id := strings.TrimPrefix(pk, leadPrefix)
	rec := &leadscore.LeadRecord{Exists: true}
	rec.ID = id
	rec.Email = str(item, attrEmail)
	rec.MergedInto = str(item, attrMergedInto)
	var err error
	if rec.Version, err = num(item, attrVersion); err != nil {
		return nil, fmt.Errorf("lead %s: %w", id, err)
	}
	due, err := num(item, attrDueAt)
	if err != nil {
		return nil, fmt.Errorf("lead %s: %w", id, err)
	}
	rec.IndexDueAt = unixTime(due)
	next, err := num(item, attrNextDue)
	if err != nil {
		return nil, fmt.Errorf("lead %s: %w", id, err)
	}
	rec.DueAt = unixTime(next)
	rec.State = newState(id)
	if b := bin(item, attrState); len(b) > 0 {
		if err := rec.State.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("lead %s: decode state: %w", id, err)
		}
		rv, err := num(item, attrRulesVer)
		if err != nil {
			return nil, fmt.Errorf("lead %s: %w", id, err)
		}
		evaluated, err := num(item, attrEvaluatedAt)
		if err != nil {
			return nil, fmt.Errorf("lead %s: %w", id, err)
		}
		rec.RulesVersion = int(rv)
		rec.EvaluatedAt = time.Unix(0, evaluated).UTC()
	}
	if ss, ok := item[attrVisitors].(*types.AttributeValueMemberSS); ok {
		rec.Visitors = append([]string(nil), ss.Value...)
		slices.Sort(rec.Visitors)
	}
	if rec.Outbox, err = decodeOutbox(item); err != nil {
		return nil, fmt.Errorf("lead %s: %w", id, err)
	}
	if !full {
		return rec, nil
	}
	if rec.Applied, err = decodeRing(bin(item, attrApplied)); err != nil {
		return nil, fmt.Errorf("lead %s: %w", id, err)
	}
	return rec, nil
}

// encodeLead is the full item of rec, with its index attributes.
func encodeLead(rec *leadscore.LeadRecord, version int64) (map[string]types.AttributeValue, error) {
	item := leadKey(rec.ID)
	item[attrVersion] = nAttr(version)
	if rec.Email != "" {
		item[attrEmail] = sAttr(rec.Email)
	}
	if rec.MergedInto != "" {
		item[attrMergedInto] = sAttr(rec.MergedInto)
	}
	if rec.State != nil {
		st, err := rec.State.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("lead %s: encode state: %w", rec.ID, err)
		}
		item[attrState] = &types.AttributeValueMemberB{Value: st}
		item[attrRulesVer] = nAttr(int64(rec.View.RulesVersion))
		item[attrEvaluatedAt] = nAttr(rec.View.EvaluatedAt.UnixNano())
	}
	if rec.Applied.Len() > 0 {
		item[attrApplied] = &types.AttributeValueMemberB{Value: encodeRing(&rec.Applied)}
	}
	if len(rec.Visitors) > 0 {
		item[attrVisitors] = &types.AttributeValueMemberSS{Value: rec.Visitors}
	}
	if len(rec.Outbox) > 0 {
		item[attrOutbox] = encodeOutbox(rec.Outbox)
	}
	if !rec.DueAt.IsZero() {
		item[attrNextDue] = nAttr(rec.DueAt.Unix())
	}
	if !rec.IndexDueAt.IsZero() {
		item[attrDueShard] = sAttr(DueShardKey(DueShard(rec.ID)))
		item[attrDueAt] = nAttr(rec.IndexDueAt.Unix())
	}
	// Visitors (no email, never identified) stay out of the stage listing.
	if rec.View.Stage != "" && rec.View.Stage != scoring.StageVisitor {
		item[attrStage] = sAttr(string(rec.View.Stage))
		item[attrEngagement] = &types.AttributeValueMemberN{Value: ListingKey(rec.View.Score.Engagement)}
	}
	outcomeAttrs(item, rec)
	return item, nil
}

// Lead returns the lead with id (LeadReader). Reads for the API are
// eventually consistent: half the price, and the API shows a snapshot anyway.
func (s *Store) Lead(ctx context.Context, id string) (*leadscore.Lead, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: leadKey(id),
		ProjectionExpression: aws.String("#pk, #email, #merged, #version, #state, #rv, #eval, #outbox, #due, #next, #erased"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#email": attrEmail, "#merged": attrMergedInto, "#version": attrVersion,
			"#state": attrState, "#rv": attrRulesVer, "#eval": attrEvaluatedAt, "#outbox": attrOutbox, "#due": attrDueAt, "#next": attrNextDue,
			"#erased": attrErasedAt},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, fmt.Errorf("get lead %s: %w", id, err)
	}
	meter(ctx, "GetLead", out.ConsumedCapacity)
	if len(out.Item) == 0 || isTombstone(out.Item) {
		return nil, leadscore.ErrNotFound
	}
	rec, err := decodeLead(out.Item, false)
	if err != nil {
		return nil, err
	}
	return &rec.Lead, nil
}

// ReadLead reads a lead for an update, strongly consistent (ScoreStore).
func (s *Store) ReadLead(ctx context.Context, id string) (*leadscore.LeadRecord, error) {
	return s.readLead(ctx, id, true)
}

// PeekLead is ReadLead at half the price: eventually consistent (ScoreStore).
func (s *Store) PeekLead(ctx context.Context, id string) (*leadscore.LeadRecord, error) {
	return s.readLead(ctx, id, false)
}

func (s *Store) readLead(ctx context.Context, id string, consistent bool) (*leadscore.LeadRecord, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: leadKey(id), ConsistentRead: aws.Bool(consistent),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, fmt.Errorf("read lead %s for update: %w", id, err)
	}
	meter(ctx, "ReadLead", out.ConsumedCapacity)
	if isTombstone(out.Item) {
		return nil, fmt.Errorf("read lead %s for update: %w", id, leadscore.ErrErased)
	}
	if len(out.Item) == 0 {
		rec := &leadscore.LeadRecord{}
		rec.ID = id
		rec.State = newState(id)
		return rec, nil
	}
	return decodeLead(out.Item, true)
}

// WriteLead writes the whole lead item in one PutItem conditioned on the
// version read (ScoreStore). The due index entry is kept when it is still
// early enough (leadscore.IndexDue), so most writes do not touch that index.
func (s *Store) WriteLead(ctx context.Context, rec *leadscore.LeadRecord, now time.Time) error {
	rec.Applied.Prune(now)
	prevDue := rec.IndexDueAt
	rec.IndexDueAt = leadscore.IndexDue(rec.IndexDueAt, rec.DueAt, len(rec.Outbox), now)
	item, err := encodeLead(rec, rec.Version+1)
	if err != nil {
		rec.IndexDueAt = prevDue
		return err
	}
	in := s.versionedPut(item, rec.Exists, rec.Version)
	out, err := s.client.PutItem(ctx, in)
	if err != nil {
		rec.IndexDueAt = prevDue
		if isConditionFailed(err) {
			MeterFrom(ctx).Add("WriteLeadConflict", 0)
			return fmt.Errorf("write lead %s at version %d: %w", rec.ID, rec.Version, leadscore.ErrConflict)
		}
		return fmt.Errorf("write lead %s at version %d: %w", rec.ID, rec.Version, err)
	}
	meter(ctx, "WriteLead", out.ConsumedCapacity)
	rec.Version++
	rec.Exists = true
	rec.RulesVersion, rec.EvaluatedAt = rec.View.RulesVersion, rec.View.EvaluatedAt
	return nil
}

// MarkSent removes delivered transitions from the outbox (ScoreStore). When
// nobody wrote the lead since rec was written, it also moves the due time
// back to scoring's (the outbox no longer needs the sweep); otherwise it only
// removes the entries, which commutes with whatever the other writer did.
// Either way it bumps the version, so a writer holding an older copy of the
// outbox cannot put the sent entries back.
func (s *Store) MarkSent(ctx context.Context, rec *leadscore.LeadRecord, transitionIDs []string, now time.Time) error {
	if len(transitionIDs) == 0 {
		return nil
	}
	sent, remaining := splitSent(rec.Outbox, transitionIDs)
	due := leadscore.IndexDue(time.Time{}, rec.DueAt, len(remaining), now)
	done, err := s.markSentAtVersion(ctx, rec, sent, due)
	if err != nil || done {
		if done {
			rec.Version++
			rec.Outbox = remaining
			rec.IndexDueAt = due
		}
		return err
	}
	// Someone wrote the lead since: remove only the entries, keep the due
	// time (the sweep's look costs less than guessing theirs).
	if err := s.removeSent(ctx, leadKey(rec.ID), sent, "MarkSent"); err != nil {
		return fmt.Errorf("mark %d transitions of lead %s sent: %w", len(sent), rec.ID, err)
	}
	rec.Outbox = remaining
	return nil
}

// versionedPut puts item only over the version the writer read: version
// when the item exists, else no item at all. A writer holding an older copy
// fails the condition and retries (docs/architecture.md invariant 2).
func (s *Store) versionedPut(item map[string]types.AttributeValue, exists bool, version int64) *dynamodb.PutItemInput {
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}
	if exists {
		in.ConditionExpression = aws.String("#version = :v")
		in.ExpressionAttributeNames = map[string]string{"#version": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": nAttr(version)}
	} else {
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = map[string]string{"#pk": attrPK}
	}
	return in
}

// splitSent returns transitionIDs as a set, and the outbox entries not
// among them.
func splitSent(outbox []leadscore.Handoff, transitionIDs []string) (sent map[string]bool, remaining []leadscore.Handoff) {
	sent = make(map[string]bool, len(transitionIDs))
	for _, tid := range transitionIDs {
		sent[tid] = true
	}
	for _, h := range outbox {
		if !sent[h.TransitionID] {
			remaining = append(remaining, h)
		}
	}
	return sent, remaining
}

// outboxRemovals names the outbox entries of sent as expression attribute
// names (transition ids are not valid in an expression's text) and returns
// the REMOVE paths.
func outboxRemovals(sent map[string]bool, names map[string]string) []string {
	var removes []string
	for i, tid := range slices.Sorted(maps.Keys(sent)) {
		n := "#t" + strconv.Itoa(i)
		names[n] = tid
		removes = append(removes, "#outbox."+n)
	}
	return removes
}

// markSentAtVersion removes the sent entries and sets the due index entry
// to due, if the lead is still at rec's version. done is false when it is
// not (the condition failed).
func (s *Store) markSentAtVersion(ctx context.Context, rec *leadscore.LeadRecord, sent map[string]bool, due time.Time) (done bool, err error) {
	names := map[string]string{"#outbox": attrOutbox, "#version": attrVersion, "#due": attrDueAt, "#shard": attrDueShard}
	removes := outboxRemovals(sent, names)
	values := map[string]types.AttributeValue{":one": nAttr(1), ":v": nAttr(rec.Version)}
	set := "SET #version = #version + :one"
	if due.IsZero() {
		removes = append(removes, "#due", "#shard")
	} else {
		set += ", #due = :due, #shard = :shard"
		values[":due"] = nAttr(due.Unix())
		values[":shard"] = sAttr(DueShardKey(DueShard(rec.ID)))
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: leadKey(rec.ID),
		UpdateExpression:          aws.String(set + " REMOVE " + strings.Join(removes, ", ")),
		ConditionExpression:       aws.String("#version = :v"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err == nil {
		meter(ctx, "MarkSent", out.ConsumedCapacity)
		return true, nil
	}
	if isConditionFailed(err) {
		return false, nil
	}
	return false, fmt.Errorf("mark %d transitions of lead %s sent: %w", len(sent), rec.ID, err)
}

// removeSent removes the sent entries from the outbox of the item at key
// (a lead's or an account's), whatever its version, and bumps the version
// so a writer holding the older outbox cannot put them back. An item erased
// meanwhile, or whose outbox another writer emptied, leaves nothing to mark.
func (s *Store) removeSent(ctx context.Context, key map[string]types.AttributeValue, sent map[string]bool, op string) error {
	names := map[string]string{"#outbox": attrOutbox, "#version": attrVersion}
	removes := outboxRemovals(sent, names)
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key,
		UpdateExpression:          aws.String("SET #version = #version + :one REMOVE " + strings.Join(removes, ", ")),
		ConditionExpression:       aws.String("attribute_exists(#outbox)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": nAttr(1)},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
		return err
	}
	meter(ctx, op, out.ConsumedCapacity)
	return nil
}

// newState is the state of a lead never written: a lead keyed by email
// starts as a lead, a visitor keyed by cookie as a visitor.
func newState(id string) *scoring.State {
	if strings.HasPrefix(id, leadscore.LeadIDPrefix) {
		return scoring.NewLeadState()
	}
	return scoring.NewState()
}

// encodeOutbox is the stored outbox: per transition id its type, time and
// rules version. The body is not stored: the evaluation that sends an
// entry fills in the lead or account as it is then.
func encodeOutbox(outbox []leadscore.Handoff) *types.AttributeValueMemberM {
	ob := make(map[string]types.AttributeValue, len(outbox))
	for _, h := range outbox {
		ob[h.TransitionID] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"type": sAttr(h.Type),
			"at":   sAttr(h.OccurredAt.UTC().Format(time.RFC3339Nano)),
			"rv":   nAttr(int64(h.RulesVersion)),
		}}
	}
	return &types.AttributeValueMemberM{Value: ob}
}

// decodeOutbox reads what encodeOutbox wrote, oldest first.
func decodeOutbox(item map[string]types.AttributeValue) ([]leadscore.Handoff, error) {
	ob, ok := item[attrOutbox].(*types.AttributeValueMemberM)
	if !ok {
		return nil, nil
	}
	var out []leadscore.Handoff
	for tid, av := range ob.Value {
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("outbox entry %s is not a map", tid)
		}
		at, err := time.Parse(time.RFC3339Nano, str(m.Value, "at"))
		if err != nil {
			return nil, fmt.Errorf("outbox entry %s: %w", tid, err)
		}
		rv, err := num(m.Value, "rv")
		if err != nil {
			return nil, fmt.Errorf("outbox entry %s: %w", tid, err)
		}
		out = append(out, leadscore.Handoff{TransitionID: tid, Type: str(m.Value, "type"),
			OccurredAt: at.UTC(), RulesVersion: int(rv)})
	}
	slices.SortFunc(out, func(a, b leadscore.Handoff) int {
		if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
			return c
		}
		return strings.Compare(a.TransitionID, b.TransitionID)
	})
	return out, nil
}
