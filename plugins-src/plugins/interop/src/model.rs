//! The evidence a verdict is made from: a plain-Rust mirror of the WIT `outcome` record.
//!
//! Owns nothing but the shape. It exists so the judging logic compiles and is unit-tested
//! on the build machine without wasm bindings; `glue` converts the WIT values into it. Under
//! `cfg(test)` it reads the JSON the host's evidence module writes for fixtures (the serde
//! form of the host's `types::Outcome`).

#[cfg_attr(test, derive(serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
    Peer,
    Mitm,
}

#[cfg_attr(test, derive(serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    Log,
    Pcap,
    Keylog,
    Qlog,
    Binary,
    Report,
    Other,
}

#[cfg_attr(test, derive(serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentKind {
    Localhost,
    Docker,
    Shadow,
}

#[cfg_attr(test, derive(serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceOutcome {
    pub service: String,
    pub role: Role,
    pub implementation: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stopped_by_host: bool,
    pub stdout_tail: String,
    pub stderr_tail: String,
    pub artifacts: Vec<(ArtifactKind, String)>,
}

#[cfg_attr(test, derive(serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct FileDigest {
    pub size: u64,
    pub sha256: String,
}

#[cfg_attr(test, derive(serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub path: String,
    pub served: Option<FileDigest>,
    pub downloaded: Option<FileDigest>,
}

#[cfg_attr(test, derive(serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuicPacket {
    pub frame: u32,
    pub time_ms: f64,
    pub src: String,
    pub dst: String,
    pub packet_type: String,
    pub version: Option<String>,
    pub packet_number: Option<u64>,
    pub dcid: String,
    pub scid: Option<String>,
    pub frames: Vec<String>,
    pub stream_bytes: u64,
    pub ecn: u8,
    pub udp_length: u32,
    pub key_phase: Option<bool>,
    pub decrypted: bool,
    pub cipher: Option<String>,
    pub http3_frames: Vec<String>,
    pub tls_handshake: Vec<String>,
    pub tls_psk: bool,
    pub tls_early_data: bool,
}

#[cfg_attr(test, derive(serde::Deserialize))]
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub test: String,
    pub testcase: Option<String>,
    pub services: Vec<ServiceOutcome>,
    pub transfers: Vec<Transfer>,
    pub packets: Vec<QuicPacket>,
    pub packets_truncated: bool,
    pub capture_note: Option<String>,
    pub environment: EnvironmentKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    UnsupportedByIut,
    UnsupportedByEnvironment,
    InfraError,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: Status,
    pub reasons: Vec<String>,
    pub evidence: Vec<String>,
}
