package score

import (
	"encoding/json"
	"os"
	"strings"
)

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func lookupEnv(k string) string { return os.Getenv(k) }

func indexOf(s, sub string) int { return strings.Index(s, sub) }
