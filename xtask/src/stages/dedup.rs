//! `cargo xtask dedup`: BFF Bloom-filter dedup (DCLM's old-both by default), MinHash-LSH or exact dedup.

use crate::common::{expand_inputs, report_summary, ShardArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use dclm_dedup::exact::ExactKey;
use dclm_dedup::minhash::MinHashConfig;
use dclm_dedup::run::{BffRunConfig, DedupSummary, Method, RunConfig};
use dclm_dedup::RemoveMode;
use std::path::PathBuf;

/// Which dedup method.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodArg {
    /// BFF Bloom-filter n-gram dedup (DCLM-Baseline).
    Bff,
    /// MinHash-LSH near-duplicate removal.
    Minhash,
    /// Exact duplicates of normalized text.
    Exact,
}

/// Arguments of `dedup`.
#[derive(Args, Debug, Clone)]
pub struct DedupArgs {
    #[command(flatten)]
    pub shards: ShardArgs,
    /// Method.
    #[arg(long, value_enum, default_value = "bff")]
    pub method: MethodArg,
    /// BFF remove mode: old-both (DCLM), paragraph, document, both, exact.
    #[arg(long, default_value = "old-both")]
    pub mode: String,
    /// BFF: expected n-gram count (sizes the filter); default: estimated from the inputs' sizes.
    #[arg(long)]
    pub expected_ngrams: Option<u64>,
    /// BFF: false-positive rate.
    #[arg(long, default_value_t = 0.01)]
    pub fp_rate: f64,
    /// BFF: n-gram size.
    #[arg(long, default_value_t = 13)]
    pub ngram_size: usize,
    /// BFF: containment threshold.
    #[arg(long, default_value_t = 0.8)]
    pub threshold: f64,
    /// BFF: annotate duplicate spans instead of removing them.
    #[arg(long)]
    pub annotate: bool,
    /// BFF: a fresh filter per shard, as DCLM ran it (default: one filter across all shards).
    #[arg(long)]
    pub per_shard: bool,
    /// BFF: load the filter from / save it to this file.
    #[arg(long)]
    pub filter_file: Option<PathBuf>,
}

/// Build the crate's run configuration.
pub fn config(a: &DedupArgs, inputs: &[PathBuf]) -> Result<RunConfig> {
    if a.shards.world_size != 1 && a.method != MethodArg::Bff {
        bail!("MinHash and exact dedup are global: run them as one task; they parallelize with --threads");
    }
    let method = match a.method {
        MethodArg::Bff => {
            let expected = match a.expected_ngrams {
                Some(n) => n,
                None => dclm_dedup::run::estimate_ngrams(inputs)?.max(1_000),
            };
            let mut b = BffRunConfig::new(expected);
            b.bff.mode = a
                .mode
                .parse::<RemoveMode>()
                .map_err(|e| anyhow::anyhow!("--mode: {e}"))?;
            b.bff.ngram_size = a.ngram_size;
            b.bff.min_ngram_size = a.ngram_size;
            b.bff.threshold = a.threshold;
            b.bff.annotate = a.annotate;
            b.fp_rate = a.fp_rate;
            b.cross_shard = !a.per_shard;
            b.filter_file = a.filter_file.clone();
            Method::Bff(b)
        }
        MethodArg::Minhash => Method::MinHash(MinHashConfig::default()),
        MethodArg::Exact => Method::Exact(ExactKey::NormalizedText),
    };
    let mut cfg = RunConfig::new(method, &a.shards.out);
    cfg.threads = a.shards.threads;
    cfg.rank = a.shards.rank;
    cfg.world_size = a.shards.world_size;
    cfg.progress = !a.shards.no_progress;
    Ok(cfg)
}

/// Run the stage.
pub fn run(cfg: &RunConfig, inputs: &[PathBuf]) -> Result<DedupSummary> {
    dclm_dedup::run::run(cfg, inputs).context("dedup stage")
}

/// `cargo xtask dedup …`
pub fn main(a: &DedupArgs) -> Result<()> {
    let inputs = expand_inputs(&a.shards.inputs)?;
    let s = run(&config(a, &inputs)?, &inputs)?;
    eprintln!("{}", serde_json::to_string_pretty(&s.report)?);
    report_summary("dedup", &s.run)
}
