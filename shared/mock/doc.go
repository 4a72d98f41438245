// Package mock holds small in-memory implementations of the leadscore
// interfaces, for handler unit tests that run without the emulators
// (go test -short). They implement the interfaces' documented behaviour in
// the simplest way and nothing of DynamoDB's or SQS's: storage and queue
// behaviour itself is tested against DynamoDB Local and the SQS emulator.
//
// Every type is safe for concurrent use, and its zero value is ready.
package mock
