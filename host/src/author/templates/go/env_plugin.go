// @@NAME@@: @@SUMMARY@@
//
// Made by `panther-host plugin new --lang go --kind environment`. An environment plugin places
// the services of a test: for each one, the host it runs on, the services it waits for, its
// networks, mounts and environment, and what to capture. The host checks the deployment
// against its policy and carries it out with the executor of the declared kind (here
// `localhost`: local processes). Nothing here runs anything, reads files or sees the network.
//
// The bindings (packages panther_plugin_types and panther_plugin_environment) come from
// wit-bindgen's Go generator. This file is the package the bindings call into
// (export_panther_plugin_environment); `make` copies it next to them.
package export_panther_plugin_environment

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	env "wit_component/panther_plugin_environment"
	t "wit_component/panther_plugin_types"
)

const name = "@@NAME@@"

type result = witTypes.Result[env.DeploymentPlan, t.PluginError]

func Describe() t.PluginInfo {
	return t.PluginInfo{
		Name:         name,
		Version:      "0.1.0",
		Kind:         t.PluginKind_Environment,
		Description:  "@@SUMMARY@@",
		Environments: []t.EnvironmentKind{t.EnvironmentKind_Localhost},
	}
}

// startOrder puts each service after the one it targets; otherwise servers first, then the
// experiment's order. A missing target, or a cycle, is an error.
func startOrder(services []env.ServiceEntry) ([]env.ServiceEntry, bool) {
	placed := map[string]bool{}
	var order []env.ServiceEntry
	for len(order) < len(services) {
		best := -1
		for i, s := range services {
			if placed[s.Name] || (s.Target.IsSome() && !placed[s.Target.Some()]) {
				continue
			}
			later := s.Role == t.Role_Client || s.Tester
			if best < 0 || (!later && (services[best].Role == t.Role_Client || services[best].Tester)) {
				best = i
			}
		}
		if best < 0 {
			return nil, false
		}
		placed[services[best].Name] = true
		order = append(order, services[best])
	}
	return order, true
}

func Deploy(req env.DeployRequest) result {
	if len(req.Params) > 0 {
		return witTypes.Err[env.DeploymentPlan, t.PluginError](t.MakePluginErrorInvalidParam(
			t.ParamProblem{Name: "params", Message: name + " takes no parameters"}))
	}
	order, ok := startOrder(req.Services)
	if !ok {
		return witTypes.Err[env.DeploymentPlan, t.PluginError](t.MakePluginErrorUnsupported(
			"some services can never start: their targets are missing or wait for each other"))
	}
	plan := env.DeploymentPlan{
		Kind:    t.EnvironmentKind_Localhost,
		Capture: witTypes.Some(env.Capture{Interface: "lo", PortsOnly: true}),
	}
	for _, s := range order {
		p := env.Placement{Service: s.Name, Host: "127.0.0.1"}
		// A service starts once the one it targets is ready.
		if s.Target.IsSome() {
			p.After = []string{s.Target.Some()}
		}
		plan.Placements = append(plan.Placements, p)
	}
	// On localhost the host places a test's link relays itself: no `Relays` here.
	return witTypes.Ok[env.DeploymentPlan, t.PluginError](plan)
}
