//! Streaming WARC reader (WARC/1.0 and 1.1; plain, gzip multi-member, zstd) with HTTP header parsing.
//!
//! Why not the `fastwarc` crate (the Resiliparse authors' Rust reader, 2.0.0 on crates.io): it was
//! evaluated and not taken because (1) it pulls ten more dependencies (brotli, lz4, time, uuid,
//! sha1/sha2/md-5, zlib-rs, a second major version of `zstd`), a real cost on the project's
//! shared 2-core builders; (2) the stage needs record-level error recovery that names the file, the
//! record id and the byte offset, skips garbage between records and goes on after a bad header, and
//! (3) decompression is already provided by `dclm_core::io::open_decompressed` (flate2's multi-member
//! gzip decoder, zstd multi-frame). WARC framing itself is simple: a version line, `Name: value`
//! header lines, a blank line, `Content-Length` bytes of block and two CRLFs.
//!
//! Offsets reported in errors and records are byte offsets in the *decompressed* stream (a gzip
//! member boundary is not visible through the multi-member decoder).

use crate::ExtractError;
use memchr::memchr;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Longest header line kept; longer lines are cut (and a header block over
/// [`MAX_HEADER_BYTES`] is an error).
const MAX_LINE: usize = 64 * 1024;
/// Largest WARC header block accepted.
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// Default largest record body read into memory (64 MiB); larger records are skipped and counted.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 64 << 20;

/// One WARC record.
#[derive(Debug, Clone, Default)]
pub struct WarcRecord {
    /// Decompressed byte offset of the record's `WARC/` line.
    pub offset: u64,
    /// The version line, e.g. `WARC/1.1`.
    pub version: String,
    /// Header fields in file order (names as written, values trimmed).
    pub headers: Vec<(String, String)>,
    /// The record block (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl WarcRecord {
    /// First header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `WARC-Type` (empty when absent).
    pub fn record_type(&self) -> &str {
        self.header("WARC-Type").unwrap_or("")
    }

    /// `WARC-Record-ID`, or `?` when absent.
    pub fn record_id(&self) -> &str {
        self.header("WARC-Record-ID").unwrap_or("?")
    }

    /// `WARC-Target-URI` verbatim (angle brackets of WARC/1.0 writers such as wget included).
    pub fn target_uri(&self) -> Option<&str> {
        self.header("WARC-Target-URI")
    }

    /// Parse the HTTP header block of a `response`/`request` record whose block starts with `HTTP/`
    /// (FastWARC's `parse_http=True`); `None` when the block is not HTTP.
    pub fn http(&self) -> Option<HttpMessage<'_>> {
        HttpMessage::parse(&self.body)
    }

    /// The payload DCLM extracts from: the HTTP body for HTTP records, else the whole block. Like
    /// FastWARC's default (`auto_decode='none'`), no transfer or content decoding is applied.
    pub fn payload(&self) -> &[u8] {
        match self.http() {
            Some(h) => h.body,
            None => &self.body,
        }
    }
}

/// A parsed HTTP message head plus the body slice.
#[derive(Debug, Clone)]
pub struct HttpMessage<'a> {
    /// Status line (or request line), without the line break.
    pub status_line: &'a str,
    /// Status code (0 for requests or unparsable status lines).
    pub status: u16,
    /// Header fields in order.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The body after the blank line.
    pub body: &'a [u8],
}

impl<'a> HttpMessage<'a> {
    /// Parse `block` if it starts with `HTTP/`. A head without a terminating blank line makes the
    /// whole block the head and the body empty.
    pub fn parse(block: &'a [u8]) -> Option<HttpMessage<'a>> {
        if !block.starts_with(b"HTTP/") {
            return None;
        }
        let (head, body) = match memchr::memmem::find(block, b"\r\n\r\n") {
            Some(i) => (&block[..i], &block[i + 4..]),
            None => match memchr::memmem::find(block, b"\n\n") {
                Some(i) => (&block[..i], &block[i + 2..]),
                None => (block, &block[block.len()..]),
            },
        };
        let mut lines = head.split(|&c| c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let status_line = std::str::from_utf8(lines.next().unwrap_or(b"")).unwrap_or("");
        let status = status_line
            .split_ascii_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| {
                let l = std::str::from_utf8(l).ok()?;
                let (k, v) = l.split_once(':')?;
                Some((k.trim(), v.trim()))
            })
            .collect();
        Some(HttpMessage {
            status_line,
            status,
            headers,
            body,
        })
    }

    /// First header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// Streaming reader over WARC records. Iterating yields records and record-level errors; after a
/// stream error (corrupt compression, truncated record at EOF) it yields that error once and stops.
pub struct WarcReader<R> {
    inner: R,
    path: PathBuf,
    pos: u64,
    done: bool,
    max_record_bytes: u64,
    types: Option<Vec<String>>,
    line: Vec<u8>,
    pending_start: Option<(u64, String)>,
    suppress_garbage: bool,
}

impl WarcReader<Box<dyn BufRead + Send>> {
    /// Open a WARC file; compression from the extension (`.gz`, `.zst`, else plain). Raw bytes read
    /// are added to `raw_bytes`.
    pub fn open(path: &Path, raw_bytes: Arc<AtomicU64>) -> Result<Self, ExtractError> {
        let inner = dclm_core::io::open_decompressed(path, raw_bytes)?;
        Ok(WarcReader::new(inner, path))
    }
}

impl<R: BufRead> WarcReader<R> {
    /// Read from any buffered decompressed stream; `path` names it in errors.
    pub fn new(inner: R, path: impl Into<PathBuf>) -> Self {
        WarcReader {
            inner,
            path: path.into(),
            pos: 0,
            done: false,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            types: None,
            line: Vec::with_capacity(256),
            pending_start: None,
            suppress_garbage: false,
        }
    }

    /// Only yield records whose `WARC-Type` is one of `types` (others are skipped without buffering).
    pub fn with_types(mut self, types: &[&str]) -> Self {
        self.types = Some(types.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Skip (and report) records whose body is larger than `limit` bytes.
    pub fn with_max_record_bytes(mut self, limit: u64) -> Self {
        self.max_record_bytes = limit;
        self
    }

    /// Decompressed bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn corrupt(&mut self, e: io::Error) -> ExtractError {
        self.done = true;
        ExtractError::CorruptStream {
            path: self.path.clone(),
            offset: self.pos,
            message: e.to_string(),
        }
    }

    /// Read one line (up to `\n`) into `self.line`, keeping at most `MAX_LINE` bytes; returns the
    /// number of bytes consumed (0 at EOF).
    fn read_line(&mut self) -> io::Result<usize> {
        self.line.clear();
        let mut consumed = 0;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(consumed);
            }
            let (n, found) = match memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.line.len());
            self.line.extend_from_slice(&buf[..n.min(room)]);
            self.inner.consume(n);
            consumed += n;
            if found {
                return Ok(consumed);
            }
        }
    }

    /// Discard `n` bytes; returns how many were actually there.
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut left = n;
        while left > 0 {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let k = (buf.len() as u64).min(left) as usize;
            self.inner.consume(k);
            left -= k as u64;
        }
        Ok(n - left)
    }

    fn next_record(&mut self) -> Option<Result<WarcRecord, ExtractError>> {
        loop {
            // 1. Find the version line, skipping blank lines and reporting garbage.
            let (offset, version) = match self.pending_start.take() {
                Some(p) => p,
                None => {
                    let mut garbage = 0u64;
                    loop {
                        let n = match self.read_line() {
                            Ok(n) => n,
                            Err(e) => return Some(Err(self.corrupt(e))),
                        };
                        if n == 0 {
                            self.done = true;
                            if garbage > 0 && !self.suppress_garbage {
                                return Some(Err(ExtractError::Garbage {
                                    path: self.path.clone(),
                                    offset: self.pos,
                                    skipped: garbage,
                                }));
                            }
                            return None;
                        }
                        let start = self.pos;
                        self.pos += n as u64;
                        if self.line.starts_with(b"WARC/") {
                            let v = String::from_utf8_lossy(trim_eol(&self.line)).into_owned();
                            if garbage > 0 && !std::mem::take(&mut self.suppress_garbage) {
                                self.pending_start = Some((start, v));
                                return Some(Err(ExtractError::Garbage {
                                    path: self.path.clone(),
                                    offset: start,
                                    skipped: garbage,
                                }));
                            }
                            self.suppress_garbage = false;
                            break (start, v);
                        }
                        if trim_eol(&self.line).is_empty() && garbage == 0 {
                            continue;
                        }
                        garbage += n as u64;
                    }
                }
            };

            // 2. Header block.
            let mut headers: Vec<(String, String)> = Vec::with_capacity(16);
            let mut header_bytes = 0usize;
            let mut bad: Option<String> = None;
            loop {
                let n = match self.read_line() {
                    Ok(n) => n,
                    Err(e) => return Some(Err(self.corrupt(e))),
                };
                if n == 0 {
                    self.done = true;
                    return Some(Err(ExtractError::BadHeader {
                        path: self.path.clone(),
                        offset,
                        record_id: find_id(&headers),
                        message: "file ends inside the header block".into(),
                    }));
                }
                self.pos += n as u64;
                header_bytes += n;
                let line = trim_eol(&self.line);
                if line.is_empty() {
                    break;
                }
                if header_bytes > MAX_HEADER_BYTES {
                    bad.get_or_insert_with(|| format!("header block over {MAX_HEADER_BYTES} bytes"));
                    continue;
                }
                if matches!(line[0], b' ' | b'\t') {
                    if let Some((_, v)) = headers.last_mut() {
                        v.push(' ');
                        v.push_str(String::from_utf8_lossy(line).trim());
                    }
                    continue;
                }
                match memchr(b':', line) {
                    Some(i) => {
                        let k = String::from_utf8_lossy(&line[..i]).trim().to_string();
                        let v = String::from_utf8_lossy(&line[i + 1..]).trim().to_string();
                        headers.push((k, v));
                    }
                    None => {
                        bad.get_or_insert_with(|| {
                            format!(
                                "header line without ':': {:?}",
                                String::from_utf8_lossy(&line[..line.len().min(80)])
                            )
                        });
                    }
                }
            }
            let length = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
                .map(|(_, v)| v.trim().parse::<u64>());
            let length = match (length, bad) {
                (Some(Ok(l)), None) => l,
                (l, bad) => {
                    let message = bad.unwrap_or_else(|| match l {
                        None => "no Content-Length".into(),
                        Some(Err(e)) => format!("invalid Content-Length: {e}"),
                        Some(Ok(_)) => unreachable!("handled above"),
                    });
                    // The block cannot be delimited: resynchronize on the next `WARC/` line.
                    self.suppress_garbage = true;
                    return Some(Err(ExtractError::BadHeader {
                        path: self.path.clone(),
                        offset,
                        record_id: find_id(&headers),
                        message,
                    }));
                }
            };

            // 3. Body (or skip it).
            let wanted = match &self.types {
                None => true,
                Some(ts) => {
                    let ty = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("WARC-Type"))
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("");
                    ts.iter().any(|t| t == ty)
                }
            };
            if !wanted || length > self.max_record_bytes {
                let got = match self.skip(length) {
                    Ok(g) => g,
                    Err(e) => return Some(Err(self.corrupt(e))),
                };
                self.pos += got;
                if got < length {
                    self.done = true;
                    return Some(Err(ExtractError::Truncated {
                        path: self.path.clone(),
                        offset,
                        record_id: find_id(&headers),
                        got,
                        expected: length,
                    }));
                }
                if !wanted {
                    continue;
                }
                return Some(Err(ExtractError::TooLarge {
                    path: self.path.clone(),
                    offset,
                    record_id: find_id(&headers),
                    length,
                    limit: self.max_record_bytes,
                }));
            }
            let mut body = Vec::with_capacity(length.min(1 << 24) as usize);
            let got = match (&mut self.inner).take(length).read_to_end(&mut body) {
                Ok(g) => g as u64,
                Err(e) => return Some(Err(self.corrupt(e))),
            };
            self.pos += got;
            if got < length {
                self.done = true;
                return Some(Err(ExtractError::Truncated {
                    path: self.path.clone(),
                    offset,
                    record_id: find_id(&headers),
                    got,
                    expected: length,
                }));
            }
            return Some(Ok(WarcRecord {
                offset,
                version,
                headers,
                body,
            }));
        }
    }
}

fn trim_eol(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn find_id(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("WARC-Record-ID"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "?".into())
}

impl<R: BufRead> Iterator for WarcReader<R> {
    type Item = Result<WarcRecord, ExtractError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.next_record()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ty: &str, id: &str, body: &[u8]) -> Vec<u8> {
        let mut v = format!(
            "WARC/1.0\r\nWARC-Type: {ty}\r\nWARC-Record-ID: {id}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        v.extend_from_slice(body);
        v.extend_from_slice(b"\r\n\r\n");
        v
    }

    fn read(data: &[u8]) -> Vec<Result<WarcRecord, ExtractError>> {
        WarcReader::new(data, "mem.warc").collect()
    }

    #[test]
    fn reads_records_and_http() {
        let mut data = rec("warcinfo", "<urn:1>", b"software: x\r\n");
        data.extend(rec(
            "response",
            "<urn:2>",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>hi</p>",
        ));
        let out = read(&data);
        assert_eq!(out.len(), 2);
        let r = out[1].as_ref().unwrap();
        assert_eq!(r.record_type(), "response");
        let h = r.http().unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(h.header("content-type"), Some("text/html"));
        assert_eq!(r.payload(), b"<p>hi</p>");
        assert_eq!(r.offset as usize, rec("warcinfo", "<urn:1>", b"software: x\r\n").len());
    }

    #[test]
    fn garbage_and_bad_headers_are_reported_and_skipped() {
        let mut data = b"junk line\r\nmore junk\r\n".to_vec();
        data.extend(rec("response", "<urn:a>", b"x"));
        data.extend(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: abc\r\n\r\nbody\r\n\r\n");
        data.extend(rec("response", "<urn:b>", b"y"));
        let out = read(&data);
        let kinds: Vec<_> = out
            .iter()
            .map(|r| r.as_ref().map(|r| r.record_id().to_string()).map_err(|e| e.reason()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                Err("garbage_between_records"),
                Ok("<urn:a>".to_string()),
                Err("malformed_warc_header"),
                Ok("<urn:b>".to_string())
            ]
        );
    }

    #[test]
    fn truncated_body_ends_the_file_with_an_error() {
        let mut data = rec("response", "<urn:a>", b"hello");
        let full = rec("response", "<urn:b>", b"0123456789");
        data.extend_from_slice(&full[..full.len() - 8]);
        let out = read(&data);
        assert!(out[0].is_ok());
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.reason(), "truncated_record");
        assert!(
            e.to_string().contains("<urn:b>") && e.to_string().contains("mem.warc"),
            "{e}"
        );
    }

    #[test]
    fn type_filter_and_size_limit() {
        let mut data = rec("request", "<urn:q>", b"GET / HTTP/1.1\r\n\r\n");
        data.extend(rec("response", "<urn:big>", &[b'x'; 100]));
        data.extend(rec("response", "<urn:ok>", b"ok"));
        let out: Vec<_> = WarcReader::new(&data[..], "m")
            .with_types(&["response"])
            .with_max_record_bytes(50)
            .collect();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].as_ref().unwrap_err().reason(), "record_too_large");
        assert_eq!(out[1].as_ref().unwrap().record_id(), "<urn:ok>");
    }
}
