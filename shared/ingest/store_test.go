package ingest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/leadscore/leadscore/shared/dynamodb"
)

// storeAvailable says whether the lead and rules routes are wired to the
// DynamoDB store (DynamoDB Local) in these tests.
const storeAvailable = true

func addStore(_ *testing.T, o *Options, cfg aws.Config) {
	store := dynamodb.New(awsddb.NewFromConfig(cfg), stack.TableName)
	o.Leads, o.Eraser, o.Rules = store, store, store
}
