package main

import (
	"math"
	"time"
)

// sqsChunk is SQS's billing unit: each 64 KB chunk of a payload is one
// request.
const sqsChunk = 64 << 10

// sqsChunks is the billed requests of one SQS call whose request body was
// reqBytes and whose answer was respBytes long: at least one.
func sqsChunks(reqBytes int64, respBytes int) int {
	n := max(reqBytes, int64(respBytes))
	return max(1, int((n+sqsChunk-1)/sqsChunk))
}

// observeInvoke returns the runtimeapi.Function.Observe hook that counts
// fn's invocations and their billed duration (rounded up to 1 ms, as
// Lambda bills) under service "lambda", so the load tool can price GB-seconds
// with the function's configured memory.
func (m *requestMeter) observeInvoke(fn string, memoryMB int) func(time.Duration) {
	return func(d time.Duration) {
		ms := math.Ceil(float64(d) / float64(time.Millisecond))
		m.mu.Lock()
		defer m.mu.Unlock()
		k := meterKey{"lambda", fn, "Invoke"}
		s := m.stats[k]
		if s == nil {
			s = &OpStats{Service: "lambda", Caller: fn, Op: "Invoke", MemoryMB: memoryMB}
			m.stats[k] = s
		}
		s.Requests++
		s.BilledMs += ms
	}
}

// observer is m's observeInvoke hook, or nil without a meter.
func observer(m *requestMeter, fn string, memoryMB int) func(time.Duration) {
	if m == nil {
		return nil
	}
	return m.observeInvoke(fn, memoryMB)
}
