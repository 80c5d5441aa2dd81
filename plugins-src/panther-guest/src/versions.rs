//! The tables an IUT plugin is mostly made of: its protocol versions (with the upstream
//! revisions each is built from) and its sources. `describe` is generated from them and `plan`
//! looks requests up in them, so the two cannot disagree.

use crate::{error, role_name, EnvironmentKind, ImageSpec, ParamSpec, PlanRequest, PluginError, ProtocolVersion, Role, SourceInfo};

/// A source tree pinned at a revision (commit or tag).
#[derive(Debug, Clone, Copy)]
pub struct Pin {
    pub name: &'static str,
    pub url: &'static str,
    pub rev: &'static str,
}

impl Pin {
    /// Positional, so a version table holds one pin per line.
    pub const fn new(name: &'static str, url: &'static str, rev: &'static str) -> Pin {
        Pin { name, url, rev }
    }
}

/// One protocol version of an implementation. `X` holds whatever else a plugin needs per
/// version (flags, initial versions); `()` when nothing.
#[derive(Debug, Clone, Copy)]
pub struct VersionRow<X: 'static = ()> {
    /// `rfc9000`, `draft29`, ...
    pub name: &'static str,
    /// On-the-wire version as hex (`00000001`).
    pub wire: Option<&'static str>,
    pub alpn: &'static [&'static str],
    /// The pinned upstream sources, main tree first.
    pub upstream: &'static [Pin],
    pub extra: X,
}

impl VersionRow {
    /// A row with no plugin-specific extra, on one line of a version table.
    pub const fn new(name: &'static str, wire: Option<&'static str>, alpn: &'static [&'static str], upstream: &'static [Pin]) -> VersionRow {
        VersionRow {
            name,
            wire,
            alpn,
            upstream,
            extra: (),
        }
    }
}

/// A plugin's versions, in the order `describe` lists them (the first is the default).
#[derive(Debug, Clone, Copy)]
pub struct VersionTable<X: 'static = ()> {
    pub plugin: &'static str,
    pub rows: &'static [VersionRow<X>],
}

impl<X> VersionTable<X> {
    /// The row for `name`, or an `unsupported` error listing the versions there are.
    pub fn get(&self, name: &str) -> Result<&'static VersionRow<X>, PluginError> {
        self.rows.iter().find(|r| r.name == name).ok_or_else(|| {
            let have: Vec<&str> = self.rows.iter().map(|r| r.name).collect();
            error::unsupported(format!("protocol version `{name}` ({} has {})", self.plugin, have.join(", ")))
        })
    }

    pub fn protocol_versions(&self) -> Vec<ProtocolVersion> {
        self.rows
            .iter()
            .map(|r| ProtocolVersion {
                name: r.name.into(),
                wire: r.wire.map(Into::into),
                alpn: r.alpn.iter().map(|s| s.to_string()).collect(),
            })
            .collect()
    }

    /// An empty image named `<plugin>-<version>`: versions pin different sources, so each
    /// needs an image (and a build cache entry) of its own.
    pub fn image(&self, v: &VersionRow<X>) -> ImageSpec {
        ImageSpec::new(&format!("{}-{}", self.plugin, v.name))
    }
}

/// Where an implementation's programs can come from.
#[derive(Debug, Clone, Copy)]
pub struct SourceRow {
    pub name: &'static str,
    pub doc: &'static str,
    /// Whether package registries alone suffice (no git hosting).
    pub offline: bool,
}

impl SourceRow {
    /// Programs fetched from package registries only (crates.io, PyPI, Debian).
    pub const fn offline(name: &'static str, doc: &'static str) -> SourceRow {
        SourceRow { name, doc, offline: true }
    }

    /// The pinned upstream sources (git hosting), built in a Docker image.
    pub const fn upstream(doc: &'static str) -> SourceRow {
        SourceRow {
            name: "upstream",
            doc,
            offline: false,
        }
    }
}

/// The `sources` of `describe`.
pub fn source_infos(rows: &[SourceRow]) -> Vec<SourceInfo> {
    rows.iter()
        .map(|s| SourceInfo {
            name: s.name.into(),
            doc: s.doc.into(),
            offline: s.offline,
        })
        .collect()
}

/// The `source` parameter: one of the sources, the first by default.
pub fn source_param(rows: &[SourceRow]) -> ParamSpec {
    let names: Vec<&str> = rows.iter().map(|s| s.name).collect();
    ParamSpec::choice("source", &names, "where the implementation's programs come from (see `sources`)")
}

/// Refuses a role the plugin does not have.
pub fn require_role(plugin: &str, req: &PlanRequest, roles: &[Role]) -> Result<(), PluginError> {
    if roles.contains(&req.role) {
        return Ok(());
    }
    let have: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
    Err(error::unsupported(format!("role `{}` ({plugin} has {})", role_name(req.role), have.join(", "))))
}

/// Refuses an environment the plugin cannot plan for.
pub fn require_environment(plugin: &str, req: &PlanRequest, envs: &[EnvironmentKind]) -> Result<(), PluginError> {
    if envs.contains(&req.environment) {
        return Ok(());
    }
    let have: Vec<&str> = envs.iter().map(|e| env_name(*e)).collect();
    Err(error::unsupported(format!(
        "environment `{}` ({plugin} plans for {})",
        env_name(req.environment),
        have.join(", ")
    )))
}

pub fn env_name(e: EnvironmentKind) -> &'static str {
    match e {
        EnvironmentKind::Localhost => "localhost",
        EnvironmentKind::Docker => "docker",
        EnvironmentKind::Shadow => "shadow",
    }
}
