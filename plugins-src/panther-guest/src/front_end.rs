//! Front ends: small programs a plugin ships in its plan (`files`) and builds in the compile
//! phase, for implementations whose own example programs cannot take part in a test (a fixed
//! ALPN, bodies printed to stdout instead of saved). The QUIC code stays the library's.
//!
//! The host caches a compile phase by the hash of its unrendered commands, so every build
//! command carries a digest of the shipped sources: editing them rebuilds.

use crate::{cmd, error, Command, PluginError, ServicePlan};

/// 64-bit FNV-1a: a stable digest without a dependency.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// The URL of one request against the target. Requests are absolute paths without `..`, so a
/// client cannot be made to write outside its downloads directory.
pub fn request_url(path: &str) -> Result<String, PluginError> {
    check_request(path)?;
    Ok(crate::target_url(path))
}

/// [`request_url`] for this request ([`crate::target_url_for`]: IPv6 in the `ipv6` test case).
pub fn request_url_for(req: &crate::PlanRequest, path: &str) -> Result<String, PluginError> {
    check_request(path)?;
    Ok(crate::target_url_for(req, path))
}

fn check_request(path: &str) -> Result<(), PluginError> {
    if !path.starts_with('/') || path.split('/').any(|s| s == "..") || path.contains(char::is_whitespace) {
        return Err(error::invalid_param("requests", format!("`{path}` is not an absolute URL path like /f1.bin")));
    }
    Ok(())
}

/// A Rust front end: a crate (`Cargo.toml` + `src/main.rs`) written under `dir` and built
/// with cargo from crates.io into `{{dirs.tools}}/target`.
pub struct CargoFrontEnd<'a> {
    /// Where the crate is written, e.g. `{{dirs.tools}}/src/panther-quinn`.
    pub dir: &'a str,
    pub manifest: &'a str,
    pub main: &'a str,
    /// The environment variable the crate reads its source digest from (`--version`).
    pub digest_var: &'a str,
    pub timeout_ms: u64,
    pub why: &'a str,
}

impl CargoFrontEnd<'_> {
    /// The digest of both files; part of the build command, so a change rebuilds.
    pub fn digest(&self) -> u64 {
        fnv1a(self.main.as_bytes()) ^ fnv1a(self.manifest.as_bytes()).rotate_left(1)
    }

    /// The compile command.
    pub fn build(&self) -> Command {
        let dir = self.dir;
        cmd(&["cargo", "build", "--release", "--manifest-path", &format!("{dir}/Cargo.toml")])
            .args(["--target-dir", "{{dirs.tools}}/target"])
            .args(["--config", &format!("env.{}=\"{:016x}\"", self.digest_var, self.digest())])
            .timeout(self.timeout_ms)
            .describe(self.why)
    }

    /// A plan that ships the crate and builds it; the caller adds the run phase.
    pub fn plan(&self) -> ServicePlan {
        ServicePlan::new()
            .file(&format!("{}/Cargo.toml", self.dir), self.manifest)
            .file(&format!("{}/src/main.rs", self.dir), self.main)
            .compile(self.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A request that could make a client write outside its downloads directory is refused.
    #[test]
    fn requests_that_could_escape_downloads_are_refused() {
        for bad in ["f1.bin", "/../etc/passwd", "/a b"] {
            assert!(matches!(request_url(bad), Err(PluginError::InvalidParam(p)) if p.name == "requests"), "{bad}");
        }
        assert_eq!(request_url("/f1.bin").unwrap(), "https://{{target.host}}:{{target.port}}/f1.bin");
    }
}
