//! Local executor: services as local processes (tokio), one process group each.
#[derive(Debug)]
pub struct RunningLocal;
pub struct LocalExecutor;
