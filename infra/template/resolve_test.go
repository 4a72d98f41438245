package template

import (
	"testing"
	"time"
)

func TestShortFormIntrinsics(t *testing.T) {
	g, err := ParseGeneric([]byte("Resources:\n  A:\n    Type: X\n    Properties:\n      R: !Ref B\n      G: !GetAtt B.Arn\n      S: !Sub \"${B}/x\"\n      L: !Join [\",\", [a, !Ref B]]\n"))
	if err != nil {
		t.Fatal(err)
	}
	props := g["Resources"].(map[string]any)["A"].(map[string]any)["Properties"].(map[string]any)
	r := Resolver{Refs: map[string]string{"B": "bee"}, Attrs: map[string]string{"B.Arn": "arn:b"}}
	tests := map[string]string{"R": "bee", "G": "arn:b", "S": "bee/x", "L": "a,bee"}
	for k, want := range tests {
		got, err := r.String(props[k])
		if err != nil || got != want {
			t.Errorf("%s resolves to %q, %v; want %q", k, got, err, want)
		}
	}
	if _, err := r.String(map[string]any{"Ref": "Missing"}); err == nil {
		t.Error("an unknown !Ref resolved; want an error naming it")
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"rate(5 minutes)", 5 * time.Minute, true},
		{"rate(1 hour)", time.Hour, true},
		{"rate(2 days)", 48 * time.Hour, true},
		{"rate(0 minutes)", 0, false},
		{"cron(0 * * * ? *)", 0, false},
		{"rate(5 fortnights)", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParse: no template text makes the reader panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {VisibilityTimeout: \"30\"}\n"))
	f.Add([]byte("Resources: {F: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}}}}}"))
	f.Add([]byte("Resources: {A: {Type: X, Properties: {P: !GetAtt nodot}}}"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		tmpl, err := Parse(doc)
		if err != nil {
			return
		}
		_, _ = tmpl.Functions()
		_, _ = tmpl.Routes()
		_, _ = tmpl.Queues()
		_, _ = tmpl.SQSSources()
		_, _ = tmpl.Schedules()
		_, _ = tmpl.Table()
	})
}
