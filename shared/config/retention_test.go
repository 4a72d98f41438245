package config

import (
	"strings"
	"testing"
	"time"
)

func TestEventRetention(t *testing.T) {
	tests := []struct {
		raw     string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{" 30 ", 30 * 24 * time.Hour, false},
		{"400", 400 * 24 * time.Hour, false},
		{"3650", 3650 * 24 * time.Hour, false},
		{"3651", 0, true},
		{"-1", 0, true},
		{"1.5", 0, true},
		{"30d", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := EventRetention(func(k string) string {
				if k == EnvEventRetentionDays {
					return tt.raw
				}
				return ""
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), EnvEventRetentionDays) {
				t.Errorf("error %q does not name the variable", err)
			}
			if got != tt.want {
				t.Errorf("retention %v, want %v", got, tt.want)
			}
		})
	}
}
