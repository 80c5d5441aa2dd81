// caddy as an implementation under test, written in Go: a panther plugin built with Go's
// wasip1 reactor mode, wit-bindgen's Go bindings, ../panther and `panther-host plugin build`
// (plugins-src/build-go.sh).
//
// The program is Debian's caddy 2.6 (package `caddy`; `make setup-apt` installs it), whose
// HTTP/3 server is quic-go's. Caddy is a server only, configured by a JSON file the host writes
// from the plan: one server on the port the host gives, HTTP/3 only, the run's certificate,
// and a file server over {{dirs.www}}. Automatic HTTPS and the admin API are off, and its
// state (storage, autosaved config) stays in the service's work directory. It speaks HTTP/3
// (ALPN h3) and no HTTP/0.9, so of the interop test cases only `http3` runs; any other exits
// 127, as a runner endpoint does. Its TLS secrets go to the key log the host collects.
package export_panther_plugin_service

import (
	"slices"
	"strings"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	"wit_component/panther"
	t "wit_component/panther_plugin_types"
)

var parameters = []t.ParamSpec{
	panther.Choice("source", "where the implementation's program comes from (see `sources`)", "debian"),
	panther.Choice("log-level", "caddy's own log level (its JSON log goes to stderr)", "INFO", "DEBUG", "WARN", "ERROR"),
}

// The interop test cases caddy can do: HTTP/3 file transfers.
var testcases = []string{"http3"}

// Says why a test case cannot run, and exits 127.
const unsupportedSh = `echo "caddy serves HTTP/3 only (no HTTP/0.9, no test-case switches); it cannot do the interop test case '$1'" >&2
exit 127
`

// The server's configuration; every {{...}} is filled in by the host before the file is
// written. Caddy picks its certificate by SNI: a client that sends none gets the one for the
// service's own name (the run's certificate names every service, and `servername`, which
// picoquic's client sends). `insecure_secrets_log` is caddy's key log, for the capture.
const configJSON = `{
  "admin": {"disabled": true},
  "logging": {"logs": {"default": {"level": "@LEVEL@"}}},
  "storage": {"module": "file_system", "root": "{{dirs.work}}/caddy-storage"},
  "apps": {
    "http": {
      "servers": {
        "interop": {
          "listen": ["@LISTEN@"],
          "protocols": ["h3"],
          "automatic_https": {"disable": true},
          "tls_connection_policies": [{"default_sni": "{{self.name}}", "insecure_secrets_log": "{{files.keylog}}"}],
          "routes": [{"handle": [{"handler": "file_server", "root": "{{dirs.www}}"}]}]
        }
      }
    },
    "tls": {"certificates": {"load_files": [{"certificate": "{{certs.cert_pem}}", "key": "{{certs.key_pem}}"}]}}
  }
}
`

func Describe() t.PluginInfo {
	return t.PluginInfo{
		Name:        "caddy",
		Version:     "0.1.0",
		Kind:        t.PluginKind_Iut,
		Description: "caddy 2.6 HTTP/3 file server (quic-go inside), plugin written in Go",
		Protocols:   []string{"quic"},
		Roles:       []t.Role{t.Role_Server},
		Versions: []t.ProtocolVersion{{
			Name: "rfc9000", Wire: witTypes.Some("00000001"), Alpn: []string{"h3"},
		}},
		Sources: []t.SourceInfo{{
			Name: "debian", Doc: "Debian's caddy 2.6.2 (package caddy); localhost", Offline: true,
		}},
		Parameters:   parameters,
		Environments: []t.EnvironmentKind{t.EnvironmentKind_Localhost},
	}
}

func Plan(req t.PlanRequest) panther.PlanResult {
	if refused, ok := panther.CheckChoices(req, parameters); !ok {
		return refused
	}
	if req.Role != t.Role_Server {
		return panther.Unsupported("caddy is a server only, not a " + panther.RoleName(req.Role))
	}
	if req.ProtocolVersion != "rfc9000" {
		return panther.Unsupported("caddy speaks QUIC version 1 (rfc9000) only")
	}
	if req.Environment != t.EnvironmentKind_Localhost {
		return panther.Unsupported("caddy plans for localhost (Debian's package, from apt)")
	}
	logs := t.Artifact{Kind: t.ArtifactKind_Log, Path: "{{dirs.logs}}"}
	if tc := panther.Testcase(req); tc != "" && !slices.Contains(testcases, tc) {
		plan := panther.Plan(panther.Cmd("caddy cannot do this interop test case: exit 127, as a runner endpoint does",
			"sh", "{{dirs.work}}/unsupported.sh", tc))
		plan.Files = append(plan.Files, panther.File("{{dirs.work}}/unsupported.sh", unsupportedSh))
		plan.Artifacts = []t.Artifact{logs}
		return panther.Ok(plan)
	}
	config := strings.NewReplacer("@LEVEL@", panther.StringParam(req, "log-level", "INFO"),
		"@LISTEN@", "{{self.ip}}:{{ports.quic}}").Replace(configJSON)
	run := panther.WithEnv(
		panther.Cmd("caddy's HTTP/3 file server over the www directory", "caddy", "run", "--config", "{{dirs.work}}/caddy.json"),
		// Caddy keeps its data and autosaved configuration under these; none is inherited.
		"HOME", "{{dirs.work}}", "XDG_DATA_HOME", "{{dirs.work}}/data", "XDG_CONFIG_HOME", "{{dirs.work}}/config",
	)
	plan := panther.Plan(run)
	plan.Files = append(plan.Files, panther.File("{{dirs.work}}/caddy.json", config))
	plan.Ports = []t.Port{{Name: "quic", Transport: t.Transport_Udp}}
	plan.Readiness.Condition = t.MakeReadinessConditionPortBound("quic")
	plan.Artifacts = []t.Artifact{logs, {Kind: t.ArtifactKind_Keylog, Path: "{{files.keylog}}"}}
	return panther.Ok(plan)
}

func Assess(outcome t.Outcome) witTypes.Option[t.Verdict] {
	// No opinion: the host compares the transfers, the interop tester judges test cases.
	return witTypes.None[t.Verdict]()
}
