//! Test support: a local S3-compatible server (moto) on loopback and a throttling HTTP proxy in front of it.
//!
//! [`MotoServer::start`] runs `$DCLM_MOTO_SERVER` (else `moto_server` from `PATH`) on a free loopback port and
//! returns `None` with a `SKIP` message when neither exists (install: `pip install 'moto[server]'`).
//! [`ThrottleProxy`] answers the first N requests with S3's throttling response (`503 SlowDown`) and forwards the
//! rest, recording when each request arrived.

use crate::{RetrySettings, StoreOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Access key the tests use (moto accepts any).
pub const TEST_ACCESS_KEY: &str = "testing";
/// Secret key the tests use.
pub const TEST_SECRET_KEY: &str = "testing";

/// The moto server binary: `$DCLM_MOTO_SERVER`, else `moto_server` found on `PATH`.
pub fn moto_server_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DCLM_MOTO_SERVER") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("moto_server"))
        .find(|p| p.is_file())
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

/// A running moto server; killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    /// Start moto on a free loopback port and wait until it answers; `None` (after printing `SKIP <test>: …`)
    /// when no moto binary is available.
    pub fn start(test: &str) -> Option<MotoServer> {
        let Some(bin) = moto_server_binary() else {
            eprintln!(
                "SKIP {test}: no S3-compatible test server (set DCLM_MOTO_SERVER to a moto_server binary, or put \
                 moto_server on PATH: pip install 'moto[server]')"
            );
            return None;
        };
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut server = MotoServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(resp) = http_request(port, "GET", "/", &[]) {
                if resp.starts_with("HTTP/1.") {
                    break;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{} exited early with {status}", bin.display());
            }
            assert!(
                Instant::now() < deadline,
                "moto server did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(server)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Create a bucket (panics on failure).
    pub fn create_bucket(&self, bucket: &str) {
        let resp = http_request(self.port, "PUT", &format!("/{bucket}"), &[]).expect("creating a bucket");
        assert!(
            resp.starts_with("HTTP/1.1 200") || resp.starts_with("HTTP/1.0 200"),
            "create bucket: {resp}"
        );
    }

    /// Store options for this server (or for a proxy in front of it at `endpoint`), with a fast retry policy.
    pub fn options(&self, endpoint: Option<String>) -> StoreOptions {
        StoreOptions {
            endpoint: Some(endpoint.unwrap_or_else(|| self.endpoint())),
            region: Some("us-east-1".into()),
            access_key_id: Some(TEST_ACCESS_KEY.into()),
            secret_access_key: Some(TEST_SECRET_KEY.into()),
            allow_http: true,
            retry: RetrySettings {
                max_retries: 5,
                init_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
                retry_timeout: Duration::from_secs(60),
            },
            ..StoreOptions::default()
        }
    }

    /// Environment variables that point `Store::from_env` (and the `dclm` binary) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 request to loopback with `Connection: close`; returns the whole response as text.
pub fn http_request(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A request seen by a [`ThrottleProxy`].
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// When its headers had arrived.
    pub at: Instant,
    /// `METHOD /path?query`.
    pub line: String,
    /// Whether it was answered with `503 SlowDown`.
    pub throttled: bool,
}

/// A loopback HTTP proxy that answers the next `throttle` requests with `503 SlowDown` and forwards the others
/// to an upstream port (one request per connection).
#[derive(Debug)]
pub struct ThrottleProxy {
    port: u16,
    remaining: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    stop: Arc<AtomicBool>,
}

/// S3's throttling answer.
const SLOW_DOWN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
<Message>Please reduce your request rate.</Message><RequestId>proxy</RequestId></Error>";

impl ThrottleProxy {
    /// Start a proxy to `upstream_port` on a free loopback port.
    pub fn start(upstream_port: u16) -> ThrottleProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let remaining = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, st) = (remaining.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream_port, &r, &s);
                });
            }
        });
        ThrottleProxy {
            port,
            remaining,
            seen,
            stop,
        }
    }

    /// The proxy's endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answer the next `n` requests with `503 SlowDown`.
    pub fn throttle_next(&self, n: usize) {
        self.remaining.store(n, Ordering::SeqCst);
    }

    /// Requests seen so far.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("proxy log").clone()
    }

    /// Forget the requests seen so far.
    pub fn clear(&self) {
        self.seen.lock().expect("proxy log").clear();
    }
}

impl Drop for ThrottleProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
    }
}

/// Read one request (headers and body), then throttle it or forward it with `Connection: close`.
fn serve(
    conn: TcpStream,
    upstream: u16,
    remaining: &AtomicUsize,
    seen: &Mutex<Vec<SeenRequest>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut head: Vec<String> = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let at = Instant::now();
    let header = |name: &str| {
        head.iter().skip(1).find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let mut body = Vec::new();
    if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            body.extend_from_slice(size_line.as_bytes());
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            if size == 0 {
                break;
            }
        }
    }
    let line = head
        .first()
        .map(|l| l.rsplit_once(' ').map_or(l.as_str(), |x| x.0).to_string());
    let throttled = remaining
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    seen.lock().expect("proxy log").push(SeenRequest {
        at,
        line: line.unwrap_or_default(),
        throttled,
    });
    let mut out = conn;
    if throttled {
        write!(
            out,
            "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            SLOW_DOWN.len(),
            SLOW_DOWN
        )?;
        out.flush()?;
        return out.shutdown(Shutdown::Both);
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    let mut req = Vec::new();
    for (i, h) in head.iter().enumerate() {
        if i > 0
            && h.split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"))
        {
            continue;
        }
        req.extend_from_slice(h.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req.extend_from_slice(&body);
    up.write_all(&req)?;
    std::io::copy(&mut up, &mut out)?;
    out.flush()?;
    out.shutdown(Shutdown::Both)
}
