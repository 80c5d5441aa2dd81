//! MiniP ping-pong (the original's `minip/ping_pong`) as an implementation under test: a tiny
//! UDP request/response protocol used to exercise the harness and the Ivy MiniP models.
//!
//! The server is `miniP_server -p PORT -i ADDRESS`, the client `miniP_client -p PORT -i
//! TARGET`, compiled with gcc from one of five behaviour variants (functional, fail, flaky,
//! random, vulnerable). The variant is the protocol version, as in the original, or the
//! `variant` parameter when set. Sources: `pypi` compiles the C files shipped inside the
//! original's own release wheel (panther_net 1.2.0 from PyPI) into `{{dirs.tools}}` on
//! localhost; `upstream` compiles them from the PANTHER repository at a pinned commit in a
//! Docker image.

use panther_guest::*;

const NAME: &str = "minip";
const VARIANTS: &[&str] = &["functional", "fail", "flaky", "random", "vulnerable"];
const PANTHER: Pin = Pin::new("panther", "https://github.com/ElNiak/PANTHER.git", "5b6750f4aff6dbfd8349f1a98660e39a99a66e1c");
const WHEEL: &str = "panther_net-1.2.0-py3-none-any.whl";
const SRC: &str = "panther/plugins/services/iut/minip/ping_pong/src";

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "MiniP ping-pong server and client (UDP), in five behaviour variants",
    protocol: "minip",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Localhost, EnvironmentKind::Docker, EnvironmentKind::Shadow],
    versions: &[row("functional"), row("fail"), row("flaky"), row("random"), row("vulnerable")],
    sources: &[
        SourceRow::offline(
            "pypi",
            "the C sources inside panther_net 1.2.0 (the original's wheel on PyPI), compiled with gcc into the tools cache; localhost",
        ),
        SourceRow::upstream("the C sources from the PANTHER repository at commit 5b6750f4, compiled with gcc in a Docker image"),
    ],
};

/// The parameters after `source`.
fn parameters() -> Vec<ParamSpec> {
    vec![ParamSpec::choice(
        "variant",
        &["version", "functional", "fail", "flaky", "random", "vulnerable"],
        "behaviour variant to compile; `version` (default) takes the protocol version's name",
    )]
}

const fn row(name: &'static str) -> VersionRow {
    VersionRow::new(name, None, &[], &[PANTHER])
}

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = IUT.admit_any_environment(&req)?;
    let variant = match req.param_str("variant")? {
        "version" => v.name,
        other => VARIANTS
            .iter()
            .copied()
            .find(|x| *x == other)
            .ok_or_else(|| invalid_param("variant", format!("`{other}` is not one of {}", VARIANTS.join(", "))))?,
    };
    let program = match req.role {
        Role::Server => "miniP_server",
        _ => "miniP_client",
    };
    let (plan, bin) = match req.param_str("source")? {
        "pypi" => {
            require_environment("minip from pypi", &req, &[EnvironmentKind::Localhost, EnvironmentKind::Shadow])?;
            let src = format!("{{{{dirs.tools}}}}/wheel/{SRC}/{variant}");
            let out = format!("{{{{dirs.tools}}}}/bin/{variant}");
            let plan = ServicePlan::new()
                .compile(
                    cmd(&[
                        "python3",
                        "-m",
                        "pip",
                        "download",
                        "--no-deps",
                        "--disable-pip-version-check",
                        "panther_net==1.2.0",
                        "-d",
                        "{{dirs.tools}}/dl",
                    ])
                    .timeout(10 * 60 * 1000)
                    .describe("fetch the original's wheel, which carries the MiniP C sources"),
                )
                .compile(cmd(&[
                    "python3",
                    "-m",
                    "zipfile",
                    "-e",
                    &format!("{{{{dirs.tools}}}}/dl/{WHEEL}"),
                    "{{dirs.tools}}/wheel",
                ]))
                .compile(cmd(&["mkdir", "-p", &out]))
                // The fail and flaky servers include `delay_<variant>.h`, which the wheel lacks; the
                // variant's own `delay.h` holds its intended delays.
                .compile(cmd(&["cp", &format!("{src}/delay.h"), &format!("{src}/delay_{variant}.h")]))
                .compile(cmd(&["gcc", &format!("{src}/miniP_server.c"), "-o", &format!("{out}/miniP_server")]))
                .compile(cmd(&["gcc", &format!("{src}/miniP_client.c"), "-o", &format!("{out}/miniP_client")]));
            (plan, out)
        }
        _ => {
            require_environment("minip from upstream", &req, &[EnvironmentKind::Docker])?;
            (ServicePlan::new().image(image(variant)), "/opt/ping-pong".to_string())
        }
    };
    let exe = format!("{bin}/{program}");
    Ok(match req.role {
        Role::Server => plan
            .port("minip", listen_port(&req, 4443), Transport::Udp)
            .ready_when_bound("minip")
            .run(cmd(&[&exe, "-p", "{{ports.minip}}", "-i", listen_host(&req)]).describe("MiniP ping-pong server")),
        _ => plan.run(cmd(&[&exe, "-p", "{{target.port}}", "-i", "{{target.ip}}"]).describe("MiniP ping-pong client")),
    })
}

fn image(variant: &str) -> ImageSpec {
    let src = format!("/opt/panther/{SRC}/{variant}");
    ImageSpec::new(&format!("minip-{variant}"))
        .packages(&["gcc", "libc6-dev"])
        .pinned(&PANTHER, "/opt/panther")
        .step(&["mkdir", "-p", "/opt/ping-pong"])
        .step_in(&src, &["gcc", "miniP_client.c", "-o", "/opt/ping-pong/miniP_client"])
        .step_in(&src, &["gcc", "miniP_server.c", "-o", "/opt/ping-pong/miniP_server"])
        .workdir("/opt/ping-pong")
}

export_iut!(IUT, plan, parameters());
