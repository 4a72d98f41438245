package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// RulesHistory returns every published rules version, oldest first
// (leadscore.RulesHistory): a Query of the rules partition, a page (1 MB) at
// a time. Each version is at most a 256 KiB document, and versions are
// published by people, so the partition stays small.
func (s *Store) RulesHistory(ctx context.Context) ([]leadscore.PublishedRules, error) {
	var out []leadscore.PublishedRules
	var start map[string]types.AttributeValue
	for {
		page, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :v)"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(rulesPK), ":v": sAttr(rulesPrefix)},
			ExclusiveStartKey:         start,
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, fmt.Errorf("read the rules versions: %w", err)
		}
		meter(ctx, "RulesHistory", page.ConsumedCapacity)
		for _, item := range page.Items {
			r, err := decodeRules(item)
			if err != nil {
				return nil, err
			}
			at, _ := time.Parse(time.RFC3339, str(item, attrPublishedAt))
			out = append(out, leadscore.PublishedRules{Rules: r, PublishedAt: at})
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}
