//! Hugging Face Hub datasets: `hf://datasets/<owner>/<name>[@revision]/<path-glob>`, listed at one commit and
//! downloaded with the crate's resumable, verified downloader.
//!
//! The listing is one request, `GET {endpoint}/api/datasets/<repo>/revision/<revision>?blobs=true` (what
//! `huggingface_hub`'s `dataset_info(files_metadata=True)` sends): it resolves the revision (branch, tag,
//! `refs/convert/parquet`, or a commit) to a commit sha and lists every file with its size and, for LFS files,
//! its sha256. Files are then fetched from `{endpoint}/datasets/<repo>/resolve/<commit>/<path>` — at the
//! resolved commit, so a branch moving during a long download cannot mix two versions — with `Range` resume,
//! backoff on 429/5xx, and the size and sha256 checked before the file gets its name.
//!
//! `HF_ENDPOINT` selects a mirror (default `https://huggingface.co`). The token (`HF_TOKEN`, else
//! `HUGGING_FACE_HUB_TOKEN`, else the file `$HF_TOKEN_PATH` or `$HF_HOME/token`, default
//! `~/.cache/huggingface/token`) is sent only to the endpoint's host, never to the CDN the Hub redirects
//! large files to.
//!
//! Why not the `hf-hub` crate: its 1.0 line uses the same reqwest as this crate, but always builds the Xet
//! storage client (about 370 crates in all); its 0.4 line brings a second HTTP stack (ureq 2 or reqwest 0.12).
//! The two endpoints above are all a read-only dataset download needs.

use crate::error::{FetchError, Result};
use crate::http::{for_each_bounded, url_authority, DownloadConfig, Downloaded, Downloader, Expect, HostToken};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A parsed `hf://datasets/<owner>/<name>[@revision]/<path-glob>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUrl {
    /// `owner/name`.
    pub repo: String,
    /// Branch, tag, `refs/…` or commit sha (`main` when not given); percent-decoded.
    pub revision: String,
    /// Path or glob inside the repository (`*` stays within one folder, `**` crosses folders); empty or a
    /// folder = everything under it.
    pub glob: String,
}

impl HubUrl {
    /// Whether `s` is an `hf://` URL.
    pub fn is_hub_url(s: &str) -> bool {
        s.starts_with("hf://")
    }

    /// Parse; only dataset repositories (`hf://datasets/…`) are accepted.
    pub fn parse(s: &str) -> Result<HubUrl> {
        let bad = |why: &str| {
            FetchError::Invalid(format!(
                "{s}: {why}; expected hf://datasets/<owner>/<name>[@revision]/<path or glob>"
            ))
        };
        let rest = s.strip_prefix("hf://").ok_or_else(|| bad("not an hf:// URL"))?;
        let rest = rest
            .strip_prefix("datasets/")
            .ok_or_else(|| bad("only dataset repositories are supported"))?;
        let mut parts = rest.splitn(3, '/');
        let owner = parts.next().unwrap_or_default();
        let name_rev = parts.next().unwrap_or_default();
        let glob = parts.next().unwrap_or_default().to_string();
        if owner.is_empty() || name_rev.is_empty() {
            return Err(bad("missing <owner>/<name>"));
        }
        let (name, revision) = match name_rev.split_once('@') {
            Some((n, r)) => {
                let r = percent_encoding::percent_decode_str(r)
                    .decode_utf8()
                    .map_err(|_| bad("revision is not UTF-8"))?;
                (n, r.into_owned())
            }
            None => (name_rev, "main".to_string()),
        };
        if name.is_empty() || revision.is_empty() {
            return Err(bad("empty name or revision"));
        }
        Ok(HubUrl {
            repo: format!("{owner}/{name}"),
            revision,
            glob,
        })
    }

    /// Whether a repository path is selected by the glob.
    pub fn selects(&self, path: &str) -> Result<bool> {
        let g = self.glob.trim_matches('/');
        if g.is_empty() {
            return Ok(true);
        }
        if path == g || path.starts_with(&format!("{g}/")) {
            return Ok(true);
        }
        let pat = glob::Pattern::new(g).map_err(|e| FetchError::Invalid(format!("bad glob {g:?}: {e}")))?;
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        Ok(pat.matches_with(path, opts))
    }
}

impl std::fmt::Display for HubUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rev: String = percent_encoding::utf8_percent_encode(&self.revision, SEGMENT).to_string();
        write!(f, "hf://datasets/{}@{}/{}", self.repo, rev, self.glob)
    }
}

/// Characters escaped in one URL path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where the Hub is and who we are.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Base URL (`HF_ENDPOINT`, default [`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
    /// Access token (sent only to the endpoint's host).
    pub token: Option<String>,
    /// Downloader settings.
    pub download: DownloadConfig,
}

impl HubConfig {
    /// From the environment: `HF_ENDPOINT`, the token as described in the module documentation.
    pub fn from_env() -> HubConfig {
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        HubConfig {
            endpoint,
            token: token_from_env(),
            download: DownloadConfig::default(),
        }
    }

    /// A downloader that sends the token to the endpoint's host only.
    pub fn downloader(&self) -> Downloader {
        let mut cfg = self.download.clone();
        cfg.token = match (&self.token, url_authority(&self.endpoint)) {
            (Some(t), Some(host)) => Some(HostToken { host, token: t.clone() }),
            _ => None,
        };
        Downloader::new(cfg)
    }

    fn url(&self, segments: &[&str], query: &str) -> String {
        let mut u = self.endpoint.trim_end_matches('/').to_string();
        for s in segments {
            u.push('/');
            u.push_str(&percent_encoding::utf8_percent_encode(s, SEGMENT).to_string());
        }
        u + query
    }
}

fn token_from_env() -> Option<String> {
    for var in ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"] {
        if let Ok(t) = std::env::var(var) {
            if !t.trim().is_empty() {
                return Some(t.trim().to_string());
            }
        }
    }
    let path = std::env::var_os("HF_TOKEN_PATH").map(PathBuf::from).or_else(|| {
        std::env::var_os("HF_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface")))
            .map(|d| d.join("token"))
    })?;
    std::fs::read_to_string(path)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// One file of a dataset at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubFile {
    /// `owner/name`.
    pub repo: String,
    /// The commit sha the file is read at.
    pub commit: String,
    /// Path inside the repository.
    pub path: String,
    /// Size in bytes, when listed.
    pub size: Option<u64>,
    /// sha256 of the content (LFS files), when listed.
    pub sha256: Option<String>,
}

impl HubFile {
    /// The download URL at the pinned commit.
    pub fn url(&self, cfg: &HubConfig) -> String {
        let mut segs = vec!["datasets"];
        segs.extend(self.repo.split('/'));
        segs.push("resolve");
        segs.push(&self.commit);
        segs.extend(self.path.split('/'));
        cfg.url(&segs, "")
    }

    /// What the downloaded bytes must be.
    pub fn expect(&self) -> Expect {
        Expect {
            sha256: self.sha256.clone(),
            size: self.size,
        }
    }

    /// `hf://datasets/<repo>@<commit>/<path>`: this exact file.
    pub fn hf_url(&self) -> String {
        format!("hf://datasets/{}@{}/{}", self.repo, self.commit, self.path)
    }
}

/// The files a [`HubUrl`] selects, at one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The commit the revision resolved to.
    pub commit: String,
    /// Selected files, sorted by path.
    pub files: Vec<HubFile>,
}

#[derive(Deserialize)]
struct RepoInfo {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
    size: Option<u64>,
    lfs: Option<Lfs>,
}

#[derive(Deserialize)]
struct Lfs {
    sha256: Option<String>,
    size: Option<u64>,
}

/// Resolve the revision and list the selected files (none selected is an error naming the URL).
pub fn list(dl: &Downloader, cfg: &HubConfig, url: &HubUrl) -> Result<Listing> {
    let mut segs = vec!["api", "datasets"];
    segs.extend(url.repo.split('/'));
    segs.push("revision");
    segs.push(&url.revision);
    let api = cfg.url(&segs, "?blobs=true");
    let body = dl.get_bytes(&api).map_err(|e| match e {
        FetchError::Status {
            url, status, attempts, ..
        } if status == 401 || status == 403 || status == 404 => FetchError::Status {
            url,
            status,
            attempts,
            hint: " (no such dataset or revision, or it is gated/private: set HF_TOKEN)".into(),
        },
        e => e,
    })?;
    let info: RepoInfo = serde_json::from_slice(&body).map_err(|e| FetchError::Parse {
        path: PathBuf::from(&api),
        line: e.line(),
        message: format!("not a Hub repository answer: {e}"),
    })?;
    let is_sha = url.revision.len() == 40 && url.revision.bytes().all(|b| b.is_ascii_hexdigit());
    if is_sha && !info.sha.eq_ignore_ascii_case(&url.revision) {
        return Err(FetchError::Invalid(format!(
            "{url}: asked for commit {} but the Hub answered for {}",
            url.revision, info.sha
        )));
    }
    let mut files = Vec::new();
    for s in info.siblings {
        if !url.selects(&s.rfilename)? {
            continue;
        }
        let (size, sha256) = match s.lfs {
            Some(l) => (l.size.or(s.size), l.sha256.map(|h| h.to_ascii_lowercase())),
            None => (s.size, None),
        };
        files.push(HubFile {
            repo: url.repo.clone(),
            commit: info.sha.clone(),
            path: s.rfilename,
            size,
            sha256,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if files.is_empty() {
        return Err(FetchError::Invalid(format!(
            "{url}: no file of {} at {} matches {:?}",
            url.repo, info.sha, url.glob
        )));
    }
    Ok(Listing {
        commit: info.sha,
        files,
    })
}

/// Download one listed file to `dest` (resumable; size and sha256 checked when listed).
pub fn download(dl: &Downloader, cfg: &HubConfig, file: &HubFile, dest: &Path) -> Result<Downloaded> {
    dl.download(&file.url(cfg), dest, &file.expect(), None)
}

/// What happened to one file of [`fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubOutcome {
    /// Downloaded and verified.
    Fetched(Downloaded),
    /// Already present with the listed size (and sha256, when listed).
    AlreadyPresent,
}

/// Summary of [`fetch`].
#[derive(Debug, Clone, Default)]
pub struct HubReport {
    /// The commit the files were read at.
    pub commit: String,
    /// Per file (local path, outcome), in path order.
    pub files: Vec<(PathBuf, HubOutcome)>,
}

fn present(dest: &Path, f: &HubFile) -> bool {
    let Ok(m) = std::fs::metadata(dest) else { return false };
    if f.size.is_some_and(|s| s != m.len()) {
        return false;
    }
    match &f.sha256 {
        Some(want) => crate::http::sha256_file(dest).is_ok_and(|(got, _)| got == *want),
        None => f.size.is_some(),
    }
}

/// Download every file `url` selects into `out/<path in the repository>`. Files already present and verified
/// are skipped; failures do not stop the other downloads and are reported together.
pub fn fetch(cfg: &HubConfig, url: &HubUrl, out: &Path) -> Result<HubReport> {
    let dl = cfg.downloader();
    let listing = list(&dl, cfg, url)?;
    let results = for_each_bounded(&listing.files, cfg.download.concurrency, |_, f| {
        let dest = out.join(&f.path);
        if present(&dest, f) {
            return Ok((dest, HubOutcome::AlreadyPresent));
        }
        download(&dl, cfg, f, &dest).map(|d| (dest, HubOutcome::Fetched(d)))
    });
    let mut report = HubReport {
        commit: listing.commit.clone(),
        files: Vec::new(),
    };
    let mut failures = Vec::new();
    for (f, r) in listing.files.iter().zip(results) {
        match r {
            Ok(x) => report.files.push(x),
            Err(e) => failures.push(format!("  {}: {e}", f.path)),
        }
    }
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(FetchError::Batch {
            failed: failures.len(),
            total: listing.files.len(),
            details: failures.join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_revisions_and_globs() {
        let u = HubUrl::parse("hf://datasets/mlfoundations/dclm-baseline-1.0/global-shard_01_of_10/**/*.jsonl.zst")
            .unwrap();
        assert_eq!(u.repo, "mlfoundations/dclm-baseline-1.0");
        assert_eq!(u.revision, "main");
        assert_eq!(u.glob, "global-shard_01_of_10/**/*.jsonl.zst");
        assert!(u
            .selects("global-shard_01_of_10/local-shard_0_of_10/shard_00000000_processed.jsonl.zst")
            .unwrap());
        assert!(!u
            .selects("global-shard_02_of_10/local-shard_0_of_10/x.jsonl.zst")
            .unwrap());
        let p = HubUrl::parse("hf://datasets/o/n@refs%2Fconvert%2Fparquet/default/train/*.parquet").unwrap();
        assert_eq!(p.revision, "refs/convert/parquet");
        assert!(p.selects("default/train/0000.parquet").unwrap());
        assert!(
            !p.selects("default/train/sub/0000.parquet").unwrap(),
            "* stays in one folder"
        );
        assert_eq!(
            p.to_string(),
            "hf://datasets/o/n@refs%2Fconvert%2Fparquet/default/train/*.parquet"
        );
        let all = HubUrl::parse("hf://datasets/o/n@v1.0").unwrap();
        assert_eq!((all.revision.as_str(), all.glob.as_str()), ("v1.0", ""));
        assert!(all.selects("anything/at/all").unwrap());
        let folder = HubUrl::parse("hf://datasets/o/n/data").unwrap();
        assert!(folder.selects("data/a.parquet").unwrap() && !folder.selects("database.txt").unwrap());
        for bad in [
            "hf://models/o/n/x",
            "hf://datasets/o",
            "s3://b/k",
            "hf://datasets/o/@x/y",
        ] {
            assert!(HubUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_urls_are_escaped_and_pinned() {
        let cfg = HubConfig {
            endpoint: "https://hub.example/".into(),
            token: None,
            download: DownloadConfig::default(),
        };
        let f = HubFile {
            repo: "o/n".into(),
            commit: "abc".into(),
            path: "dir/a b#1.parquet".into(),
            size: Some(3),
            sha256: None,
        };
        assert_eq!(
            f.url(&cfg),
            "https://hub.example/datasets/o/n/resolve/abc/dir/a%20b%231.parquet"
        );
        assert_eq!(f.hf_url(), "hf://datasets/o/n@abc/dir/a b#1.parquet");
    }
}
