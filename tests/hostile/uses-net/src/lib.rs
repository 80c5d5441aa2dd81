//! Opens a TCP connection with std::net, so the component imports wasi:sockets.
use panther_guest::*;

struct Net;

impl ServicePlugin for Net {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-uses-net".into(),
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
        let ok = std::net::TcpStream::connect("127.0.0.1:9").is_ok();
        Err(PluginError::Internal(format!("connected: {ok}")))
    }
    fn assess(_o: Outcome) -> Option<Verdict> {
        None
    }
}

panther_guest::export_service!(Net);
