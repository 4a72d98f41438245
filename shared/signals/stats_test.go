package signals

import (
	"math"
	"testing"
)

func TestAUC(t *testing.T) {
	tests := []struct {
		name     string
		scores   []float64
		positive []bool
		want     float64
		ok       bool
	}{
		// Every positive above every negative.
		{"perfect", []float64{3, 2, 1}, []bool{true, true, false}, 1, true},
		// Every positive below every negative.
		{"reversed", []float64{1, 2, 3}, []bool{true, false, false}, 0, true},
		// One pair, tied: counts one half.
		{"single tie", []float64{1, 1}, []bool{true, false}, 0.5, true},
		// Pairs (pos,neg): (2,1)=1 (2,0)=1 (1,1)=0.5 (1,0)=1 -> 3.5/4.
		{"tie across classes", []float64{2, 1, 1, 0}, []bool{true, true, false, false}, 0.875, true},
		// pos {5,3}, neg {4,3,1}: (5,*)=3, (3,4)=0 (3,3)=.5 (3,1)=1 -> 4.5/6.
		{"mixed with tie", []float64{5, 4, 3, 3, 1}, []bool{true, false, true, false, false}, 0.75, true},
		// All scores equal: every pair ties -> 0.5 whatever the classes.
		{"all tied", []float64{7, 7, 7, 7}, []bool{true, false, false, true}, 0.5, true},
		// Ties within a class only do not matter: pos {2,2} over neg {1,1}.
		{"ties within class", []float64{2, 2, 1, 1}, []bool{true, true, false, false}, 1, true},
		{"no negatives", []float64{1, 2}, []bool{true, true}, 0, false},
		{"no positives", []float64{1, 2}, []bool{false, false}, 0, false},
		{"empty", nil, nil, 0, false},
		{"length mismatch", []float64{1, 2}, []bool{true}, 0, false},
		{"NaN score", []float64{math.NaN(), 1}, []bool{true, false}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := AUC(tc.scores, tc.positive)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
				t.Fatalf("AUC(%v, %v) = %v, %v; want %v, %v", tc.scores, tc.positive, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// The rank formula must equal the definition (count pairs) on any input.
func TestAUCMatchesPairCounting(t *testing.T) {
	for n := 2; n < 40; n++ {
		scores := make([]float64, n)
		pos := make([]bool, n)
		for i := range n {
			scores[i] = float64((i * 7919) % 5) // many ties
			pos[i] = (i*31)%3 == 0
		}
		var pairs, wins float64
		for i := range n {
			for j := range n {
				if pos[i] && !pos[j] {
					pairs++
					switch {
					case scores[i] > scores[j]:
						wins++
					case scores[i] == scores[j]:
						wins += 0.5
					}
				}
			}
		}
		got, ok := AUC(scores, pos)
		if pairs == 0 {
			if ok {
				t.Fatalf("n=%d: ok with a single class", n)
			}
			continue
		}
		if !ok || math.Abs(got-wins/pairs) > 1e-12 {
			t.Fatalf("n=%d: AUC = %v, %v; pair counting gives %v", n, got, ok, wins/pairs)
		}
	}
}

func TestAUCStdErr(t *testing.T) {
	// A=0.75, 10 and 10: Q1=0.6, Q2=0.642857;
	// var=(0.1875 + 9*0.0375 + 9*0.080357)/100 = 0.0124821 -> se 0.111723.
	if got := aucStdErr(0.75, 10, 10); math.Abs(got-0.111723) > 1e-6 {
		t.Fatalf("aucStdErr(0.75, 10, 10) = %v, want 0.111723", got)
	}
	if got := aucStdErr(0.75, 0, 10); got != 0 {
		t.Fatalf("aucStdErr with no positives = %v, want 0", got)
	}
}

func TestWilson(t *testing.T) {
	tests := []struct {
		k, n   int
		lo, hi float64
	}{
		// Reference values (e.g. R: prop.test(..., correct=FALSE)$conf.int).
		{5, 10, 0.236593, 0.763407},
		{0, 10, 0, 0.277530},
		{10, 10, 0.722470, 1},
		{1, 3, 0.061490, 0.792340},
		{0, 0, 0, 1},
	}
	for _, tc := range tests {
		lo, hi := wilson(tc.k, tc.n)
		if math.Abs(lo-tc.lo) > 1e-5 || math.Abs(hi-tc.hi) > 1e-5 {
			t.Errorf("wilson(%d, %d) = [%.6f, %.6f], want [%.6f, %.6f]", tc.k, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{[]float64{3}, 3, true},
		{[]float64{4, 1, 3}, 3, true},
		{[]float64{4, 1, 3, 2}, 2.5, true},
	}
	for _, tc := range tests {
		got, ok := median(append([]float64(nil), tc.in...))
		if got != tc.want || ok != tc.ok {
			t.Errorf("median(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
