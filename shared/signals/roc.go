package signals

import (
	"math"
	"slices"
)

// ROCPoint is one point of an ROC curve: of the leads scoring at or above
// some threshold, the share of all positives (TPR) and of all negatives
// (FPR) they hold.
type ROCPoint struct {
	FPR float64 `json:"fpr"`
	TPR float64 `json:"tpr"`
}

// MaxROCPoints bounds a curve in the report: enough to draw it, small
// enough to send.
const MaxROCPoints = 101

// ROC is the ROC curve of scores against positive, from (0,0) to (1,1),
// one vertex per distinct score (ties move diagonally, as they count one half
// in AUC), thinned to at most maxPoints by keeping evenly spaced vertices
// and both ends. The trapezoid area under the full curve is AUC. Nil when
// AUC would be undefined.
func ROC(scores []float64, positive []bool, maxPoints int) []ROCPoint {
	if _, ok := AUC(scores, positive); !ok {
		return nil
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	// Highest score first: lowering the threshold admits leads in this order.
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(scores[b], scores[a]) })
	var nPos, nNeg float64
	for _, p := range positive {
		if p {
			nPos++
		} else {
			nNeg++
		}
	}
	curve := []ROCPoint{{0, 0}}
	var tp, fp float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			if positive[idx[j]] {
				tp++
			} else {
				fp++
			}
			j++
		}
		curve = append(curve, ROCPoint{FPR: fp / nNeg, TPR: tp / nPos})
		i = j
	}
	return thin(curve, maxPoints)
}

// thin keeps at most n points (n >= 2) of a curve: the first, the last and
// evenly spaced ones between.
func thin(curve []ROCPoint, n int) []ROCPoint {
	if n < 2 || len(curve) <= n {
		return curve
	}
	out := make([]ROCPoint, 0, n)
	step := float64(len(curve)-1) / float64(n-1)
	for k := range n {
		out = append(out, curve[int(math.Round(float64(k)*step))])
	}
	return out
}
