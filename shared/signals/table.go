package signals

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteTable prints the report as plain-text tables for a marketer: the
// headline counts, one line per rule (current and suggested points side by
// side), the model's ranking quality, the attribute segments and the funnel.
// Rates resting on fewer than SmallCell decided leads are marked with "*".
func (r Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("CLOSED-LOOP REPORT\n")
	ew.printf("leads %d, decided %d (won %d, lost %d, rejected %d), base win rate %s\n",
		r.Leads, r.Outcomes, r.Won, r.Lost, r.Rejected, pct(r.BaseRate))
	if r.Message != "" {
		ew.printf("NOTE: %s\n", r.Message)
	}

	ew.printf("\nRULES\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	twf(tw, "rule\tkind\tpoints now\tsuggested\teffect\tleads\tdecided\twon\twin rate\tlift\tlift 95%%\t\n")
	for _, s := range r.Rules {
		kind := s.Kind
		if kind == "" {
			kind = "-"
		}
		now := num(s.CurrentPoints)
		if !s.Published {
			now = "(not published)"
		}
		sug, eff := "-", "-"
		if s.SuggestedPoints != nil {
			sug = signedNum(*s.SuggestedPoints)
			eff = s.Effect
		}
		twf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t\n", s.Rule, kind, now, sug, eff,
			s.LeadsWith, s.OutcomesWith, s.ConvertedWith, ratePtr(s.Rate, s.Small), liftPtr(s.Lift), liftInterval(s.Conversion))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	ew.printf("\nMODEL\n")
	if m := r.Model; m == nil {
		ew.printf("no model: %s\n", r.Message)
	} else {
		ew.printf("%s\n", m.Method)
		ew.printf("fitted on %d decided leads (won %d), %d rules as features, L2 %g; tested on %d held-out leads (won %d)\n",
			m.TrainLeads, m.TrainWon, m.Features, m.L2, m.HoldoutLeads, m.HoldoutWon)
		ew.printf("ranking quality on the held-out leads (AUC, 0.5 = coin flip, 1 = perfect):\n")
		ew.printf("  current rules     %.3f ± %.3f\n", m.AUCCurrent, m.AUCCurrentSE)
		ew.printf("  suggested points  %.3f ± %.3f  (unrounded model %.3f)\n", m.AUCSuggested, m.AUCSuggestedSE, m.AUCModel)
		ew.printf("1 log-odds = %.1f points; effect \"raises\"/\"lowers\": coefficient at least %.2f standard errors and %.2f log-odds from 0 (\"slightly\": only the first)\n", m.PointsPerLogOdds, effectZ, effectSize)
		for _, n := range m.Notes {
			ew.printf("- %s\n", n)
		}
	}

	ew.printf("\nATTRIBUTES\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	twf(tw, "attribute\tvalue\tleads\tdecided\twon\twin rate\tlift\tlift 95%%\t\n")
	for _, a := range r.Attributes {
		twf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t\n", a.Attribute, a.Value, a.Leads, a.Outcomes, a.Won,
			ratePtr(a.Rate, a.Small), liftPtr(a.Lift), liftInterval(a.Conversion))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	ew.printf("* fewer than %d decided leads: too few to read anything into\n", SmallCell)

	f := r.Funnel
	ew.printf("\nFUNNEL\n")
	ew.printf("MQL -> SQL  %s (%d of %d MQLs), median %s\n", ratePtr(f.MQLToSQLRate, false), f.MQLToSQL, f.MQLs, days(f.MedianDaysMQLToSQL, f.PairsMQLToSQL))
	ew.printf("SQL -> won  %s (%d of %d SQLs), median %s\n", ratePtr(f.SQLToWonRate, false), f.SQLToWon, f.SQLs, days(f.MedianDaysSQLToWon, f.PairsSQLToWon))
	return ew.err
}

// errWriter keeps the first write error so the printing above reads as a
// list of lines rather than a ladder of error checks.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}

// twf writes into a tabwriter whose errors surface at Flush.
func twf(tw *tabwriter.Writer, format string, args ...any) {
	fmt.Fprintf(tw, format, args...)
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func signedNum(f float64) string {
	if f > 0 {
		return "+" + num(f)
	}
	return num(f)
}

func ratePtr(p *float64, small bool) string {
	if p == nil {
		return "-"
	}
	if small {
		return pct(*p) + "*"
	}
	return pct(*p)
}

func liftPtr(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 2, 64)
}

func liftInterval(c Conversion) string {
	if c.LiftLow == nil || c.LiftHigh == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f-%.2f", *c.LiftLow, *c.LiftHigh)
}

func days(p *float64, pairs int) string {
	if p == nil {
		return "- (no lead with both dates)"
	}
	return fmt.Sprintf("%.1f days (over %d leads)", *p, pairs)
}
