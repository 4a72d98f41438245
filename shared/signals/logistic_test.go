package signals

import (
	"math"
	"math/rand/v2"
	"testing"
)

// table2x2 builds rows of one indicator feature from counts of
// (feature, won) combinations.
func table2x2(wonWith, lostWith, wonWithout, lostWithout int) ([]float64, []bool) {
	var x []float64
	var y []bool
	add := func(n int, f float64, won bool) {
		for range n {
			x = append(x, f)
			y = append(y, won)
		}
	}
	add(wonWith, 1, true)
	add(lostWith, 1, false)
	add(wonWithout, 0, true)
	add(lostWithout, 0, false)
	return x, y
}

func TestFitLogisticSaturatedModel(t *testing.T) {
	tests := []struct {
		name                      string
		wonWith, lostWith         int
		wonWithout, lostWithout   int
		wantIntercept, wantEffect float64
	}{
		// With the feature: odds 30/10 = 3; without: 10/30. With a negligible
		// penalty the MLE of a saturated model reproduces the table:
		// intercept = log(1/3), effect = log(3) - log(1/3) = log 9.
		{"positive", 30, 10, 10, 30, math.Log(1.0 / 3), math.Log(9)},
		// Odds 5/20 with, 20/20 without: effect log(0.25).
		{"negative", 5, 20, 20, 20, 0, math.Log(0.25)},
		// Same odds either way: no effect.
		{"none", 10, 10, 25, 25, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, y := table2x2(tc.wonWith, tc.lostWith, tc.wonWithout, tc.lostWithout)
			fit, err := fitLogistic(x, y, 1, 1e-9)
			if err != nil {
				t.Fatal(err)
			}
			if !fit.Converged {
				t.Fatalf("did not converge in %d iterations", fit.Iterations)
			}
			if math.Abs(fit.Beta[0]-tc.wantIntercept) > 1e-6 || math.Abs(fit.Beta[1]-tc.wantEffect) > 1e-6 {
				t.Fatalf("beta = %v, want [%v %v]", fit.Beta, tc.wantIntercept, tc.wantEffect)
			}
			// Standard error of a log odds ratio: sqrt(1/a+1/b+1/c+1/d) (Woolf).
			wantSE := math.Sqrt(1/float64(tc.wonWith) + 1/float64(tc.lostWith) + 1/float64(tc.wonWithout) + 1/float64(tc.lostWithout))
			if math.Abs(fit.StdErr[1]-wantSE) > 1e-4 {
				t.Fatalf("SE = %v, want %v", fit.StdErr[1], wantSE)
			}
		})
	}
}

// At the optimum of the penalized objective the gradient is zero: for every
// feature, sum (y - p) x_j = l2 * beta_j; for the intercept, sum (y - p) = 0.
func TestFitLogisticStationary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, p = 400, 4
	x := make([]float64, n*p)
	y := make([]bool, n)
	for i := range n {
		eta := -0.5
		for j := range p {
			if rng.Float64() < 0.4 {
				x[i*p+j] = 1
				eta += []float64{1, -1, 0.5, 0}[j]
			}
		}
		y[i] = rng.Float64() < sigmoid(eta)
	}
	for _, l2 := range []float64{0.01, 1, 25} {
		fit, err := fitLogistic(x, y, p, l2)
		if err != nil {
			t.Fatal(err)
		}
		grad := make([]float64, p+1)
		hess := make([]float64, (p+1)*(p+1))
		logisticGradHess(x, y, p, l2, fit.Beta, grad, hess)
		for j, g := range grad {
			if math.Abs(g) > 1e-6 {
				t.Fatalf("l2=%v: gradient[%d] = %v at the fitted beta %v", l2, j, g, fit.Beta)
			}
		}
	}
}

// Perfect separation has no finite MLE; the penalty must still give a finite
// answer with the right sign.
func TestFitLogisticSeparable(t *testing.T) {
	x, y := table2x2(20, 0, 0, 20)
	fit, err := fitLogistic(x, y, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !fit.Converged || math.IsInf(fit.Beta[1], 0) || math.IsNaN(fit.Beta[1]) || fit.Beta[1] <= 2 {
		t.Fatalf("separable data: beta = %v, converged %v; want a finite, clearly positive effect", fit.Beta, fit.Converged)
	}
}

func TestFitLogisticRejectsBadShape(t *testing.T) {
	if _, err := fitLogistic([]float64{1, 2, 3}, []bool{true, false}, 2, 1); err == nil {
		t.Fatal("3 values for 2 rows of 2 features: no error")
	}
}

func TestSolveSPD(t *testing.T) {
	// [4 2; 2 3] x = [2; 1] -> x = [0.5, 0].
	out := make([]float64, 2)
	if err := solveSPD([]float64{4, 2, 2, 3}, 2, []float64{2, 1}, out); err != nil {
		t.Fatal(err)
	}
	if math.Abs(out[0]-0.5) > 1e-12 || math.Abs(out[1]) > 1e-12 {
		t.Fatalf("solution %v, want [0.5 0]", out)
	}
	if err := solveSPD([]float64{1, 2, 2, 1}, 2, []float64{1, 1}, out); err == nil {
		t.Fatal("indefinite matrix: no error")
	}
}
