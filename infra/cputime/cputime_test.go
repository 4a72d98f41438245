//go:build unix

package cputime

import "testing"

func TestProcessAdvances(t *testing.T) {
	before := Process()
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if after := Process(); after <= before || x == 0 {
		t.Errorf("CPU time went from %v to %v after a busy loop", before, after)
	}
}
