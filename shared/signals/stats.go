package signals

import (
	"math"
	"slices"
)

// AUC is the area under the ROC curve of scores against positive, computed as
// the Mann–Whitney statistic: the share of (positive, negative) pairs in which
// the positive lead scores higher, a tie counting one half. ok is false when
// either class is empty (the AUC is then undefined), or the slices differ in
// length, or a score is NaN (it has no rank).
func AUC(scores []float64, positive []bool) (auc float64, ok bool) {
	if len(scores) != len(positive) {
		return 0, false
	}
	for _, s := range scores {
		if math.IsNaN(s) {
			return 0, false
		}
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(scores[a], scores[b]) })
	// Average ranks over runs of equal scores: this is what counts a tie as
	// one half, and it keeps the whole computation O(n log n).
	var rankSumPos float64
	var nPos, nNeg int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avgRank := float64(i+1+j) / 2 // ranks i+1..j, 1-based
		for k := i; k < j; k++ {
			if positive[idx[k]] {
				rankSumPos += avgRank
				nPos++
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return 0, false
	}
	p, n := float64(nPos), float64(nNeg)
	return (rankSumPos - p*(p+1)/2) / (p * n), true
}

// aucStdErr is the Hanley–McNeil (1982) standard error of an AUC measured on
// nPos positives and nNeg negatives. It is an approximation, good enough to
// tell a marketer whether two AUCs on a small held-out set differ by more
// than noise.
func aucStdErr(a float64, nPos, nNeg int) float64 {
	if nPos == 0 || nNeg == 0 {
		return 0
	}
	q1 := a / (2 - a)
	q2 := 2 * a * a / (1 + a)
	p, n := float64(nPos), float64(nNeg)
	v := (a*(1-a) + (p-1)*(q1-a*a) + (n-1)*(q2-a*a)) / (p * n)
	if v < 0 {
		return 0
	}
	return math.Sqrt(v)
}

// wilson is the Wilson score 95% interval of a proportion k/n. Unlike the
// normal approximation it stays inside [0, 1] and is honest for small n,
// which is exactly where a marketer is tempted to over-read a rate.
func wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + z*z/nf
	center := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return math.Max(0, center-half), math.Min(1, center+half)
}

// median of xs (sorted in place); ok is false for an empty slice.
func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m], true
	}
	return (xs[m-1] + xs[m]) / 2, true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
