// Package panther has small helpers over the Go bindings of the panther plugin contract
// (wit-bindgen's Go generator writes them as wit_component/panther_plugin_types): commands,
// parameters, errors and plans. The bundled Go plugins (plugins-src/go/*) and the projects
// `panther-host plugin new --lang go` writes share this one file.
//
// Plugins get no files, network or real clock: a plan is data the host checks and runs.
package panther

import (
	"slices"
	"strconv"
	"strings"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	t "wit_component/panther_plugin_types"
)

// PlanResult is what a service plugin's Plan returns.
type PlanResult = witTypes.Result[t.ServicePlan, t.PluginError]

// Cmd is a critical command: argv (each item a template, never a shell string) and why it is
// there, for reports.
func Cmd(description string, argv ...string) t.Command {
	return t.Command{Argv: argv, Critical: true, Description: description}
}

// WithEnv adds environment variables (values are templates) to a command.
func WithEnv(c t.Command, pairs ...string) t.Command {
	for i := 0; i+1 < len(pairs); i += 2 {
		c.Env = append(c.Env, witTypes.Tuple2[string, string]{F0: pairs[i], F1: pairs[i+1]})
	}
	return c
}

// WithTimeout bounds a command's wall-clock time.
func WithTimeout(c t.Command, ms uint64) t.Command {
	c.TimeoutMs = witTypes.Some(ms)
	return c
}

// Plan is a plan that runs `run` (its last command is the service itself).
func Plan(run ...t.Command) t.ServicePlan {
	return t.ServicePlan{
		Phases:    t.Phases{Run: run},
		Readiness: t.Readiness{Condition: t.MakeReadinessConditionStarted(), TimeoutMs: 10000},
	}
}

// File asks the host to write `content` at the template path `path` before the run.
func File(path, content string) witTypes.Tuple2[string, string] {
	return witTypes.Tuple2[string, string]{F0: path, F1: content}
}

// Unsupported refuses a role, version, environment or test case.
func Unsupported(why string) PlanResult {
	return witTypes.Err[t.ServicePlan, t.PluginError](t.MakePluginErrorUnsupported(why))
}

// Invalid refuses a parameter's value, naming the parameter.
func Invalid(param, why string) PlanResult {
	return witTypes.Err[t.ServicePlan, t.PluginError](t.MakePluginErrorInvalidParam(t.ParamProblem{Name: param, Message: why}))
}

// Ok returns a plan.
func Ok(p t.ServicePlan) PlanResult {
	return witTypes.Ok[t.ServicePlan, t.PluginError](p)
}

// Choice declares a string parameter whose value must be one of `choices`; the first is the
// default.
func Choice(name, doc string, choices ...string) t.ParamSpec {
	return t.ParamSpec{
		Name: name, Ty: t.ParamType_String, Doc: doc, Choices: choices,
		Default: witTypes.Some(t.MakeParamValueString(choices[0])),
	}
}

// Param is the value of parameter `name` in the request (the host fills in defaults).
func Param(req t.PlanRequest, name string) (t.ParamValue, bool) {
	for _, p := range req.Params {
		if p.F0 == name {
			return p.F1, true
		}
	}
	return t.ParamValue{}, false
}

// StringParam is a string parameter's value, or `fallback` when it is absent or not a string.
func StringParam(req t.PlanRequest, name, fallback string) string {
	if v, ok := Param(req, name); ok && v.Tag() == t.ParamValue_String {
		return v.String()
	}
	return fallback
}

// CheckChoices refuses a value outside a parameter's declared choices, before anything else,
// as the Rust helper crate does: the host checks types and defaults, the plugin its choices.
func CheckChoices(req t.PlanRequest, specs []t.ParamSpec) (PlanResult, bool) {
	for _, spec := range specs {
		if len(spec.Choices) == 0 {
			continue
		}
		v, ok := Param(req, spec.Name)
		if !ok {
			continue
		}
		var given []string
		switch v.Tag() {
		case t.ParamValue_String:
			given = []string{v.String()}
		case t.ParamValue_List:
			given = v.List()
		}
		for _, g := range given {
			if !slices.Contains(spec.Choices, g) {
				return Invalid(spec.Name, "`"+g+"` is not one of "+strings.Join(spec.Choices, ", ")), false
			}
		}
	}
	return PlanResult{}, true
}

// Testcase is the interop test case of the request, or "".
func Testcase(req t.PlanRequest) string {
	return req.Testcase.SomeOr("")
}

// RoleName spells a role as experiment files do.
func RoleName(r t.Role) string {
	switch r {
	case t.Role_Server:
		return "server"
	case t.Role_Client:
		return "client"
	case t.Role_Peer:
		return "peer"
	case t.Role_Mitm:
		return "mitm"
	}
	return "role " + strconv.Itoa(int(r))
}
