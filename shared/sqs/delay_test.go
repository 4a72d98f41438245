package sqs

import (
	"testing"
	"time"
)

// TestDelaySeconds: a message's delay goes to SQS as whole seconds, rounded
// up (a delay is a "not before"), at most SQS's 15 minutes.
func TestDelaySeconds(t *testing.T) {
	for d, want := range map[time.Duration]int32{0: 0, -time.Second: 0, time.Millisecond: 1, time.Second: 1,
		65 * time.Second: 65, 65*time.Second + 1: 66, time.Hour: 900} {
		if got := delaySeconds(d); got != want {
			t.Errorf("delaySeconds(%s) = %d, want %d", d, got, want)
		}
	}
}
