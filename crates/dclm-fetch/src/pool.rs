//! DCLM's competition pools: the fixed per-scale list of DCLM-Pool shards (pre-extracted `.jsonl.gz` pages
//! under `contrib/datacomp/DCLM-pool/` of the Common Crawl bucket) or of the raw WARCs they came from, and the
//! download of all of them or of a seeded sample.
//!
//! The lists themselves are assets (group `competition-pools` of the registry, pinned by sha256 and size), so
//! they come from an assets folder when present there and are fetched and verified otherwise. The shards go
//! through [`crate::cc::fetch_warcs`]: resumable, retried, bounded concurrency, each file decoded to its end
//! (JSON lines for pool shards, WARC records for raw WARCs) before it gets its name.

use crate::assets::{fetch_assets_from, registry, Asset, AssetsConfig};
use crate::cc::{fetch_warcs, read_paths_file, sample_paths, CcConfig, CcReport, WarcSelection, DEFAULT_CC_BASE};
use crate::error::{FetchError, Result};
use std::path::PathBuf;

/// Which list of a scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// DCLM-Pool shards (`.jsonl.gz`, text already extracted): what the filtering track starts from.
    Preextracted,
    /// The raw WARCs of the same pages.
    RawWarcs,
}

impl PoolKind {
    /// Folder of the list under `data/competition_pools/`.
    pub fn dir(self) -> &'static str {
        match self {
            PoolKind::Preextracted => "preextracted",
            PoolKind::RawWarcs => "raw_warcs",
        }
    }
}

/// DCLM's competition scales (`400M-1x`, …) and the list file name each uses.
pub const SCALES: &[(&str, &str)] = &[
    ("400M-1x", "400m-1x"),
    ("1B-1x", "1b-1x"),
    ("3B-1x", "3b-1x"),
    ("7B-1x", "7b-1x"),
    ("7B-2x", "7b-2x"),
];

/// The registry entry of a scale's list, or an error that says which scales are pinned.
pub fn pool_list_asset<'a>(reg: &'a [Asset], scale: &str, kind: PoolKind) -> Result<&'a Asset> {
    let key = SCALES
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(scale))
        .map(|(_, k)| *k)
        .ok_or_else(|| {
            let names: Vec<&str> = SCALES.iter().map(|(s, _)| *s).collect();
            FetchError::Invalid(format!(
                "unknown scale {scale:?}; DCLM's scales are {}",
                names.join(", ")
            ))
        })?;
    let dest = format!("data/competition_pools/{}/{key}.txt", kind.dir());
    reg.iter().find(|a| a.dest == dest).ok_or_else(|| {
        let pinned: Vec<&str> = SCALES
            .iter()
            .filter(|(_, k)| {
                reg.iter()
                    .any(|a| a.dest == format!("data/competition_pools/{}/{k}.txt", kind.dir()))
            })
            .map(|(s, _)| *s)
            .collect();
        FetchError::Invalid(format!(
            "the {scale} pool list ({dest}) is not pinned here (pinned: {}); in DCLM's repository it is a Git LFS \
             file: fetch it with git-lfs and pass it with --list",
            pinned.join(", ")
        ))
    })
}

/// Settings of [`fetch_pool`].
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Competition scale (ignored when `list` is given).
    pub scale: String,
    /// A pool list file to use instead of the pinned one.
    pub list: Option<PathBuf>,
    /// Pre-extracted shards or raw WARCs.
    pub kind: PoolKind,
    /// Fetch only this many files, drawn with [`sample_paths`] (seeded); None = the whole pool.
    pub shards: Option<usize>,
    /// Seed of the sample.
    pub seed: u64,
    /// Output folder (files stored flat under their names).
    pub out: PathBuf,
    /// Where the pinned list is looked for and fetched to (its `dir`), with mirrors and downloader settings.
    pub assets: AssetsConfig,
    /// Common Crawl's base URL (tests point it at a local server).
    pub base_url: String,
    /// Decode already-present files again before skipping them.
    pub verify_existing: bool,
}

impl PoolConfig {
    /// Defaults: the whole pre-extracted pool of `scale` into `out`, lists in `assets_dir`.
    pub fn new(scale: &str, assets_dir: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        PoolConfig {
            scale: scale.to_string(),
            list: None,
            kind: PoolKind::Preextracted,
            shards: None,
            seed: 0,
            out: out.into(),
            assets: AssetsConfig::new(assets_dir),
            base_url: DEFAULT_CC_BASE.into(),
            verify_existing: false,
        }
    }
}

/// Summary of [`fetch_pool`].
#[derive(Debug, Clone)]
pub struct PoolReport {
    /// The list used.
    pub list: PathBuf,
    /// Files in the list.
    pub listed: usize,
    /// The files fetched (or found present).
    pub cc: CcReport,
}

/// Fetch a pool (or a seeded sample of it) with the pinned list of the crate's registry.
pub fn fetch_pool(cfg: &PoolConfig) -> Result<PoolReport> {
    fetch_pool_from(registry(), cfg)
}

/// [`fetch_pool`] with a given registry (tests use their own).
pub fn fetch_pool_from(reg: &[Asset], cfg: &PoolConfig) -> Result<PoolReport> {
    let list = match &cfg.list {
        Some(p) => p.clone(),
        None => {
            let asset = pool_list_asset(reg, &cfg.scale, cfg.kind)?;
            let mut acfg = cfg.assets.clone();
            acfg.only = vec![asset.dest.clone()];
            acfg.exclude.clear();
            fetch_assets_from(std::slice::from_ref(asset), &acfg)?;
            asset.path_in(&acfg.dir)
        }
    };
    let all = read_paths_file(&list)?;
    if all.is_empty() {
        return Err(FetchError::Invalid(format!(
            "{}: the pool list is empty",
            list.display()
        )));
    }
    let chosen = match cfg.shards {
        Some(n) => sample_paths(&all, n, cfg.seed),
        None => all.clone(),
    };
    let mut cc = CcConfig::new(None, WarcSelection::Listed(chosen), &cfg.out);
    cc.base_url = cfg.base_url.clone();
    cc.download = cfg.assets.download.clone();
    cc.verify_existing = cfg.verify_existing;
    let report = fetch_warcs(&cc)?;
    Ok(PoolReport {
        list,
        listed: all.len(),
        cc: report,
    })
}
