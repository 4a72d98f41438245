package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EnvEventRetentionDays is how many days raw event records are kept before
// DynamoDB's TTL removes them (template parameter EventRetentionDays). Empty
// or 0 keeps them forever.
const EnvEventRetentionDays = "EVENT_RETENTION_DAYS"

// maxRetentionDays bounds the setting to something a person meant (ten years).
const maxRetentionDays = 3650

// EventRetention reads EVENT_RETENTION_DAYS through getenv. The retention
// also bounds two features that read raw events: "the same event_id is
// counted once, ever" holds only while its record lives, and a rescore
// rebuilds a lead from the events still kept.
func EventRetention(getenv func(string) string) (time.Duration, error) {
	raw := strings.TrimSpace(getenv(EnvEventRetentionDays))
	if raw == "" {
		return 0, nil
	}
	days, err := strconv.Atoi(raw)
	if err != nil || days < 0 || days > maxRetentionDays {
		return 0, fmt.Errorf("%s %q is not a whole number of days from 0 to %d", EnvEventRetentionDays, raw, maxRetentionDays)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}
