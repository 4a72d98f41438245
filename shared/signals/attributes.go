package signals

import (
	"math"
	"strconv"
	"strings"
)

// ReportedAttributes are the fit attributes the report breaks down by
// default. Names, emails and phone numbers are deliberately absent: a
// per-value table of them would list people, not segments.
var ReportedAttributes = []string{"job_title", "industry", "country", "company_size", "annual_revenue"}

// personalAttributes are never reported, even when a caller passes them in
// Lead.Attributes: the report is shown to marketers and may be logged.
var personalAttributes = map[string]bool{
	"email": true, "first_name": true, "last_name": true, "phone": true, "name": true,
}

// CompanySizeBucket puts a head count into the bands marketers segment by:
// "1-49", "50-199", "200-999", "1000-4999", "5000+". A count below 1 (or NaN)
// is unknown and gives "".
func CompanySizeBucket(employees float64) string {
	switch {
	case math.IsNaN(employees) || employees < 1:
		return ""
	case employees < 50:
		return "1-49"
	case employees < 200:
		return "50-199"
	case employees < 1000:
		return "200-999"
	case employees < 5000:
		return "1000-4999"
	}
	return "5000+"
}

// RevenueBucket puts an annual revenue (in the currency unit the events use)
// into half-open bands: "<1M", "1M-10M", "10M-50M", "50M-250M", "250M-1B",
// "1B+" (each band includes its lower bound). A revenue of 0 or less (the
// form default when nobody filled it in) or NaN is unknown and gives "".
func RevenueBucket(revenue float64) string {
	switch {
	case math.IsNaN(revenue) || revenue <= 0:
		return ""
	case revenue < 1e6:
		return "<1M"
	case revenue < 10e6:
		return "1M-10M"
	case revenue < 50e6:
		return "10M-50M"
	case revenue < 250e6:
		return "50M-250M"
	case revenue < 1e9:
		return "250M-1B"
	}
	return "1B+"
}

// AttributeValue turns one fit attribute value (as scoring.State.Attributes
// holds it: a string, float64 or bool) into the string the report groups by:
// company_size and annual_revenue are bucketed, strings are trimmed and
// lower-cased (so "VP Sales" and "vp sales " are one segment), other numbers
// are formatted. "" means missing: the lead is left out of that attribute's
// breakdown.
func AttributeValue(name string, v any) string {
	var f float64
	isNum := true
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case string:
		if name == "company_size" || name == "annual_revenue" {
			parsed, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return ""
			}
			f = parsed
		} else {
			return strings.ToLower(strings.TrimSpace(x))
		}
	case bool:
		return strconv.FormatBool(x)
	default:
		isNum = false
	}
	if !isNum {
		return ""
	}
	switch name {
	case "company_size":
		return CompanySizeBucket(f)
	case "annual_revenue":
		return RevenueBucket(f)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Attributes converts a lead's attribute map (scoring.State.Attributes) into
// Lead.Attributes: only the ReportedAttributes, each through AttributeValue,
// missing values dropped.
func Attributes(attrs map[string]any) map[string]string {
	out := make(map[string]string, len(ReportedAttributes))
	for _, name := range ReportedAttributes {
		if v, ok := attrs[name]; ok {
			if s := AttributeValue(name, v); s != "" {
				out[name] = s
			}
		}
	}
	return out
}
