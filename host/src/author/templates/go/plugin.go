// @@NAME@@: @@SUMMARY@@
//
// Made by `panther-host plugin new --lang go`. The host calls Describe once, Plan for each
// service of a test that names this plugin, and Assess when the test is over. A plan is data:
// the programs to run (argv, never a shell string), the ports to allocate, when the service is
// ready, what to collect. The host checks it against its policy and runs it; nothing here can
// touch files, the network or the clock. `{{...}}` items are placeholders the host fills in
// (see wit/types.wit).
//
// The bindings (package panther_plugin_types) come from wit-bindgen's Go generator; the
// `panther` package has small helpers over them. This file is the package the bindings call
// into (export_panther_plugin_service); `make` copies it next to them.
package export_panther_plugin_service

import (
@@IMPORTS_GO@@	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/panther"
	t "wit_component/panther_plugin_types"
)

const name = "@@NAME@@"

var parameters = []t.ParamSpec{
	panther.Choice("client-tool", "client: the program that downloads the requests (`curl` or `python`)", "curl", "python"),
}

// A small HTTP downloader for the `python` client tool; the host writes it as a plan file.
const fetchPy = `import sys, urllib.request, os
base, out = sys.argv[1], sys.argv[2]
for path in sys.argv[3:]:
    urllib.request.urlretrieve(base + path, os.path.join(out, os.path.basename(path)))
`

func Describe() t.PluginInfo {
	return t.PluginInfo{
		Name:         name,
		Version:      "0.1.0",
		Kind:         t.PluginKind_@@KIND_VARIANT@@,
		Description:  "@@SUMMARY@@",
		Protocols:    []string{"http"},
		Roles:        []t.Role{t.Role_Server, t.Role_Client},
		Versions:     []t.ProtocolVersion{{Name: "http/1.0"}},
		Parameters:   parameters,
		Environments: []t.EnvironmentKind{t.EnvironmentKind_Localhost},
	}
}

func Plan(req t.PlanRequest) panther.PlanResult {
	if refused, ok := panther.CheckChoices(req, parameters); !ok {
		return refused
	}
	if req.Role != t.Role_Server && req.Role != t.Role_Client {
		return panther.Unsupported(name + " has the roles server and client only")
	}
	if req.Environment != t.EnvironmentKind_Localhost {
		return panther.Unsupported(name + " plans for localhost only")
	}
	var plan t.ServicePlan
	if req.Role == t.Role_Server {
		// Python's own HTTP server, serving the files the host put in `{{dirs.www}}`.
		plan = panther.Plan(panther.Cmd("serve {{dirs.www}} over HTTP",
			"python3", "-m", "http.server", "{{ports.main}}", "--bind", "{{self.ip}}", "--directory", "{{dirs.www}}"))
		plan.Ports = []t.Port{{Name: "main", Transport: t.Transport_Tcp}}
		plan.Readiness.Condition = t.MakeReadinessConditionPortBound("main")
	} else {
		// Downloads every requested path from the target into `{{dirs.downloads}}`, where the
		// host compares them with what the server served.
		base := "http://{{target.ip}}:{{target.port}}"
		var argv []string
		var files []witTypes.Tuple2[string, string]
		if panther.StringParam(req, "client-tool", "curl") == "curl" {
			argv = []string{"curl", "--fail", "--silent", "--show-error", "--output-dir", "{{dirs.downloads}}", "--remote-name-all"}
			for _, path := range req.Requests {
				argv = append(argv, base+path)
			}
		} else {
			argv = append([]string{"python3", "{{dirs.work}}/fetch.py", base, "{{dirs.downloads}}"}, req.Requests...)
			files = append(files, panther.File("{{dirs.work}}/fetch.py", fetchPy))
		}
		plan = panther.Plan(panther.Cmd("download the requests", argv...))
		plan.Files = files
	}
	plan.Artifacts = []t.Artifact{{Kind: t.ArtifactKind_Log, Path: "{{dirs.logs}}"}}
	return panther.Ok(plan)
}

func Assess(outcome t.Outcome) witTypes.Option[t.Verdict] {
@@ASSESS_GO@@
}
