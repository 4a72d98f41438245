package template

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// RefTarget returns X for {"Ref": "X"}.
func RefTarget(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	s, ok := m["Ref"].(string)
	return s, ok
}

// GetAttTarget returns X and Attr for {"Fn::GetAtt": ["X", "Attr"]}.
func GetAttTarget(v any) (id, attr string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", false
	}
	switch g := m["Fn::GetAtt"].(type) {
	case []any:
		if len(g) != 2 {
			return "", "", false
		}
		id, ok1 := g[0].(string)
		attr, ok2 := g[1].(string)
		return id, attr, ok1 && ok2
	case string:
		id, attr, found := strings.Cut(g, ".")
		return id, attr, found
	}
	return "", "", false
}

// Resolver turns intrinsic values into strings for a local deployment.
type Resolver struct {
	// Refs maps a logical id or parameter name (and pseudo parameters such
	// as AWS::Region) to what !Ref yields.
	Refs map[string]string
	// Attrs maps "LogicalId.Attribute" to what !GetAtt yields.
	Attrs map[string]string
}

var subVar = regexp.MustCompile(`\$\{([^}!]+)\}`)

// String resolves v to a string. It fails naming the reference it cannot
// resolve, so a template change the local stack does not follow is loud.
func (r Resolver) String(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case nil:
		return "", nil
	case map[string]any:
		if ref, ok := RefTarget(x); ok {
			val, found := r.Refs[ref]
			if !found {
				return "", fmt.Errorf("no local value for !Ref %s", ref)
			}
			return val, nil
		}
		if id, attr, ok := GetAttTarget(x); ok {
			val, found := r.Attrs[id+"."+attr]
			if !found {
				return "", fmt.Errorf("no local value for !GetAtt %s.%s", id, attr)
			}
			return val, nil
		}
		if sub, ok := x["Fn::Sub"]; ok {
			return r.sub(sub)
		}
		if join, ok := x["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := join[1].([]any)
			out := make([]string, 0, len(parts))
			for _, p := range parts {
				s, err := r.String(p)
				if err != nil {
					return "", err
				}
				out = append(out, s)
			}
			return strings.Join(out, sep), nil
		}
	}
	return "", fmt.Errorf("cannot resolve %v locally", v)
}

func (r Resolver) sub(v any) (string, error) {
	var format string
	vars := map[string]any{}
	switch s := v.(type) {
	case string:
		format = s
	case []any:
		if len(s) != 2 {
			return "", fmt.Errorf("!Sub %v: want [format, variables]", v)
		}
		format, _ = s[0].(string)
		m, _ := s[1].(map[string]any)
		for k, val := range m {
			vars[k] = val
		}
	default:
		return "", fmt.Errorf("!Sub %v: want a string", v)
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		var val any
		if given, ok := vars[name]; ok {
			val = given
		} else if id, attr, found := strings.Cut(name, "."); found {
			val = map[string]any{"Fn::GetAtt": []any{id, attr}}
		} else {
			val = map[string]any{"Ref": name}
		}
		s, err := r.String(val)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return s
	})
	if firstErr != nil {
		return "", fmt.Errorf("!Sub %q: %w", format, firstErr)
	}
	return out, nil
}

// ResourceID names an IAM policy resource by logical id, as least-privilege
// checks compare them: !GetAtt X.Arn and !Ref X are X, and
// !Sub "${X.Arn}/index/i" is X/index/i. Anything else (a literal ARN, "*")
// is returned as written.
func ResourceID(r any) string {
	if id, _, ok := GetAttTarget(r); ok {
		return id
	}
	if id, ok := RefTarget(r); ok {
		return id
	}
	if m, ok := r.(map[string]any); ok {
		if sub, ok := m["Fn::Sub"].(string); ok {
			return strings.Replace(strings.TrimPrefix(sub, "${"), ".Arn}", "", 1)
		}
	}
	if s, ok := r.(string); ok {
		return s
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// List is a policy field that may be one value or a list of them, as a list.
func List(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}
