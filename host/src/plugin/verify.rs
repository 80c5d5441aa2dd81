//! Admission of a component file: what the bytes are, which contract version and world the
//! component speaks, and whether it imports only what the host grants.
//!
//! Owns the import allow-list and the file sniffing. Does not compile, cache or call anything:
//! it works on bytes and on the type of an already compiled component.

use wasmtime::component::Component;
use wasmtime::Engine;

use super::error::{ForbiddenImport, RefusalReason};
use super::wit::{self, Version};
use super::World;

/// Largest component accepted. Compiling is not interruptible and its cost grows with size, so
/// this bounds the time a hostile file can make the host spend before any other check. The
/// largest real plugins (Python, componentize-py) are about 18 MB.
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;

const WASM_MAGIC: &[u8; 4] = b"\0asm";
const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0, 1, 0];

/// Looks at the first bytes and refuses anything that is not a component before the compiler
/// ever sees it.
pub fn sniff(bytes: &[u8]) -> Result<(), RefusalReason> {
    if bytes.is_empty() {
        return Err(RefusalReason::Empty);
    }
    let native = |format: &str| Err(RefusalReason::Native { format: format.to_string() });
    match bytes {
        [0x7f, b'E', b'L', b'F', ..] => return native("native ELF executable"),
        [b'M', b'Z', ..] => return native("native PE (Windows) executable"),
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] | [0xca, 0xfe, 0xba, 0xbe, ..] => {
            return native("native Mach-O executable")
        }
        [b'#', b'!', ..] => {
            let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
            return native(&format!("script (`{line}`)"));
        }
        _ => {}
    }
    if !bytes.starts_with(WASM_MAGIC) {
        let magic = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
        return Err(RefusalReason::NotWasm { magic });
    }
    if bytes.len() < 8 {
        return Err(RefusalReason::Malformed {
            message: format!("only {} bytes, shorter than a WebAssembly header", bytes.len()),
        });
    }
    let v: [u8; 4] = bytes[4..8].try_into().expect("length checked above");
    match v {
        CORE_VERSION => Err(RefusalReason::CoreModule),
        COMPONENT_VERSION => Ok(()),
        v => Err(RefusalReason::Malformed { message: format!("unknown WebAssembly version/layer {v:02x?}") }),
    }
}

/// What the component's type says about it.
#[derive(Debug, Clone)]
pub struct Shape {
    pub world: World,
    pub contract: Version,
    pub imports: Vec<String>,
}

/// Checks the component's exports (one panther world, a supported contract version) and its
/// imports (allow-list only). `file_stem` names the plugin in messages before `describe()` ran.
pub fn shape(engine: &Engine, component: &Component, file_stem: &str) -> Result<Shape, RefusalReason> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();

    let mut found = None;
    for name in &exports {
        let (iface, version) = split_version(name);
        let world = match iface {
            "panther:plugin/service" => World::Service,
            "panther:plugin/environment" => World::Environment,
            _ => continue,
        };
        // A service export wins if (oddly) both are present: it is the richer contract.
        if found.as_ref().is_none_or(|(w, _)| *w != World::Service) {
            found = Some((world, version));
        }
    }
    let Some((world, version)) = found else {
        return Err(RefusalReason::NoWorld { exports });
    };
    let contract = match version.and_then(Version::parse) {
        Some(v) if v.is_supported() => v,
        _ => {
            return Err(RefusalReason::IncompatibleContract {
                plugin: file_stem.to_string(),
                version: version.unwrap_or("(unversioned)").to_string(),
                accepted: wit::supported_range_text(),
            })
        }
    };

    let forbidden: Vec<ForbiddenImport> = imports
        .iter()
        .filter_map(|name| import_verdict(name).err().map(|why| ForbiddenImport { name: name.clone(), why }))
        .collect();
    if !forbidden.is_empty() {
        return Err(RefusalReason::ForbiddenImports { imports: forbidden });
    }
    Ok(Shape { world, contract, imports })
}

fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((iface, v)) => (iface, Some(v)),
        None => (name, None),
    }
}

/// WASI interfaces the sandbox links, all of them empty or deterministic: std's stdio, exit and
/// environment machinery (default `wasm32-wasip2` guests import these even when they do no I/O),
/// fixed clocks and seeded randomness.
pub const ALLOWED_WASI: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// Whether one import is granted; `Err` says why not.
pub fn import_verdict(name: &str) -> Result<(), String> {
    let (iface, version) = split_version(name);
    let v = version.and_then(Version::parse);
    if let Some(rest) = iface.strip_prefix("panther:plugin/") {
        return match (rest, v) {
            ("host" | "types", Some(v)) if v.is_supported() => Ok(()),
            ("host" | "types", _) => Err(format!(
                "contract version {} is not supported; this host accepts {}",
                version.unwrap_or("(none)"),
                wit::supported_range_text()
            )),
            _ => Err("not an interface of the panther contract".into()),
        };
    }
    if let Some(pkg_iface) = iface.strip_prefix("wasi:") {
        let wasi_02 = matches!(v, Some(Version(0, 2, _)));
        if pkg_iface.starts_with("filesystem/") {
            return Err("file access; plugins get no files".into());
        }
        if pkg_iface.starts_with("sockets/") {
            return Err("network access; plugins get no network".into());
        }
        if pkg_iface.starts_with("http/") {
            return Err("HTTP access; plugins get no network".into());
        }
        return if ALLOWED_WASI.contains(&iface) && wasi_02 {
            Ok(())
        } else if ALLOWED_WASI.contains(&iface) {
            Err(format!("WASI {} is not supported; this host links WASI 0.2.x", version.unwrap_or("(unversioned)")))
        } else {
            Err("a WASI interface this host does not link".into())
        };
    }
    Err("an interface this host does not provide".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_tells_files_apart() {
        // It names native executables and scripts for what they are.
        assert!(matches!(sniff(b"\x7fELF\x02\x01"), Err(RefusalReason::Native { format }) if format.contains("ELF")));
        assert!(matches!(sniff(b"MZ\x90\0"), Err(RefusalReason::Native { format }) if format.contains("PE")));
        assert!(
            matches!(sniff(&[0xcf, 0xfa, 0xed, 0xfe, 7]), Err(RefusalReason::Native { format }) if format.contains("Mach-O"))
        );
        assert!(
            matches!(sniff(b"#!/bin/sh\nrm -rf /\n"), Err(RefusalReason::Native { format }) if format.contains("#!/bin/sh"))
        );
        assert_eq!(sniff(b""), Err(RefusalReason::Empty));
        assert_eq!(sniff(b"\0asm\x01\0\0\0"), Err(RefusalReason::CoreModule));
        assert!(matches!(sniff(b"\0asm\x0d"), Err(RefusalReason::Malformed { .. })));
        assert!(matches!(sniff(b"hello world"), Err(RefusalReason::NotWasm { magic }) if magic == "68 65 6c 6c"));
        assert_eq!(sniff(b"\0asm\x0d\0\x01\0rest"), Ok(()));
    }

    #[test]
    fn import_allow_list() {
        // It grants the contract's host interface and the empty WASI interfaces, nothing else.
        assert!(import_verdict("panther:plugin/host@0.1.0").is_ok());
        assert!(import_verdict("panther:plugin/types@0.1.7").is_ok());
        assert!(import_verdict("wasi:cli/stderr@0.2.6").is_ok());
        assert!(import_verdict("wasi:io/streams@0.2.12").is_ok());
        assert!(import_verdict("wasi:random/insecure-seed@0.2.0").is_ok());
        assert!(import_verdict("panther:plugin/host@0.2.0").is_ok());
        assert!(import_verdict("panther:plugin/host@0.3.0").unwrap_err().contains("0.2.x"));
        assert!(import_verdict("wasi:filesystem/types@0.2.6").unwrap_err().contains("no files"));
        assert!(import_verdict("wasi:filesystem/preopens@0.2.6").unwrap_err().contains("no files"));
        assert!(import_verdict("wasi:sockets/tcp@0.2.6").unwrap_err().contains("no network"));
        assert!(import_verdict("wasi:cli/stderr@0.3.0").unwrap_err().contains("0.2.x"));
        assert!(import_verdict("wasi:clocks/timezone@0.2.6").is_err());
        assert!(import_verdict("evil:x/y").unwrap_err().contains("does not provide"));
    }
}
