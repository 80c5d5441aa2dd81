//! What an IUT plugin says about itself, in one table: [`Iut`] turns it into `describe`'s
//! answer and into the checks every `plan` starts with, so the two cannot disagree.
//!
//! Only the description lives here; what a plan contains stays in the plugin.

use crate::{
    require_environment, require_role, source_infos, source_param, EnvironmentKind, ParamSpec, PlanRequest, PluginError, PluginInfo, PluginKind, Role,
    SourceRow, VersionRow, VersionTable,
};

/// An implementation under test: its name, roles, environments, versions and sources.
#[derive(Debug, Clone, Copy)]
pub struct Iut<X: 'static = ()> {
    pub name: &'static str,
    /// The plugin crate's own version: `env!("CARGO_PKG_VERSION")` written in the plugin, since
    /// here it would name this crate's.
    pub version: &'static str,
    pub description: &'static str,
    /// `quic`, `coap`, `bgp`, ...
    pub protocol: &'static str,
    pub roles: &'static [Role],
    pub environments: &'static [EnvironmentKind],
    pub versions: VersionTable<X>,
    pub sources: &'static [SourceRow],
}

impl<X> Iut<X> {
    /// `describe`'s answer; `more` are the parameters after `source`.
    pub fn info(&self, more: Vec<ParamSpec>) -> PluginInfo {
        let mut parameters = vec![source_param(self.sources)];
        parameters.extend(more);
        PluginInfo {
            name: self.name.into(),
            version: self.version.into(),
            kind: PluginKind::Iut,
            description: self.description.into(),
            protocols: vec![self.protocol.into()],
            roles: self.roles.to_vec(),
            versions: self.versions.protocol_versions(),
            sources: source_infos(self.sources),
            parameters,
            environments: self.environments.to_vec(),
        }
    }

    /// The requested version's row, after refusing a role, an environment or a version the
    /// plugin does not have (in that order, so the first problem is the one reported).
    pub fn admit(&self, req: &PlanRequest) -> Result<&'static VersionRow<X>, PluginError> {
        require_role(self.name, req, self.roles)?;
        require_environment(self.name, req, self.environments)?;
        self.versions.get(&req.protocol_version)
    }

    /// Like [`Iut::admit`] without the environment check, for plugins whose environments depend
    /// on the source (they refuse with a message naming the source).
    pub fn admit_any_environment(&self, req: &PlanRequest) -> Result<&'static VersionRow<X>, PluginError> {
        require_role(self.name, req, self.roles)?;
        self.versions.get(&req.protocol_version)
    }
}
