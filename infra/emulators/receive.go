package emulators

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Take receives and deletes the messages on queueURL, with their message
// attributes, until it has want of them or three polls of a second in a row
// came back empty, and returns them in the order received: how a test reads
// what a handler sent. The caller checks the count; fewer than want means
// the queue ran dry, more means a batch held more.
func (s *Stack) Take(ctx context.Context, queueURL string, want int) ([]sqstypes.Message, error) {
	var out []sqstypes.Message
	for empty := 0; len(out) < want && empty < 3; {
		res, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			return out, fmt.Errorf("receiving from %s: %w", queueURL, err)
		}
		if len(res.Messages) == 0 {
			empty++
		}
		for _, m := range res.Messages {
			out = append(out, m)
			if _, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return out, fmt.Errorf("deleting from %s: %w", queueURL, err)
			}
		}
	}
	return out, nil
}
