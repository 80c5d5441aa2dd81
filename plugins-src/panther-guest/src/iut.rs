//! What an IUT plugin says about itself, in one table: [`Iut`] turns it into `describe`'s
//! answer and into the checks every `plan` starts with, so the two cannot disagree.
//!
//! Only the description and the `service` glue live here; what a plan contains stays in the
//! plugin.

use crate::{
    require_environment, require_role, source_infos, source_param, EnvironmentKind, ImageSpec, ParamSpec, PlanRequest, PluginError, PluginInfo,
    PluginKind, Role, SourceRow, VersionRow, VersionTable,
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
    /// The versions, in the order `describe` lists them (the first is the default).
    pub versions: &'static [VersionRow<X>],
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
            versions: self.table().protocol_versions(),
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
        self.table().get(&req.protocol_version)
    }

    /// Like [`Iut::admit`] without the environment check, for plugins whose environments depend
    /// on the source (they refuse with a message naming the source).
    pub fn admit_any_environment(&self, req: &PlanRequest) -> Result<&'static VersionRow<X>, PluginError> {
        require_role(self.name, req, self.roles)?;
        self.table().get(&req.protocol_version)
    }

    /// An empty image for version `v`, named after the plugin and the version.
    pub fn image(&self, v: &VersionRow<X>) -> ImageSpec {
        self.table().image(v)
    }

    fn table(&self) -> VersionTable<X> {
        VersionTable {
            plugin: self.name,
            rows: self.versions,
        }
    }
}

/// Implements and exports the `service` interface for an IUT described by the [`Iut`] `$iut`:
/// `describe` is `$iut.info($params)` (no extra parameters when left out), `plan` refuses values
/// outside a parameter's choices ([`crate::check_choices`]) and then calls `$plan`,
/// and `assess` gives no verdict, since an IUT leaves judging to the testers.
///
/// ```ignore
/// fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> { ... }
/// export_iut!(IUT, plan);
/// ```
#[macro_export]
macro_rules! export_iut {
    ($iut:expr, $plan:expr) => {
        $crate::export_iut!($iut, $plan, ::std::vec::Vec::new());
    };
    ($iut:expr, $plan:expr, $params:expr) => {
        struct IutPlugin;

        impl $crate::ServicePlugin for IutPlugin {
            fn describe() -> $crate::PluginInfo {
                $iut.info($params)
            }

            fn plan(req: $crate::PlanRequest) -> ::std::result::Result<$crate::ServicePlan, $crate::PluginError> {
                $crate::check_choices(&$iut.info($params), &req)?;
                ($plan)(req)
            }

            fn assess(_outcome: $crate::Outcome) -> ::std::option::Option<$crate::Verdict> {
                None
            }
        }

        $crate::export_service!(IutPlugin);
    };
}
