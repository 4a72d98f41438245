package dynamodb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

func rulesKey(version int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: sAttr(rulesPK),
		attrSK: sAttr(fmt.Sprintf("%s%010d", rulesPrefix, version)),
	}
}

func decodeRules(item map[string]types.AttributeValue) (*scoring.Rules, error) {
	sk := str(item, attrSK)
	v, err := strconv.Atoi(strings.TrimPrefix(sk, rulesPrefix))
	if err != nil {
		return nil, fmt.Errorf("rules item %q: bad version: %w", sk, err)
	}
	r, err := scoring.ParseRules([]byte(str(item, attrDoc)))
	if err != nil {
		return nil, fmt.Errorf("rules version %d stored in the table does not parse: %w", v, err)
	}
	return r.WithVersion(v), nil
}

// newestRules returns the item of the newest version, or nil.
func (s *Store) newestRules(ctx context.Context, op string, projection bool) (map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :v)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(rulesPK), ":v": sAttr(rulesPrefix)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
		ConsistentRead:            aws.Bool(true),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	}
	if projection {
		in.ProjectionExpression = aws.String("#pk, #sk")
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("read the newest rules version: %w", err)
	}
	meter(ctx, op, out.ConsumedCapacity)
	if len(out.Items) == 0 {
		return nil, nil
	}
	return out.Items[0], nil
}

// CurrentRules returns the newest published rules, or the defaults when
// none was published (RulesStore). Callers cache it: it is one small query.
func (s *Store) CurrentRules(ctx context.Context) (*scoring.Rules, error) {
	item, err := s.newestRules(ctx, "CurrentRules", false)
	if err != nil {
		return nil, err
	}
	if item == nil {
		return scoring.DefaultRules(), nil
	}
	return decodeRules(item)
}

// Rules returns one version, or leadscore.ErrNotFound (RulesStore).
func (s *Store) Rules(ctx context.Context, version int) (*scoring.Rules, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: rulesKey(version), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, fmt.Errorf("read rules version %d: %w", version, err)
	}
	meter(ctx, "GetRules", out.ConsumedCapacity)
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("rules version %d: %w", version, leadscore.ErrNotFound)
	}
	return decodeRules(out.Item)
}

// PublishRules stores r as the next version and returns it (RulesStore).
// The put is conditioned on the version's absence, so two publishers racing
// never get the same number: the loser reads the newest again and takes the
// next one.
func (s *Store) PublishRules(ctx context.Context, r *scoring.Rules) (int, error) {
	doc := string(r.Document())
	for attempt := 0; attempt < 20; attempt++ {
		item, err := s.newestRules(ctx, "PublishRulesRead", true)
		if err != nil {
			return 0, err
		}
		next := 1
		if item != nil {
			v, err := strconv.Atoi(strings.TrimPrefix(str(item, attrSK), rulesPrefix))
			if err != nil {
				return 0, fmt.Errorf("newest rules item %q: %w", str(item, attrSK), err)
			}
			next = v + 1
		}
		put := rulesKey(next)
		put[attrDoc] = sAttr(doc)
		put[attrPublishedAt] = sAttr(time.Now().UTC().Format(time.RFC3339))
		out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table), Item: put,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK},
			ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
		})
		if err == nil {
			meter(ctx, "PublishRules", out.ConsumedCapacity)
			return next, nil
		}
		if !isConditionFailed(err) {
			return 0, fmt.Errorf("publish rules as version %d: %w", next, err)
		}
	}
	return 0, fmt.Errorf("publish rules: lost the race for a version number 20 times")
}
