//! The run's certificates: one CA and one leaf certificate per run, made with rcgen.
//!
//! Owns [`Certs`] and [`generate`]. The files it writes back the `{{certs.*}}` placeholders
//! (`ca_pem ca_der cert_pem cert_der key_pem key_der`). Does not decide which services get
//! them or where they are mounted; the orchestrator and the executors do.
//!
//! The key pairs are ECDSA P-256 (rcgen's default): every QUIC implementation we run accepts
//! it, and it is generated in microseconds, unlike RSA, which rcgen cannot generate anyway.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};

/// Placeholder name → file name, for every file [`generate`] writes.
pub const FILE_NAMES: [(&str, &str); 7] = [
    ("ca_pem", "ca.pem"),
    ("ca_der", "ca.der"),
    ("cert_pem", "cert.pem"),
    ("cert_der", "cert.der"),
    ("key_pem", "key.pem"),
    ("key_der", "key.der"),
    ("chain_pem", "cert-chain.pem"),
];

/// The files of a run's CA and leaf certificate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Certs {
    /// The directory holding every file.
    pub dir: PathBuf,
    /// Placeholder name (`ca_pem`, `cert_der`, …, plus `chain_pem`) → file.
    pub paths: BTreeMap<&'static str, PathBuf>,
}

impl Certs {
    /// The values for `{{certs.*}}` in a render context.
    pub fn placeholders(&self) -> BTreeMap<String, String> {
        self.paths.iter().map(|(k, v)| (k.to_string(), v.display().to_string())).collect()
    }
}

/// Why the certificates could not be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CertError {
    #[error("cannot make the run's certificates: {0}")]
    #[diagnostic(code(panther::certs::generate))]
    Generate(#[from] rcgen::Error),
    #[error("cannot write the run's certificates to {path}: {source}")]
    #[diagnostic(code(panther::certs::write), help("check that the run directory is writable"))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{name}` is not a valid host name for the certificate")]
    #[diagnostic(
        code(panther::certs::name),
        help("service host names must be DNS names (letters, digits, `-`, `_`, `.`) or IP addresses")
    )]
    Name { name: String },
}

/// Validity: a run is short, but clocks in containers may lag; one day back, thirty ahead.
fn validity() -> (time::OffsetDateTime, time::OffsetDateTime) {
    let now = time::OffsetDateTime::now_utc();
    (now - time::Duration::days(1), now + time::Duration::days(30))
}

fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The server name picoquic's client sends.
const PICOQUIC_SNI: &str = "servername";

/// Makes a CA (CA:TRUE) and a leaf (CA:FALSE) for `localhost`, `servername`, `127.0.0.1`, `::1` and every
/// name in `extra_names` (host names or IP addresses, such as Docker service names), and
/// writes `ca.pem ca.der cert.pem cert.der key.pem key.der cert-chain.pem` into `dir`.
///
/// # Errors
/// An extra name that is neither a DNS name nor an IP address; a file that cannot be written.
pub fn generate(dir: &Path, extra_names: &[String], intermediates: usize) -> Result<Certs, CertError> {
    make(dir, extra_names, intermediates, validity())
}

/// Intermediate CAs between the run's CA and its leaf when a test needs a long chain: the
/// interop runner's `amplificationlimit` judges a server whose certificate chain is at least
/// 7500 bytes, which the runner gets from 9 RSA certificates. ECDSA certificates are small, so
/// each intermediate carries [`PADDING_BYTES`] of a private, non-critical extension.
pub const LONG_CHAIN_INTERMEDIATES: usize = 8;
const PADDING_BYTES: usize = 700;
/// The padding extension's OID, under the example arc of RFC 7229 (1.3.6.1.5.5.7.13).
const PADDING_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 13, 42];

/// Certificates made once for `key` (an experiment's seed and names) and kept in `store`, then
/// copied into `dir`: the same bytes every run, as a deterministic simulation needs. They are
/// valid from 1999 (a Shadow clock starts on 2000-01-01) for a century.
///
/// # Errors
/// As [`generate`], or the store cannot be written.
pub fn generate_kept(
    dir: &Path,
    extra_names: &[String],
    intermediates: usize,
    store: &Path,
    key: &str,
) -> Result<Certs, CertError> {
    use sha2::Digest;
    let id = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    let kept = store.join(&id[..16]);
    let write = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CertError::Write { path: path.clone(), source }
    };
    if !kept.join(FILE_NAMES[FILE_NAMES.len() - 1].1).is_file() {
        let tmp = store.join(format!("{}.{}.partial", &id[..16], std::process::id()));
        let y = |year| {
            time::Date::from_calendar_date(year, time::Month::January, 1).expect("a date").midnight().assume_utc()
        };
        make(&tmp, extra_names, intermediates, (y(1999), y(2099)))?;
        // Another run may have kept the same ones meanwhile; either copy is as good.
        if std::fs::rename(&tmp, &kept).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }
    std::fs::create_dir_all(dir).map_err(write(dir))?;
    let mut paths = BTreeMap::new();
    for (name, file) in FILE_NAMES {
        let to = dir.join(file);
        std::fs::copy(kept.join(file), &to).map_err(write(&to))?;
        paths.insert(name, to);
    }
    Ok(Certs { dir: dir.to_path_buf(), paths })
}

fn make(
    dir: &Path,
    extra_names: &[String],
    intermediates: usize,
    (not_before, not_after): (time::OffsetDateTime, time::OffsetDateTime),
) -> Result<Certs, CertError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "panther-host run CA");
    ca_params.distinguished_name.push(DnType::OrganizationName, "panther-host");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let mut issuer = Issuer::new(ca_params, ca_key);
    // Leaf's issuer first, as a server sends them after its own certificate.
    let mut chain_pem: Vec<String> = vec![];
    for k in 1..=intermediates {
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, format!("panther-host run intermediate CA {k}"));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        p.use_authority_key_identifier_extension = true;
        p.not_before = not_before;
        p.not_after = not_after;
        p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(PADDING_OID, octet_string(PADDING_BYTES)));
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &issuer)?;
        chain_pem.insert(0, cert.pem());
        issuer = Issuer::new(p, key);
    }

    // `servername` is the name picoquic's client sends (the original's convention, which Ivy's
    // QUIC testers rely on); servers that pick their certificate by SNI (caddy) need it named.
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), PICOQUIC_SNI.to_string()])?;
    leaf.subject_alt_names.push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
    leaf.subject_alt_names.push(SanType::IpAddress(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)));
    for name in extra_names {
        let san = match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) if is_dns_name(name) => {
                SanType::DnsName(name.clone().try_into().map_err(|_| CertError::Name { name: name.clone() })?)
            }
            Err(_) => return Err(CertError::Name { name: name.clone() }),
        };
        if !leaf.subject_alt_names.contains(&san) {
            leaf.subject_alt_names.push(san);
        }
    }
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;

    std::fs::create_dir_all(dir).map_err(|source| CertError::Write { path: dir.to_path_buf(), source })?;
    // `cert.pem` carries the intermediates after the leaf, so servers send the whole chain.
    let served = format!("{}{}", leaf_cert.pem(), chain_pem.concat());
    let contents: [Vec<u8>; 7] = [
        ca_cert.pem().into_bytes(),
        ca_cert.der().to_vec(),
        served.clone().into_bytes(),
        leaf_cert.der().to_vec(),
        leaf_key.serialize_pem().into_bytes(),
        leaf_key.serialize_der(),
        format!("{served}{}", ca_cert.pem()).into_bytes(),
    ];
    let mut paths = BTreeMap::new();
    for ((key, file), bytes) in FILE_NAMES.into_iter().zip(contents) {
        let path = dir.join(file);
        std::fs::write(&path, bytes).map_err(|source| CertError::Write { path: path.clone(), source })?;
        paths.insert(key, path);
    }
    Ok(Certs { dir: dir.to_path_buf(), paths })
}

/// A DER OCTET STRING of `n` zero bytes (the padding extension's value).
fn octet_string(n: usize) -> Vec<u8> {
    let mut der = vec![0x04];
    match n {
        0..=0x7f => der.push(n as u8),
        0x80..=0xff => der.extend([0x81, n as u8]),
        _ => der.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    der.resize(der.len() + n, 0);
    der
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openssl(args: &[&str]) -> Option<String> {
        let out = std::process::Command::new("openssl").args(args).output().ok()?;
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    // The leaf names localhost, the loopback addresses and the extra names, is not a CA, and
    // verifies against the CA; the CA says CA:TRUE. Checked with openssl, an independent parser.
    // A long chain: cert.pem is the leaf and its 8 intermediates, leaf first, more than the
    // 7500 bytes amplificationlimit needs, and it verifies against the CA (openssl).
    #[test]
    fn a_long_chain_is_served_whole_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let certs = generate(dir.path(), &["server".into()], LONG_CHAIN_INTERMEDIATES).unwrap();
        let served = std::fs::read_to_string(&certs.paths["cert_pem"]).unwrap();
        assert_eq!(served.matches("BEGIN CERTIFICATE").count(), 1 + LONG_CHAIN_INTERMEDIATES);
        let der_bytes: usize = served
            .split("-----")
            .filter(|b| b.len() > 100)
            .map(|b| b.chars().filter(|c| !c.is_whitespace()).count() * 3 / 4)
            .sum();
        assert!(der_bytes > 7500, "{der_bytes} bytes");
        let leaf_der = std::fs::read(&certs.paths["cert_der"]).unwrap();
        assert!(leaf_der.len() < 1000, "cert.der is the leaf alone");
        let cert = certs.paths["cert_pem"].to_str().unwrap();
        let ca = certs.paths["ca_pem"].to_str().unwrap();
        let Some(ok) = openssl(&["verify", "-CAfile", ca, "-untrusted", cert, cert]) else { return };
        assert!(ok.contains("OK"), "{ok}");
    }

    #[test]
    fn leaf_has_sans_and_is_not_a_ca() {
        let dir = tempfile::tempdir().unwrap();
        let certs = generate(dir.path(), &["server".into(), "10.1.2.3".into()], 0).unwrap();
        for f in ["ca.pem", "ca.der", "cert.pem", "cert.der", "key.pem", "key.der", "cert-chain.pem"] {
            assert!(dir.path().join(f).metadata().unwrap().len() > 0, "{f}");
        }
        assert_eq!(certs.paths.len(), 7);
        assert_eq!(certs.placeholders()["cert_pem"], dir.path().join("cert.pem").display().to_string());

        let cert = certs.paths["cert_pem"].to_str().unwrap();
        let Some(text) = openssl(&["x509", "-in", cert, "-noout", "-text"]) else {
            eprintln!("openssl is not installed; skipping the independent parse");
            return;
        };
        assert!(text.contains("CA:FALSE"), "{text}");
        for san in [
            "DNS:localhost",
            "DNS:servername",
            "IP Address:127.0.0.1",
            "DNS:server",
            "IP Address:10.1.2.3",
            "TLS Web Server Authentication",
        ] {
            assert!(text.contains(san), "missing {san} in\n{text}");
        }
        let ca_text = openssl(&["x509", "-in", certs.paths["ca_pem"].to_str().unwrap(), "-noout", "-text"]).unwrap();
        assert!(ca_text.contains("CA:TRUE"), "{ca_text}");
        let der = openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            certs.paths["cert_der"].to_str().unwrap(),
            "-noout",
            "-subject",
        ])
        .unwrap();
        assert!(der.contains("localhost"), "{der}");
        let verify = openssl(&["verify", "-CAfile", certs.paths["ca_pem"].to_str().unwrap(), cert]).unwrap();
        assert!(verify.contains("OK"), "{verify}");
        // The key matches the leaf's public key.
        let pk_cert = openssl(&["x509", "-in", cert, "-noout", "-pubkey"]).unwrap();
        let pk_key = openssl(&["pkey", "-in", certs.paths["key_pem"].to_str().unwrap(), "-pubout"]).unwrap();
        assert_eq!(pk_cert, pk_key);
    }

    // A name that cannot be a DNS name is refused with the name in the message.
    #[test]
    fn bad_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = generate(dir.path(), &["bad name\u{0}".into()], 0).unwrap_err();
        assert!(e.to_string().contains("bad name"), "{e}");
    }
}
