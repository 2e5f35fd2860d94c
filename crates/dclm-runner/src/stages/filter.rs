//! `dclm filter`: a DCLM YAML heuristic pipeline (e.g. `dclm_baseline_refinedweb.yaml`) over JSONL shards.
//! Inputs and output may be local or `s3://` (see [`crate::common::StageIo`]).

use crate::common::{assets_dir, report_summary, Batch, ShardArgs, StageIo};
use anyhow::{Context, Result};
use clap::Args;
use dclm_core::RunSummary;
use dclm_filter::{fasttext_lid_loader, BuildContext, FilterRunConfig, LanguageId, Registry};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `filter`.
#[derive(Args, Debug, Clone)]
pub struct FilterArgs {
    #[command(flatten)]
    pub shards: ShardArgs,
    /// DCLM YAML pipeline config (relative asset paths resolve against `--assets`).
    #[arg(long)]
    pub config: PathBuf,
    /// DCLM assets folder (DCLM's repository layout); default `$DCLM_ASSETS`.
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Skip these steps (1-based index in the config), e.g. 2 for the curated-domain banlist DCLM
    /// downloads separately.
    #[arg(long = "skip-step")]
    pub skip_steps: Vec<usize>,
    /// Language ID for the config's fastText LID step: `config` (the model the config names, e.g. lid.176) or
    /// `stopwords` (the built-in stop-word stand-in the offline baseline uses; not a general language identifier).
    #[arg(long, default_value = "config", value_parser = ["config", "stopwords"])]
    pub lid: String,
    /// Write outputs with this extension instead of the input's (`parquet`, `jsonl.gz`, `jsonl.zst`, `jsonl`).
    #[arg(long)]
    pub output_extension: Option<String>,
}

/// Settings for one filter run (built from CLI args or by the baseline).
pub struct FilterJob {
    /// The crate's run configuration.
    pub cfg: FilterRunConfig,
    /// Language-ID backend to use instead of the config's fastText model (the baseline's stand-in).
    pub language_id: Option<Arc<dyn LanguageId>>,
}

/// Build the run configuration from CLI arguments for one batch of local inputs.
pub fn job(a: &FilterArgs, batch: &Batch) -> Result<FilterJob> {
    let mut cfg = FilterRunConfig::new(&a.config, batch.inputs.clone(), &batch.out);
    cfg.executor = a.shards.executor_config("filter");
    // The language-ID backend changes the output; the config file and assets are fingerprinted by the crate.
    cfg.executor.settings = format!("lid={}", a.lid);
    cfg.executor.output_dir = batch.out.clone();
    cfg.executor.rank = batch.rank;
    cfg.executor.world_size = batch.world_size;
    cfg.executor.output_extension = a.output_extension.clone();
    if let Some(d) = assets_dir(a.assets.as_deref()) {
        cfg.assets_dir = d;
    }
    cfg.load.skip_steps = a.skip_steps.clone();
    let language_id: Option<Arc<dyn LanguageId>> = match a.lid.as_str() {
        "stopwords" => Some(Arc::new(crate::standin::StopwordLid::default())),
        _ => None,
    };
    Ok(FilterJob { cfg, language_id })
}

/// Run the stage.
pub fn run(job: &FilterJob) -> Result<RunSummary> {
    let registry = Registry::dclm();
    let mut ctx = BuildContext::new(&job.cfg.assets_dir).with_lid_loader(fasttext_lid_loader());
    if let Some(lid) = &job.language_id {
        ctx = ctx.with_language_id(lid.clone());
    }
    dclm_filter::run::run(&job.cfg, &registry, ctx)
        .with_context(|| format!("filter stage with config {}", job.cfg.config.display()))
}

/// `dclm filter …`
pub fn main(a: &FilterArgs) -> Result<()> {
    let io = StageIo::new("filter", &a.shards, a.output_extension.as_deref())?;
    let s = io.run_batched(|batch| run(&job(a, batch)?))?;
    report_summary("filter", &s, &a.shards)
        .and_then(|()| crate::datasets::record_stage("filter", &a.shards, Some(&a.config)))
}
