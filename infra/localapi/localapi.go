// Package localapi holds the wire types of the local stack's own HTTP API
// (not AWS's), shared by infra/localstack, which serves them, and
// infra/load, which reads them: one definition, so the two cannot drift.
package localapi

// RequestsPath is where the local stack run with -meter answers the
// request counts (GET, as Requests) and zeroes them (DELETE), on its
// invoke address.
const RequestsPath = "/local/requests"

// Requests is the answer at RequestsPath.
type Requests struct {
	Requests []OpStats `json:"requests"`
}

// OpStats are one caller's requests of one operation.
type OpStats struct {
	Service  string `json:"service"`
	Caller   string `json:"caller"`
	Op       string `json:"op"`
	Requests int    `json:"requests"`
	// Errors are non-2xx answers; ConditionalFailed is the part of them that
	// were ConditionalCheckFailedException, which DynamoDB bills (one write
	// unit per KB of the item) although DynamoDB Local reports no capacity.
	Errors            int `json:"errors"`
	ConditionalFailed int `json:"conditional_failed"`
	// CapacityUnits sums ConsumedCapacity.CapacityUnits of the responses;
	// ByIndex splits it into "table" and each index's name.
	CapacityUnits float64            `json:"capacity_units"`
	ByIndex       map[string]float64 `json:"by_index,omitempty"`
	// EmptyReceives counts SQS ReceiveMessage answers with no message (idle
	// long polls, which an event source mapping also pays for).
	EmptyReceives int `json:"empty_receives"`
	// BilledRequests is what SQS bills: every 64 KB chunk of a request's
	// or answer's payload counts as one request.
	BilledRequests int `json:"billed_requests,omitempty"`
	// Lambda invocations (service "lambda", op "Invoke"): the billed
	// duration summed (each invocation rounded up to a millisecond) and
	// the function's configured memory.
	BilledMs float64 `json:"billed_ms,omitempty"`
	MemoryMB int     `json:"memory_mb,omitempty"`
}
