// Package chaos holds the end-to-end fault tests of docs/architecture.md's
// invariants: the real ingest, score, sweep and handoff handlers against
// DynamoDB Local and the SQS emulator, with faults injected by infra/faults,
// queues driven the way Lambda's event source mapping drives them, and a
// deduping webhook receiver that verifies every signature. It has no
// non-test code; run it with `go test ./infra/chaos/` (see README.md,
// "Reliability and security", for the sizes and the figures).
package chaos
