//! Docker executor (bollard).
#[derive(Debug)]
pub struct RunningContainer;
pub struct DockerExecutor;
