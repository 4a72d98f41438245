package emulators

import (
	"fmt"
	"maps"

	"github.com/leadscore/leadscore/infra/template"
)

// FunctionEnv is fn's template environment resolved for this stack, the
// way the local stack and the benchmarks run functions: params are template
// parameter values (the template's defaults fill the others), the stack's
// Env fills what the template does not set, and LEADSCORE_LOCAL is 1.
func (s *Stack) FunctionEnv(fn template.Function, params map[string]string) (map[string]string, error) {
	res := s.Resolver()
	for name, p := range s.Template.Parameters {
		if _, ok := params[name]; !ok {
			d, _ := res.String(p.Default)
			res.Refs[name] = d
		}
	}
	maps.Copy(res.Refs, params)
	env := map[string]string{}
	for k, v := range fn.Env {
		val, err := res.String(v)
		if err != nil {
			return nil, fmt.Errorf("%s environment %s: %w", fn.LogicalID, k, err)
		}
		env[k] = val
	}
	for k, v := range s.Env() {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	env["LEADSCORE_LOCAL"] = "1"
	return env, nil
}
