//! `cargo xtask extract`: Common Crawl WARC → DCLM-Pool JSONL (resiliparse-faithful main-content text).

use crate::common::{expand_inputs, report_summary, ShardArgs};
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
    /// Output extension (`jsonl.gz` as DCLM-Pool, or `jsonl.zst`).
    #[arg(long, default_value = "jsonl.gz")]
    pub output_extension: String,
}

/// Build the crate's configuration from CLI arguments.
pub fn config(a: &ExtractArgs) -> Result<ExtractConfig> {
    let inputs = expand_inputs(&a.shards.inputs)?;
    let mut cfg = ExtractConfig::new(inputs, &a.shards.out);
    cfg.threads = a.shards.threads;
    cfg.rank = a.shards.rank;
    cfg.world_size = a.shards.world_size;
    cfg.progress = !a.shards.no_progress;
    cfg.main_content = !a.keep_boilerplate;
    cfg.output_extension = a.output_extension.clone();
    if a.decode_charsets {
        cfg.decoding = Decoding::DetectCharset;
    }
    Ok(cfg)
}

/// Run the stage.
pub fn run(cfg: &ExtractConfig) -> Result<RunSummary> {
    dclm_extract::run(cfg).context("extract stage")
}

/// `cargo xtask extract …`
pub fn main(a: &ExtractArgs) -> Result<()> {
    let s = run(&config(a)?)?;
    report_summary("extract", &s)
}
