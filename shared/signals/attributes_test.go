package signals

import (
	"math"
	"reflect"
	"testing"
)

func TestCompanySizeBucket(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{math.NaN(), ""}, {-3, ""}, {0, ""}, {0.5, ""},
		{1, "1-49"}, {49, "1-49"}, {49.9, "1-49"},
		{50, "50-199"}, {199, "50-199"},
		{200, "200-999"}, {999, "200-999"},
		{1000, "1000-4999"}, {4999, "1000-4999"},
		{5000, "5000+"}, {250000, "5000+"},
	}
	for _, tc := range tests {
		if got := CompanySizeBucket(tc.in); got != tc.want {
			t.Errorf("CompanySizeBucket(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRevenueBucket(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{math.NaN(), ""}, {0, ""}, {-1, ""},
		{1, "<1M"}, {999_999, "<1M"},
		{1e6, "1M-10M"}, {9_999_999, "1M-10M"},
		{10e6, "10M-50M"}, {50e6, "50M-250M"}, {250e6, "250M-1B"}, {999e6, "250M-1B"},
		{1e9, "1B+"}, {5e10, "1B+"},
	}
	for _, tc := range tests {
		if got := RevenueBucket(tc.in); got != tc.want {
			t.Errorf("RevenueBucket(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAttributeValue(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"job_title", "  VP Sales ", "vp sales"},
		{"company_size", 250.0, "200-999"},
		{"company_size", 12, "1-49"},
		{"company_size", int64(7000), "5000+"},
		{"company_size", float32(60), "50-199"},
		{"company_size", " 1200 ", "1000-4999"}, // a form posts numbers as text
		{"company_size", "lots", ""},
		{"company_size", 0.0, ""},
		{"annual_revenue", 2.5e6, "1M-10M"},
		{"annual_revenue", "75000000", "50M-250M"},
		{"employees_growth", 1.5, "1.5"},
		{"employees_growth", math.Inf(1), ""},
		{"newsletter", true, "true"},
		{"industry", nil, ""},
		{"industry", []string{"x"}, ""},
	}
	for _, tc := range tests {
		if got := AttributeValue(tc.name, tc.v); got != tc.want {
			t.Errorf("AttributeValue(%q, %#v) = %q, want %q", tc.name, tc.v, got, tc.want)
		}
	}
}

func TestAttributesKeepsReportedSegmentsOnly(t *testing.T) {
	in := map[string]any{
		"job_title": "Director of IT", "industry": "Software", "country": "DE",
		"company_size": 320.0, "annual_revenue": 0.0, // 0 = not given
		"email": "ada@example.com", "first_name": "Ada", "last_name": "L", "phone": "+49 1", "company": "Acme",
	}
	want := map[string]string{"job_title": "director of it", "industry": "software", "country": "de", "company_size": "200-999"}
	if got := Attributes(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("Attributes = %v, want %v", got, want)
	}
}

func TestLog1pExp(t *testing.T) {
	for _, z := range []float64{-50, -1, 0, 1, 30, 40, 800} {
		want := math.Log1p(math.Exp(z))
		if math.IsInf(want, 1) {
			want = z // exp overflows; log(1+e^z) = z to double precision
		}
		if got := log1pExp(z); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) || math.IsInf(got, 0) {
			t.Errorf("log1pExp(%v) = %v, want %v", z, got, want)
		}
	}
}
