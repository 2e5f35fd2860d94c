//! DCLM's data in and out: `pool fetch` (a competition pool's DCLM-Pool shards or raw WARCs), `hf fetch` / `hf ls`
//! (Hugging Face Hub datasets), `records compare` (eval records as a leaderboard), and the untokenized-dataset
//! record every shard stage writes when it completes.

use crate::common::ShardArgs;
use crate::fetch::NetArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use dclm_fetch::assets::Mirrors;
use dclm_fetch::cc::CcOutcome;
use dclm_fetch::http::DownloadConfig;
use dclm_fetch::hub::{HubConfig, HubOutcome, HubUrl};
use dclm_fetch::pool::{PoolConfig, PoolKind};
use dclm_records::{MadeBy, RecordKind, SourceRef, UntokenizedRecord};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn download_config(n: &NetArgs) -> DownloadConfig {
    DownloadConfig {
        concurrency: n.concurrency.max(1),
        max_retries: n.retries,
        backoff_initial: Duration::from_millis(n.backoff_ms),
        verbose: !n.quiet,
        ..Default::default()
    }
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n => format!("{:.1} KiB", n as f64 / 1024.0),
    }
}

/// `cargo xtask pool …`
#[derive(Args, Debug, Clone)]
pub struct PoolArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: PoolCmd,
}

/// Pool subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum PoolCmd {
    /// Download a competition scale's pool (all of it, or `--shards N` drawn with `--seed`).
    Fetch(PoolFetchArgs),
}

/// Arguments of `pool fetch`.
#[derive(Args, Debug, Clone)]
pub struct PoolFetchArgs {
    /// Competition scale: 400M-1x, 1B-1x, 3B-1x, 7B-1x, 7B-2x (the pinned lists: 400M-1x; others need --list).
    #[arg(long, default_value = "400M-1x")]
    pub scale: String,
    /// `preextracted` (DCLM-Pool `.jsonl.gz` shards, what every stage reads) or `raw-warcs` (for `extract`).
    #[arg(long, default_value = "preextracted", value_parser = ["preextracted", "raw-warcs"])]
    pub kind: String,
    /// Fetch only this many files, a seeded sample of the list (the same seed gives the same files).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Seed of the sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A pool list file to use instead of the pinned one (`s3://commoncrawl/…` lines, plain or `.gz`).
    #[arg(long)]
    pub list: Option<PathBuf>,
    /// Assets folder holding (or receiving) the pinned pool list (default: $DCLM_ASSETS, else
    /// ~/.cache/dclm-rs/assets).
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Rewrite the list's source URL: `FROM_PREFIX=TO_PREFIX`.
    #[arg(long = "mirror")]
    pub mirrors: Vec<String>,
    /// Common Crawl base URL.
    #[arg(long, default_value = dclm_fetch::cc::DEFAULT_CC_BASE)]
    pub base_url: String,
    /// Output folder.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Decode files already present again before skipping them.
    #[arg(long)]
    pub verify_existing: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

/// `cargo xtask pool fetch`
pub fn pool_main(a: &PoolArgs) -> Result<()> {
    let PoolCmd::Fetch(f) = &a.cmd;
    let assets_dir = dclm_fetch::assets::default_assets_dir(f.assets.as_deref());
    let mut cfg = PoolConfig::new(&f.scale, &assets_dir, &f.out);
    cfg.kind = match f.kind.as_str() {
        "raw-warcs" => PoolKind::RawWarcs,
        _ => PoolKind::Preextracted,
    };
    cfg.list = f.list.clone();
    cfg.shards = f.shards;
    cfg.seed = f.seed;
    cfg.base_url = f.base_url.clone();
    cfg.verify_existing = f.verify_existing;
    cfg.assets.mirrors = Mirrors::parse(&f.mirrors)?;
    cfg.assets.download = download_config(&f.net);
    let r = dclm_fetch::pool::fetch_pool(&cfg)
        .with_context(|| format!("pool fetch into {} (rerun to resume)", f.out.display()))?;
    let fetched: Vec<u64> =
        r.cc.files
            .iter()
            .filter_map(|(_, o)| match o {
                CcOutcome::Fetched(d) => Some(d.size - d.resumed_from),
                CcOutcome::AlreadyPresent => None,
            })
            .collect();
    eprintln!(
        "pool {} ({}): {} of {} listed file(s) in {}: {} fetched ({}), {} already present; all gzip-verified",
        f.scale,
        f.kind,
        r.cc.files.len(),
        r.listed,
        f.out.display(),
        fetched.len(),
        human(fetched.iter().sum()),
        r.cc.files.len() - fetched.len()
    );
    match cfg.kind {
        PoolKind::Preextracted => eprintln!(
            "next: cargo xtask filter --config dclm_baseline_refinedweb.yaml --assets ASSETS -i {} -o FILTERED",
            f.out.display()
        ),
        PoolKind::RawWarcs => eprintln!("next: cargo xtask extract -i {} -o POOL", f.out.display()),
    }
    Ok(())
}

/// `cargo xtask hf …`
#[derive(Args, Debug, Clone)]
pub struct HfArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: HfCmd,
}

/// Hub subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum HfCmd {
    /// Download the files an `hf://datasets/<owner>/<name>[@revision]/<glob>` URL selects, at one commit.
    Fetch(HfFetchArgs),
    /// List the files a URL selects, with the commit, sizes and sha256s.
    Ls(HfLsArgs),
}

/// Arguments of `hf fetch`.
#[derive(Args, Debug, Clone)]
pub struct HfFetchArgs {
    /// `hf://datasets/<owner>/<name>[@revision]/<path or glob>` (`HF_TOKEN`, `HF_ENDPOINT` honoured).
    pub url: String,
    /// Output folder (files keep their paths inside the repository).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Arguments of `hf ls`.
#[derive(Args, Debug, Clone)]
pub struct HfLsArgs {
    /// `hf://datasets/<owner>/<name>[@revision]/<path or glob>`.
    pub url: String,
}

/// `cargo xtask hf fetch|ls`
pub fn hf_main(a: &HfArgs) -> Result<()> {
    match &a.cmd {
        HfCmd::Fetch(f) => {
            let url = HubUrl::parse(&f.url)?;
            let mut cfg = HubConfig::from_env();
            cfg.download = download_config(&f.net);
            let r = dclm_fetch::hub::fetch(&cfg, &url, &f.out)
                .with_context(|| format!("hf fetch {} into {} (rerun to resume)", f.url, f.out.display()))?;
            let fetched: u64 = r
                .files
                .iter()
                .filter_map(|(_, o)| match o {
                    HubOutcome::Fetched(d) => Some(d.size - d.resumed_from),
                    HubOutcome::AlreadyPresent => None,
                })
                .sum();
            eprintln!(
                "hf: {} file(s) of {} at commit {} in {} ({} fetched); pin it with @{}",
                r.files.len(),
                url.repo,
                r.commit,
                f.out.display(),
                human(fetched),
                r.commit
            );
            Ok(())
        }
        HfCmd::Ls(l) => {
            let url = HubUrl::parse(&l.url)?;
            let cfg = HubConfig::from_env();
            let listing = dclm_fetch::hub::list(&cfg.downloader(), &cfg, &url)?;
            println!("# {} at commit {}", url.repo, listing.commit);
            for f in &listing.files {
                let size = f.size.map_or("-".to_string(), |s| s.to_string());
                println!("{size}\t{}\t{}", f.sha256.as_deref().unwrap_or("-"), f.path);
            }
            Ok(())
        }
    }
}

/// `cargo xtask records …`
#[derive(Args, Debug, Clone)]
pub struct RecordsArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: RecordsCmd,
}

/// Records subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum RecordsCmd {
    /// A leaderboard of eval records: CORE, EXTENDED (v2 and v1 baselines) and MMLU recomputed from each
    /// record's per-task results, and whether the values it stores are reproduced.
    Compare(RecordsCompareArgs),
}

/// Arguments of `records compare`.
#[derive(Args, Debug, Clone)]
pub struct RecordsCompareArgs {
    /// Eval record files (ours: `exp_data/evals/*.json` or the eval stage's results JSON; DCLM's).
    pub evals: Vec<PathBuf>,
    /// Also rank every record of this folder (e.g. a checkout's `exp_data/evals`).
    #[arg(long)]
    pub published: Option<PathBuf>,
    /// DCLM assets folder (for `eval/eval_meta_data*.csv`, `eval/additional_aggregation.json`); default
    /// $DCLM_ASSETS.
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Add a column with this task's accuracy (repeatable).
    #[arg(long = "task")]
    pub tasks: Vec<String>,
    /// Show only the best N rows (the records given as arguments are always shown).
    #[arg(long)]
    pub top: Option<usize>,
}

/// `cargo xtask records compare`
pub fn records_main(a: &RecordsArgs) -> Result<()> {
    let RecordsCmd::Compare(c) = &a.cmd;
    let Some(assets) = crate::common::assets_dir(c.assets.as_deref()) else {
        bail!("records compare needs DCLM's eval metadata: pass --assets DIR (DCLM's layout, with eval/) or set DCLM_ASSETS");
    };
    let eval_dir = [assets.join("eval"), assets.join("dclm-assets/eval")]
        .into_iter()
        .find(|d| d.join("eval_meta_data.csv").is_file())
        .with_context(|| format!("no eval/eval_meta_data.csv under {}", assets.display()))?;
    let v1 = dclm_eval::EvalMeta::from_csv(eval_dir.join("eval_meta_data_v1.csv"))?;
    let v2 = dclm_eval::EvalMeta::from_csv(eval_dir.join("eval_meta_data.csv"))?;
    let groups = dclm_eval::AggregationGroups::from_json(eval_dir.join("additional_aggregation.json"))?;
    let mut paths = c.evals.clone();
    let ours = paths.len();
    if let Some(dir) = &c.published {
        paths.extend(dclm_records::read_records(dir)?.into_iter().map(|(p, _)| p));
    }
    if paths.is_empty() {
        bail!("give eval record files and/or --published DIR");
    }
    let rows = dclm_records::compare(&paths, &v1, &v2, &groups)?;
    let (mine, published) = rows.split_at(ours);
    let mut shown: Vec<dclm_records::EvalRow> = published.to_vec();
    if let Some(n) = c.top {
        shown.sort_by(|x, y| {
            y.v2.core
                .value()
                .partial_cmp(&x.v2.core.value())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        shown.truncate(n);
    }
    shown.extend(mine.iter().cloned());
    print!("{}", dclm_records::render_table(&shown, &c.tasks));
    let diffs = rows.iter().filter(|r| r.reproduces_stored() == Some(false)).count();
    let checked = rows.iter().filter(|r| r.reproduces_stored().is_some()).count();
    eprintln!(
        "records: {} eval record(s); stored CORE/EXTENDED reproduced for {} of {} that store them",
        rows.len(),
        checked - diffs,
        checked
    );
    Ok(())
}

/// Shard-file suffixes counted as a dataset's data.
const DATA_KEYS: &[&str] = &["jsonl.gz", "jsonl.zst", "jsonl.zstd", "jsonl", "json.gz", "parquet"];

fn walk_data(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') || name == "exp_data" {
            continue;
        }
        if p.is_dir() {
            walk_data(&p, out);
        } else if DATA_KEYS.iter().any(|k| name.ends_with(&format!(".{k}"))) {
            out.push((p.clone(), e.metadata().map_or(0, |m| m.len())));
        }
    }
}

/// Where records of datasets under `out` go: `$DCLM_EXP_DATA` (e.g. a DCLM checkout's `exp_data`), else
/// `<out>/exp_data`.
pub fn exp_data_dir(out: &Path) -> PathBuf {
    std::env::var_os("DCLM_EXP_DATA").map_or_else(|| out.join("exp_data"), PathBuf::from)
}

/// After a shard stage completed: write DCLM's untokenized-dataset record of its output folder (see
/// [`record_dataset`]). Only for a local output written by one task: with `--world-size` > 1 no rank knows
/// when the others are done (nor should they race on one record).
pub fn record_stage(stage: &str, shards: &ShardArgs, config: Option<&Path>) -> Result<()> {
    let out_str = shards.out.to_string_lossy();
    if dclm_objstore::ObjectUrl::is_object_url(&out_str) || !shards.out.is_dir() || shards.world_size > 1 {
        return Ok(());
    }
    let rec = record_dataset(stage, &shards.out, &shards.inputs, config, None)?;
    eprintln!("{stage}: dataset record of {} (uuid {})", rec.name, rec.uuid);
    Ok(())
}

/// Write DCLM's untokenized-dataset record of the folder `out` to `datasets/untokenized/<name>.json` under
/// `exp` (default [`exp_data_dir`] of `out`), `name` being the folder's name. Sources are the inputs' own records, where they have one;
/// the settings are those the stage's completion markers record; a rerun with the same settings keeps the
/// record's UUID.
pub fn record_dataset(
    stage: &str,
    out: &Path,
    inputs: &[String],
    config: Option<&Path>,
    exp: Option<&Path>,
) -> Result<UntokenizedRecord> {
    let abs = std::fs::canonicalize(out).with_context(|| format!("resolving {}", out.display()))?;
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| stage.to_string());
    let mut files = Vec::new();
    walk_data(&abs, &mut files);
    let mut counts: Vec<(usize, &str)> = DATA_KEYS
        .iter()
        .map(|k| {
            (
                files
                    .iter()
                    .filter(|(p, _)| p.to_string_lossy().ends_with(&format!(".{k}")))
                    .count(),
                *k,
            )
        })
        .collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.0));
    let settings = std::fs::read_dir(abs.join(dclm_core::executor::DONE_DIR))
        .ok()
        .and_then(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "json"))
        })
        .and_then(|p| dclm_core::executor::read_marker(&p))
        .and_then(|s| s.provenance.map(|p| p.settings))
        .unwrap_or_default();
    let exp = exp.map_or_else(|| exp_data_dir(&abs), Path::to_path_buf);
    let path = dclm_records::record_path(&exp, RecordKind::Untokenized, &name);
    let mut rec = UntokenizedRecord::new(&name, &format!("{}/", abs.display()));
    keep_identity(&path, &settings, &mut rec.uuid, &mut rec.creation_date);
    rec.size = files.iter().map(|(_, n)| n).sum();
    rec.data_key = counts
        .first()
        .filter(|(n, _)| *n > 0)
        .map_or("jsonl.gz", |(_, k)| *k)
        .to_string();
    let mut sources: Vec<SourceRef> = Vec::new();
    for input in inputs {
        let p = Path::new(input);
        let dir = if p.is_dir() {
            p.to_path_buf()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        if let Some(s) = source_of(&dir, &exp) {
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
    }
    rec.sources = sources;
    let mut made = MadeBy::new(stage);
    made.command = std::env::args().collect();
    made.settings = settings;
    made.inputs = inputs.to_vec();
    if let Some(c) = config {
        made.config = Some(c.display().to_string());
        made.config_sha256 = dclm_fetch::http::sha256_file(c).ok().map(|(h, _)| h);
    }
    rec.dclm_rs = made;
    dclm_records::write_record(&exp, RecordKind::Untokenized, &name, &rec)?;
    Ok(rec)
}

/// The record of the dataset in folder `dir`: in its own `exp_data`, else in `exp`.
fn source_of(dir: &Path, exp: &Path) -> Option<SourceRef> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let url = format!("{}/", dir.display());
    dclm_records::find_by_url(&exp_data_dir(&dir), RecordKind::Untokenized, &url)
        .or_else(|| dclm_records::find_by_url(exp, RecordKind::Untokenized, &url))
}

/// Keep the UUID and creation date of an earlier record at `path` made with the same settings.
fn keep_identity(path: &Path, settings: &str, uuid: &mut String, date: &mut String) {
    if let Ok(old) = dclm_records::read_record(path) {
        if old.pointer("/dclm_rs/settings").and_then(|v| v.as_str()) == Some(settings) {
            if let (Some(u), Some(d)) = (old["uuid"].as_str(), old["creation_date"].as_str()) {
                *uuid = u.to_string();
                *date = d.to_string();
            }
        }
    }
}

/// The tokenized-dataset record of token shards in `tok_dir` (`manifest.jsonl` with `num_sequences` per shard,
/// sequences of `seqlen` tokens) made from the dataset in `source_dir`, under the run folder `run_out`.
pub fn record_tokenized(
    run_out: &Path,
    tok_dir: &Path,
    source_dir: &Path,
    tokenizer: &str,
    seqlen: usize,
    settings: &str,
) -> Result<dclm_records::TokenizedRecord> {
    let tok = std::fs::canonicalize(tok_dir).with_context(|| format!("resolving {}", tok_dir.display()))?;
    let exp = exp_data_dir(&std::fs::canonicalize(run_out)?);
    let name = format!("{}-tokenized", dir_name(run_out));
    let manifest = tok.join("manifest.jsonl");
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let mut sequences = 0u64;
    let mut size = 0u64;
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}", manifest.display(), i + 1))?;
        sequences += v["num_sequences"]
            .as_u64()
            .with_context(|| format!("{}:{}: no num_sequences", manifest.display(), i + 1))?;
        if let Some(shard) = v["shard"].as_str() {
            size += std::fs::metadata(tok.join(format!("{shard}.tar"))).map_or(0, |m| m.len());
        }
    }
    let path = dclm_records::record_path(&exp, RecordKind::Tokenized, &name);
    let mut rec = dclm_records::TokenizedRecord::new(&name, &tok.display().to_string(), tokenizer);
    keep_identity(&path, settings, &mut rec.uuid, &mut rec.creation_date);
    rec.num_tokens = sequences * seqlen as u64;
    rec.size = size;
    if let Some(s) = record_dataset("quality", source_dir, &[], None, Some(&exp))
        .ok()
        .map(|r| SourceRef {
            uuid: r.uuid,
            name: r.name,
        })
    {
        rec.sources = vec![s];
    }
    let mut made = MadeBy::new("tokenize");
    made.command = std::env::args().collect();
    made.settings = settings.to_string();
    made.inputs = vec![source_dir.display().to_string()];
    rec.dclm_rs = made;
    dclm_records::write_record(&exp, RecordKind::Tokenized, &name, &rec)?;
    Ok(rec)
}

fn dir_name(p: &Path) -> String {
    std::fs::canonicalize(p)
        .ok()
        .and_then(|a| a.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "run".into())
}

/// The model record of a training run in `train_dir`, trained on the run's tokenized dataset (its record
/// written by [`record_tokenized`]).
pub fn record_model(
    run_out: &Path,
    train_dir: &Path,
    run: &dclm_train::train::RunRecord,
    settings: &str,
) -> Result<dclm_records::ModelRecord> {
    let exp = exp_data_dir(&std::fs::canonicalize(run_out)?);
    let tok_path = dclm_records::record_path(&exp, RecordKind::Tokenized, &format!("{}-tokenized", dir_name(run_out)));
    let dataset: dclm_records::TokenizedRecord = serde_json::from_value(dclm_records::read_record(&tok_path)?)
        .with_context(|| format!("reading {}", tok_path.display()))?;
    let p = &run.hyperparameters;
    let name = format!("{}-{}", dataset.name, p.name);
    let params_no_embed = run
        .params
        .saturating_sub((p.model.vocab_size * p.model.hidden_dim) as u64);
    let hp = serde_json::json!({
        "model": p.dclm_config,
        "tokens": p.tokens,
        "warmup": p.warmup,
        "lr": p.lr,
        "wd": p.weight_decay,
        "cd": p.min_lr,
        "global_bs": p.global_batch,
        "acc": p.accum,
        "qk_norm": p.model.qk_norm,
        "z_loss": p.z_loss,
        "grad_checkpointing": false,
        "params": run.params,
        "params_no_embed": params_no_embed,
        "fsdp_flags": [],
        "chinchilla_multiplier": p.chinchilla_multiplier as f64,
        "seed": p.seed,
    });
    let train = std::fs::canonicalize(train_dir)?;
    let path = dclm_records::record_path(&exp, RecordKind::Model, &name);
    let mut rec = dclm_records::ModelRecord {
        name: name.clone(),
        dataset_name: dataset.name.clone(),
        dataset_uuid: dataset.uuid.clone(),
        hyperparameters: hp.as_object().cloned().unwrap_or_default(),
        checkpoint_url: train.join("model.safetensors").display().to_string(),
        open_lm_version: "dclm-rs".into(),
        open_lm_args: std::env::args().skip(1).collect(),
        results: Vec::new(),
        params_url: train.join("run.json").display().to_string(),
        uuid: dclm_records::new_uuid(),
        creation_date: dclm_records::creation_date_now(),
        failed: false,
        error: String::new(),
        dclm_rs: MadeBy::new("train"),
    };
    keep_identity(&path, settings, &mut rec.uuid, &mut rec.creation_date);
    rec.dclm_rs.settings = settings.to_string();
    rec.dclm_rs.command = std::env::args().collect();
    dclm_records::write_record(&exp, RecordKind::Model, &name, &rec)?;
    Ok(rec)
}

/// The eval record of `report` for the run's model (its record written by [`record_model`] as `model_name`).
pub fn record_eval(run_out: &Path, report: &dclm_eval::EvalReport, model_name: &str) -> Result<PathBuf> {
    let exp = exp_data_dir(&std::fs::canonicalize(run_out)?);
    let model_path = dclm_records::record_path(&exp, RecordKind::Model, model_name);
    let model: dclm_records::ModelRecord = serde_json::from_value(dclm_records::read_record(&model_path)?)
        .with_context(|| format!("reading {}", model_path.display()))?;
    let name = format!("{}-eval", model.name);
    let model = &model;
    let arch = model
        .hyperparameters
        .get("model")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let rec = dclm_records::eval_record(&report.to_dclm_json(), &name, arch, &model.uuid);
    Ok(dclm_records::write_record(&exp, RecordKind::Eval, &name, &rec)?)
}

/// The name [`record_model`] gives the run's model.
pub fn model_record_name(run_out: &Path, preset: &str) -> String {
    format!("{}-tokenized-{preset}", dir_name(run_out))
}

/// `hf://datasets/…` entries of an input list downloaded (resumably, at the commit each revision resolves to)
/// under `dir/<owner>/<name>/`, replaced by the files they select; other entries are kept as given. For commands
/// that read local files only (the baseline, whose tokenize+shuffle reads its inputs directly).
pub fn fetch_hub_inputs(inputs: &[String], dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(inputs.len());
    for s in inputs {
        if !HubUrl::is_hub_url(s) {
            out.push(s.clone());
            continue;
        }
        let url = HubUrl::parse(s)?;
        let dest = dir.join(&url.repo);
        let r = dclm_fetch::hub::fetch(&HubConfig::from_env(), &url, &dest)
            .with_context(|| format!("fetching {s} into {} (rerun to resume)", dest.display()))?;
        eprintln!(
            "{s}: {} file(s) at commit {} in {}",
            r.files.len(),
            r.commit,
            dest.display()
        );
        out.extend(r.files.into_iter().map(|(p, _)| p.to_string_lossy().into_owned()));
    }
    Ok(out)
}

/// DCLM's tokenized-dataset record `exp/datasets/tokenized/<name>.json` of the token shards in `tok_dir` (sequences
/// counted from `manifest.jsonl`, `seqlen` tokens each), made by `stage` from `inputs`.
pub fn record_token_shards(
    exp: &Path,
    name: &str,
    tok_dir: &Path,
    tokenizer: &str,
    seqlen: usize,
    stage: &str,
    inputs: &[String],
) -> Result<PathBuf> {
    let tok = std::fs::canonicalize(tok_dir).with_context(|| format!("resolving {}", tok_dir.display()))?;
    let entries = dclm_train::data::read_manifest(&tok)?;
    let mut rec = dclm_records::TokenizedRecord::new(name, &tok.display().to_string(), tokenizer);
    rec.num_tokens = entries.iter().map(|e| e.num_sequences).sum::<u64>() * seqlen as u64;
    rec.size = entries
        .iter()
        .map(|e| std::fs::metadata(tok.join(format!("{}.tar", e.shard))).map_or(0, |m| m.len()))
        .sum();
    let mut made = MadeBy::new(stage);
    made.command = std::env::args().collect();
    made.inputs = inputs.to_vec();
    rec.dclm_rs = made;
    Ok(dclm_records::write_record(exp, RecordKind::Tokenized, name, &rec)?)
}
