package signals

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestROCAreaIsAUC: on random scores with many ties, the trapezoid area
// under the unthinned curve equals the Mann–Whitney AUC, the curve runs from
// (0,0) to (1,1) and never goes down or left; thinning keeps the ends and the
// bound.
func TestROCAreaIsAUC(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	for trial := range 200 {
		n := 2 + rng.IntN(300)
		scores := make([]float64, n)
		pos := make([]bool, n)
		for i := range n {
			scores[i] = float64(rng.IntN(1 + rng.IntN(40)))
			pos[i] = rng.Float64() < 0.3+0.01*scores[i]
		}
		auc, ok := AUC(scores, pos)
		curve := ROC(scores, pos, 0)
		if !ok {
			if curve != nil {
				t.Fatalf("trial %d: a curve for an undefined AUC", trial)
			}
			continue
		}
		area := 0.0
		for i := 1; i < len(curve); i++ {
			a, b := curve[i-1], curve[i]
			if b.FPR < a.FPR || b.TPR < a.TPR {
				t.Fatalf("trial %d: the curve goes back at %d: %v then %v", trial, i, a, b)
			}
			area += (b.FPR - a.FPR) * (a.TPR + b.TPR) / 2
		}
		if first, last := curve[0], curve[len(curve)-1]; first != (ROCPoint{0, 0}) || last != (ROCPoint{1, 1}) {
			t.Fatalf("trial %d: the curve runs from %v to %v", trial, first, last)
		}
		if math.Abs(area-auc) > 1e-9 {
			t.Fatalf("trial %d: area under the curve %v, AUC %v", trial, area, auc)
		}
		thinned := ROC(scores, pos, 11)
		if len(thinned) > 11 || thinned[0] != curve[0] || thinned[len(thinned)-1] != curve[len(curve)-1] {
			t.Fatalf("trial %d: thinned to %d points from %v to %v", trial, len(thinned), thinned[0], thinned[len(thinned)-1])
		}
	}
}
