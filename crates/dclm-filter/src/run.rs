//! The stage entry point for runners (`cargo xtask filter`, the heuristic stage of `cargo xtask baseline`):
//! build the pipeline from a DCLM config (all steps checked first), then stream JSONL shards (pages with any
//! `text`, or none, as in DCLM) through `dclm_core::Executor::run_docs_many`, writing output shards, `stats.json`, and `filter_steps.json` (per-step
//! counters plus the number of documents whose text each step changed, which `StepStats` has no field for).

use crate::config::{LoadOptions, PipelineConfig};
use crate::error::{FilterError, Result};
use crate::pipeline::Pipeline;
use crate::registry::{BuildContext, Registry};
use dclm_core::{Executor, ExecutorConfig, RunSummary};
use serde::Serialize;
use std::path::PathBuf;

/// Everything a filter run needs.
#[derive(Debug, Clone)]
pub struct FilterRunConfig {
    /// DCLM YAML pipeline file.
    pub config: PathBuf,
    /// Input shards (`*.jsonl`, `.jsonl.gz`, `.jsonl.zst`).
    pub inputs: Vec<PathBuf>,
    /// Executor settings (output folder, threads, rank/world size, …). Its `stage` names the stats.
    pub executor: ExecutorConfig,
    /// Which source block and which steps to skip.
    pub load: LoadOptions,
    /// Relative asset paths in the config resolve against this (`--assets DIR`, else `$DCLM_ASSETS`).
    pub assets_dir: PathBuf,
}

impl FilterRunConfig {
    /// Defaults: stage `filter`, assets from `$DCLM_ASSETS` or the current folder.
    pub fn new(config: impl Into<PathBuf>, inputs: Vec<PathBuf>, output_dir: impl Into<PathBuf>) -> Self {
        FilterRunConfig {
            config: config.into(),
            inputs,
            executor: ExecutorConfig::new("filter", output_dir),
            load: LoadOptions::default(),
            assets_dir: std::env::var_os("DCLM_ASSETS").map_or_else(|| PathBuf::from("."), PathBuf::from),
        }
    }
}

/// One row of `filter_steps.json`.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Stats label (`<index>:<func>`).
    pub step: String,
    /// Documents in.
    pub docs_in: u64,
    /// Documents kept.
    pub docs_out: u64,
    /// Drops by reason.
    pub dropped: std::collections::BTreeMap<String, u64>,
    /// Documents whose text the step changed (this run's shards only).
    pub text_modified: u64,
    /// Seconds inside the step, summed over threads.
    pub seconds: f64,
}

/// Build the pipeline a run would use (fails before any data is read on a bad config).
pub fn build(cfg: &FilterRunConfig, registry: &Registry, ctx: BuildContext) -> Result<(Pipeline, Vec<String>)> {
    let mut ctx = ctx;
    ctx.assets_dir = cfg.assets_dir.clone();
    let pc = PipelineConfig::load(&cfg.config)?;
    let loaded = pc.build(registry, &ctx, &cfg.load)?;
    let skipped = loaded
        .skipped
        .iter()
        .map(|l| format!("{}:{}", l.index, l.func))
        .collect();
    Ok((loaded.pipeline, skipped))
}

/// Fingerprint of what decides a filter run's output: the config file's bytes, the skipped steps, the assets
/// folder, the caller's own settings (`executor.settings`, e.g. the language-ID backend) and the tool version.
pub fn settings_fingerprint(cfg: &FilterRunConfig) -> Result<String> {
    let mut fp = dclm_core::Fingerprint::new(&cfg.executor.stage);
    fp.add("caller", cfg.executor.settings.as_bytes())
        .add_debug("load", &cfg.load)
        .add("assets", cfg.assets_dir.to_string_lossy().as_bytes());
    fp.add_file("config", &cfg.config).map_err(FilterError::from)?;
    Ok(fp.finish())
}

/// Run the filter stage. `ctx` supplies the language-ID backend (see [`BuildContext`]); its `assets_dir` is
/// replaced by `cfg.assets_dir`.
pub fn run(cfg: &FilterRunConfig, registry: &Registry, ctx: BuildContext) -> Result<RunSummary> {
    let (pipeline, skipped) = build(cfg, registry, ctx)?;
    for s in &skipped {
        eprintln!("warning: step {s} skipped on request");
    }
    // DCLM's page model: pages without a string `text` reach the steps (a step that needs it drops them).
    let mut exec_cfg = cfg.executor.clone();
    exec_cfg.any_text = true;
    exec_cfg.settings = settings_fingerprint(cfg)?;
    let exec = Executor::new(exec_cfg)?;
    let summary = exec.run_docs_many(&cfg.inputs, |doc, stats, out| pipeline.process_into(doc, stats, out))?;
    let modified = pipeline.modified_counts();
    let report: Vec<StepReport> = summary
        .stats
        .steps
        .iter()
        .map(|s| StepReport {
            step: s.name.clone(),
            docs_in: s.docs_in,
            docs_out: s.docs_out,
            dropped: s.dropped.clone(),
            text_modified: modified.iter().find(|(l, _)| *l == s.name).map_or(0, |m| m.1),
            seconds: s.seconds,
        })
        .collect();
    let path = summary
        .stats_path
        .parent()
        .map_or_else(|| PathBuf::from("filter_steps.json"), |d| d.join("filter_steps.json"));
    let json = serde_json::to_vec_pretty(&serde_json::json!({ "skipped": skipped, "steps": report })).map_err(|e| {
        FilterError::Config {
            path: path.clone(),
            message: e.to_string(),
        }
    })?;
    std::fs::write(&path, json).map_err(|source| FilterError::Io { path, source })?;
    Ok(summary)
}
