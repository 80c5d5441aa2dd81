use panther_guest::*;
struct P;
impl ServicePlugin for P {
    fn describe() -> PluginInfo { PluginInfo { name: "probe".into(), version: "0.1.0".into(), kind: PluginKind::Iut, description: String::new(), protocols: vec![], roles: vec![], versions: vec![], sources: vec![], parameters: vec![], environments: vec![] } }
    fn plan(_r: PlanRequest) -> Result<ServicePlan, PluginError> { Err(PluginError::Internal("x".into())) }
    fn assess(_o: Outcome) -> Option<Verdict> { None }
}
panther_guest::export_service!(P);
