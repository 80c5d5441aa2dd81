"""aioquic (aiortc/aioquic) as an implementation under test: a panther plugin written in Python.

Built with componentize-py into a WebAssembly component (world `service-plugin`, contract
`panther:plugin@0.1.0`) by `plugins-src/build-python.sh`; it imports nothing but the host's
`log` (built with `--stub-wasi`, so no WASI either). It shows that the plugin contract does not
care which language a plugin is written in: the host loads, sandboxes and calls it exactly like
the Rust plugins.

Roles server and client over HTTP/3 (`h3`) or HTTP/0.9 (`hq-interop`), using aioquic's example
programs `http3_server.py` (serves the `www` directory through its demo app's static files) and
`http3_client.py` (saves each response under its base name in the `downloads` directory).

Sources:
* `pypi` (offline: PyPI only). On localhost the compile phase makes a venv in the tools cache,
  installs the aioquic wheel and the example apps' dependencies from PyPI, then downloads
  aioquic's sdist (the wheel has no examples) and unpacks it there. Under Docker the image's
  build steps do the same into `/opt/aioquic` (apt for Python, PyPI for the rest). All argv,
  no shell.
* `upstream` (Docker): aioquic's git tag 1.2.0, installed with pip in an image.

Interop test cases (`PlanRequest.testcase`, the quic-interop-runner's `TESTCASE`) use the
example programs' own flags: HTTP/0.9 (`--legacy-http`) for every case but `http3`, `--retry`
on the server for `retry`, `--cipher-suites CHACHA20_POLY1305_SHA256` for `chacha20`, two
client runs sharing `--session-ticket` for `resumption` (plus `--zero-rtt` on the second for
`zerortt`), `--negotiate-v2` for `v2`. `keyupdate` has no flag: a 20-line wrapper
(`KEY_UPDATE_WRAPPER`) calls aioquic's own `QuicConnection.request_key_update()` once the
handshake is confirmed, then runs http3_client.py unchanged. A case it cannot do exits 127, as
a runner endpoint does.

The plugin never judges: `assess` returns none and the host compares the transfers.
"""

from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

NAME = "aioquic"
PLUGIN_VERSION = "0.1.0"
AIOQUIC = "1.2.0"
# The example apps' dependencies, pinned to what `make setup-python` measured working together.
PY_DEPS = ["starlette==1.10.0", "jinja2==3.1.6", "wsproto==1.3.2"]
UPSTREAM_URL = "https://github.com/aiortc/aioquic.git"

TOOLS = "{{dirs.tools}}"
PYTHON = TOOLS + "/venv/bin/python"
EXAMPLES = TOOLS + "/src/aioquic-" + AIOQUIC + "/examples"
IMAGE_EXAMPLES = "/opt/aioquic/examples"
# The `pypi` image: the same venv, wheel and sdist examples as the localhost tools cache.
PYPI_IMAGE_ROOT = "/opt/aioquic-pypi"
PYPI_IMAGE_PYTHON = PYPI_IMAGE_ROOT + "/venv/bin/python"
PYPI_IMAGE_EXAMPLES = PYPI_IMAGE_ROOT + "/src/aioquic-" + AIOQUIC + "/examples"

ROLES = [types.Role.SERVER, types.Role.CLIENT]
SOURCES = [
    types.SourceInfo(
        name="pypi",
        doc="aioquic " + AIOQUIC + " wheel from PyPI in a venv, plus its sdist's example programs: in the tools cache on localhost, in an image under Docker",
        offline=True,
    ),
    types.SourceInfo(
        name="upstream",
        doc="aioquic git tag " + AIOQUIC + " from GitHub, pip-installed in a Docker image",
        offline=False,
    ),
]
VERSIONS = [
    # aioquic speaks QUIC v1 and v2 (RFC 9369) but no drafts since 1.0.
    types.ProtocolVersion(name="rfc9000", wire="00000001", alpn=["h3", "hq-interop"]),
]


def _string(name: str, default: str, doc: str, choices: Optional[List[str]] = None) -> types.ParamSpec:
    return types.ParamSpec(
        name=name,
        ty=types.ParamType.STRING,
        default=types.ParamValue_String(default),
        doc=doc,
        required=False,
        choices=choices or [],
    )


PARAMETERS = [
    _string("source", "pypi", "where aioquic comes from (see `sources`)", [s.name for s in SOURCES]),
    _string("alpn", "h3", "client: HTTP/3 (h3) or HTTP/0.9 (hq-interop); the server speaks both", ["h3", "hq-interop"]),
    types.ParamSpec(
        name="insecure",
        ty=types.ParamType.BOOLEAN,
        default=types.ParamValue_Boolean(False),
        doc="client: skip certificate verification instead of checking the server against the run's CA",
        required=False,
        choices=[],
    ),
    types.ParamSpec(
        name="timeout-s",
        ty=types.ParamType.INTEGER,
        default=types.ParamValue_Integer(30),
        doc="client: the host stops the download after this many seconds",
        required=False,
        choices=[],
    ),
]


def _fail(error) -> Err:
    return Err(error)


def _unsupported(what: str) -> Err:
    return Err(types.PluginError_Unsupported(what))


def _invalid(name: str, message: str) -> Err:
    return Err(types.PluginError_InvalidParam(types.ParamProblem(name=name, message=message)))


def _param(req: types.PlanRequest, name: str):
    for key, value in req.params:
        if key == name:
            return value.value
    # The host fills in every declared default, so a missing one is a bug on one side.
    raise Err(types.PluginError_Internal("parameter `" + name + "` is missing although it has a default"))


def _cmd(argv: List[str], description: str, env=None, timeout_ms: Optional[int] = None) -> types.Command:
    return types.Command(
        argv=argv, env=env or [], cwd=None, timeout_ms=timeout_ms, critical=True, description=description
    )


def _role_name(role: types.Role) -> str:
    return role.name.lower()


def _env_name(env: types.EnvironmentKind) -> str:
    return env.name.lower()


def _requests(req: types.PlanRequest) -> List[str]:
    paths = list(req.requests) or ["/index.html"]
    for p in paths:
        # http3_client.py saves a response under the base name of its path, so only
        # single-segment paths land where the host looks for them.
        if not p.startswith("/") or p.count("/") != 1 or p in ("/", "/..", "/.") or any(c.isspace() for c in p):
            raise _invalid(
                "requests",
                "`" + p + "` cannot be fetched by aioquic's client: it saves files by base name, so requests must look like /f1.bin",
            )
    return paths


# The runner sends a few test cases to the endpoints under another name (the `interop`
# tester's table; quic-interop-runner testcases_quic.py).
_ENDPOINT_TESTCASE = {"multiplexing": "transfer", "amplificationlimit": "transfer",
                      # The cases over an impaired link run a plain endpoint (the link is the host's).
                      "transferloss": "transfer", "transfercorruption": "transfer", "blackhole": "transfer",
                      "goodput": "transfer", "rebind-port": "transfer", "rebind-addr": "transfer",
                      "longrtt": "handshake", "handshakeloss": "multiconnect", "handshakecorruption": "multiconnect",
                      # Over IPv6 (on localhost, `::1`): a plain transfer.
                      "ipv6": "transfer"}
SERVER_CASES = {"handshake": [], "transfer": [], "retry": ["--retry"], "resumption": [], "zerortt": [],
                "http3": [], "chacha20": [], "v2": [], "multiconnect": []}
CLIENT_CASES = {"handshake", "transfer", "retry", "chacha20", "resumption", "zerortt", "http3", "keyupdate", "v2",
                "multiconnect"}
TICKET = "{{dirs.work}}/session-ticket.pickle"
WRAPPER = "{{dirs.work}}/panther_keyupdate.py"
# Written by the host next to the client (plan `files`); no braces, since file contents are
# not meant to hold placeholders.
KEY_UPDATE_WRAPPER = '''"""Runs aioquic's examples/http3_client.py and makes the client initiate one key update
(aioquic's QuicConnection.request_key_update) as soon as the handshake is confirmed: the
interop runner's keyupdate test case, for which http3_client.py has no flag. Written by the
panther aioquic plugin."""
import runpy
import sys

from aioquic.quic.connection import QuicConnection

_receive = QuicConnection.receive_datagram


def receive_datagram(self, data, addr, now):
    _receive(self, data, addr, now)
    if self._is_client and self._handshake_confirmed and not getattr(self, "_panther_updated", False):
        self._panther_updated = True
        self.request_key_update()
        print("panther: key update requested", file=sys.stderr, flush=True)


QuicConnection.receive_datagram = receive_datagram
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, script.rsplit("/", 1)[0])
runpy.run_path(script, run_name="__main__")
'''


def endpoint_testcase(testcase: str, role: types.Role) -> str:
    if testcase == "keyupdate" and role == types.Role.SERVER:
        return "transfer"
    return _ENDPOINT_TESTCASE.get(testcase, testcase)


UNSUPPORTED = "{{dirs.work}}/panther_unsupported.py"
# A script file, not `python -c`: the host's policy refuses inline interpreter code.
UNSUPPORTED_SCRIPT = '''"""Exits 127 for an interop test case aioquic's examples cannot do (the runner's "unsupported")."""
import sys

print("unsupported test case: " + " ".join(sys.argv[1:]))
sys.exit(127)
'''


def _unsupported_cmd(python: str, testcase: str) -> types.Command:
    return _cmd(
        [python, UNSUPPORTED, testcase],
        "aioquic's example programs cannot do this interop test case: exit 127, as a runner endpoint does",
    )


def _compile_pypi() -> List[types.Command]:
    pip_env = [
        # The host's environment has PATH only: give pip a cache and no prompts.
        ("PIP_CACHE_DIR", "{{dirs.cache}}/pip"),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
        ("PIP_NO_INPUT", "1"),
    ]
    sdist = TOOLS + "/sdist"
    return [
        _cmd(["python3", "-m", "venv", TOOLS + "/venv"], "make a venv for aioquic in the tools cache"),
        _cmd(
            [PYTHON, "-m", "pip", "install", "--quiet", "aioquic==" + AIOQUIC] + PY_DEPS,
            "install the aioquic wheel and its example apps' dependencies from PyPI",
            env=pip_env,
            timeout_ms=10 * 60 * 1000,
        ),
        _cmd(
            [PYTHON, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps", "aioquic==" + AIOQUIC, "-d", sdist],
            "download aioquic's sdist, the only PyPI file with the example programs",
            env=pip_env,
            timeout_ms=10 * 60 * 1000,
        ),
        _cmd(
            [PYTHON, "-m", "tarfile", "-e", sdist + "/aioquic-" + AIOQUIC + ".tar.gz", TOOLS + "/src"],
            "unpack the sdist (examples/http3_server.py, http3_client.py, demo.py)",
        ),
    ]


def _pypi_image() -> types.ImageSpec:
    """What `_compile_pypi` does, as image build steps: PyPI through pip, no git."""
    pip_env = [("PIP_DISABLE_PIP_VERSION_CHECK", "1"), ("PIP_NO_INPUT", "1"), ("PIP_NO_CACHE_DIR", "1")]
    sdist = PYPI_IMAGE_ROOT + "/sdist"

    def step(argv: List[str], env=None) -> types.BuildStep:
        return types.BuildStep(argv=argv, workdir=None, env=env or [])

    return types.ImageSpec(
        name="aioquic-pypi-" + AIOQUIC,
        base="panther-base:bookworm",
        packages=["python3", "python3-venv", "ca-certificates"],
        sources=[],
        steps=[
            step(["python3", "-m", "venv", PYPI_IMAGE_ROOT + "/venv"]),
            step([PYPI_IMAGE_PYTHON, "-m", "pip", "install", "--quiet", "aioquic==" + AIOQUIC] + PY_DEPS, pip_env),
            step(
                [PYPI_IMAGE_PYTHON, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps", "aioquic==" + AIOQUIC, "-d", sdist],
                pip_env,
            ),
            step([PYPI_IMAGE_PYTHON, "-m", "tarfile", "-e", sdist + "/aioquic-" + AIOQUIC + ".tar.gz", PYPI_IMAGE_ROOT + "/src"]),
        ],
        build_args=[],
        workdir=None,
    )


def _image() -> types.ImageSpec:
    return types.ImageSpec(
        name="aioquic-" + AIOQUIC,
        base="panther-base:bookworm",
        packages=["python3", "python3-venv", "python3-pip", "git", "ca-certificates", "build-essential", "libssl-dev", "python3-dev"],
        sources=[types.SourceRef(name="aioquic", url=UPSTREAM_URL, rev=AIOQUIC, dest="/opt/aioquic")],
        steps=[
            types.BuildStep(argv=["python3", "-m", "venv", "/opt/venv"], workdir=None, env=[]),
            types.BuildStep(argv=["/opt/venv/bin/pip", "install", "/opt/aioquic"] + PY_DEPS, workdir=None, env=[]),
        ],
        build_args=[],
        workdir="/opt/aioquic",
    )


class Service(exports.Service):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name=NAME,
            version=PLUGIN_VERSION,
            kind=types.PluginKind.IUT,
            description="aioquic's HTTP/3 example server and client (plugin written in Python)",
            protocols=["quic"],
            roles=ROLES,
            versions=VERSIONS,
            sources=SOURCES,
            parameters=PARAMETERS,
            environments=[types.EnvironmentKind.LOCALHOST, types.EnvironmentKind.DOCKER, types.EnvironmentKind.SHADOW],
        )

    def plan(self, request: types.PlanRequest) -> types.ServicePlan:
        req = request
        if req.role not in ROLES:
            raise _unsupported("role `" + _role_name(req.role) + "` (aioquic has server, client)")
        if req.protocol_version not in [v.name for v in VERSIONS]:
            raise _unsupported(
                "protocol version `" + req.protocol_version + "` (aioquic has " + ", ".join(v.name for v in VERSIONS) + ")"
            )
        # A value outside a parameter's declared choices is refused before anything else, as
        # panther_guest::check_choices does for the Rust plugins.
        for spec in self.describe().parameters:
            if not spec.choices:
                continue
            for key, value in req.params:
                given = value.value if isinstance(value.value, list) else [value.value]
                for v in given:
                    if key == spec.name and v not in spec.choices:
                        raise _invalid(spec.name, "`" + str(v) + "` is not one of " + ", ".join(spec.choices))
        source = _param(req, "source")
        if source == "pypi":
            # Under Shadow the programs run on this machine too, inside the simulation.
            if req.environment in (types.EnvironmentKind.LOCALHOST, types.EnvironmentKind.SHADOW):
                python, examples, compile_phase, image = PYTHON, EXAMPLES, _compile_pypi(), None
            elif req.environment == types.EnvironmentKind.DOCKER:
                python, examples, compile_phase, image = PYPI_IMAGE_PYTHON, PYPI_IMAGE_EXAMPLES, [], _pypi_image()
            else:
                raise _unsupported("environment `" + _env_name(req.environment) + "` with source `pypi` (aioquic plans for localhost, docker and shadow)")
        elif source == "upstream":
            if req.environment != types.EnvironmentKind.DOCKER:
                raise _unsupported("environment `" + _env_name(req.environment) + "` with source `upstream` (use source `pypi` on localhost)")
            python, examples, compile_phase, image = "/opt/venv/bin/python", IMAGE_EXAMPLES, [], _image()
        else:
            raise _invalid("source", "`" + str(source) + "` is not a source of aioquic (pypi, upstream)")

        testcase = endpoint_testcase(req.testcase, req.role) if req.testcase is not None else None
        files = []
        # The runner's ipv6 test case runs over ::1 on localhost (the run's certificate names
        # it) and over the test's dual-stack networks under Docker, where `{{target.host6}}`
        # resolves to the server's IPv6 address only; Shadow is IPv4 only here, and the tester
        # says so.
        ipv6 = req.testcase == "ipv6" and req.environment in (types.EnvironmentKind.LOCALHOST, types.EnvironmentKind.DOCKER)
        local = req.environment == types.EnvironmentKind.LOCALHOST
        listen = ("::1" if local else "::") if ipv6 else "{{self.ip}}" if local else "0.0.0.0"
        env = [("PYTHONUNBUFFERED", "1")]
        artifacts = [
            types.Artifact(kind=types.ArtifactKind.KEYLOG, path="{{files.keylog}}", required=req.role == types.Role.CLIENT),
            types.Artifact(kind=types.ArtifactKind.QLOG, path="{{dirs.qlog}}", required=False),
        ]
        if req.role == types.Role.SERVER:
            port = 0 if req.environment == types.EnvironmentKind.LOCALHOST else 4443
            if testcase is not None and testcase not in SERVER_CASES:
                runs = [_unsupported_cmd(python, testcase)]
                files = [(UNSUPPORTED, UNSUPPORTED_SCRIPT)]
            else:
                runs = [_cmd(
                    [python, examples + "/http3_server.py", "--host", listen, "--port", "{{ports.quic}}",
                     "--certificate", "{{certs.cert_pem}}", "--private-key", "{{certs.key_pem}}",
                     "--secrets-log", "{{files.keylog}}", "--quic-log", "{{dirs.qlog}}"]
                    + SERVER_CASES.get(testcase or "", []),
                    "aioquic example server; its demo app serves the www directory (STATIC_ROOT)",
                    # demo.py serves STATIC_ROOT; integer paths (/1000) are generated, not read from it.
                    env=env + [("STATIC_ROOT", "{{dirs.www}}")],
                )]
            ports = [types.Port(name="quic", number=port, transport=types.Transport.UDP)]
            readiness = types.Readiness(condition=types.ReadinessCondition_PortBound("quic"), timeout_ms=30000)
        else:
            if req.target is None:
                raise _unsupported("a client without a target: set `protocol.target` to the server's service name")
            timeout = _param(req, "timeout-s")
            if not 1 <= timeout <= 3600:
                raise _invalid("timeout-s", str(timeout) + " is not between 1 and 3600")
            verify = ["--insecure"] if _param(req, "insecure") else ["--ca-certs", "{{certs.ca_pem}}"]
            if testcase is None:
                legacy = ["--legacy-http"] if _param(req, "alpn") == "hq-interop" else []
            else:
                # The runner's convention: HTTP/3 only in the http3 test case.
                legacy = [] if testcase == "http3" else ["--legacy-http"]
            # (Not `host`: that name is the contract's `host` import.)
            authority = ("[::1]" if local else "{{target.host6}}") if ipv6 else "{{target.host}}"
            urls = ["https://" + authority + ":{{target.port}}" + p for p in _requests(req)]
            program = [python, examples + "/http3_client.py"]
            extra: List[str] = []
            if testcase == "chacha20":
                extra = ["--cipher-suites", "CHACHA20_POLY1305_SHA256"]
            elif testcase == "v2":
                extra = ["--negotiate-v2"]
            elif testcase == "keyupdate":
                program = [python, WRAPPER, examples + "/http3_client.py"]
                files = [(WRAPPER, KEY_UPDATE_WRAPPER)]

            def client_run(argv_extra: List[str], some_urls: List[str], what: str) -> types.Command:
                return _cmd(
                    program + verify + legacy + extra + argv_extra
                    + ["--output-dir", "{{dirs.downloads}}", "--secrets-log", "{{files.keylog}}", "--quic-log", "{{dirs.qlog}}"]
                    + some_urls,
                    what,
                    env=env,
                    timeout_ms=timeout * 1000,
                )

            if testcase is not None and testcase not in CLIENT_CASES:
                runs = [_unsupported_cmd(python, testcase)]
                files = [(UNSUPPORTED, UNSUPPORTED_SCRIPT)]
            elif testcase in ("resumption", "zerortt"):
                if len(urls) < 2:
                    raise _invalid("requests", "test case `" + testcase + "` needs at least two files: one per connection")
                second = ["--session-ticket", TICKET] + (["--zero-rtt"] if testcase == "zerortt" else [])
                runs = [
                    client_run(["--session-ticket", TICKET], urls[:1],
                               "first connection: fetch the first file and save the server's session ticket"),
                    client_run(second, urls[1:],
                               "second connection: resume the session" + (" and send the requests in 0-RTT" if testcase == "zerortt" else "")
                               + " for the other files"),
                ]
            elif testcase == "multiconnect":
                runs = [client_run([], [u], "one connection per file (the runner's multiconnect)") for u in urls]
            else:
                runs = [client_run([], urls, "aioquic example client saving each response into the downloads directory")]
            ports = []
            readiness = types.Readiness(condition=types.ReadinessCondition_Started(), timeout_ms=30000)
        host.log(host.Level.DEBUG, "aioquic plan for " + req.service + " (" + _role_name(req.role) + ", " + source + ")")
        return types.ServicePlan(
            phases=types.Phases(pre_compile=[], compile=compile_phase, post_compile=[], pre_run=[], run=runs, post_run=[]),
            image=image,
            ports=ports,
            readiness=readiness,
            artifacts=artifacts,
            capabilities=[],
            files=files,
        )

    def assess(self, outcome: types.Outcome) -> Optional[types.Verdict]:
        return None
