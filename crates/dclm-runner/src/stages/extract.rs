//! `dclm extract`: Common Crawl WARC → DCLM-Pool JSONL (resiliparse-faithful main-content text).
//! Inputs and output may be local or `s3://` (see [`crate::common::StageIo`]).

use crate::common::{report_summary, Batch, ShardArgs, StageIo};
use anyhow::{Context, Result};
use clap::Args;
use dclm_core::RunSummary;
use dclm_extract::{Decoding, ExtractConfig};

/// Arguments of `extract`.
#[derive(Args, Debug, Clone)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub shards: ShardArgs,
    /// Keep boilerplate (resiliparse `main_content=False`).
    #[arg(long)]
    pub keep_boilerplate: bool,
    /// Decode non-UTF-8 pages by their declared charset instead of dropping them as DCLM does.
    #[arg(long)]
    pub decode_charsets: bool,
    /// Output extension (`jsonl.gz` as DCLM-Pool, `jsonl.zst`, or `parquet`).
    #[arg(long, default_value = "jsonl.gz")]
    pub output_extension: String,
}

/// Build the crate's configuration from CLI arguments for one batch of local inputs.
pub fn config(a: &ExtractArgs, batch: &Batch) -> ExtractConfig {
    let mut cfg = ExtractConfig::new(batch.inputs.clone(), &batch.out);
    cfg.threads = a.shards.threads;
    cfg.rank = batch.rank;
    cfg.world_size = batch.world_size;
    cfg.progress = !a.shards.no_progress;
    cfg.main_content = !a.keep_boilerplate;
    cfg.output_extension = a.output_extension.clone();
    cfg.fresh = a.shards.fresh;
    cfg.accept_partial = a.shards.accept_partial;
    if a.decode_charsets {
        cfg.decoding = Decoding::DetectCharset;
    }
    cfg
}

/// Run the stage.
pub fn run(cfg: &ExtractConfig) -> Result<RunSummary> {
    dclm_extract::run(cfg).context("extract stage")
}

/// `dclm extract …`
pub fn main(a: &ExtractArgs) -> Result<()> {
    let io = StageIo::new(dclm_extract::run::STAGE, &a.shards, Some(&a.output_extension))?;
    let s = io.run_batched(|batch| run(&config(a, batch)))?;
    report_summary("extract", &s, &a.shards).and_then(|()| crate::datasets::record_stage("extract", &a.shards, None))
}
