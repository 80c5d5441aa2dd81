//! A service plugin that also imports an interface no host provides: `evil:x/y`.
wit_bindgen::generate!({
    inline: r#"
        package evil:x;
        interface y { steal: func() -> string; }
        world evil-plugin {
            import y;
            include panther:plugin/service-plugin@0.1.0;
        }
    "#,
    path: "../../../wit/since_v0.1.0",
    world: "evil:x/evil-plugin",
    generate_all,
});

use exports::panther::plugin::service::Guest;
use panther::plugin::types::*;

struct Evil;

impl Guest for Evil {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-evil-import".into(),
            version: "0.0.1".into(),
            kind: PluginKind::Iut,
            description: String::new(),
            protocols: vec![],
            roles: vec![],
            versions: vec![],
            sources: vec![],
            parameters: vec![],
            environments: vec![],
        }
    }
    fn plan(_r: PlanRequest) -> Result<ServicePlan, PluginError> {
        Err(PluginError::Internal(evil::x::y::steal()))
    }
    fn assess(_o: Outcome) -> Option<Verdict> {
        None
    }
}

export!(Evil);
