package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"
)

// TradeoffPoint is one measured design: a paced load run with one setting
// of the score queue's batching.
type TradeoffPoint struct {
	// Label names the design on the x axis (e.g. "batch 10, no window").
	Label string
	Run   LoadRun
}

// tradeoffLabel names a run by its score queue batching override, or
// "template.yaml" when it had none.
func tradeoffLabel(run LoadRun) string {
	for _, b := range run.Batching {
		ev, setting, ok := strings.Cut(b, "=")
		size, window, ok2 := strings.Cut(setting, "/")
		if !ok || !ok2 || ev != "ScoreQueueEvents" {
			continue
		}
		if window == "0" {
			return "batch " + size + ", no window"
		}
		return "batch " + size + ", window " + window + " s"
	}
	return "template.yaml"
}

// p99 of a run: every MQL, and by what qualified the lead.
func (p TradeoffPoint) p99(trigger string) (ms float64, n int) {
	if trigger == "" {
		return p.Run.SpeedToLead.P99, p.Run.SpeedToLead.N
	}
	q := p.Run.ByTrigger[trigger]
	return q.P99, q.N
}

func (p TradeoffPoint) ruPerEvent() float64 {
	if p.Run.Cost == nil || p.Run.Accepted == 0 {
		return 0
	}
	return p.Run.Cost.CapacityUnits / float64(p.Run.Accepted)
}

// tradeoffTable is the trade-off as markdown: one row per design.
func tradeoffTable(points []TradeoffPoint) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "| score queue | speed to lead p99, every MQL | ... by engagement | ... by hand-raise | DynamoDB RU per event | lead writes per event | score invocations per event | $ per million events |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range points {
		all, n := p.p99("")
		eng, ne := p.p99("engagement")
		hand, nh := p.p99("hand-raise")
		writes, invokes := 0.0, 0.0
		if c := p.Run.Cost; c != nil && p.Run.Accepted > 0 {
			for _, o := range c.Ops {
				switch {
				case o.Service == "dynamodb" && o.Caller == "ScoreFunction" && o.Op == "PutItem lead":
					writes += float64(o.Requests)
				case o.Service == "lambda" && o.Caller == "ScoreFunction":
					invokes += float64(o.Requests)
				}
			}
			writes /= float64(p.Run.Accepted)
			invokes /= float64(p.Run.Accepted)
		}
		fmt.Fprintf(&b, "| %s | %s (n=%d) | %s (n=%d) | %s (n=%d) | %.2f | %.2f | %.3f | $%.2f |\n", p.Label, secs(all), n, secs(eng), ne, secs(hand), nh,
			p.ruPerEvent(), writes, invokes, totalCost(costLines(p.Run, USEast1)))
	}
	for _, p := range points {
		fmt.Fprintf(&b, "\n- %s: `%s`", p.Label, p.Run.Command)
	}
	b.WriteString("\n")
	return b.Bytes()
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH          = 760, 440
	plotL, plotR            = 70, 690
	plotT, plotB            = 50, 350
	barWidth                = 56
	targetSpeedToLeadMillis = 1000
)

// niceMax rounds v up to 1, 2 or 5 times a power of ten, so the axes have
// round ticks.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// design is the runs of one label, in the order the label first came.
type design struct {
	label string
	runs  []TradeoffPoint
}

func designs(points []TradeoffPoint) []design {
	var ds []design
	at := map[string]int{}
	for _, p := range points {
		i, ok := at[p.Label]
		if !ok {
			i = len(ds)
			at[p.Label] = i
			ds = append(ds, design{label: p.Label})
		}
		ds[i].runs = append(ds[i].runs, p)
	}
	return ds
}

// mean of f over the design's runs that have a value (ok).
func (d design) mean(f func(TradeoffPoint) (float64, bool)) (float64, bool) {
	sum, n := 0.0, 0
	for _, p := range d.runs {
		if v, ok := f(p); ok {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// tradeoffSVG draws the designs on the x axis, DynamoDB request units per
// accepted event as bars (right axis; the mean of a design's runs), and p99
// speed to lead (left axis) as one dot per run and a line through each
// design's mean: every MQL, and the MQLs qualified by engagement and by a
// hand-raise, with the 1 s target dashed.
func tradeoffSVG(points []TradeoffPoint, title string) []byte {
	var b bytes.Buffer
	ds := designs(points)
	maxMs, maxRU := float64(targetSpeedToLeadMillis), 0.0
	for _, p := range points {
		all, _ := p.p99("")
		eng, _ := p.p99("engagement")
		maxMs = max(maxMs, all, eng)
		maxRU = max(maxRU, p.ruPerEvent())
	}
	maxS, maxRU := niceMax(maxMs/1000*1.1), niceMax(maxRU*1.1)
	yS := func(ms float64) float64 { return plotB - (ms/1000)/maxS*(plotB-plotT) }
	yRU := func(ru float64) float64 { return plotB - ru/maxRU*(plotB-plotT) }
	x := func(i int) float64 {
		return plotL + (float64(i)+0.5)*(plotR-plotL)/float64(max(len(ds), 1))
	}

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", plotL, esc(title))
	// Axes and ticks: seconds on the left, request units on the right.
	fmt.Fprintf(&b, `<path d="M%d %d V%d H%d V%d" fill="none" stroke="#333"/>`+"\n", plotL, plotT, plotB, plotR, plotT)
	for i := 0; i <= 5; i++ {
		v := maxS * float64(i) / 5
		y := yS(v * 1000)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", plotL, plotR, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s s</text>`+"\n", plotL-6, y+4, trimFloat(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f">%s</text>`+"\n", plotR+6, y+4, trimFloat(maxRU*float64(i)/5))
	}
	fmt.Fprintf(&b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">p99 speed to lead</text>`+"\n", (plotT+plotB)/2)
	fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(90)" text-anchor="middle">DynamoDB request units per accepted event</text>`+"\n", chartW-18, (plotT+plotB)/2)
	// Bars: request units per event, labelled with dollars per million.
	for i, d := range ds {
		ru, _ := d.mean(func(p TradeoffPoint) (float64, bool) { return p.ruPerEvent(), true })
		usd, _ := d.mean(func(p TradeoffPoint) (float64, bool) { return totalCost(costLines(p.Run, USEast1)), true })
		fmt.Fprintf(&b, `<rect class="ru" x="%.1f" y="%.1f" width="%d" height="%.1f" fill="#9ecae1"/>`+"\n", x(i)-barWidth/2, yRU(ru), barWidth, plotB-yRU(ru))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#08519c">%.2f RU, $%.2f/M</text>`+"\n", x(i), yRU(ru)-6, ru, usd)
		parts := strings.SplitN(d.label, ", ", 2)
		if len(d.runs) > 1 {
			parts = append(parts, fmt.Sprintf("(%d runs)", len(d.runs)))
		}
		for j, part := range parts {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(i), plotB+18+15*j, esc(part))
		}
	}
	// The 1 s target, then one line per series.
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d62728" stroke-dasharray="6 4"/>`+"\n", plotL, plotR, yS(targetSpeedToLeadMillis), yS(targetSpeedToLeadMillis))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#d62728">target 1 s</text>`+"\n", plotR-4, yS(targetSpeedToLeadMillis)-5)
	series := []struct{ trigger, name, color string }{
		{"", "p99, every MQL", "#e6550d"},
		{"engagement", "p99, MQL by engagement", "#31a354"},
		{"hand-raise", "p99, MQL by hand-raise", "#756bb1"},
	}
	lx := float64(plotL - 40)
	for _, s := range series {
		p99 := func(p TradeoffPoint) (float64, bool) {
			ms, n := p.p99(s.trigger)
			return ms, n > 0
		}
		var line []string
		for i, d := range ds {
			if ms, ok := d.mean(p99); ok {
				line = append(line, fmt.Sprintf("%.1f,%.1f", x(i), yS(ms)))
			}
			for _, p := range d.runs {
				if ms, ok := p99(p); ok {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", x(i), yS(ms), s.color)
				}
			}
		}
		if len(line) > 0 {
			fmt.Fprintf(&b, `<polyline class="p99" points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(line, " "), s.color)
		}
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%.0f" y="%d">%s</text>`+"\n", lx, lx+18, chartH-22, chartH-22, s.color, lx+22, chartH-18, esc(s.name))
		lx += legendWidth(s.name)
	}
	fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="14" height="10" fill="#9ecae1"/><text x="%.0f" y="%d">RU per event (label: and $ per million)</text>`+"\n", lx, chartH-27, lx+18, chartH-18)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// legendWidth is the room a legend entry takes: its mark, and its text at
// about 6.5 units a character of a 12-unit sans-serif font.
func legendWidth(text string) float64 { return 22 + 6.5*float64(len(text)) + 18 }

// trimFloat prints an axis tick: at most 2 decimals, no trailing zeros.
func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
