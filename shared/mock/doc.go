// Package mock holds small in-memory implementations of the leadscore
// interfaces, for handler unit tests that run without the emulators
// (go test -short, make unit). They implement the interfaces' documented
// behaviour in the simplest way and nothing of DynamoDB's or SQS's: storage
// and queue behaviour itself is tested against DynamoDB Local and the SQS
// emulator.
//
// Store is the table: ScoreStore (score_store.go), LeadReader
// (lead_reader.go), LeadEraser (lead_eraser.go), LeadScanner
// (lead_scanner.go), DueFinder (due_finder.go), and RulesStore through its
// embedded RulesStore (rulesstore.go). RescoreStore keeps bulk rescore
// jobs (rescorestore.go). ReportStore serves the leads of a Store that
// have an outcome and keeps the signals report's background build
// (report_store.go). ScoreQueue and HandoffQueue keep what they are
// sent (scorequeue.go, handoff_queue.go).
// AccountStore keeps accounts and their member summaries (account_store.go).
//
// Every type is safe for concurrent use, and its zero value is ready.
package mock
