//! DCLM's asset registry (`data/assets.tsv`, embedded): every file a DCLM run needs, its pinned source URL, its
//! destination in DCLM's repository layout (so DCLM's YAML configs resolve unchanged) and its sha256 — or, where
//! no copy was at hand to hash, trust on first use recorded in `dclm-fetch.lock.json`.

use crate::error::{FetchError, Result};
use crate::http::{for_each_bounded, sha256_file, DownloadConfig, Downloaded, Downloader, Expect};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The embedded registry text.
pub const REGISTRY_TSV: &str = include_str!("../data/assets.tsv");

/// The lock file written into the assets folder.
pub const LOCK_FILE: &str = "dclm-fetch.lock.json";

/// How well an asset's size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SizeHint {
    /// Exactly this many bytes (checked).
    Exact(u64),
    /// About this many bytes (for display only, never checked).
    About(u64),
    /// Not known before the first fetch.
    Unknown,
}

/// One file DCLM needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// Group (`dclm-configs`, `banlists`, `lid`, `tokenizer`, `quality-model`, `eval-data`, `competition-pools`).
    pub group: String,
    /// Destination relative to the assets folder, `/`-separated, as in DCLM's repository; also the asset's name.
    pub dest: String,
    /// Pinned source URL (before mirrors).
    pub url: String,
    /// Pinned sha256 (lowercase hex); None = trust on first use.
    pub sha256: Option<String>,
    /// Size.
    pub size: SizeHint,
}

impl Asset {
    /// The destination path under `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        self.dest.split('/').fold(dir.to_path_buf(), |p, c| p.join(c))
    }
}

/// Parse registry text (`group<TAB>dest<TAB>url<TAB>sha256|-<TAB>=N|~N|-`, `#` comments).
pub fn parse_registry(text: &str, origin: &Path) -> Result<Vec<Asset>> {
    let mut out = Vec::new();
    let err = |line: usize, message: String| FetchError::Parse {
        path: origin.into(),
        line,
        message,
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = raw.split('\t').collect();
        if f.len() != 5 {
            return Err(err(line, format!("expected 5 tab-separated fields, found {}", f.len())));
        }
        let dest = f[1].to_string();
        if dest.is_empty() || dest.starts_with('/') || dest.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(err(line, format!("bad destination {dest:?}")));
        }
        if !(f[2].starts_with("https://") || f[2].starts_with("http://")) {
            return Err(err(line, format!("bad URL {:?}", f[2])));
        }
        let sha256 = match f[3] {
            "-" => None,
            s if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => Some(s.to_ascii_lowercase()),
            s => return Err(err(line, format!("bad sha256 {s:?}"))),
        };
        let num = |s: &str| s.parse::<u64>().map_err(|_| err(line, format!("bad size {:?}", f[4])));
        let size = match f[4] {
            "-" => SizeHint::Unknown,
            s if s.starts_with('=') => SizeHint::Exact(num(&s[1..])?),
            s if s.starts_with('~') => SizeHint::About(num(&s[1..])?),
            s => return Err(err(line, format!("bad size {s:?}"))),
        };
        out.push(Asset {
            group: f[0].into(),
            dest,
            url: f[2].into(),
            sha256,
            size,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for a in &out {
        if !seen.insert(a.dest.as_str()) {
            return Err(err(0, format!("duplicate destination {}", a.dest)));
        }
    }
    Ok(out)
}

/// The embedded registry.
pub fn registry() -> &'static [Asset] {
    static REG: OnceLock<Vec<Asset>> = OnceLock::new();
    REG.get_or_init(|| {
        parse_registry(REGISTRY_TSV, Path::new("<embedded assets.tsv>"))
            .unwrap_or_else(|e| unreachable!("embedded registry is checked by tests: {e}"))
    })
}

/// Group names in registry order.
pub fn groups(reg: &[Asset]) -> Vec<&str> {
    let mut g: Vec<&str> = Vec::new();
    for a in reg {
        if !g.contains(&a.group.as_str()) {
            g.push(&a.group);
        }
    }
    g
}

/// Select assets by group name, destination path or file name (empty `only` = all).
pub fn select<'a>(reg: &'a [Asset], only: &[String]) -> Result<Vec<&'a Asset>> {
    if only.is_empty() {
        return Ok(reg.iter().collect());
    }
    let mut out: Vec<&Asset> = Vec::new();
    for sel in only
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let hits: Vec<&Asset> = reg
            .iter()
            .filter(|a| a.group == sel || a.dest == sel || a.dest.rsplit('/').next() == Some(sel))
            .collect();
        if hits.is_empty() {
            return Err(FetchError::Invalid(format!(
                "no asset or group {sel:?}; groups: {} (or a destination path / file name from `assets list`)",
                groups(reg).join(", ")
            )));
        }
        for h in hits {
            if !out.iter().any(|a| a.dest == h.dest) {
                out.push(h);
            }
        }
    }
    Ok(out)
}

/// URL prefix rewrites (`FROM=TO`), e.g. to a mirror, a local server in tests, or a private copy of an asset
/// that needs credentials upstream. The longest matching prefix wins.
#[derive(Debug, Clone, Default)]
pub struct Mirrors(pub Vec<(String, String)>);

impl Mirrors {
    /// Parse `FROM=TO` pairs.
    pub fn parse(specs: &[String]) -> Result<Mirrors> {
        let mut v = Vec::new();
        for s in specs {
            let (from, to) = s
                .split_once('=')
                .filter(|(f, _)| !f.is_empty())
                .ok_or_else(|| FetchError::Invalid(format!("bad mirror {s:?}: expected FROM_PREFIX=TO_PREFIX")))?;
            v.push((from.to_string(), to.to_string()));
        }
        Ok(Mirrors(v))
    }

    /// Rewrite one URL.
    pub fn apply(&self, url: &str) -> String {
        self.0
            .iter()
            .filter(|(from, _)| url.starts_with(from.as_str()))
            .max_by_key(|(from, _)| from.len())
            .map(|(from, to)| format!("{to}{}", &url[from.len()..]))
            .unwrap_or_else(|| url.to_string())
    }
}

/// The assets folder: `flag`, else `$DCLM_ASSETS`, else `$XDG_CACHE_HOME/dclm-rs/assets`, else
/// `$HOME/.cache/dclm-rs/assets`, else `./dclm-assets`.
pub fn default_assets_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(f) = flag {
        return f.to_path_buf();
    }
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("DCLM_ASSETS")
        .or_else(|| env("XDG_CACHE_HOME").map(|c| c.join("dclm-rs/assets")))
        .or_else(|| env("HOME").map(|h| h.join(".cache/dclm-rs/assets")))
        .unwrap_or_else(|| PathBuf::from("dclm-assets"))
}

/// How an asset's hash came to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// The registry pins it.
    Pinned,
    /// Recorded on the first fetch (or found present on first use) and checked from then on.
    FirstUse,
}

/// One entry of the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    /// The URL it was fetched from (after mirrors), or `local` when found present.
    pub url: String,
    /// sha256 (hex).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Where the hash came from.
    pub trust: Trust,
}

/// `dclm-fetch.lock.json`: what was fetched, by destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Format version (1).
    pub version: u32,
    /// Entries by destination.
    pub assets: BTreeMap<String, LockEntry>,
}

impl Lock {
    /// Read the lock of `dir` (empty when absent).
    pub fn load(dir: &Path) -> Result<Lock> {
        let path = dir.join(LOCK_FILE);
        match std::fs::read_to_string(&path) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| FetchError::Parse {
                path,
                line: e.line(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock {
                version: 1,
                assets: BTreeMap::new(),
            }),
            Err(e) => Err(FetchError::io(path, e)),
        }
    }

    /// Write it atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| FetchError::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let tmp = dir.join(format!("{LOCK_FILE}.tmp"));
        let mut text = serde_json::to_string_pretty(self).map_err(|e| FetchError::Invalid(e.to_string()))?;
        text.push('\n');
        std::fs::write(&tmp, text).map_err(|e| FetchError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| FetchError::io(&path, e))
    }

    /// The hash an asset must have: pinned in the registry, else recorded here.
    pub fn expected_sha(&self, a: &Asset) -> Option<(String, Trust)> {
        a.sha256
            .clone()
            .map(|s| (s, Trust::Pinned))
            .or_else(|| self.assets.get(&a.dest).map(|e| (e.sha256.clone(), Trust::FirstUse)))
    }
}

/// Settings of [`fetch_assets`].
#[derive(Debug, Clone)]
pub struct AssetsConfig {
    /// The assets folder (DCLM's repository layout is created in it).
    pub dir: PathBuf,
    /// Groups / destinations / file names to fetch (empty = all).
    pub only: Vec<String>,
    /// Groups / destinations / file names to leave out.
    pub exclude: Vec<String>,
    /// URL rewrites.
    pub mirrors: Mirrors,
    /// Downloader settings (concurrency, retries, backoff).
    pub download: DownloadConfig,
    /// Fetch again even when a verified copy is present.
    pub force: bool,
}

impl AssetsConfig {
    /// Defaults for a folder.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        AssetsConfig {
            dir: dir.into(),
            only: Vec::new(),
            exclude: Vec::new(),
            mirrors: Mirrors::default(),
            download: DownloadConfig::default(),
            force: false,
        }
    }
}

/// What [`fetch_assets`] did with one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetOutcome {
    /// Downloaded and verified.
    Fetched(Downloaded),
    /// A copy with the expected hash was already there.
    AlreadyPresent,
    /// A copy was there and no hash was known: its hash is now recorded (trust on first use).
    AdoptedPresent {
        /// Its sha256.
        sha256: String,
    },
}

/// Summary of [`fetch_assets`].
#[derive(Debug, Clone, Default)]
pub struct FetchReport {
    /// Per asset (destination, outcome), in registry order.
    pub outcomes: Vec<(String, AssetOutcome)>,
}

/// Select by `only`, minus `exclude`.
pub fn selection<'a>(reg: &'a [Asset], only: &[String], exclude: &[String]) -> Result<Vec<&'a Asset>> {
    let chosen = select(reg, only)?;
    if exclude.is_empty() {
        return Ok(chosen);
    }
    let drop: Vec<&str> = select(reg, exclude)?.into_iter().map(|a| a.dest.as_str()).collect();
    Ok(chosen
        .into_iter()
        .filter(|a| !drop.contains(&a.dest.as_str()))
        .collect())
}

/// Reject a Git LFS pointer or an HTML error page where a data file was expected.
pub fn asset_content_check(path: &Path) -> std::result::Result<(), String> {
    let mut head = [0u8; 64];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        f.read(&mut head).map_err(|e| e.to_string())?
    };
    let head = &head[..n];
    if head.starts_with(b"version https://git-lfs.github.com/spec/") {
        return Err("got a Git LFS pointer, not the file".into());
    }
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return Err("got an HTML page, not the file".into());
    }
    Ok(())
}

fn hint_for(url: &str, dest: &str) -> String {
    if url.contains("dcnlp-west") {
        format!(
            " — DCLM fetches this file with AWS credentials (`aws s3 cp s3://dcnlp-west/refinedweb_url_banlists/\
             refinedweb_banned_domains_curated.txt`); copy it to {dest} by hand, or pass --mirror to a copy you can reach"
        )
    } else if url.contains("huggingface.co") {
        " — if the repository is gated, download it with your HF token and place it by hand, or pass --mirror".into()
    } else {
        String::new()
    }
}

/// Fetch the selected assets into `cfg.dir` (bounded concurrency), skipping verified copies, recording every
/// hash in the lock file as it goes. Failures do not stop the other downloads; they are reported together.
pub fn fetch_assets(cfg: &AssetsConfig) -> Result<FetchReport> {
    fetch_assets_from(registry(), cfg)
}

/// [`fetch_assets`] over a given registry (tests use their own).
pub fn fetch_assets_from(reg: &[Asset], cfg: &AssetsConfig) -> Result<FetchReport> {
    let chosen = selection(reg, &cfg.only, &cfg.exclude)?;
    std::fs::create_dir_all(&cfg.dir).map_err(|e| FetchError::io(&cfg.dir, e))?;
    let lock = Mutex::new(Lock::load(&cfg.dir)?);
    let dl = Downloader::new(cfg.download.clone());
    let record = |dest: &str, entry: LockEntry| -> Result<()> {
        let mut l = lock.lock().unwrap_or_else(|p| p.into_inner());
        l.version = 1;
        l.assets.insert(dest.to_string(), entry);
        l.save(&cfg.dir)
    };
    let results = for_each_bounded(&chosen, cfg.download.concurrency, |_, a| -> Result<AssetOutcome> {
        let path = a.path_in(&cfg.dir);
        let expected = lock.lock().unwrap_or_else(|p| p.into_inner()).expected_sha(a);
        if path.is_file() && !cfg.force {
            let (sha, size) = sha256_file(&path)?;
            match &expected {
                Some((want, _)) if *want == sha => return Ok(AssetOutcome::AlreadyPresent),
                Some(_) => {} // corrupt: fetch again
                None => {
                    record(
                        &a.dest,
                        LockEntry {
                            url: "local".into(),
                            sha256: sha.clone(),
                            size,
                            trust: Trust::FirstUse,
                        },
                    )?;
                    return Ok(AssetOutcome::AdoptedPresent { sha256: sha });
                }
            }
        }
        let url = cfg.mirrors.apply(&a.url);
        let expect = Expect {
            sha256: expected.as_ref().map(|(s, _)| s.clone()),
            size: match a.size {
                SizeHint::Exact(n) => Some(n),
                _ => None,
            },
        };
        let done = dl
            .download(&url, &path, &expect, Some(&asset_content_check))
            .map_err(|e| match e {
                FetchError::Status {
                    url, status, attempts, ..
                } => FetchError::Status {
                    hint: hint_for(&url, &a.dest),
                    url,
                    status,
                    attempts,
                },
                other => other,
            })?;
        let trust = expected.map(|(_, t)| t).unwrap_or(Trust::FirstUse);
        record(
            &a.dest,
            LockEntry {
                url,
                sha256: done.sha256.clone(),
                size: done.size,
                trust,
            },
        )?;
        Ok(AssetOutcome::Fetched(done))
    });
    let mut report = FetchReport::default();
    let mut failures = Vec::new();
    for (a, r) in chosen.iter().zip(results) {
        match r {
            Ok(o) => report.outcomes.push((a.dest.clone(), o)),
            Err(e) => failures.push(format!("  {}: {e}", a.dest)),
        }
    }
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(FetchError::Batch {
            failed: failures.len(),
            total: chosen.len(),
            details: failures.join("\n"),
        })
    }
}

/// State of one asset on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetState {
    /// Present with the expected hash.
    Present {
        /// Where the hash came from.
        trust: Trust,
        /// Size in bytes.
        size: u64,
    },
    /// Present, but no hash is pinned or recorded yet (the next `fetch` records it).
    Unverified {
        /// Size in bytes.
        size: u64,
    },
    /// Not there; `partial` bytes of an interrupted download are in `<dest>.part`.
    Missing {
        /// Bytes in the `.part` file (0 if none).
        partial: u64,
    },
    /// Present with the wrong hash.
    Corrupt {
        /// Expected sha256.
        expected: String,
        /// Actual sha256.
        actual: String,
    },
}

impl AssetState {
    /// Short word for listings.
    pub fn word(&self) -> &'static str {
        match self {
            AssetState::Present { .. } => "present",
            AssetState::Unverified { .. } => "unverified",
            AssetState::Missing { partial: 0 } => "missing",
            AssetState::Missing { .. } => "partial",
            AssetState::Corrupt { .. } => "corrupt",
        }
    }
}

/// The state of each selected asset in `dir` (hashes every present file).
pub fn list_assets(reg: &[Asset], dir: &Path, only: &[String]) -> Result<Vec<(Asset, AssetState)>> {
    let lock = Lock::load(dir)?;
    let chosen = select(reg, only)?;
    let states = for_each_bounded(&chosen, 4, |_, a| -> Result<AssetState> {
        let path = a.path_in(dir);
        if !path.is_file() {
            let partial = std::fs::metadata(crate::http::part_path(&path))
                .map(|m| m.len())
                .unwrap_or(0);
            return Ok(AssetState::Missing { partial });
        }
        let (sha, size) = sha256_file(&path)?;
        Ok(match lock.expected_sha(a) {
            Some((want, trust)) if want == sha => AssetState::Present { trust, size },
            Some((want, _)) => AssetState::Corrupt {
                expected: want,
                actual: sha,
            },
            None => AssetState::Unverified { size },
        })
    });
    chosen
        .into_iter()
        .zip(states)
        .map(|(a, s)| s.map(|s| (a.clone(), s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_is_valid_and_complete() {
        let reg = parse_registry(REGISTRY_TSV, Path::new("assets.tsv")).unwrap();
        assert_eq!(
            groups(&reg),
            [
                "dclm-configs",
                "banlists",
                "lid",
                "tokenizer",
                "quality-model",
                "eval-data",
                "competition-pools"
            ]
        );
        for must in [
            "baselines/mappers/enrichers/language_id_enrichment_models/lid.176.bin",
            "baselines/mappers/banlists/refinedweb_banned_domains_curated.txt",
            "baselines/mappers/banlists/refinedweb_banned_words_strict_reverse_engineered.txt",
            "baselines/mappers/iana_tlds.txt",
            "tokenizers/gpt-neox-20b.tokenizer.json",
            "baselines/mappers/enrichers/quality_prediction_enrichment_models/fasttext_oh_eli5.bin",
            "eval/local_data/language_understanding/hellaswag.jsonl",
            "eval/local_data/world_knowledge/mmlu.jsonl",
            "eval/local_data/reading_comprehension/squad.jsonl",
            "eval/local_data/reading_comprehension/coqa.jsonl",
            "eval/local_data/world_knowledge/triviaqa.jsonl",
            "eval/local_data/safety/bbq.jsonl",
            "baselines/baselines_configs/dclm_baseline_refinedweb.yaml",
            "data/competition_pools/preextracted/400m-1x.txt",
            "data/competition_pools/raw_warcs/400m-1x.txt",
        ] {
            assert!(reg.iter().any(|a| a.dest == must), "{must} missing from the registry");
        }
        for a in &reg {
            if a.url.contains("mlfoundations/dclm/") {
                assert!(
                    a.url.contains("/361714bdd60bb9b7f4b2d8354cebbf0dec0c329e/"),
                    "{} not pinned",
                    a.url
                );
            }
            if a.sha256.is_some() {
                assert!(
                    matches!(a.size, SizeHint::Exact(_)),
                    "{}: pinned hash without exact size",
                    a.dest
                );
            }
        }
    }

    #[test]
    fn registry_parse_errors_name_the_line() {
        let bad = "# c\nlid\tx/y\thttps://a/b\tnothex\t-\n";
        let e = parse_registry(bad, Path::new("r.tsv")).unwrap_err().to_string();
        assert!(e.starts_with("r.tsv:2:"), "{e}");
        assert!(parse_registry("g\t../x\thttps://a\t-\t-\n", Path::new("r")).is_err());
        assert!(parse_registry("g\tx\tftp://a\t-\t-\n", Path::new("r")).is_err());
        assert!(parse_registry("g\tx\thttps://a\t-\t-\ng\tx\thttps://b\t-\t-\n", Path::new("r")).is_err());
    }

    #[test]
    fn selection_by_group_path_and_name() {
        let reg = registry();
        let lid = select(reg, &["lid".into()]).unwrap();
        assert!(lid.iter().all(|a| a.group == "lid") && !lid.is_empty());
        let one = select(reg, &["iana_tlds.txt".into()]).unwrap();
        assert_eq!(one.len(), 1);
        assert!(select(reg, &["nope".into()]).is_err());
        let all = selection(reg, &[], &["eval-data".into(), "quality-model".into()]).unwrap();
        assert!(all.iter().all(|a| a.group != "eval-data" && a.group != "quality-model"));
    }

    #[test]
    fn mirrors_longest_prefix() {
        let m = Mirrors::parse(&[
            "https://a.org/=http://x/".into(),
            "https://a.org/deep/=http://y/".into(),
        ])
        .unwrap();
        assert_eq!(m.apply("https://a.org/f"), "http://x/f");
        assert_eq!(m.apply("https://a.org/deep/f"), "http://y/f");
        assert_eq!(m.apply("https://b.org/f"), "https://b.org/f");
        assert!(Mirrors::parse(&["nope".into()]).is_err());
    }
}
