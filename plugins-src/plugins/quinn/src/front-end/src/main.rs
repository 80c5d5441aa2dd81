//! panther-quinn: a thin command-line front end to quinn 0.11, so that panther-host can run
//! quinn against other implementations. quinn's own examples cannot: their server offers only
//! ALPN `hq-29` (today's peers speak `hq-interop`) and their client prints bodies to stdout
//! instead of saving them. Everything QUIC and TLS here is quinn's and rustls's; this file only
//! parses flags and speaks HTTP/0.9 (`GET /path\r\n`, the body, FIN) on bidirectional streams.
//!
//! The quinn plugin ships this file; the host writes it into the tools cache and builds it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "usage:
  panther-quinn server --listen ADDR:PORT --cert PEM --key PEM --www DIR
  panther-quinn client (--ca PEM | --insecure) --out DIR [--bind ADDR:PORT] [--timeout SECONDS] URL...
key log: the file named by SSLKEYLOGFILE. exit status: 0 success, 1 failure, 2 bad usage";

/// The plugin sets this (cargo `--config env.…`) to the digest of the shipped sources.
const SOURCE_DIGEST: &str = match option_env!("PANTHER_QUINN_SOURCE_DIGEST") {
    Some(d) => d,
    None => "dev",
};

/// The largest request line a server reads and the largest body a client accepts.
const MAX_REQUEST: usize = 8 * 1024;
const MAX_BODY: usize = 1 << 30;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, rest) = match args.split_first() {
        Some((m, rest)) => (m.as_str(), rest),
        None => bad_usage("no mode given"),
    };
    let opts = Opts::parse(rest).unwrap_or_else(|e| bad_usage(&e));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = match mode {
        "server" => rt.block_on(server(opts)),
        "client" => rt.block_on(client(opts)),
        "--version" => {
            println!("panther-quinn (quinn 0.11.12) source {SOURCE_DIGEST}");
            Ok(())
        }
        other => bad_usage(&format!("unknown mode `{other}`")),
    };
    if let Err(e) = result {
        eprintln!("panther-quinn: {e}");
        std::process::exit(1);
    }
}

fn bad_usage(why: &str) -> ! {
    eprintln!("panther-quinn: {why}\n{USAGE}");
    std::process::exit(2);
}

/// `--name value` pairs, the `--insecure` switch and positional URLs.
#[derive(Default)]
struct Opts {
    values: Vec<(String, String)>,
    insecure: bool,
    urls: Vec<String>,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut o = Opts::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--insecure" => o.insecure = true,
                "--listen" | "--cert" | "--key" | "--www" | "--ca" | "--out" | "--bind" | "--timeout" => {
                    let v = it.next().ok_or(format!("{a} needs a value"))?;
                    o.values.push((a.clone(), v.clone()));
                }
                f if f.starts_with("--") => return Err(format!("unknown flag `{f}`")),
                url => o.urls.push(url.to_string()),
            }
        }
        Ok(o)
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn need(&self, name: &str) -> Res<&str> {
        self.get(name)
            .ok_or_else(|| format!("{name} is required\n{USAGE}").into())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

async fn server(o: Opts) -> Res<()> {
    let (cert, key) = (o.need("--cert")?, o.need("--key")?);
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {cert}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("cannot read the key {key}: {e}"))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    // hq-interop is today's HTTP/0.9 token; hq-29 is what quinn's own examples speak.
    tls.alpn_protocols = vec![b"hq-interop".to_vec(), b"hq-29".to_vec()];
    tls.key_log = Arc::new(rustls::KeyLogFile::new());
    let config = quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(tls)?));
    let listen: SocketAddr = o.need("--listen")?.parse().map_err(|e| format!("--listen: {e}"))?;
    let www = PathBuf::from(o.need("--www")?);
    let endpoint = quinn::Endpoint::server(config, listen)?;
    eprintln!("listening on {} serving {}", endpoint.local_addr()?, www.display());
    while let Some(incoming) = endpoint.accept().await {
        let www = www.clone();
        tokio::spawn(async move {
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            eprintln!("connection from {}", conn.remote_address());
            while let Ok((send, recv)) = conn.accept_bi().await {
                tokio::spawn(serve(send, recv, www.clone()));
            }
        });
    }
    Ok(())
}

async fn serve(mut send: quinn::SendStream, mut recv: quinn::RecvStream, www: PathBuf) {
    let file = match recv.read_to_end(MAX_REQUEST).await {
        Ok(req) => file_for(&www, &String::from_utf8_lossy(&req)),
        Err(e) => Err(format!("reading the request: {e}")),
    };
    let body = match file {
        Ok(path) => tokio::fs::read(&path)
            .await
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) => Err(e),
    };
    match body {
        Ok(body) => {
            let sent = send
                .write_all(&body)
                .await
                .map_err(|e| e.to_string())
                .and_then(|_| send.finish().map_err(|e| e.to_string()));
            eprintln!(
                "served {} bytes: {}",
                body.len(),
                sent.err().unwrap_or_else(|| "ok".into())
            );
        }
        Err(e) => {
            eprintln!("refused a request: {e}");
            let _ = send.reset(0x10u32.into());
        }
    }
}

/// The file a `GET /path` asks for, never outside `www`.
fn file_for(www: &Path, request: &str) -> Result<PathBuf, String> {
    let path = request
        .trim_end()
        .strip_prefix("GET ")
        .ok_or(format!("not an HTTP/0.9 GET: {request:?}"))?;
    let rel = Path::new(path.trim_start_matches('/'));
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!("refusing path {path:?}"));
    }
    Ok(if rel.as_os_str().is_empty() {
        www.join("index.html")
    } else {
        www.join(rel)
    })
}

async fn client(o: Opts) -> Res<()> {
    let out = PathBuf::from(o.need("--out")?);
    let secs: u64 = o
        .get("--timeout")
        .unwrap_or("30")
        .parse()
        .map_err(|e| format!("--timeout: {e}"))?;
    let builder =
        rustls::ClientConfig::builder_with_provider(provider()).with_protocol_versions(&[&rustls::version::TLS13])?;
    let mut tls = if o.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
            .with_no_client_auth()
    } else {
        let ca = o.need("--ca")?;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).map_err(|e| format!("cannot read the CA {ca}: {e}"))? {
            roots.add(c.map_err(|e| format!("cannot read the CA {ca}: {e}"))?)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    tls.alpn_protocols = vec![b"hq-interop".to_vec()];
    tls.key_log = Arc::new(rustls::KeyLogFile::new());
    let config = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls)?));

    let targets = o.urls.iter().map(|u| split_url(u)).collect::<Res<Vec<_>>>()?;
    let Some((authority, _)) = targets.first() else {
        bad_usage("no URL given")
    };
    if let Some((other, _)) = targets.iter().find(|(a, _)| a != authority) {
        return Err(format!("all URLs must name one server, not both {authority} and {other}").into());
    }
    let host = authority
        .rsplit_once(':')
        .map_or(authority.as_str(), |(h, _)| h)
        .trim_matches(['[', ']']);
    let remote = authority
        .to_socket_addrs()?
        .next()
        .ok_or(format!("{authority} resolves to no address"))?;
    let unspecified = if remote.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" };
    let bind: SocketAddr = o
        .get("--bind")
        .unwrap_or(unspecified)
        .parse()
        .map_err(|e| format!("--bind: {e}"))?;
    let mut endpoint = quinn::Endpoint::client(bind)?;
    endpoint.set_default_client_config(config);

    let run = async {
        let conn = endpoint.connect(remote, host)?.await?;
        eprintln!("connected to {remote}");
        let mut failed = 0;
        for (_, path) in &targets {
            match fetch(&conn, path, &out).await {
                Ok(n) => eprintln!("{path}: saved {n} bytes"),
                Err(e) => {
                    eprintln!("{path}: {e}");
                    failed += 1;
                }
            }
        }
        conn.close(0u32.into(), b"done");
        match failed {
            0 => Res::Ok(()),
            n => Err(format!("{n} of {} fetches failed", targets.len()).into()),
        }
    };
    let result = tokio::time::timeout(Duration::from_secs(secs), run)
        .await
        .map_err(|_| format!("gave up after {secs} s"))?;
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
    result
}

/// `https://host:port/path` as (`host:port`, `/path`).
fn split_url(url: &str) -> Res<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .ok_or(format!("`{url}` is not an https:// URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !authority.contains(':') || authority.ends_with(']') {
        return Err(format!("`{url}` names no port").into());
    }
    Ok((
        authority.to_string(),
        if path.is_empty() { "/".into() } else { path.into() },
    ))
}

async fn fetch(conn: &quinn::Connection, path: &str, out: &Path) -> Res<usize> {
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(format!("GET {path}\r\n").as_bytes()).await?;
    send.finish()?;
    let body = recv.read_to_end(MAX_BODY).await?;
    let name = match path.rsplit('/').next() {
        Some("") | None => "index.html",
        Some(n) => n,
    };
    tokio::fs::write(out.join(name), &body)
        .await
        .map_err(|e| format!("saving {}: {e}", out.join(name).display()))?;
    Ok(body.len())
}

/// `--insecure`: accept any certificate, but still check the handshake signatures.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
