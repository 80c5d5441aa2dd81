"""@@NAME@@: @@SUMMARY@@

Made by `panther-host plugin new`. The host calls `describe` once, `plan` for each service of a
test that names this plugin, and `assess` when the test is over. A plan is data: the programs to
run (argv, never a shell string), the ports to allocate, when the service is ready, what to
collect. The host checks it against its policy and runs it; nothing here can touch files, the
network or the clock. `{{...}}` items are placeholders the host fills in (see `wit/types.wit`).

Built by componentize-py with `--stub-wasi` (the Makefile), so the component imports nothing but
the host's `log`.
"""

from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

NAME = "@@NAME@@"
VERSION = "0.1.0"
ROLES = [types.Role.SERVER, types.Role.CLIENT]
CLIENT_TOOLS = ["curl", "python"]

# A small HTTP downloader for the `python` client tool; the host writes it as a plan file.
FETCH_PY = """import sys, urllib.request, os
base, out = sys.argv[1], sys.argv[2]
for path in sys.argv[3:]:
    urllib.request.urlretrieve(base + path, os.path.join(out, os.path.basename(path)))
"""


def _unsupported(what: str) -> Err:
    return Err(types.PluginError_Unsupported(what))


def _invalid(name: str, message: str) -> Err:
    return Err(types.PluginError_InvalidParam(types.ParamProblem(name=name, message=message)))


def _cmd(argv: List[str], description: str) -> types.Command:
    return types.Command(argv=argv, env=[], cwd=None, timeout_ms=None, critical=True, description=description)


def _plan(condition, run: List[types.Command], ports=None, files=None) -> types.ServicePlan:
    return types.ServicePlan(
        phases=types.Phases(pre_compile=[], compile=[], post_compile=[], pre_run=[], run=run, post_run=[]),
        image=None,
        ports=ports or [],
        readiness=types.Readiness(condition=condition, timeout_ms=10_000),
        artifacts=[types.Artifact(kind=types.ArtifactKind.LOG, path="{{dirs.logs}}", required=False)],
        capabilities=[],
        files=files or [],
    )


def _server() -> types.ServicePlan:
    """Python's own HTTP server, serving the files the host put in `{{dirs.www}}`."""
    argv = ["python3", "-m", "http.server", "{{ports.main}}", "--bind", "{{self.ip}}", "--directory", "{{dirs.www}}"]
    return _plan(
        types.ReadinessCondition_PortBound("main"),
        [_cmd(argv, "serve {{dirs.www}} over HTTP")],
        ports=[types.Port(name="main", number=0, transport=types.Transport.TCP)],
    )


def _client(req: types.PlanRequest, tool: str) -> types.ServicePlan:
    """Downloads every requested path from the target into `{{dirs.downloads}}`, where the host
    compares them with what the server served."""
    base = "http://{{target.ip}}:{{target.port}}"
    files = []
    if tool == "curl":
        argv = ["curl", "--fail", "--silent", "--show-error", "--output-dir", "{{dirs.downloads}}", "--remote-name-all"]
        argv += [base + p for p in req.requests]
    else:
        files.append(("{{dirs.work}}/fetch.py", FETCH_PY))
        argv = ["python3", "{{dirs.work}}/fetch.py", base, "{{dirs.downloads}}"] + list(req.requests)
    return _plan(types.ReadinessCondition_Started(), [_cmd(argv, "download the requests")], files=files)


class Service(exports.Service):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name=NAME,
            version=VERSION,
            kind=types.PluginKind.@@KIND_CONST@@,
            description="@@SUMMARY@@",
            protocols=["http"],
            roles=ROLES,
            versions=[types.ProtocolVersion(name="http/1.0", wire=None, alpn=[])],
            sources=[],
            parameters=[
                types.ParamSpec(
                    name="client-tool",
                    ty=types.ParamType.STRING,
                    default=types.ParamValue_String("curl"),
                    doc="client: the program that downloads the requests (`curl` or `python`)",
                    required=False,
                    choices=CLIENT_TOOLS,
                )
            ],
            environments=[types.EnvironmentKind.LOCALHOST],
        )

    def plan(self, request: types.PlanRequest) -> types.ServicePlan:
        # A value outside a parameter's declared choices is refused whatever the role: the host
        # checks experiment files too, but a plugin does not trust its caller.
        tool = "curl"
        for key, value in request.params:
            if key == "client-tool":
                if value.value not in CLIENT_TOOLS:
                    raise _invalid(key, "`" + str(value.value) + "` is not one of " + ", ".join(CLIENT_TOOLS))
                tool = value.value
        if request.role not in ROLES:
            raise _unsupported(NAME + " has no " + request.role.name.lower() + " role")
        if request.environment != types.EnvironmentKind.LOCALHOST:
            raise _unsupported(NAME + " plans for localhost only")
        if request.role == types.Role.SERVER:
            return _server()
        return _client(request, tool)

    def assess(self, outcome: types.Outcome) -> Optional[types.Verdict]:
@@ASSESS_PY@@
