//! The downloader: resumable (HTTP `Range` on a `.part` file), verified (sha256, size, content check), atomic
//! (rename only after verification; any mismatch removes the `.part`), retried with exponential backoff on
//! 429/5xx and connection errors (honouring `Retry-After`), and a bounded-concurrency runner.
//!
//! HTTP goes through `reqwest` (blocking client, rustls), the stack `object_store` already brings into the
//! workspace, so there is one HTTP/TLS implementation. A bearer token ([`HostToken`]) is attached only to
//! requests whose URL is on its host; redirects to another host (a CDN) never carry it (reqwest drops
//! `Authorization` on cross-host redirects).

use crate::error::{FetchError, Result};
use reqwest::blocking::{Client, RequestBuilder, Response};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Settings of a [`Downloader`].
#[derive(Debug, Clone)]
pub struct DownloadConfig {
    /// Failed attempts in a row (without any new byte received) before giving up.
    pub max_retries: u32,
    /// First backoff delay; doubled after each failure in a row.
    pub backoff_initial: Duration,
    /// Upper bound of one backoff delay (also caps a server's `Retry-After`).
    pub backoff_max: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one socket read (a stalled transfer is then resumed).
    pub read_timeout: Duration,
    /// Downloads running at once in the batch functions.
    pub concurrency: usize,
    /// `User-Agent` header (Common Crawl asks clients to identify themselves).
    pub user_agent: String,
    /// Print one line per finished or retried download to stderr.
    pub verbose: bool,
    /// A bearer token for one host (e.g. `HF_TOKEN` for the Hugging Face Hub), sent to no other host.
    pub token: Option<HostToken>,
}

/// A bearer token and the one host (with port, when not the scheme's default) it may be sent to.
#[derive(Clone, PartialEq, Eq)]
pub struct HostToken {
    /// `host` or `host:port`, as in the URL.
    pub host: String,
    /// The token (sent as `Authorization: Bearer <token>`).
    pub token: String,
}

impl std::fmt::Debug for HostToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(
            f,
            "HostToken {{ host: {:?}, token: <{} bytes> }}",
            self.host,
            self.token.len()
        )
    }
}

/// `host` or `host:port` of a URL (port only when explicit and not the scheme's default).
pub fn url_authority(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    let host = u.host_str()?.to_string();
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

impl Default for DownloadConfig {
    fn default() -> Self {
        DownloadConfig {
            max_retries: 8,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            concurrency: 4,
            user_agent: format!(
                "dclm-rs/{} (dclm-fetch; +https://github.com/dclm-rs/dclm-rs)",
                env!("CARGO_PKG_VERSION")
            ),
            verbose: false,
            token: None,
        }
    }
}

/// What the downloaded file must be.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// sha256 as lowercase hex; None = accept any (trust on first use).
    pub sha256: Option<String>,
    /// Exact size in bytes, if known.
    pub size: Option<u64>,
}

/// A content check run on the complete `.part` file before it is renamed; `Err(message)` rejects it.
pub type ContentCheck<'a> = &'a (dyn Fn(&Path) -> std::result::Result<(), String> + Sync);

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The final file.
    pub path: PathBuf,
    /// Its sha256 (lowercase hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Bytes that were already in a `.part` file from an earlier, interrupted run and were kept.
    pub resumed_from: u64,
    /// HTTP requests made (1 = no retry).
    pub requests: u32,
}

/// The path of the partial file of `dest` (`<dest>.part`).
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_os_string();
    s.push(".part");
    PathBuf::from(s)
}

/// Which version of a remote file the bytes of a `.part` came from: `<dest>.part.meta` beside it. A resume
/// sends `If-Range` with it, so a server whose file changed answers with the whole new file instead of the
/// tail of the new one spliced onto the head of the old.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct PartMeta {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

impl PartMeta {
    fn from_response(url: &str, resp: &Response) -> Self {
        PartMeta {
            url: url.to_string(),
            etag: header(resp, "ETag").map(str::to_string),
            last_modified: header(resp, "Last-Modified").map(str::to_string),
        }
    }

    /// The `If-Range` value: a strong ETag, else the Last-Modified date (weak ETags are not allowed there).
    fn if_range(&self) -> Option<&str> {
        self.etag
            .as_deref()
            .filter(|e| !e.starts_with("W/"))
            .or(self.last_modified.as_deref())
    }
}

fn part_meta_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_os_string();
    s.push(".part.meta");
    PathBuf::from(s)
}

/// sha256 of a file, as lowercase hex, and its size.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = File::open(path).map_err(|e| FetchError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(|e| FetchError::io(path, e))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Status codes that are retried with backoff (429 and 503 are what Common Crawl sends under load).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Backoff before retry number `failures` (1-based): `initial · 2^(failures-1)`, at most `max`, at least the
/// server's `Retry-After` (also capped by `max`), with ±20% jitter so parallel clients do not retry in lockstep.
pub fn backoff_delay(cfg: &DownloadConfig, failures: u32, retry_after: Option<Duration>) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let base = cfg.backoff_initial.saturating_mul(1u32 << exp).min(cfg.backoff_max);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = 0.8 + 0.4 * f64::from(nanos % 1000) / 1000.0;
    let d = base.mul_f64(jitter).min(cfg.backoff_max);
    match retry_after {
        Some(ra) => d.max(ra.min(cfg.backoff_max)),
        None => d,
    }
}

/// Outcome of one HTTP request in the download loop.
enum Step {
    /// All bytes are in the `.part` file.
    Complete,
    /// Retry (after backoff); `progress` says whether new bytes arrived.
    Retry {
        progress: bool,
        reason: String,
        retry_after: Option<Duration>,
    },
}

/// A header's value as text.
fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A transport error with its causes (reqwest's own message is terse: "error sending request").
fn transport_message(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// A blocking HTTP downloader (one shared connection pool; `Sync`, so batch workers share it).
pub struct Downloader {
    client: Client,
    cfg: DownloadConfig,
}

impl Downloader {
    /// A downloader with these settings.
    pub fn new(cfg: DownloadConfig) -> Self {
        // `timeout` bounds each connect, read and write of a transfer (a stalled one is then resumed), not the
        // whole download. Bodies are stored as served: no transparent decompression.
        let client = Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.read_timeout)
            .user_agent(cfg.user_agent.clone())
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .expect("the HTTP client's TLS backend initializes");
        Downloader { client, cfg }
    }

    /// A GET request, with the bearer token when the URL is on the token's host.
    pub fn get(&self, url: &str) -> RequestBuilder {
        let req = self.client.get(url);
        match &self.cfg.token {
            Some(t) if url_authority(url).as_deref() == Some(t.host.as_str()) => req.bearer_auth(&t.token),
            _ => req,
        }
    }

    /// The settings.
    pub fn config(&self) -> &DownloadConfig {
        &self.cfg
    }

    fn log(&self, msg: impl FnOnce() -> String) {
        if self.cfg.verbose {
            eprintln!("{}", msg());
        }
    }

    /// GET a (small) resource into memory, with the same retry policy as [`Downloader::download`].
    pub fn get_bytes(&self, url: &str) -> Result<Vec<u8>> {
        let mut failures = 0u32;
        let mut requests = 0u32;
        loop {
            requests += 1;
            let (reason, retry_after, status) = match self.get(url).send() {
                Ok(resp) if resp.status().is_success() => match resp.bytes() {
                    Ok(body) => return Ok(body.to_vec()),
                    Err(e) => (format!("body: {}", transport_message(&e)), None, None),
                },
                Ok(resp) if is_retryable_status(resp.status().as_u16()) => {
                    let code = resp.status().as_u16();
                    (format!("HTTP {code}"), retry_after(&resp), Some(code))
                }
                Ok(resp) => {
                    return Err(FetchError::Status {
                        url: url.into(),
                        status: resp.status().as_u16(),
                        attempts: requests,
                        hint: String::new(),
                    })
                }
                Err(e) => (transport_message(&e), None, None),
            };
            failures += 1;
            if failures > self.cfg.max_retries {
                return Err(match status {
                    Some(code) => FetchError::Status {
                        url: url.into(),
                        status: code,
                        attempts: requests,
                        hint: String::new(),
                    },
                    None => FetchError::Transport {
                        url: url.into(),
                        attempts: requests,
                        message: reason,
                    },
                });
            }
            let d = backoff_delay(&self.cfg, failures, retry_after);
            self.log(|| format!("retry {url} in {d:?}: {reason}"));
            std::thread::sleep(d);
        }
    }

    /// Download `url` to `dest`: bytes go to `<dest>.part` (resumed with `Range` if it exists, also from an
    /// earlier run), which is checked against `expect` and `check` and then renamed to `dest`. On a mismatch
    /// the `.part` is removed and nothing is left under `dest`'s name (an existing `dest` is only replaced by a
    /// verified file).
    pub fn download(
        &self,
        url: &str,
        dest: &Path,
        expect: &Expect,
        check: Option<ContentCheck<'_>>,
    ) -> Result<Downloaded> {
        if let Some(dir) = dest.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| FetchError::io(dir, e))?;
            }
        }
        let part = part_path(dest);
        let meta_path = part_meta_path(dest);
        let mut meta: Option<PartMeta> = std::fs::read(&meta_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<PartMeta>(&b).ok())
            .filter(|m| m.url == url);
        if part.exists() && meta.as_ref().and_then(PartMeta::if_range).is_none() && expect.sha256.is_none() {
            // Nothing proves which version of the file the partial bytes belong to, and no checksum would catch
            // a splice: start over.
            self.log(|| format!("discarding {} (no record of the version it came from)", part.display()));
            std::fs::remove_file(&part).map_err(|e| FetchError::io(&part, e))?;
            meta = None;
        }
        let resumed_from = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        let mut failures = 0u32;
        let mut requests = 0u32;
        let mut last_status: Option<u16> = None;
        let mut restarted_after_416 = false;
        loop {
            // A partial file already of the exact expected size needs no request.
            let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            if expect.size.is_some_and(|s| s == have && have > 0) {
                break;
            }
            requests += 1;
            let step = self.request_once(
                url,
                &part,
                have,
                (&mut meta, &meta_path),
                &mut last_status,
                &mut restarted_after_416,
            )?;
            match step {
                Step::Complete => break,
                Step::Retry {
                    progress,
                    reason,
                    retry_after,
                } => {
                    failures = if progress { 1 } else { failures + 1 };
                    if failures > self.cfg.max_retries || requests > self.cfg.max_retries.saturating_mul(64).max(64) {
                        return Err(match last_status {
                            Some(code) if reason.starts_with("HTTP") => FetchError::Status {
                                url: url.into(),
                                status: code,
                                attempts: requests,
                                hint: String::new(),
                            },
                            _ => FetchError::Transport {
                                url: url.into(),
                                attempts: requests,
                                message: reason,
                            },
                        });
                    }
                    let d = backoff_delay(&self.cfg, failures, retry_after);
                    self.log(|| format!("retry {url} in {d:?}: {reason}"));
                    std::thread::sleep(d);
                }
            }
        }
        let done = self.finish(url, dest, &part, expect, check, resumed_from, requests);
        let _ = std::fs::remove_file(&meta_path);
        let done = done?;
        self.log(|| format!("ok {} ({} bytes, sha256 {})", dest.display(), done.size, done.sha256));
        Ok(done)
    }

    /// One GET (ranged when `have > 0`), streaming into the `.part` file.
    fn request_once(
        &self,
        url: &str,
        part: &Path,
        have: u64,
        (meta, meta_path): (&mut Option<PartMeta>, &Path),
        last_status: &mut Option<u16>,
        restarted_after_416: &mut bool,
    ) -> Result<Step> {
        let mut req = self.get(url);
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
            if let Some(v) = meta.as_ref().and_then(PartMeta::if_range) {
                req = req.header("If-Range", v);
            }
        }
        let resp = match req.send() {
            Ok(r) if r.status().is_success() => r,
            Ok(resp) if resp.status().as_u16() == 416 && have > 0 => {
                // Range not satisfiable: the partial file is complete if the server's total equals it.
                *last_status = Some(416);
                let total = header(&resp, "Content-Range").and_then(parse_content_range_total);
                if total == Some(have) {
                    return Ok(Step::Complete);
                }
                if *restarted_after_416 {
                    return Err(FetchError::Status {
                        url: url.into(),
                        status: 416,
                        attempts: 1,
                        hint: String::new(),
                    });
                }
                *restarted_after_416 = true;
                std::fs::remove_file(part).map_err(|e| FetchError::io(part, e))?;
                return Ok(Step::Retry {
                    progress: true,
                    reason: "HTTP 416, restarting".into(),
                    retry_after: None,
                });
            }
            Ok(resp) if is_retryable_status(resp.status().as_u16()) => {
                let code = resp.status().as_u16();
                *last_status = Some(code);
                return Ok(Step::Retry {
                    progress: false,
                    reason: format!("HTTP {code}"),
                    retry_after: retry_after(&resp),
                });
            }
            Ok(resp) => {
                return Err(FetchError::Status {
                    url: url.into(),
                    status: resp.status().as_u16(),
                    attempts: 1,
                    hint: String::new(),
                })
            }
            Err(e) => {
                return Ok(Step::Retry {
                    progress: false,
                    reason: transport_message(&e),
                    retry_after: None,
                })
            }
        };
        *last_status = Some(resp.status().as_u16());
        let fresh = PartMeta::from_response(url, &resp);
        let same_version = match (meta.as_ref().and_then(|m| m.etag.as_deref()), fresh.etag.as_deref()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let (start, total) = match resp.status().as_u16() {
            206 => match header(&resp, "Content-Range").and_then(parse_content_range) {
                Some((start, total)) if start == have && same_version => (start, total),
                // A range we did not ask for, or of another version of the file: start over.
                _ => (u64::MAX, None),
            },
            _ => (0, header(&resp, "Content-Length").and_then(|v| v.trim().parse().ok())),
        };
        if start == 0 {
            // A whole body: remember its version before its first byte lands in the `.part`.
            let json = serde_json::to_vec(&fresh).map_err(|e| FetchError::io(meta_path, e.into()))?;
            std::fs::write(meta_path, json).map_err(|e| FetchError::io(meta_path, e))?;
            *meta = Some(fresh);
        }
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(part)
            .map_err(|e| FetchError::io(part, e))?;
        if start == u64::MAX {
            file.set_len(0).map_err(|e| FetchError::io(part, e))?;
            return Ok(Step::Retry {
                progress: true,
                reason: "unexpected Content-Range, restarting".into(),
                retry_after: None,
            });
        }
        if start == 0 {
            file.set_len(0).map_err(|e| FetchError::io(part, e))?;
        }
        file.seek(SeekFrom::Start(start)).map_err(|e| FetchError::io(part, e))?;
        let mut reader = resp;
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0u64;
        let read_err = loop {
            match reader.read(&mut buf) {
                Ok(0) => break None,
                Ok(k) => {
                    file.write_all(&buf[..k]).map_err(|e| FetchError::io(part, e))?;
                    got += k as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(e),
            }
        };
        file.flush().map_err(|e| FetchError::io(part, e))?;
        let now = start + got;
        if let Some(e) = read_err {
            return Ok(Step::Retry {
                progress: got > 0,
                reason: format!("connection lost at byte {now}: {e}"),
                retry_after: None,
            });
        }
        if let Some(want) = total {
            if now < want {
                return Ok(Step::Retry {
                    progress: got > 0,
                    reason: format!("body ended at byte {now} of {want}"),
                    retry_after: None,
                });
            }
        }
        file.sync_all().map_err(|e| FetchError::io(part, e))?;
        Ok(Step::Complete)
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        url: &str,
        dest: &Path,
        part: &Path,
        expect: &Expect,
        check: Option<ContentCheck<'_>>,
        resumed_from: u64,
        requests: u32,
    ) -> Result<Downloaded> {
        let (sha, size) = sha256_file(part)?;
        let reject = |err: FetchError| -> FetchError {
            let _ = std::fs::remove_file(part);
            err
        };
        if let Some(want) = expect.size {
            if want != size {
                return Err(reject(FetchError::SizeMismatch {
                    url: url.into(),
                    path: dest.into(),
                    expected: want,
                    actual: size,
                }));
            }
        }
        if let Some(want) = &expect.sha256 {
            if !want.eq_ignore_ascii_case(&sha) {
                return Err(reject(FetchError::ChecksumMismatch {
                    url: url.into(),
                    path: dest.into(),
                    expected: want.to_ascii_lowercase(),
                    actual: sha,
                    size,
                }));
            }
        }
        if let Some(check) = check {
            if let Err(message) = check(part) {
                return Err(reject(FetchError::BadContent {
                    url: url.into(),
                    path: dest.into(),
                    message,
                }));
            }
        }
        std::fs::rename(part, dest).map_err(|e| FetchError::io(dest, e))?;
        Ok(Downloaded {
            path: dest.into(),
            sha256: sha,
            size,
            resumed_from,
            requests,
        })
    }
}

fn retry_after(resp: &Response) -> Option<Duration> {
    header(resp, "Retry-After")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// `bytes START-END/TOTAL` → (START, Some(TOTAL)) (`*` total → None).
pub fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let total = if total.trim() == "*" {
        None
    } else {
        Some(total.trim().parse().ok()?)
    };
    Some((start, total))
}

/// `bytes */TOTAL` (a 416 answer) → TOTAL.
fn parse_content_range_total(v: &str) -> Option<u64> {
    v.trim()
        .strip_prefix("bytes")?
        .trim_start()
        .strip_prefix("*/")?
        .trim()
        .parse()
        .ok()
}

/// Run `f` over `items` with at most `concurrency` calls in flight; results in input order.
pub fn for_each_bounded<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let workers = concurrency.max(1).min(items.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                let r = f(i, &items[i]);
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        assert_eq!(parse_content_range("bytes 100-199/200"), Some((100, Some(200))));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 5-9/10"), None);
        assert_eq!(parse_content_range_total("bytes */4096"), Some(4096));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let cfg = DownloadConfig {
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            ..Default::default()
        };
        let d1 = backoff_delay(&cfg, 1, None);
        let d3 = backoff_delay(&cfg, 3, None);
        let d9 = backoff_delay(&cfg, 9, None);
        assert!(
            d1 >= Duration::from_millis(80) && d1 <= Duration::from_millis(120),
            "{d1:?}"
        );
        assert!(
            d3 >= Duration::from_millis(320) && d3 <= Duration::from_millis(480),
            "{d3:?}"
        );
        assert!(d9 <= Duration::from_millis(1000), "{d9:?}");
        assert!(backoff_delay(&cfg, 1, Some(Duration::from_millis(700))) >= Duration::from_millis(700));
        assert!(backoff_delay(&cfg, 1, Some(Duration::from_secs(90))) <= Duration::from_millis(1000));
    }

    #[test]
    fn bounded_runner_keeps_order() {
        let items: Vec<u32> = (0..50).collect();
        let out = for_each_bounded(&items, 3, |i, x| (i as u32) * 10 + x);
        assert_eq!(out, (0..50).map(|x| x * 11).collect::<Vec<_>>());
        assert!(for_each_bounded(&[] as &[u32], 3, |_, x| *x).is_empty());
    }
}
