//! A minimal, deterministic WARC/1.0 writer: one gzip member per record (as Common Crawl does), a `warcinfo`
//! record first, then a `request`/`response` pair per page.

use crate::ReportError;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::Path;

/// One web page to write as a request/response pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarcPage {
    /// Target URI.
    pub url: String,
    /// WARC-Date (ISO 8601, e.g. `2024-05-18T10:15:00Z`).
    pub date: String,
    /// HTTP status code of the response.
    pub status: u16,
    /// Content-Type header of the response (e.g. `text/html; charset=utf-8`).
    pub content_type: String,
    /// Response body bytes (not necessarily UTF-8).
    pub body: Vec<u8>,
}

/// 64-bit FNV-1a, used for deterministic record ids.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A deterministic UUID-shaped record id from a key.
fn record_id(key: &str) -> String {
    let a = fnv1a(key.as_bytes());
    let b = fnv1a(format!("{key}#2").as_bytes());
    format!(
        "<urn:uuid:{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}>",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => &rest[i..],
        None => "/",
    }
}

/// Serialize one WARC record (headers + block + the two CRLFs that end a record).
fn record(headers: &[(&str, String)], block: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + 512);
    out.extend_from_slice(b"WARC/1.0\r\n");
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", block.len()).as_bytes());
    out.extend_from_slice(block);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// The uncompressed WARC bytes of each record: warcinfo, then request and response for every page.
pub fn warc_records(filename: &str, warcinfo: &str, pages: &[WarcPage]) -> Vec<Vec<u8>> {
    let mut recs = Vec::with_capacity(1 + 2 * pages.len());
    let date0 = pages
        .first()
        .map_or("2024-01-01T00:00:00Z".to_string(), |p| p.date.clone());
    let info_id = record_id(&format!("warcinfo:{filename}"));
    recs.push(record(
        &[
            ("WARC-Type", "warcinfo".into()),
            ("WARC-Date", date0),
            ("WARC-Filename", filename.into()),
            ("WARC-Record-ID", info_id.clone()),
            ("Content-Type", "application/warc-fields".into()),
        ],
        warcinfo.as_bytes(),
    ));
    for (i, p) in pages.iter().enumerate() {
        let req_id = record_id(&format!("request:{i}:{}", p.url));
        let resp_id = record_id(&format!("response:{i}:{}", p.url));
        let req = format!(
            "GET {} HTTP/1.1\r\nUser-Agent: dclm-rs-corpus/1.0 (embedded default)\r\nAccept: text/html,application/xhtml+xml\r\nHost: {}\r\n\r\n",
            path_of(&p.url),
            host_of(&p.url)
        );
        recs.push(record(
            &[
                ("WARC-Type", "request".into()),
                ("WARC-Date", p.date.clone()),
                ("WARC-Record-ID", req_id.clone()),
                ("WARC-Target-URI", p.url.clone()),
                ("WARC-Warcinfo-ID", info_id.clone()),
                ("Content-Type", "application/http; msgtype=request".into()),
            ],
            req.as_bytes(),
        ));
        let mut http = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nServer: dclm-rs-corpus\r\n",
            p.status,
            reason_phrase(p.status),
            p.content_type,
            p.body.len()
        )
        .into_bytes();
        if p.status == 301 || p.status == 302 {
            http.extend_from_slice(format!("Location: {}\r\n", p.url.trim_end_matches('/')).as_bytes());
        }
        http.extend_from_slice(b"\r\n");
        http.extend_from_slice(&p.body);
        recs.push(record(
            &[
                ("WARC-Type", "response".into()),
                ("WARC-Date", p.date.clone()),
                ("WARC-Record-ID", resp_id),
                ("WARC-Target-URI", p.url.clone()),
                ("WARC-Warcinfo-ID", info_id.clone()),
                ("WARC-Concurrent-To", req_id),
                ("Content-Type", "application/http; msgtype=response".into()),
            ],
            &http,
        ));
    }
    recs
}

/// Records per gzip member after the first (the `warcinfo` record always gets a member of its own).
///
/// Common Crawl writes one member per record; the default corpus groups records so that the repetition between
/// pages compresses (about 2.5× smaller than per-record members) while the file still has many members, so a
/// reader that stops after the first gzip member (a `GzDecoder` instead of a `MultiGzDecoder`) is caught.
pub const RECORDS_PER_MEMBER: usize = 64;

/// Write a `.warc.gz`: the warcinfo record in its own gzip member, then members of `records_per_member`
/// records (1 = one member per record, as Common Crawl does). Fixed gzip headers make the bytes reproducible.
pub fn write_warc_gz_grouped(
    path: &Path,
    warcinfo: &str,
    pages: &[WarcPage],
    records_per_member: usize,
) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let filename = path
        .file_name()
        .map_or("corpus.warc.gz".into(), |f| f.to_string_lossy().into_owned());
    let recs = warc_records(&filename, warcinfo, pages);
    let mut out = Vec::new();
    let (first, rest) = recs.split_at(1.min(recs.len()));
    for group in std::iter::once(first).chain(rest.chunks(records_per_member.max(1))) {
        // GzEncoder's header has mtime 0 and no file name, so identical input gives identical bytes.
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        for rec in group {
            enc.write_all(rec).map_err(io)?;
        }
        out.extend_from_slice(&enc.finish().map_err(io)?);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, out).map_err(io)
}

/// Write a `.warc.gz` with one gzip member per record (Common Crawl's layout).
pub fn write_warc_gz(path: &Path, warcinfo: &str, pages: &[WarcPage]) -> Result<(), ReportError> {
    write_warc_gz_grouped(path, warcinfo, pages, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn records_roundtrip_through_gzip_members() {
        let pages = vec![WarcPage {
            url: "http://example.org/a/b?x=1".into(),
            date: "2024-05-01T00:00:00Z".into(),
            status: 200,
            content_type: "text/html; charset=iso-8859-1".into(),
            body: vec![b'<', b'p', b'>', 0xE9, b'<', b'/', b'p', b'>'],
        }];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.warc.gz");
        write_warc_gz(&path, "software: test\r\n", &pages).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut all = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut all)
            .unwrap();
        let expected: Vec<u8> = warc_records("t.warc.gz", "software: test\r\n", &pages).concat();
        assert_eq!(all, expected);
        let text = String::from_utf8_lossy(&all);
        assert_eq!(text.matches("WARC/1.0\r\n").count(), 3);
        assert!(text.contains("GET /a/b?x=1 HTTP/1.1\r\n"));
        assert!(text.contains("Host: example.org\r\n"));
        // Latin-1 byte survives untouched.
        assert!(all.windows(3).any(|w| w == [b'>', 0xE9, b'<']));
        // Content-Length of the response block matches its bytes.
        let resp_start = text.find("WARC-Type: response").unwrap();
        let cl: usize = text[resp_start..]
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let block_start = text[resp_start..].find("\r\n\r\n").unwrap() + resp_start + 4;
        assert_eq!(&all[block_start + cl..], b"\r\n\r\n");
        // Grouped members decode to the same bytes.
        let grouped = dir.path().join("g.warc.gz");
        write_warc_gz_grouped(&grouped, "software: test\r\n", &pages, 64).unwrap();
        let mut g = Vec::new();
        flate2::read::MultiGzDecoder::new(&std::fs::read(&grouped).unwrap()[..])
            .read_to_end(&mut g)
            .unwrap();
        assert_eq!(g, warc_records("g.warc.gz", "software: test\r\n", &pages).concat());
        // Reproducible: the same input gives the same compressed bytes.
        let dir2 = tempfile::tempdir().unwrap();
        let path2 = dir2.path().join("t.warc.gz");
        write_warc_gz(&path2, "software: test\r\n", &pages).unwrap();
        assert_eq!(std::fs::read(&path2).unwrap(), bytes);
    }

    #[test]
    fn record_ids_are_stable_and_distinct() {
        assert_eq!(record_id("a"), record_id("a"));
        assert_ne!(record_id("a"), record_id("b"));
        assert_eq!(record_id("a").len(), "<urn:uuid:>".len() + 36);
    }
}
