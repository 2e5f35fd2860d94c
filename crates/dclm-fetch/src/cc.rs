//! Common Crawl fetching: a crawl's `warc.paths.gz` (or a DCLM pool list: raw WARCs or DCLM-Pool `.jsonl.gz`
//! shards), a reproducible random sample of N files, bounded-concurrency resumable downloads with backoff on
//! 429/503 (as Common Crawl asks), and a gzip integrity check of every file (all members decoded to the end,
//! the content a WARC or JSON lines by its name) before it gets its name.

use crate::error::{FetchError, Result};
use crate::http::{for_each_bounded, DownloadConfig, Downloaded, Downloader, Expect};
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Common Crawl's HTTPS endpoint.
pub const DEFAULT_CC_BASE: &str = "https://data.commoncrawl.org/";

/// Which WARCs of a crawl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarcSelection {
    /// `n` files drawn from the crawl's `warc.paths.gz` with a seeded, documented sampler ([`sample_paths`]).
    Sample {
        /// How many.
        n: usize,
        /// Seed.
        seed: u64,
    },
    /// The paths listed in a file (plain or `.gz`; `crawl-data/…` paths, `s3://commoncrawl/…` or full URLs).
    PathsFile(PathBuf),
    /// These paths (same forms as in a paths file).
    Listed(Vec<String>),
}

/// Settings of [`fetch_warcs`].
#[derive(Debug, Clone)]
pub struct CcConfig {
    /// Crawl name, `CC-MAIN-YYYY-WW` (needed for [`WarcSelection::Sample`]).
    pub crawl: Option<String>,
    /// Base URL (default [`DEFAULT_CC_BASE`]); tests point it at a local server.
    pub base_url: String,
    /// Which files.
    pub selection: WarcSelection,
    /// Output folder (files are stored flat under their WARC file name).
    pub out: PathBuf,
    /// Downloader settings (concurrency, retries, backoff).
    pub download: DownloadConfig,
    /// Decode already-present WARCs again before skipping them.
    pub verify_existing: bool,
}

impl CcConfig {
    /// Defaults (Common Crawl's endpoint, 4 downloads at a time).
    pub fn new(crawl: Option<String>, selection: WarcSelection, out: impl Into<PathBuf>) -> Self {
        CcConfig {
            crawl,
            base_url: DEFAULT_CC_BASE.into(),
            selection,
            out: out.into(),
            download: DownloadConfig::default(),
            verify_existing: false,
        }
    }
}

/// Check a crawl name: `CC-MAIN-YYYY-WW`.
pub fn validate_crawl(name: &str) -> Result<()> {
    let ok = name
        .strip_prefix("CC-MAIN-")
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(y, w)| y.len() == 4 && w.len() == 2 && (y.bytes().chain(w.bytes())).all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(FetchError::Invalid(format!(
            "bad crawl name {name:?}: expected CC-MAIN-YYYY-WW, e.g. CC-MAIN-2024-22"
        )))
    }
}

/// Normalize one listed path: `s3://commoncrawl/X` and `https://data.commoncrawl.org/X` become `X`.
fn normalize_path(line: &str) -> String {
    let l = line.trim();
    for p in [
        "s3://commoncrawl/",
        "s3a://commoncrawl/",
        "https://data.commoncrawl.org/",
        "http://data.commoncrawl.org/",
    ] {
        if let Some(rest) = l.strip_prefix(p) {
            return rest.to_string();
        }
    }
    l.trim_start_matches('/').to_string()
}

/// Parse a paths list (one path per line; blanks and `#` comments skipped).
pub fn parse_paths(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(normalize_path)
        .collect()
}

fn gunzip_text(bytes: &[u8], origin: &str) -> Result<String> {
    let mut s = String::new();
    MultiGzDecoder::new(bytes)
        .read_to_string(&mut s)
        .map_err(|e| FetchError::Parse {
            path: origin.into(),
            line: 0,
            message: format!("not a gzip text file: {e}"),
        })?;
    Ok(s)
}

/// Read a paths file (gzip-compressed when its name ends in `.gz`).
pub fn read_paths_file(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| FetchError::io(path, e))?;
    let text = if path.extension().is_some_and(|e| e == "gz") {
        gunzip_text(&bytes, &path.display().to_string())?
    } else {
        String::from_utf8(bytes).map_err(|e| FetchError::Parse {
            path: path.into(),
            line: 0,
            message: format!("not UTF-8: {e}"),
        })?
    };
    Ok(parse_paths(&text))
}

/// Join a base URL and a path (a full `http(s)://` path is used as is).
pub fn join_url(base: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// Download and parse `crawl-data/<crawl>/warc.paths.gz`.
pub fn crawl_paths(dl: &Downloader, base: &str, crawl: &str) -> Result<Vec<String>> {
    validate_crawl(crawl)?;
    let url = join_url(base, &format!("crawl-data/{crawl}/warc.paths.gz"));
    let bytes = dl.get_bytes(&url)?;
    Ok(parse_paths(&gunzip_text(&bytes, &url)?))
}

/// SplitMix64 (Steele et al. 2014): a tiny, specified generator, so a seed picks the same files in every version.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` paths drawn without replacement (partial Fisher–Yates over indices driven by SplitMix64 from `seed`,
/// index `i` swapped with `i + r mod (len - i)`), returned in the list's own order. `n ≥ len` returns all.
pub fn sample_paths(paths: &[String], n: usize, seed: u64) -> Vec<String> {
    let len = paths.len();
    let n = n.min(len);
    let mut idx: Vec<usize> = (0..len).collect();
    let mut state = seed;
    for i in 0..n {
        let j = i + (splitmix64(&mut state) % (len - i) as u64) as usize;
        idx.swap(i, j);
    }
    let mut chosen = idx[..n].to_vec();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| paths[i].clone()).collect()
}

/// Decode every gzip member of a WARC to the end; the content must start with `WARC/`. Returns decoded bytes.
pub fn verify_warc_gzip(path: &Path) -> std::result::Result<u64, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut dec = MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, f));
    let mut head = [0u8; 5];
    let mut got = 0;
    while got < head.len() {
        match dec.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) => return Err(format!("gzip error at the start: {e}")),
        }
    }
    if &head[..got] != b"WARC/" {
        return Err("decoded content does not start with a WARC record (`WARC/`)".into());
    }
    let rest = std::io::copy(&mut dec, &mut std::io::sink())
        .map_err(|e| format!("gzip error after {got} decoded bytes: {e}"))?;
    Ok(got as u64 + rest)
}

/// What happened to one WARC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcOutcome {
    /// Downloaded and verified.
    Fetched(Downloaded),
    /// Already in the output folder (it only gets its name after verification).
    AlreadyPresent,
}

/// Summary of [`fetch_warcs`].
#[derive(Debug, Clone, Default)]
pub struct CcReport {
    /// Per WARC (local path, outcome), in list order.
    pub files: Vec<(PathBuf, CcOutcome)>,
}

/// The paths [`fetch_warcs`] would download.
pub fn resolve_selection(dl: &Downloader, cfg: &CcConfig) -> Result<Vec<String>> {
    match &cfg.selection {
        WarcSelection::Sample { n, seed } => {
            let crawl = cfg
                .crawl
                .as_deref()
                .ok_or_else(|| FetchError::Invalid("--warcs needs --crawl".into()))?;
            let all = crawl_paths(dl, &cfg.base_url, crawl)?;
            if all.is_empty() {
                return Err(FetchError::Invalid(format!("{crawl}: warc.paths.gz lists no files")));
            }
            Ok(sample_paths(&all, *n, *seed))
        }
        WarcSelection::PathsFile(p) => {
            if let Some(c) = &cfg.crawl {
                validate_crawl(c)?;
            }
            read_paths_file(p)
        }
        WarcSelection::Listed(paths) => Ok(paths.iter().map(|p| normalize_path(p)).collect()),
    }
}

/// Decode every gzip member of a JSONL shard (a DCLM-Pool `.jsonl.gz`) to the end; the content must start with
/// a JSON object (`{`). Returns decoded bytes.
pub fn verify_jsonl_gzip(path: &Path) -> std::result::Result<u64, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut dec = MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, f));
    let mut first = [0u8; 1];
    let got = loop {
        match dec.read(&mut first) {
            Ok(0) => break 0,
            Ok(_) if first[0].is_ascii_whitespace() => continue,
            Ok(k) => break k,
            Err(e) => return Err(format!("gzip error at the start: {e}")),
        }
    };
    if got == 1 && first[0] != b'{' {
        return Err("decoded content does not start with a JSON object".into());
    }
    let rest = std::io::copy(&mut dec, &mut std::io::sink()).map_err(|e| format!("gzip error: {e}"))?;
    Ok(got as u64 + rest)
}

/// The integrity check for a downloaded file by its name: JSONL shards as JSON-lines gzip, anything else as a
/// gzip WARC.
pub fn verify_by_name(path: &Path, name: &str) -> std::result::Result<u64, String> {
    if name.ends_with(".jsonl.gz") || name.ends_with(".json.gz") {
        verify_jsonl_gzip(path)
    } else {
        verify_warc_gzip(path)
    }
}

/// Fetch the selected WARCs into `cfg.out`. Failures do not stop the other downloads; they are reported together.
pub fn fetch_warcs(cfg: &CcConfig) -> Result<CcReport> {
    let dl = Downloader::new(cfg.download.clone());
    let paths = resolve_selection(&dl, cfg)?;
    std::fs::create_dir_all(&cfg.out).map_err(|e| FetchError::io(&cfg.out, e))?;
    let mut names = std::collections::HashSet::new();
    for p in &paths {
        let name = p.rsplit('/').next().unwrap_or_default();
        if name.is_empty() || name.starts_with('.') || !names.insert(name.to_string()) {
            return Err(FetchError::Invalid(format!(
                "paths list: bad or duplicate file name in {p:?}"
            )));
        }
    }
    let results = for_each_bounded(
        &paths,
        cfg.download.concurrency,
        |_, p| -> Result<(PathBuf, CcOutcome)> {
            let name = p.rsplit('/').next().unwrap_or_default();
            let dest = cfg.out.join(name);
            if dest.is_file() {
                if !cfg.verify_existing {
                    return Ok((dest, CcOutcome::AlreadyPresent));
                }
                if verify_by_name(&dest, name).is_ok() {
                    return Ok((dest, CcOutcome::AlreadyPresent));
                }
            }
            let check = |part: &Path| verify_by_name(part, name).map(|_| ());
            let url = join_url(&cfg.base_url, p);
            let done = dl.download(&url, &dest, &Expect::default(), Some(&check))?;
            Ok((dest, CcOutcome::Fetched(done)))
        },
    );
    let mut report = CcReport::default();
    let mut failures = Vec::new();
    for (p, r) in paths.iter().zip(results) {
        match r {
            Ok(x) => report.files.push(x),
            Err(e) => failures.push(format!("  {p}: {e}")),
        }
    }
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(FetchError::Batch {
            failed: failures.len(),
            total: paths.len(),
            details: failures.join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawl_names() {
        assert!(validate_crawl("CC-MAIN-2024-22").is_ok());
        for bad in [
            "CC-MAIN-24-22",
            "cc-main-2024-22",
            "CC-MAIN-2024-2",
            "CC-MAIN-2024-2a",
            "",
        ] {
            assert!(validate_crawl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_are_normalized() {
        let t = "# pool\ns3://commoncrawl/crawl-data/A/x.warc.gz\n\nhttps://data.commoncrawl.org/crawl-data/A/y.warc.gz\n/crawl-data/A/z.warc.gz\n";
        assert_eq!(
            parse_paths(t),
            [
                "crawl-data/A/x.warc.gz",
                "crawl-data/A/y.warc.gz",
                "crawl-data/A/z.warc.gz"
            ]
        );
        assert_eq!(join_url("http://h:1/", "crawl-data/x"), "http://h:1/crawl-data/x");
        assert_eq!(join_url("http://h:1", "/crawl-data/x"), "http://h:1/crawl-data/x");
    }

    #[test]
    fn sampling_is_seeded_distinct_and_ordered() {
        let all: Vec<String> = (0..1000).map(|i| format!("p{i:04}")).collect();
        let a = sample_paths(&all, 10, 7);
        assert_eq!(a, sample_paths(&all, 10, 7));
        assert_ne!(a, sample_paths(&all, 10, 8));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "sorted and distinct: {a:?}");
        assert_eq!(sample_paths(&all[..3], 10, 1).len(), 3);
        // Not just the first files.
        assert!(a.iter().any(|p| p.as_str() > "p0100"));
    }

    #[test]
    fn gzip_verification() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for rec in ["WARC/1.0\r\nA\r\n\r\n", "WARC/1.0\r\nB\r\n\r\n"] {
            let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(rec.as_bytes()).unwrap();
            bytes.extend(e.finish().unwrap());
        }
        let good = dir.path().join("g.warc.gz");
        std::fs::write(&good, &bytes).unwrap();
        assert_eq!(verify_warc_gzip(&good).unwrap(), 30);
        let cut = dir.path().join("c.warc.gz");
        std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
        assert!(verify_warc_gzip(&cut).is_err());
        let not_warc = dir.path().join("n.warc.gz");
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"<html>").unwrap();
        std::fs::write(&not_warc, e.finish().unwrap()).unwrap();
        assert!(verify_warc_gzip(&not_warc).is_err());
    }
}
