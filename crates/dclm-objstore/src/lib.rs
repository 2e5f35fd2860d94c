//! Blocking object-storage access for dclm-rs: `s3://bucket/key` URLs (AWS S3 or any S3-compatible server)
//! through the `object_store` crate, behind a small synchronous API for the rayon-based stages.
//!
//! * [`ObjectUrl`] parses and joins `s3://bucket/key` URLs.
//! * [`Store`] lists, reads, writes and deletes objects of one bucket. Reads stream ([`Store::open_read`] keeps at
//!   most a few body chunks in memory), uploads of files larger than one part use S3 multipart uploads, and
//!   downloads go to `<file>.part` and are renamed into place when complete.
//! * Throttling (`503 SlowDown`, `429`), other 5xx answers and connection errors are retried with jittered
//!   exponential backoff ([`RetrySettings`], configurable via `DCLM_S3_*` environment variables).
//! * Every error is an [`ObjStoreError`] naming the URL (or file) it concerns.
//!
//! All async work runs on one tokio runtime owned by this crate; the blocking calls must not be made from inside
//! another tokio runtime.

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use bytes::Bytes;
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjPath;
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Errors of this crate; each names the URL or local file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ObjStoreError {
    /// A string that is not a usable object URL.
    #[error("bad object URL {url:?}: {reason}")]
    BadUrl {
        /// The string given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The object (or its bucket) does not exist.
    #[error("{url}: object not found ({message})")]
    NotFound {
        /// The object URL.
        url: String,
        /// The store's message.
        message: String,
    },
    /// Any other failure of a store operation (after retries, where the error was retryable).
    #[error("{url}: {op} failed: {source}")]
    Store {
        /// The object URL.
        url: String,
        /// The operation (`get`, `put`, `list`, …).
        op: &'static str,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The local file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: io::Error,
    },
    /// The store could not be configured (e.g. a bad endpoint).
    #[error("object store configuration for bucket {bucket:?}: {message}")]
    Config {
        /// The bucket.
        bucket: String,
        /// What went wrong.
        message: String,
    },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, ObjStoreError>;

impl ObjStoreError {
    fn store(url: &ObjectUrl, op: &'static str, e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { source, .. } => ObjStoreError::NotFound {
                url: url.to_string(),
                message: source.to_string(),
            },
            e => ObjStoreError::Store {
                url: url.to_string(),
                op,
                source: e,
            },
        }
    }

    fn io(path: &Path, e: io::Error) -> Self {
        ObjStoreError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }

    /// True for [`ObjStoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, ObjStoreError::NotFound { .. })
    }
}

/// URL schemes handled here.
const SCHEMES: &[&str] = &["s3://", "s3a://"];

/// An object (or prefix) URL: `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectUrl {
    /// Bucket name.
    pub bucket: String,
    /// Key inside the bucket (no leading `/`; may be empty or end with `/` for a prefix).
    pub key: String,
}

impl ObjectUrl {
    /// True when `s` looks like an object URL (`s3://` or `s3a://`), i.e. is not a local path.
    pub fn is_object_url(s: &str) -> bool {
        SCHEMES.iter().any(|p| s.starts_with(p))
    }

    /// Parse `s3://bucket/key` (also `s3a://`). The key may be empty (`s3://bucket`).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| ObjStoreError::BadUrl {
            url: s.to_string(),
            reason: reason.to_string(),
        };
        let rest = SCHEMES
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .ok_or_else(|| bad("expected s3://bucket/key"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("missing bucket name"));
        }
        if !bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_')
        {
            return Err(bad("bucket names use lowercase letters, digits, '-', '.' and '_'"));
        }
        let key = key.trim_start_matches('/');
        if key.split('/').any(|seg| seg == "." || seg == "..") {
            return Err(bad("'.' and '..' segments are not allowed in keys"));
        }
        if key.contains("//") {
            return Err(bad("empty path segment ('//') in key"));
        }
        Ok(ObjectUrl {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The key as a prefix ending with `/` (empty stays empty): `s3://b/data` → `data/`.
    pub fn dir_prefix(&self) -> String {
        if self.key.is_empty() || self.key.ends_with('/') {
            self.key.clone()
        } else {
            format!("{}/", self.key)
        }
    }

    /// Another object of this bucket under this URL as a folder: `s3://b/out` + `x/y.jsonl` → `s3://b/out/x/y.jsonl`.
    pub fn join(&self, rel: &str) -> ObjectUrl {
        ObjectUrl {
            bucket: self.bucket.clone(),
            key: format!("{}{}", self.dir_prefix(), rel.trim_start_matches('/')),
        }
    }

    /// The same bucket with another key.
    pub fn with_key(&self, key: impl Into<String>) -> ObjectUrl {
        ObjectUrl {
            bucket: self.bucket.clone(),
            key: key.into(),
        }
    }

    fn path(&self) -> ObjPath {
        ObjPath::from(self.key.trim_end_matches('/'))
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl std::str::FromStr for ObjectUrl {
    type Err = ObjStoreError;
    fn from_str(s: &str) -> Result<Self> {
        ObjectUrl::parse(s)
    }
}

/// Retry policy for every request: jittered exponential backoff (each wait is drawn between `init_backoff`
/// and `base` × the previous wait, capped at `max_backoff`), at most `max_retries` retries and no retry
/// started after `retry_timeout`. Throttling (`503 SlowDown`, `429`), other 5xx and connection errors are
/// retried; 4xx answers are not.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySettings {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First wait.
    pub init_backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
    /// Growth factor of the wait's upper bound.
    pub base: f64,
    /// No retry is started once this much time has passed since the first attempt.
    pub retry_timeout: Duration,
}

impl Default for RetrySettings {
    /// 10 retries, 100 ms first wait growing ×2 up to 15 s, give up after 3 minutes.
    fn default() -> Self {
        RetrySettings {
            max_retries: 10,
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            base: 2.0,
            retry_timeout: Duration::from_secs(180),
        }
    }
}

impl RetrySettings {
    /// Defaults, overridden by `DCLM_S3_MAX_RETRIES`, `DCLM_S3_INIT_BACKOFF_MS`, `DCLM_S3_MAX_BACKOFF_MS`,
    /// `DCLM_S3_BACKOFF_BASE` and `DCLM_S3_RETRY_TIMEOUT_S`. A value that does not parse is an error.
    pub fn from_env() -> Result<Self> {
        fn var<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
            match std::env::var(name) {
                Ok(v) => v.trim().parse().map(Some).map_err(|_| ObjStoreError::Config {
                    bucket: String::new(),
                    message: format!("{name}={v:?} is not a valid number"),
                }),
                Err(_) => Ok(None),
            }
        }
        let mut r = RetrySettings::default();
        if let Some(v) = var("DCLM_S3_MAX_RETRIES")? {
            r.max_retries = v;
        }
        if let Some(v) = var::<u64>("DCLM_S3_INIT_BACKOFF_MS")? {
            r.init_backoff = Duration::from_millis(v);
        }
        if let Some(v) = var::<u64>("DCLM_S3_MAX_BACKOFF_MS")? {
            r.max_backoff = Duration::from_millis(v);
        }
        if let Some(v) = var("DCLM_S3_BACKOFF_BASE")? {
            r.base = v;
        }
        if let Some(v) = var::<u64>("DCLM_S3_RETRY_TIMEOUT_S")? {
            r.retry_timeout = Duration::from_secs(v);
        }
        Ok(r)
    }

    fn to_object_store(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: self.init_backoff,
                max_backoff: self.max_backoff.max(self.init_backoff),
                base: self.base.max(1.0),
            },
            max_retries: self.max_retries,
            retry_timeout: self.retry_timeout,
        }
    }
}

/// How to reach the store. Fields left `None` come from the standard `AWS_*` environment variables when
/// `use_env` is set (`AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ALLOW_HTTP`, …), else from nothing (anonymous, `us-east-1`).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Read the `AWS_*` environment variables first.
    pub use_env: bool,
    /// Endpoint URL of an S3-compatible server (`http://127.0.0.1:9000`); path-style requests are used.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Session token.
    pub session_token: Option<String>,
    /// Permit plain HTTP; also turned on automatically for an `http://` endpoint.
    pub allow_http: bool,
    /// Retry policy.
    pub retry: RetrySettings,
    /// Part size of multipart uploads (S3 requires at least 5 MiB for all but the last part); files up to this
    /// size are uploaded with one PUT.
    pub part_size: usize,
    /// Parts uploaded concurrently.
    pub upload_concurrency: usize,
    /// Body chunks buffered ahead by a streaming reader.
    pub read_ahead_chunks: usize,
}

/// Smallest part size S3 accepts (except for the last part).
pub const MIN_PART_SIZE: usize = 5 << 20;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            use_env: false,
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            allow_http: false,
            retry: RetrySettings::default(),
            part_size: 16 << 20,
            upload_concurrency: 4,
            read_ahead_chunks: 8,
        }
    }
}

impl StoreOptions {
    /// Options from the environment: the `AWS_*` variables, the retry variables of [`RetrySettings::from_env`],
    /// and `DCLM_S3_PART_SIZE_MB` for the multipart part size.
    pub fn from_env() -> Result<Self> {
        let mut o = StoreOptions {
            use_env: true,
            retry: RetrySettings::from_env()?,
            ..StoreOptions::default()
        };
        if let Ok(v) = std::env::var("DCLM_S3_PART_SIZE_MB") {
            let mb: usize = v.trim().parse().map_err(|_| ObjStoreError::Config {
                bucket: String::new(),
                message: format!("DCLM_S3_PART_SIZE_MB={v:?} is not a whole number"),
            })?;
            o.part_size = mb << 20;
        }
        Ok(o)
    }
}

/// The crate's tokio runtime (two worker threads; the callers' threads block on it).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dclm-objstore")
            .enable_all()
            .build()
            .expect("starting the object-store runtime")
    })
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// An object found by [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectInfo {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// One bucket of an S3-compatible store, with blocking methods. Cheap to clone; safe to share between threads.
#[derive(Debug, Clone)]
pub struct Store {
    bucket: String,
    inner: Arc<AmazonS3>,
    opts: Arc<StoreOptions>,
}

impl Store {
    /// A store for `bucket` with explicit options.
    pub fn new(bucket: &str, opts: StoreOptions) -> Result<Self> {
        let mut b = if opts.use_env {
            AmazonS3Builder::from_env()
        } else {
            AmazonS3Builder::new()
        };
        b = b.with_bucket_name(bucket);
        let env_endpoint = if opts.use_env {
            std::env::var("AWS_ENDPOINT_URL_S3")
                .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
                .or_else(|_| std::env::var("AWS_ENDPOINT"))
                .ok()
        } else {
            None
        };
        let endpoint = opts.endpoint.clone().or(env_endpoint);
        if let Some(e) = &endpoint {
            b = b.with_endpoint(e.trim_end_matches('/'));
        }
        let http = endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        if opts.allow_http || http {
            b = b.with_allow_http(true);
        }
        let env_region =
            opts.use_env && (std::env::var("AWS_REGION").is_ok() || std::env::var("AWS_DEFAULT_REGION").is_ok());
        match &opts.region {
            Some(r) => b = b.with_region(r),
            None if !env_region => b = b.with_region("us-east-1"),
            None => {
                if let (Err(_), Ok(r)) = (std::env::var("AWS_REGION"), std::env::var("AWS_DEFAULT_REGION")) {
                    b = b.with_region(r);
                }
            }
        }
        if let Some(k) = &opts.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &opts.secret_access_key {
            b = b.with_secret_access_key(k);
        }
        if let Some(t) = &opts.session_token {
            b = b.with_token(t);
        }
        if !opts.use_env && opts.access_key_id.is_none() {
            b = b.with_skip_signature(true);
        }
        b = b.with_retry(opts.retry.to_object_store());
        let inner = b.build().map_err(|e| ObjStoreError::Config {
            bucket: bucket.to_string(),
            message: e.to_string(),
        })?;
        Ok(Store {
            bucket: bucket.to_string(),
            inner: Arc::new(inner),
            opts: Arc::new(opts),
        })
    }

    /// A store for the bucket of `url`, configured from the environment ([`StoreOptions::from_env`]).
    pub fn from_env(url: &ObjectUrl) -> Result<Self> {
        Store::new(&url.bucket, StoreOptions::from_env()?)
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The options in use.
    pub fn options(&self) -> &StoreOptions {
        &self.opts
    }

    fn check(&self, url: &ObjectUrl) -> Result<()> {
        if url.bucket != self.bucket {
            return Err(ObjStoreError::BadUrl {
                url: url.to_string(),
                reason: format!("this store is for bucket {:?}", self.bucket),
            });
        }
        Ok(())
    }

    /// Every object whose key starts with `prefix.key` read as a folder (`data` lists `data/…`, not `database`),
    /// sorted by key. An empty key lists the whole bucket.
    pub fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectInfo>> {
        self.check(prefix)?;
        let dir = prefix.dir_prefix();
        let p = (!dir.is_empty()).then(|| ObjPath::from(dir.trim_end_matches('/')));
        let inner = self.inner.clone();
        let mut out = block_on(async move {
            let mut s = inner.list(p.as_ref());
            let mut out = Vec::new();
            while let Some(m) = s.next().await {
                let m = m?;
                out.push(ObjectInfo {
                    key: m.location.to_string(),
                    size: m.size,
                });
            }
            Ok::<_, object_store::Error>(out)
        })
        .map_err(|e| ObjStoreError::store(prefix, "list", e))?;
        out.sort();
        Ok(out)
    }

    /// Size of an object, or `None` when it does not exist.
    pub fn head(&self, url: &ObjectUrl) -> Result<Option<u64>> {
        self.check(url)?;
        match block_on(self.inner.head(&url.path())) {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(ObjStoreError::store(url, "head", e)),
        }
    }

    /// Whether an object exists.
    pub fn exists(&self, url: &ObjectUrl) -> Result<bool> {
        Ok(self.head(url)?.is_some())
    }

    /// A whole (small) object in memory.
    pub fn get_bytes(&self, url: &ObjectUrl) -> Result<Vec<u8>> {
        self.check(url)?;
        let inner = self.inner.clone();
        let path = url.path();
        block_on(async move { inner.get(&path).await?.bytes().await })
            .map(|b| b.to_vec())
            .map_err(|e| ObjStoreError::store(url, "get", e))
    }

    /// Write a (small) object with one PUT.
    pub fn put_bytes(&self, url: &ObjectUrl, bytes: Vec<u8>) -> Result<()> {
        self.check(url)?;
        block_on(self.inner.put(&url.path(), PutPayload::from(bytes)))
            .map(|_| ())
            .map_err(|e| ObjStoreError::store(url, "put", e))
    }

    /// Delete an object (deleting a missing object succeeds, as in S3).
    pub fn delete(&self, url: &ObjectUrl) -> Result<()> {
        self.check(url)?;
        match block_on(self.inner.delete(&url.path())) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(ObjStoreError::store(url, "delete", e)),
        }
    }

    /// A streaming reader of an object: a background task fetches the body and hands it over in chunks
    /// through a bounded channel, so memory stays at a few chunks whatever the object's size. The request is
    /// made (and retried) before this returns, so a missing object is reported here.
    pub fn open_read(&self, url: &ObjectUrl) -> Result<ObjectReader> {
        self.check(url)?;
        let inner = self.inner.clone();
        let path = url.path();
        let get = block_on(async move { inner.get(&path).await }).map_err(|e| ObjStoreError::store(url, "get", e))?;
        let size = get.meta.size;
        let (tx, rx) =
            mpsc::channel::<std::result::Result<Bytes, object_store::Error>>(self.opts.read_ahead_chunks.max(1));
        runtime().spawn(async move {
            let mut stream = get.into_stream();
            while let Some(chunk) = stream.next().await {
                let stop = chunk.is_err();
                if tx.send(chunk).await.is_err() || stop {
                    break; // reader dropped, or error delivered
                }
            }
        });
        Ok(ObjectReader {
            url: url.clone(),
            rx,
            cur: Bytes::new(),
            size,
            read: 0,
        })
    }

    /// Download an object to `dest`, streamed to `<dest>.part` and renamed when complete. Returns the bytes.
    pub fn download_to(&self, url: &ObjectUrl, dest: &Path) -> Result<u64> {
        let mut reader = self.open_read(url)?;
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ObjStoreError::io(parent, e))?;
        }
        let mut part = dest.as_os_str().to_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        let result = (|| {
            let file = std::fs::File::create(&part).map_err(|e| ObjStoreError::io(&part, e))?;
            let mut w = io::BufWriter::with_capacity(1 << 16, file);
            let n = copy_reader(&mut reader, &mut w, &part)?;
            let file = w.into_inner().map_err(|e| ObjStoreError::io(&part, e.into_error()))?;
            file.sync_all().map_err(|e| ObjStoreError::io(&part, e))?;
            if n != reader.size() {
                return Err(ObjStoreError::Store {
                    url: url.to_string(),
                    op: "get",
                    source: object_store::Error::Generic {
                        store: "S3",
                        source: format!("body ended after {n} of {} bytes", reader.size()).into(),
                    },
                });
            }
            std::fs::rename(&part, dest).map_err(|e| ObjStoreError::io(dest, e))?;
            Ok(n)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&part);
        }
        result
    }

    /// Upload a local file: one PUT up to the part size, else a multipart upload (aborted on failure), read
    /// from disk one part at a time. Returns the bytes.
    pub fn upload_from(&self, src: &Path, url: &ObjectUrl) -> Result<u64> {
        self.check(url)?;
        let len = std::fs::metadata(src).map_err(|e| ObjStoreError::io(src, e))?.len();
        let part_size = self.opts.part_size.max(MIN_PART_SIZE);
        if len <= part_size as u64 {
            let bytes = std::fs::read(src).map_err(|e| ObjStoreError::io(src, e))?;
            self.put_bytes(url, bytes)?;
            return Ok(len);
        }
        let mut file = std::fs::File::open(src).map_err(|e| ObjStoreError::io(src, e))?;
        // `WriteMultipart` spawns its part uploads onto the ambient runtime.
        let _ctx = runtime().enter();
        let inner = self.inner.clone();
        let path = url.path();
        let concurrency = self.opts.upload_concurrency.max(1);
        let upload = block_on(async move { inner.put_multipart(&path).await })
            .map_err(|e| ObjStoreError::store(url, "start multipart upload", e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = block_on(writer.abort());
                    return Err(ObjStoreError::io(src, e));
                }
            };
            if let Err(e) = block_on(writer.wait_for_capacity(concurrency)) {
                let _ = block_on(writer.abort());
                return Err(ObjStoreError::store(url, "upload part", e));
            }
            writer.write(&buf[..n]);
            total += n as u64;
        }
        block_on(writer.finish()).map_err(|e| ObjStoreError::store(url, "complete multipart upload", e))?;
        Ok(total)
    }
}

fn copy_reader(r: &mut ObjectReader, w: &mut impl Write, dest: &Path) -> Result<u64> {
    let mut n = 0u64;
    loop {
        match r.next_chunk()? {
            Some(b) => {
                w.write_all(&b).map_err(|e| ObjStoreError::io(dest, e))?;
                n += b.len() as u64;
            }
            None => return Ok(n),
        }
    }
}

/// A streaming, blocking reader of one object (from [`Store::open_read`]).
pub struct ObjectReader {
    url: ObjectUrl,
    rx: mpsc::Receiver<std::result::Result<Bytes, object_store::Error>>,
    cur: Bytes,
    size: u64,
    read: u64,
}

impl fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectReader")
            .field("url", &self.url.to_string())
            .field("size", &self.size)
            .field("read", &self.read)
            .finish()
    }
}

impl ObjectReader {
    /// Size of the object.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The object's URL.
    pub fn url(&self) -> &ObjectUrl {
        &self.url
    }

    /// The next body chunk (after any buffered remainder), or `None` at the end.
    fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if !self.cur.is_empty() {
            return Ok(Some(std::mem::take(&mut self.cur)));
        }
        loop {
            match self.rx.blocking_recv() {
                None => return Ok(None),
                Some(Ok(b)) if b.is_empty() => continue,
                Some(Ok(b)) => {
                    self.read += b.len() as u64;
                    return Ok(Some(b));
                }
                Some(Err(e)) => return Err(ObjStoreError::store(&self.url, "get (reading body)", e)),
            }
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.cur.is_empty() {
            match self.next_chunk() {
                Ok(Some(b)) => self.cur = b,
                Ok(None) => {
                    if self.read != self.size {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{}: body ended after {} of {} bytes", self.url, self.read, self.size),
                        ));
                    }
                    return Ok(0);
                }
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = ObjectUrl::parse("s3://my-bucket/a/b.jsonl.gz").unwrap();
        assert_eq!(u.bucket, "my-bucket");
        assert_eq!(u.key, "a/b.jsonl.gz");
        assert_eq!(u.to_string(), "s3://my-bucket/a/b.jsonl.gz");
        let root = ObjectUrl::parse("s3://b").unwrap();
        assert_eq!(root.key, "");
        assert_eq!(root.join("x/y").to_string(), "s3://b/x/y");
        let dir = ObjectUrl::parse("s3a://b/out/").unwrap();
        assert_eq!(dir.dir_prefix(), "out/");
        assert_eq!(
            ObjectUrl::parse("s3://b/out").unwrap().join("_done/x.json").key,
            "out/_done/x.json"
        );
        assert!(ObjectUrl::is_object_url("s3://b/k"));
        assert!(!ObjectUrl::is_object_url("/data/s3://x"));
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "http://b/k",
            "s3://",
            "s3:///k",
            "s3://Bad_Bucket/k",
            "s3://b/../k",
            "s3://b/a//c",
        ] {
            let e = ObjectUrl::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn retry_settings_map_to_object_store() {
        let r = RetrySettings {
            max_retries: 3,
            init_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(5),
            base: 0.5,
            retry_timeout: Duration::from_secs(7),
        };
        let c = r.to_object_store();
        assert_eq!(c.max_retries, 3);
        assert_eq!(
            c.backoff.max_backoff,
            Duration::from_millis(20),
            "max is raised to the first wait"
        );
        assert_eq!(c.backoff.base, 1.0);
        assert_eq!(c.retry_timeout, Duration::from_secs(7));
    }
}
