package template

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

var (
	makeTarget = regexp.MustCompile(`(?m)^build-([A-Za-z0-9]+):[^\n]*\n((?:\t[^\n]*\n)*)`)
	makeFolder = regexp.MustCompile(`\$\(call lambda,([a-z0-9_-]+)\)|\./functions/([a-z0-9_-]+)`)
)

// BuildTargets reads the Makefile's build-<LogicalId> targets (the ones SAM
// runs for BuildMethod: makefile) and returns, per logical id, the
// functions/ folder the target builds. The local stack builds the same
// folders for the host, so SAM and make run cannot disagree.
func BuildTargets(makefile []byte) map[string]string {
	out := map[string]string{}
	for _, m := range makeTarget.FindAllStringSubmatch(string(makefile), -1) {
		if f := makeFolder.FindStringSubmatch(m[2]); f != nil {
			out[m[1]] = f[1] + f[2]
		}
	}
	return out
}

// RepoBuildTargets is BuildTargets of the repository's Makefile.
func RepoBuildTargets(root string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return nil, fmt.Errorf("reading the Makefile: %w", err)
	}
	return BuildTargets(b), nil
}

// Repo is the repository as the local stack and the benchmarks read it:
// template.yaml, its functions, and the Makefile target that builds each.
type Repo struct {
	Root      string
	Template  *Template
	Targets   map[string]string // function logical id -> functions/<folder>
	Functions []Function
}

// ReadRepo reads template.yaml and the Makefile under root.
func ReadRepo(root string) (*Repo, error) {
	tmpl, err := Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	targets, err := RepoBuildTargets(root)
	if err != nil {
		return nil, err
	}
	fns, err := tmpl.Functions()
	if err != nil {
		return nil, err
	}
	return &Repo{Root: root, Template: tmpl, Targets: targets, Functions: fns}, nil
}
