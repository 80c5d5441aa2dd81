//! The host's view of the plugin contract (`wit/`), one module per released WIT version.
//!
//! `latest` names the newest version; the rest of the host uses only `latest` types. When a
//! new contract version is released, its folder is added under `wit/since_vX.Y.Z/`, a module
//! here generates its bindings, and adapters (`From` impls) turn an older plugin's values into
//! `latest` ones, so old plugins keep working without forks (Zed's extension host does this).

pub mod since_v0_1_0;
pub mod since_v0_2_0;

pub use since_v0_2_0 as latest;

/// The contract versions this host accepts, inclusive, as `(major, minor, patch)`.
pub const SUPPORTED_RANGE: (Version, Version) = (Version(0, 1, 0), Version(0, 2, u32::MAX));

/// A contract version, `panther:plugin@MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Parses `0.1.0`.
    pub fn parse(s: &str) -> Option<Version> {
        let mut it = s.split('.').map(|p| p.parse::<u32>().ok());
        let v = Version(it.next()??, it.next()??, it.next()??);
        it.next().is_none().then_some(v)
    }

    /// Whether this host can load a plugin built against this version.
    pub fn is_supported(self) -> bool {
        SUPPORTED_RANGE.0 <= self && self <= SUPPORTED_RANGE.1
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Human-readable statement of [`SUPPORTED_RANGE`], used in every version error.
pub fn supported_range_text() -> String {
    "panther:plugin@0.1.x or @0.2.x (0.1.0, 0.2.0 and their later patch releases)".to_string()
}
