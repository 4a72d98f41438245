package signals

import (
	"fmt"
	"math"
)

// logisticFit is an L2-regularized logistic regression fitted by Newton's
// method (equivalently IRLS).
type logisticFit struct {
	// Beta[0] is the intercept, Beta[1+j] the coefficient of feature j.
	Beta []float64
	// StdErr[i] is sqrt of the i-th diagonal of the inverse penalized Hessian
	// at the optimum: the usual Laplace approximation, slightly shrunk by the
	// penalty like the coefficients themselves.
	StdErr     []float64
	Iterations int
	Converged  bool
}

const (
	maxNewtonIterations = 100
	newtonTolerance     = 1e-9
	// The intercept is left unpenalized (shrinking it would bias the base
	// rate); this tiny ridge only keeps the Hessian invertible if a caller
	// ever passes a single-class sample.
	interceptRidge = 1e-9
)

// fitLogistic maximizes sum_i [y_i*eta_i - log(1+exp(eta_i))] - l2/2*|beta|^2
// (intercept excluded from the penalty), eta_i = beta0 + x_i.beta. x is
// row-major, n rows of p features. Newton is the right tool here: p is the
// number of rules (tens), so the (p+1)^2 Hessian is tiny, and it converges in
// a handful of iterations to the exact optimum, which keeps the report
// reproducible to the last digit rather than dependent on a learning rate.
func fitLogistic(x []float64, y []bool, p int, l2 float64) (logisticFit, error) {
	n := len(y)
	if len(x) != n*p {
		return logisticFit{}, fmt.Errorf("logistic fit: %d feature values for %d rows of %d features", len(x), n, p)
	}
	d := p + 1
	beta := make([]float64, d)
	// Start the intercept at the base rate's log-odds: Newton from there
	// needs fewer iterations, and the line search below rarely has to act.
	var won int
	for _, v := range y {
		if v {
			won++
		}
	}
	if won > 0 && won < n {
		r := float64(won) / float64(n)
		beta[0] = math.Log(r / (1 - r))
	}

	grad := make([]float64, d)
	hess := make([]float64, d*d)
	step := make([]float64, d)
	trial := make([]float64, d)
	obj := logisticObjective(x, y, p, l2, beta)
	fit := logisticFit{}
	for fit.Iterations = 1; fit.Iterations <= maxNewtonIterations; fit.Iterations++ {
		logisticGradHess(x, y, p, l2, beta, grad, hess)
		if err := solveSPD(hess, d, grad, step); err != nil {
			return logisticFit{}, fmt.Errorf("logistic fit, iteration %d: %w", fit.Iterations, err)
		}
		// Step halving guarantees the objective never decreases, so the
		// iteration cannot oscillate even on nearly separable data.
		t := 1.0
		var trialObj float64
		for {
			for i := range beta {
				trial[i] = beta[i] + t*step[i]
			}
			trialObj = logisticObjective(x, y, p, l2, trial)
			if trialObj >= obj-1e-12*math.Abs(obj) || t < 1e-8 {
				break
			}
			t /= 2
		}
		var maxMove float64
		for i := range beta {
			maxMove = math.Max(maxMove, math.Abs(trial[i]-beta[i]))
		}
		copy(beta, trial)
		obj = trialObj
		if maxMove < newtonTolerance {
			fit.Converged = true
			break
		}
	}
	if fit.Iterations > maxNewtonIterations {
		fit.Iterations = maxNewtonIterations
	}
	fit.Beta = beta

	logisticGradHess(x, y, p, l2, beta, grad, hess)
	fit.StdErr = make([]float64, d)
	unit := make([]float64, d)
	col := make([]float64, d)
	for i := range d {
		clear(unit)
		unit[i] = 1
		if err := solveSPD(hess, d, unit, col); err != nil {
			return logisticFit{}, fmt.Errorf("logistic fit, covariance: %w", err)
		}
		fit.StdErr[i] = math.Sqrt(math.Max(col[i], 0))
	}
	return fit, nil
}

func linearPredictor(row, beta []float64) float64 {
	eta := beta[0]
	for j, v := range row {
		eta += beta[1+j] * v
	}
	return eta
}

// log1pExp is log(1+exp(z)) without overflow for large z.
func log1pExp(z float64) float64 {
	if z > 35 {
		return z
	}
	return math.Log1p(math.Exp(z))
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func logisticObjective(x []float64, y []bool, p int, l2 float64, beta []float64) float64 {
	var ll float64
	for i, yi := range y {
		eta := linearPredictor(x[i*p:(i+1)*p], beta)
		if yi {
			ll += eta
		}
		ll -= log1pExp(eta)
	}
	var pen float64
	for _, b := range beta[1:] {
		pen += b * b
	}
	return ll - l2/2*pen
}

// logisticGradHess writes the gradient of the objective and the NEGATIVE
// Hessian (positive definite), so that the Newton step solves hess*step = grad.
func logisticGradHess(x []float64, y []bool, p int, l2 float64, beta, grad, hess []float64) {
	d := p + 1
	clear(grad)
	clear(hess)
	for i, yi := range y {
		row := x[i*p : (i+1)*p]
		mu := sigmoid(linearPredictor(row, beta))
		r := -mu
		if yi {
			r = 1 - mu
		}
		w := mu * (1 - mu)
		grad[0] += r
		hess[0] += w
		for j, vj := range row {
			if vj == 0 {
				continue // indicator features are mostly 0: skip the work
			}
			grad[1+j] += r * vj
			hess[1+j] += w * vj // row 0, col 1+j
			for k := j; k < p; k++ {
				if row[k] != 0 {
					hess[(1+j)*d+1+k] += w * vj * row[k]
				}
			}
		}
	}
	// Mirror the upper triangle filled above.
	for a := range d {
		for b := a + 1; b < d; b++ {
			hess[b*d+a] = hess[a*d+b]
		}
	}
	hess[0] += interceptRidge
	for j := 1; j < d; j++ {
		grad[j] -= l2 * beta[j]
		hess[j*d+j] += l2
	}
}

// solveSPD solves a*out = b for a symmetric positive definite d×d matrix a
// (row-major) by Cholesky decomposition; a is not modified.
func solveSPD(a []float64, d int, b, out []float64) error {
	l := make([]float64, d*d)
	for i := range d {
		for j := 0; j <= i; j++ {
			s := a[i*d+j]
			for k := range j {
				s -= l[i*d+k] * l[j*d+k]
			}
			if i == j {
				if s <= 0 || math.IsNaN(s) {
					return fmt.Errorf("matrix not positive definite at pivot %d (%g)", i, s)
				}
				l[i*d+i] = math.Sqrt(s)
			} else {
				l[i*d+j] = s / l[j*d+j]
			}
		}
	}
	// Forward then back substitution: L z = b, L^T out = z.
	z := make([]float64, d)
	for i := range d {
		s := b[i]
		for k := range i {
			s -= l[i*d+k] * z[k]
		}
		z[i] = s / l[i*d+i]
	}
	for i := d - 1; i >= 0; i-- {
		s := z[i]
		for k := i + 1; k < d; k++ {
			s -= l[k*d+i] * out[k]
		}
		out[i] = s / l[i*d+i]
	}
	return nil
}
