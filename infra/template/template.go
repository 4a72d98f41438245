// Package template reads template.yaml, the AWS SAM template, into typed
// values for the parts the project uses: the functions and their event
// sources, the table, the queues. The local stack and the integration tests
// build everything from it, so the template is the only copy of those
// settings.
//
// CloudFormation intrinsics (!Ref, !GetAtt, !Sub, ...) are kept as data, in
// their long JSON form ({"Ref": "X"}, {"Fn::GetAtt": ["X", "Arn"]}), and a
// Resolver turns them into local values.
package template

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Module is the Go module path of the repository; RepoRoot looks for it.
const Module = "github.com/leadscore/leadscore"

// Template is a parsed SAM template.
type Template struct {
	Description string               `json:"Description"`
	Parameters  map[string]Parameter `json:"Parameters"`
	Conditions  map[string]any       `json:"Conditions"`
	Globals     struct {
		Function map[string]any `json:"Function"`
	} `json:"Globals"`
	Resources map[string]Resource `json:"Resources"`
	Outputs   map[string]Output   `json:"Outputs"`
}

// Parameter is one template parameter.
type Parameter struct {
	Type          string `json:"Type"`
	Default       any    `json:"Default"`
	NoEcho        bool   `json:"NoEcho"`
	AllowedValues []any  `json:"AllowedValues"`
	Description   string `json:"Description"`
}

// Resource is one template resource; Properties stay generic because each
// resource type has its own.
type Resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
	Condition  string         `json:"Condition"`
}

// Output is one template output.
type Output struct {
	Description string `json:"Description"`
	Value       any    `json:"Value"`
}

// Resource types the reader knows.
const (
	TypeFunction = "AWS::Serverless::Function"
	TypeHTTPAPI  = "AWS::Serverless::HttpApi"
	TypeTable    = "AWS::DynamoDB::Table"
	TypeQueue    = "AWS::SQS::Queue"
	TypeAlarm    = "AWS::CloudWatch::Alarm"
)

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading template: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// LoadRepo loads template.yaml from the repository root (see RepoRoot).
func LoadRepo() (*Template, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return Load(filepath.Join(root, "template.yaml"))
}

// Parse parses a template document.
func Parse(doc []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("template is not YAML: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, errors.New("template is empty")
	}
	generic, err := convert(root.Content[0])
	if err != nil {
		return nil, err
	}
	return FromGeneric(generic)
}

// FromGeneric builds a Template from the generic form (maps, slices and
// scalars, intrinsics in long form); tests use it to check mutated copies.
func FromGeneric(generic any) (*Template, error) {
	b, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var t Template
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("template does not have the shape of a SAM template: %w", err)
	}
	if len(t.Resources) == 0 {
		return nil, errors.New("template has no Resources")
	}
	return &t, nil
}

// ParseGeneric parses a template document into the generic form.
func ParseGeneric(doc []byte) (map[string]any, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("template is not YAML: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, errors.New("template is empty")
	}
	g, err := convert(root.Content[0])
	if err != nil {
		return nil, err
	}
	m, ok := g.(map[string]any)
	if !ok {
		return nil, errors.New("template is not a mapping")
	}
	return m, nil
}

// shortForms maps the YAML short-form tags to their long JSON names.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!If": "Fn::If",
	"!Not": "Fn::Not", "!Equals": "Fn::Equals", "!And": "Fn::And", "!Or": "Fn::Or",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap",
	"!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!ImportValue": "Fn::ImportValue",
	"!GetAZs": "Fn::GetAZs", "!Transform": "Fn::Transform",
}

func convert(n *yaml.Node) (any, error) {
	if long, ok := shortForms[n.Tag]; ok {
		inner := *n
		inner.Tag = ""
		inner.Style &^= yaml.TaggedStyle
		// !GetAtt A.B is the scalar spelling of ["A", "B"].
		if long == "Fn::GetAtt" && n.Kind == yaml.ScalarNode {
			id, attr, found := strings.Cut(n.Value, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, n.Value)
			}
			return map[string]any{long: []any{id, attr}}, nil
		}
		if n.Kind == yaml.ScalarNode {
			return map[string]any{long: n.Value}, nil
		}
		v, err := convert(&inner)
		if err != nil {
			return nil, err
		}
		return map[string]any{long: v}, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			v, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.AliasNode:
		return convert(n.Alias)
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

// Int is an integer CloudFormation may spell as a number or a string.
type Int int

// UnmarshalJSON accepts 5 and "5".
func (i *Int) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*i = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	*i = Int(n)
	return nil
}

// decodeInto re-decodes a generic value into a typed one.
func decodeInto(v any, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	return dec.Decode(out)
}

// ResourcesOfType lists the logical ids of the resources of typ, sorted.
func (t *Template) ResourcesOfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// RepoRoot finds the repository root: LEADSCORE_ROOT when set, else the
// nearest directory at or above the working directory whose go.mod declares
// Module. Tests run in their package directory, the local stack anywhere
// inside the repository, so both find it.
func RepoRoot() (string, error) {
	if root := os.Getenv("LEADSCORE_ROOT"); root != "" {
		return root, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding repository root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+Module+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s at or above the working directory; set LEADSCORE_ROOT", Module)
		}
		dir = parent
	}
}
