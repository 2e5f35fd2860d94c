//! Streaming shard IO: JSONL (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`/`.zstd`) readers and atomic writers, and
//! Parquet (`.parquet`, with the `parquet` feature; see [`crate::parquet`]) behind the same two types.
//!
//! Readers never hold a shard in memory: they yield one line at a time, report bad lines with file
//! and line number, and go on to the next line. A truncated or corrupt compressed stream ends the
//! shard with a [`CoreError::Corrupt`] naming the last good line. Writers write to `<name>.tmp` and
//! rename on [`ShardWriter::finish`], so a crash never leaves a half-written file under the final name.

use crate::{CoreError, Document, Result};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Compression of a shard, chosen from its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (multi-member streams are read whole).
    Gzip,
    /// Zstandard (multi-frame streams are read whole).
    Zstd,
}

impl Compression {
    /// From the file extension: `.gz` → gzip, `.zst`/`.zstd` → zstd, anything else → none.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") | Some("gzip") => Compression::Gzip,
            Some("zst") | Some("zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// A reader that counts the raw bytes it hands out (for progress and `bytes_in`).
pub struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> CountingReader<R> {
    /// Wrap `inner`, adding every byte read to `count`.
    pub fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        CountingReader { inner, count }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Open any file (plain, `.gz`, `.zst`) as a buffered decompressed byte stream, counting raw bytes
/// into `counter`. Used for JSONL shards and by other crates for WARC files.
/// A Parquet file (feature `parquet`) reads as the JSON lines of its rows, one per row, so line-based consumers
/// (BFF dedup, tokenize+shuffle) take Parquet shards too; its raw bytes are counted as rows are decoded.
pub fn open_decompressed(path: &Path, counter: Arc<AtomicU64>) -> Result<Box<dyn BufRead + Send>> {
    if is_parquet_path(path) {
        #[cfg(not(feature = "parquet"))]
        return Err(parquet_unsupported(path));
        #[cfg(feature = "parquet")]
        return Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            crate::parquet::ParquetLines::open(path, counter)?,
        )));
    }
    let file = File::open(path).map_err(|e| CoreError::io(path, e))?;
    let raw = CountingReader::new(BufReader::with_capacity(1 << 16, file), counter);
    Ok(match Compression::from_path(path) {
        Compression::None => Box::new(BufReader::with_capacity(1 << 16, raw)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(raw),
        )),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(raw).map_err(|e| CoreError::io(path, e))?;
            Box::new(BufReader::with_capacity(1 << 16, dec))
        }
    })
}

/// gzip level of `.gz` shards. Level 5 instead of zlib's default 6: on DCLM-Pool pages (the extract stage's
/// output on the 4,500-page bench corpus) the files grow by 0.15% (11.09 → 11.11 MB) and the whole extract
/// stage runs 7% faster (2,883 → 3,058 docs/s on one core), since compression is a quarter of its time.
pub const GZIP_LEVEL: u32 = 5;

/// Longest JSONL line a [`ShardReader`] reads by default (decompressed bytes): 64 MiB, far above any web page,
/// low enough that a hostile line (or a gzip bomb without newlines) cannot exhaust memory.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// One item from a [`ShardReader`]: a document with its 1-based line number, or an error.
pub type LineResult = std::result::Result<(u64, Document), CoreError>;

/// Streaming JSONL shard reader. Iterating yields documents and per-line errors; after a stream
/// error (truncation) it yields that error once and stops.
pub struct ShardReader {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    compression: Compression,
    line: u64,
    buf: Vec<u8>,
    done: bool,
    raw_bytes: Arc<AtomicU64>,
    max_line: usize,
    any_text: bool,
    #[cfg(feature = "parquet")]
    parquet: Option<Box<crate::parquet::ParquetRows>>,
}

/// True for a Parquet shard name (`.parquet`), whether or not this build reads them.
pub fn is_parquet_path(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// The error for a Parquet shard in a build without the `parquet` feature.
#[cfg(not(feature = "parquet"))]
fn parquet_unsupported(path: &Path) -> CoreError {
    CoreError::Config(format!(
        "{}: Parquet shards need dclm-core's `parquet` feature, which this build lacks",
        path.display()
    ))
}

/// Outcome of [`read_line_capped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// End of the stream: nothing was read.
    Eof,
    /// A line (with its newline, unless the stream ended without one) is in the buffer.
    Line,
    /// The line was longer than the cap; its bytes (this many) were consumed up to and including its
    /// newline without being kept.
    TooLong(u64),
}

/// Read one line into `buf` (newline included), keeping at most `max` bytes: a longer line is consumed to
/// its end without being stored.
pub fn read_line_capped(r: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<LineRead> {
    let mut total: u64 = 0;
    let mut too_long = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(match (total, too_long) {
                (0, _) => LineRead::Eof,
                (n, true) => LineRead::TooLong(n),
                _ => LineRead::Line,
            });
        }
        let (take, end) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        total += take as u64;
        if !too_long && buf.len() + take > max {
            too_long = true;
            buf.clear();
            buf.shrink_to(1 << 14);
        }
        if !too_long {
            buf.extend_from_slice(&chunk[..take]);
        }
        r.consume(take);
        if end {
            return Ok(if too_long {
                LineRead::TooLong(total)
            } else {
                LineRead::Line
            });
        }
    }
}

impl ShardReader {
    /// Open a shard; compression from the extension.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_counted(path, Arc::new(AtomicU64::new(0)))
    }

    /// Open a shard, adding raw bytes read to a shared counter.
    pub fn open_counted(path: impl AsRef<Path>, raw_bytes: Arc<AtomicU64>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if is_parquet_path(&path) {
            #[cfg(not(feature = "parquet"))]
            return Err(parquet_unsupported(&path));
            #[cfg(feature = "parquet")]
            {
                let rows = crate::parquet::ParquetRows::open(&path, raw_bytes.clone())?;
                return Ok(ShardReader {
                    compression: Compression::None,
                    path,
                    inner: Box::new(io::empty()),
                    line: 0,
                    buf: Vec::new(),
                    done: false,
                    raw_bytes,
                    max_line: DEFAULT_MAX_LINE_BYTES,
                    any_text: false,
                    parquet: Some(Box::new(rows)),
                });
            }
        }
        let inner = open_decompressed(&path, raw_bytes.clone())?;
        Ok(ShardReader {
            compression: Compression::from_path(&path),
            path,
            inner,
            line: 0,
            buf: Vec::with_capacity(1 << 14),
            done: false,
            raw_bytes,
            max_line: DEFAULT_MAX_LINE_BYTES,
            any_text: false,
            #[cfg(feature = "parquet")]
            parquet: None,
        })
    }

    /// Cap the length of one line (decompressed bytes); a longer line is skipped and reported as
    /// `line_too_long` without being held in memory.
    pub fn with_max_line_bytes(mut self, max: usize) -> Self {
        self.max_line = max.max(1);
        self
    }

    /// Keep pages whose `text` is missing or not a string (DCLM's page model, for the filter stage);
    /// by default they are input errors (`missing_text`, `text_not_string`).
    pub fn with_any_text(mut self, any_text: bool) -> Self {
        self.any_text = any_text;
        self
    }

    /// Path of this shard.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Raw (compressed) bytes consumed so far.
    pub fn raw_bytes_read(&self) -> u64 {
        self.raw_bytes.load(Ordering::Relaxed)
    }

    fn bad(&self, kind: &'static str, message: String) -> CoreError {
        CoreError::BadLine {
            path: self.path.clone(),
            line: self.line,
            kind,
            message,
        }
    }
}

impl Iterator for ShardReader {
    type Item = LineResult;

    fn next(&mut self) -> Option<LineResult> {
        #[cfg(feature = "parquet")]
        if let Some(p) = self.parquet.as_mut() {
            return p.next_doc(self.any_text);
        }
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            match read_line_capped(&mut *self.inner, &mut self.buf, self.max_line) {
                Ok(LineRead::Eof) => {
                    self.done = true;
                    return None;
                }
                Ok(LineRead::Line) => {}
                Ok(LineRead::TooLong(n)) => {
                    self.line += 1;
                    let msg = format!("line of {n} bytes is over the {}-byte limit; skipped", self.max_line);
                    return Some(Err(self.bad("line_too_long", msg)));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(CoreError::Corrupt {
                        path: self.path.clone(),
                        format: self.compression.name(),
                        line: self.line,
                        message: e.to_string(),
                    }));
                }
            }
            self.line += 1;
            let bytes = trim_newline(&self.buf);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue; // blank lines carry no document
            }
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let msg = format!("invalid UTF-8 at byte {} of the line", e.valid_up_to());
                    return Some(Err(self.bad("invalid_utf8", msg)));
                }
            };
            let parsed = if self.any_text {
                Document::from_json_line_any(text)
            } else {
                Document::from_json_line(text)
            };
            return Some(match parsed {
                Ok(doc) => Ok((self.line, doc)),
                Err((kind, msg)) => Err(self.bad(kind, msg)),
            });
        }
    }
}

fn trim_newline(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

enum Encoder {
    #[cfg(feature = "parquet")]
    Parquet(Box<crate::parquet::ParquetDocWriter>),
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

/// Atomic shard writer: writes `<path>.tmp`, renamed to `<path>` by [`ShardWriter::finish`]. A `.parquet`
/// path writes Parquet (feature `parquet`): documents are buffered into row groups, and
/// [`ShardWriter::write_raw`] takes JSON lines.
/// Dropped without `finish`, the temporary file is removed.
pub struct ShardWriter {
    path: PathBuf,
    tmp: PathBuf,
    enc: Option<Encoder>,
    bytes: u64,
    docs: u64,
    line: Vec<u8>,
}

impl ShardWriter {
    /// Create (parent folders too); compression from the extension of `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| CoreError::io(parent, e))?;
        }
        let tmp = tmp_path(&path);
        if is_parquet_path(&path) {
            #[cfg(not(feature = "parquet"))]
            return Err(parquet_unsupported(&path));
            #[cfg(feature = "parquet")]
            return Ok(ShardWriter {
                enc: Some(Encoder::Parquet(Box::new(crate::parquet::ParquetDocWriter::new(&tmp)))),
                path,
                tmp,
                bytes: 0,
                docs: 0,
                line: Vec::new(),
            });
        }
        let file = File::create(&tmp).map_err(|e| CoreError::io(&tmp, e))?;
        let w = BufWriter::with_capacity(1 << 16, file);
        let enc = match Compression::from_path(&path) {
            Compression::None => Encoder::Plain(w),
            Compression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(w, flate2::Compression::new(GZIP_LEVEL))),
            Compression::Zstd => {
                Encoder::Zstd(zstd::stream::write::Encoder::new(w, 3).map_err(|e| CoreError::io(&tmp, e))?)
            }
        };
        Ok(ShardWriter {
            path,
            tmp,
            enc: Some(enc),
            bytes: 0,
            docs: 0,
            line: Vec::with_capacity(1 << 14),
        })
    }

    /// Final path of this shard.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write one document as a JSON line.
    pub fn write(&mut self, doc: &Document) -> Result<()> {
        #[cfg(feature = "parquet")]
        if let Some(Encoder::Parquet(p)) = self.enc.as_mut() {
            self.bytes += p.write(doc)?;
            self.docs += 1;
            return Ok(());
        }
        self.line.clear();
        doc.write_json_line(&mut self.line);
        let line = std::mem::take(&mut self.line);
        let r = self.write_raw(&line);
        self.line = line;
        self.docs += 1;
        r
    }

    /// Write raw bytes (already formatted lines; for Parquet, whole JSON lines, each parsed into a document).
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        #[cfg(feature = "parquet")]
        if let Some(Encoder::Parquet(p)) = self.enc.as_mut() {
            for line in bytes.split(|&b| b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let doc = std::str::from_utf8(line)
                    .map_err(|e| e.to_string())
                    .and_then(|t| Document::from_json_line_any(t).map_err(|(_, m)| m))
                    .map_err(|m| CoreError::Config(format!("{}: line for Parquet output: {m}", self.tmp.display())))?;
                self.bytes += p.write(&doc)?;
            }
            return Ok(());
        }
        self.bytes += bytes.len() as u64;
        let r = match self.enc.as_mut().expect("writer used after finish") {
            Encoder::Plain(w) => w.write_all(bytes),
            Encoder::Gzip(w) => w.write_all(bytes),
            Encoder::Zstd(w) => w.write_all(bytes),
            #[cfg(feature = "parquet")]
            Encoder::Parquet(_) => unreachable!("handled above"),
        };
        r.map_err(|e| CoreError::io(&self.tmp, e))
    }

    /// Uncompressed bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Documents written so far.
    pub fn docs_written(&self) -> u64 {
        self.docs
    }

    /// Flush, close and rename into place.
    pub fn finish(mut self) -> Result<u64> {
        let enc = self.enc.take().expect("finish called once");
        let w = match enc {
            #[cfg(feature = "parquet")]
            Encoder::Parquet(p) => {
                p.finish()?;
                std::fs::rename(&self.tmp, &self.path).map_err(|e| CoreError::io(&self.path, e))?;
                return Ok(self.bytes);
            }
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(w) => w.finish(),
            Encoder::Zstd(w) => w.finish(),
        }
        .map_err(|e| CoreError::io(&self.tmp, e))?;
        let file = w.into_inner().map_err(|e| CoreError::io(&self.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| CoreError::io(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| CoreError::io(&self.path, e))?;
        Ok(self.bytes)
    }
}

impl Drop for ShardWriter {
    fn drop(&mut self) {
        if self.enc.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// File-name suffixes of document shards: JSONL, and Parquet (read only with the `parquet` feature; a build
/// without it names the feature when it meets one).
pub const JSONL_SUFFIXES: &[&str] = &[
    ".jsonl",
    ".jsonl.gz",
    ".jsonl.zst",
    ".jsonl.zstd",
    ".json.gz",
    ".parquet",
];

/// Expand files and folders into a sorted, deduplicated list of shard files. Folders are searched
/// recursively for files whose names end in one of `suffixes`, skipping entries whose names start with `_`
/// or `.` (completion markers, stats, signature and staging folders); a file named directly is kept whatever
/// its name. A path that does not exist is an error naming it.
pub fn shard_files(paths: &[PathBuf], suffixes: &[&str]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, suffixes: &[&str], out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).map_err(|e| CoreError::io(dir, e))? {
            let p = entry.map_err(|e| CoreError::io(dir, e))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(&p, suffixes, out)?;
            } else if suffixes.iter().any(|s| name.ends_with(s)) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, suffixes, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(CoreError::io(p, io::Error::from(io::ErrorKind::NotFound)));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The temporary name used while a file is written: `<name>.tmp` beside it.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Write a file atomically (temporary name, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CoreError::io(parent, e))?;
    }
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| CoreError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| CoreError::io(path, e))
}

/// Read every document of a shard, collecting errors instead of stopping (convenience for small
/// shards and tests; production code iterates [`ShardReader`]).
pub fn read_all(path: impl AsRef<Path>) -> Result<(Vec<Document>, Vec<CoreError>)> {
    let mut docs = Vec::new();
    let mut errs = Vec::new();
    for item in ShardReader::open(path)? {
        match item {
            Ok((_, d)) => docs.push(d),
            Err(e) => errs.push(e),
        }
    }
    Ok((docs, errs))
}

/// Write documents to a shard atomically.
pub fn write_all<'a>(path: impl AsRef<Path>, docs: impl IntoIterator<Item = &'a Document>) -> Result<()> {
    let mut w = ShardWriter::create(path)?;
    for d in docs {
        w.write(d)?;
    }
    w.finish().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlong_line_is_skipped_without_being_held() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.jsonl");
        let long = format!("{{\"text\":\"{}\"}}", "x".repeat(5000));
        std::fs::write(&p, format!("{{\"text\":\"a\"}}\n{long}\n{{\"text\":\"b\"}}\n{long}")).unwrap();
        let items: Vec<LineResult> = ShardReader::open(&p).unwrap().with_max_line_bytes(1000).collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].as_ref().unwrap().1.text, "a");
        assert_eq!(items[2].as_ref().unwrap(), &(3, Document::new("b")));
        for i in [1, 3] {
            let e = items[i].as_ref().unwrap_err();
            assert_eq!(e.reason(), "line_too_long");
            assert!(e.to_string().contains(&format!(":{}:", i + 1)), "{e}");
        }
        // Lines under the cap, with and without a final newline, read as before.
        let items: Vec<LineResult> = ShardReader::open(&p).unwrap().collect();
        assert!(items.iter().all(|r| r.is_ok()));
    }

    #[test]
    fn shard_files_walks_folders_skips_markers_and_names_missing_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for rel in [
            "b/2.jsonl.gz",
            "a.jsonl",
            "b/c/3.jsonl.zst",
            "_done/a.jsonl",
            ".hidden/x.jsonl",
            "_signatures/a.jsonl.sig",
            "notes.txt",
            "b/.partial.jsonl",
        ] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"").unwrap();
        }
        let named = root.join("notes.txt");
        let got = shard_files(
            &[root.to_path_buf(), named.clone(), root.join("a.jsonl")],
            JSONL_SUFFIXES,
        )
        .unwrap();
        let rel: Vec<String> = got
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(rel, ["a.jsonl", "b/2.jsonl.gz", "b/c/3.jsonl.zst", "notes.txt"]);
        let missing = root.join("nope");
        let err = shard_files(std::slice::from_ref(&missing), JSONL_SUFFIXES).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
