//! `dclm assets {fetch,list}` and `dclm cc fetch`: DCLM's assets (pinned URLs, sha256, lock file)
//! and Common Crawl WARCs (crawl sample or pool list), resumable, verified and atomic (crate `dclm-fetch`).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use dclm_fetch::assets::{self, AssetOutcome, AssetState, AssetsConfig, Mirrors, SizeHint};
use dclm_fetch::cc::{self, CcConfig, CcOutcome, WarcSelection};
use dclm_fetch::http::DownloadConfig;
use std::path::PathBuf;
use std::time::Duration;

/// Download settings shared by both commands.
#[derive(Args, Debug, Clone)]
pub struct NetArgs {
    /// Downloads at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Failed attempts in a row (429/5xx/connection errors, no new bytes) before a download gives up.
    #[arg(long, default_value_t = 8)]
    pub retries: u32,
    /// First backoff delay in milliseconds (doubled per failure, at most 60 s; a `Retry-After` is honoured).
    #[arg(long, default_value_t = 1000)]
    pub backoff_ms: u64,
    /// Print nothing per file (retries and completions are printed by default).
    #[arg(long)]
    pub quiet: bool,
}

impl NetArgs {
    fn config(&self) -> DownloadConfig {
        DownloadConfig {
            concurrency: self.concurrency.max(1),
            max_retries: self.retries,
            backoff_initial: Duration::from_millis(self.backoff_ms),
            verbose: !self.quiet,
            ..Default::default()
        }
    }
}

/// `dclm assets …`
#[derive(Args, Debug, Clone)]
pub struct AssetsArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: AssetsCmd,
}

/// Asset subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum AssetsCmd {
    /// Download DCLM's assets into the assets folder (DCLM's repository layout), verified and resumable.
    Fetch(AssetsFetchArgs),
    /// Show which assets are present, missing, partial, corrupt or not yet verified.
    List(AssetsListArgs),
}

/// Arguments of `assets fetch`.
#[derive(Args, Debug, Clone)]
pub struct AssetsFetchArgs {
    /// Assets folder (default: $DCLM_ASSETS, else ~/.cache/dclm-rs/assets).
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Only these groups (dclm-configs, banlists, lid, tokenizer, quality-model, eval-data), destination paths or
    /// file names; comma-separated or repeated.
    #[arg(long, num_args = 1..)]
    pub only: Vec<String>,
    /// Leave these out (same forms as --only), e.g. `--exclude quality-model` to skip the 2.4 GB classifier.
    #[arg(long, num_args = 1..)]
    pub exclude: Vec<String>,
    /// Rewrite source URLs: `FROM_PREFIX=TO_PREFIX` (a mirror, or your own copy of a file that needs credentials).
    #[arg(long = "mirror")]
    pub mirrors: Vec<String>,
    /// Download again even where a verified copy is present.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Arguments of `assets list`.
#[derive(Args, Debug, Clone)]
pub struct AssetsListArgs {
    /// Assets folder (default: $DCLM_ASSETS, else ~/.cache/dclm-rs/assets).
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Only these groups, destination paths or file names.
    #[arg(long, num_args = 1..)]
    pub only: Vec<String>,
    /// Also print each asset's source URL.
    #[arg(long)]
    pub urls: bool,
}

/// `dclm cc …`
#[derive(Args, Debug, Clone)]
pub struct CcArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: CcCmd,
}

/// Common Crawl subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum CcCmd {
    /// Download WARC files of a crawl (a seeded random sample, or a list of paths), resumable and gzip-verified.
    Fetch(CcFetchArgs),
}

/// Arguments of `cc fetch`.
#[derive(Args, Debug, Clone)]
pub struct CcFetchArgs {
    /// Crawl, `CC-MAIN-YYYY-WW` (its `crawl-data/<crawl>/warc.paths.gz` is read for --warcs).
    #[arg(long, required_unless_present = "paths")]
    pub crawl: Option<String>,
    /// Download N WARCs drawn at random (seeded) from the crawl's warc.paths.gz.
    #[arg(long, conflicts_with = "paths", required_unless_present = "paths")]
    pub warcs: Option<usize>,
    /// Seed of the --warcs sample (same seed, same files).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A list of WARC paths (plain or .gz; `crawl-data/…`, `s3://commoncrawl/…` or URLs), e.g. a DCLM pool list.
    #[arg(long)]
    pub paths: Option<PathBuf>,
    /// Output folder (WARCs are stored flat under their file names).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Base URL of Common Crawl.
    #[arg(long, default_value = cc::DEFAULT_CC_BASE)]
    pub base_url: String,
    /// Decode WARCs already in --out again before skipping them.
    #[arg(long)]
    pub verify_existing: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// `dclm assets fetch|list`
pub fn assets_main(a: &AssetsArgs) -> Result<()> {
    match &a.cmd {
        AssetsCmd::Fetch(f) => assets_fetch(f),
        AssetsCmd::List(l) => assets_list(l),
    }
}

fn assets_fetch(f: &AssetsFetchArgs) -> Result<()> {
    let dir = assets::default_assets_dir(f.assets.as_deref());
    let mut cfg = AssetsConfig::new(&dir);
    cfg.only = f.only.clone();
    cfg.exclude = f.exclude.clone();
    cfg.mirrors = Mirrors::parse(&f.mirrors)?;
    cfg.download = f.net.config();
    cfg.force = f.force;
    let chosen = assets::selection(assets::registry(), &cfg.only, &cfg.exclude)?;
    let about: u64 = chosen
        .iter()
        .map(|a| match a.size {
            SizeHint::Exact(n) | SizeHint::About(n) => n,
            SizeHint::Unknown => 0,
        })
        .sum();
    eprintln!(
        "assets: {} file(s) into {} (at least {} in all)",
        chosen.len(),
        dir.display(),
        human(about)
    );
    let result = assets::fetch_assets(&cfg);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "assets fetch into {} (rerun to resume; `dclm assets list` shows the state)",
                    dir.display()
                )
            })
        }
    };
    let (mut fetched, mut present, mut adopted, mut bytes) = (0, 0, 0, 0u64);
    for (_, o) in &report.outcomes {
        match o {
            AssetOutcome::Fetched(d) => {
                fetched += 1;
                bytes += d.size - d.resumed_from;
            }
            AssetOutcome::AlreadyPresent => present += 1,
            AssetOutcome::AdoptedPresent { .. } => adopted += 1,
        }
    }
    eprintln!(
        "assets: {fetched} fetched ({}), {present} already present, {adopted} present copies recorded on first use; \
         hashes in {}",
        human(bytes),
        dir.join(assets::LOCK_FILE).display()
    );
    eprintln!(
        "use it: dclm baseline --assets {} --input 'WARCS/*.warc.gz'",
        dir.display()
    );
    Ok(())
}

fn assets_list(l: &AssetsListArgs) -> Result<()> {
    let dir = assets::default_assets_dir(l.assets.as_deref());
    let rows = assets::list_assets(assets::registry(), &dir, &l.only)?;
    println!(
        "{:<10} {:>10}  {:<13} destination (under {})",
        "state",
        "size",
        "group",
        dir.display()
    );
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for (a, s) in &rows {
        *counts.entry(s.word()).or_default() += 1;
        let size = match s {
            AssetState::Present { size, .. } | AssetState::Unverified { size } => human(*size),
            AssetState::Missing { partial } if *partial > 0 => format!("{} part", human(*partial)),
            _ => match a.size {
                SizeHint::Exact(n) => human(n),
                SizeHint::About(n) => format!("~{}", human(n)),
                SizeHint::Unknown => "?".into(),
            },
        };
        println!("{:<10} {:>10}  {:<13} {}", s.word(), size, a.group, a.dest);
        if let AssetState::Corrupt { expected, actual } = s {
            println!(
                "{:<10} {:>10}  {:<13}   expected sha256 {expected}, found {actual}",
                "", "", ""
            );
        }
        if l.urls {
            println!("{:<10} {:>10}  {:<13}   {}", "", "", "", a.url);
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!("{} asset(s): {}", rows.len(), summary.join(", "));
    if counts.contains_key("corrupt") {
        bail!("corrupt assets in {}: `dclm assets fetch` replaces them", dir.display());
    }
    Ok(())
}

/// `dclm cc fetch`
pub fn cc_main(a: &CcArgs) -> Result<()> {
    let CcCmd::Fetch(f) = &a.cmd;
    let selection = match (&f.paths, f.warcs) {
        (Some(p), _) => WarcSelection::PathsFile(p.clone()),
        (None, Some(n)) => WarcSelection::Sample { n, seed: f.seed },
        (None, None) => bail!("give --warcs N (with --crawl) or --paths FILE"),
    };
    let mut cfg = CcConfig::new(f.crawl.clone(), selection, &f.out);
    cfg.base_url = f.base_url.clone();
    cfg.download = f.net.config();
    cfg.verify_existing = f.verify_existing;
    let report =
        cc::fetch_warcs(&cfg).with_context(|| format!("cc fetch into {} (rerun to resume)", f.out.display()))?;
    let fetched: Vec<u64> = report
        .files
        .iter()
        .filter_map(|(_, o)| match o {
            CcOutcome::Fetched(d) => Some(d.size - d.resumed_from),
            CcOutcome::AlreadyPresent => None,
        })
        .collect();
    eprintln!(
        "cc: {} WARC(s) in {}: {} fetched ({}), {} already present; all gzip-verified",
        report.files.len(),
        f.out.display(),
        fetched.len(),
        human(fetched.iter().sum()),
        report.files.len() - fetched.len()
    );
    eprintln!(
        "next: dclm baseline --assets ASSETS --input '{}/*.warc.gz'",
        f.out.display()
    );
    Ok(())
}
