//! Reads a host file with std::fs, so the component imports wasi:filesystem.
use panther_guest::*;

struct Fs;

impl ServicePlugin for Fs {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-uses-fs".into(),
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
        let secret = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
        Err(PluginError::Internal(secret))
    }
    fn assess(_o: Outcome) -> Option<Verdict> {
        None
    }
}

panther_guest::export_service!(Fs);
