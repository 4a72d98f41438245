package faults

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// BatchSender is the part of the SQS client a sender of batches uses.
type BatchSender interface {
	SendMessageBatch(ctx context.Context, in *awssqs.SendMessageBatchInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *awssqs.ChangeMessageVisibilityInput, optFns ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityOutput, error)
}

// RefusingSQS wraps a real SQS client and answers, for the batch entries
// Refuse picks, as SQS does when it refuses an entry inside a successful
// SendMessageBatch: the entry is not sent and is listed in Failed. The rest
// of the batch reaches the real queue.
type RefusingSQS struct {
	BatchSender
	// Refuse decides per call number (from 1) and entry.
	Refuse func(call int, e types.SendMessageBatchRequestEntry) bool
	// SenderFault marks refusals as the caller's fault, which is not retried.
	SenderFault bool

	mu    sync.Mutex
	calls int
	sizes []int
}

// Calls is how many SendMessageBatch calls were made.
func (r *RefusingSQS) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// Sizes is the entry count of each SendMessageBatch call, in order.
func (r *RefusingSQS) Sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.sizes...)
}

// SendMessageBatch sends what Refuse lets through and reports the rest failed.
func (r *RefusingSQS) SendMessageBatch(ctx context.Context, in *awssqs.SendMessageBatchInput, opts ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error) {
	r.mu.Lock()
	r.calls++
	call := r.calls
	r.sizes = append(r.sizes, len(in.Entries))
	r.mu.Unlock()
	var keep []types.SendMessageBatchRequestEntry
	var refused []types.BatchResultErrorEntry
	for _, e := range in.Entries {
		if r.Refuse != nil && r.Refuse(call, e) {
			refused = append(refused, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("ServiceUnavailable"),
				Message: aws.String("injected"), SenderFault: r.SenderFault})
			continue
		}
		keep = append(keep, e)
	}
	out := &awssqs.SendMessageBatchOutput{}
	if len(keep) > 0 {
		cp := *in
		cp.Entries = keep
		res, err := r.BatchSender.SendMessageBatch(ctx, &cp, opts...)
		if err != nil {
			return nil, err
		}
		out = res
	}
	out.Failed = append(out.Failed, refused...)
	return out, nil
}
