// Package cputime reads the CPU time the process has used, so a benchmark
// can report CPU per operation: on a busy shared machine wall time
// overstates it.
package cputime

import "time"

// Process is the CPU time (user + system) the process has used so far; 0
// where the platform does not say.
func Process() time.Duration { return process() }
