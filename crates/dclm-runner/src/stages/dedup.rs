//! `dclm dedup`: BFF Bloom-filter dedup (DCLM's old-both by default), MinHash-LSH or exact dedup.
//!
//! MinHash and exact dedup are global; over several tasks they run as phases that exchange files under
//! `<out>/_signatures/`: `--phase map` on every rank (signature files of its shards), `--phase reduce` once
//! (merge → `drops.json`), `--phase apply` on every rank (its shards without the dropped documents).
//! `--phase all` (the default) runs the three in one process; the outputs are the same byte for byte.
//! `--phase all` also takes `s3://` inputs and output (staged whole by [`StageIo`]); the phases need a shared
//! file system.

use crate::common::{expand_inputs, report_summary, ShardArgs, StageIo};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use dclm_dedup::exact::ExactKey;
use dclm_dedup::minhash::MinHashConfig;
use dclm_dedup::run::{
    drop_set_path, global_apply, global_map, global_reduce, BffRunConfig, DedupReport, DedupSummary, Method, RunConfig,
};
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

/// Which part of a global (MinHash / exact) dedup to run.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseArg {
    /// Everything in one process (world size 1).
    All,
    /// Signatures of this rank's shards.
    Map,
    /// Merge every shard's signatures into the drop set (one task, after all map tasks).
    Reduce,
    /// This rank's shards without the dropped documents (after the reduce).
    Apply,
}

/// Arguments of `dedup`.
#[derive(Args, Debug, Clone)]
pub struct DedupArgs {
    #[command(flatten)]
    pub shards: ShardArgs,
    /// Method.
    #[arg(long, value_enum, default_value = "bff")]
    pub method: MethodArg,
    /// Global dedup phase (MinHash / exact over several tasks): all, map, reduce, apply.
    #[arg(long, value_enum, default_value = "all")]
    pub phase: PhaseArg,
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
    #[command(flatten)]
    pub minhash: MinHashArgs,
}

/// MinHash-LSH settings: a preset, then any parameter overridden at run time.
#[derive(Args, Debug, Clone, Default)]
pub struct MinHashArgs {
    /// MinHash preset: `dclm-ablation` (DCLM's b15.r93 as 93 bands x 15 rows, word unigrams, pair check 0.74;
    /// the default) or `minhash-rs-5gram` (93 x 15, 5-word shingles, no pair check).
    #[arg(long)]
    pub minhash_preset: Option<String>,
    /// MinHash: words per shingle.
    #[arg(long)]
    pub shingle_size: Option<usize>,
    /// MinHash: number of LSH bands.
    #[arg(long)]
    pub bands: Option<usize>,
    /// MinHash: rows (hashes) per band.
    #[arg(long)]
    pub rows: Option<usize>,
    /// MinHash: permutation seed.
    #[arg(long)]
    pub minhash_seed: Option<u64>,
    /// MinHash: keep a candidate pair only if its estimated Jaccard similarity is at least this (0 = no check).
    #[arg(long)]
    pub jaccard_threshold: Option<f64>,
}

impl MinHashArgs {
    /// The preset with the overrides applied.
    pub fn config(&self) -> Result<MinHashConfig> {
        let mut c = MinHashConfig::preset(self.minhash_preset.as_deref().unwrap_or("dclm-ablation"))?;
        if let Some(v) = self.shingle_size {
            c.shingle_size = v;
        }
        if let Some(v) = self.bands {
            c.bands = v;
        }
        if let Some(v) = self.rows {
            c.rows = v;
        }
        if let Some(v) = self.minhash_seed {
            c.seed = v;
        }
        if let Some(v) = self.jaccard_threshold {
            c.jaccard_threshold = v;
        }
        // Validate now (zero sizes, out-of-range threshold) so a bad flag fails before any work.
        dclm_dedup::minhash::MinHashLsh::new(c.clone())?;
        Ok(c)
    }
}

/// Build the crate's run configuration.
pub fn config(a: &DedupArgs, inputs: &[PathBuf]) -> Result<RunConfig> {
    if a.method == MethodArg::Bff && a.phase != PhaseArg::All {
        bail!("--phase map/reduce/apply is for MinHash and exact dedup; BFF runs as one phase");
    }
    if a.shards.world_size != 1 && a.method != MethodArg::Bff && a.phase == PhaseArg::All {
        bail!(
            "MinHash and exact dedup are global: over several tasks run --phase map on every rank, --phase reduce \
             once, then --phase apply on every rank (or one task with --phase all; it parallelizes with --threads)"
        );
    }
    if a.shards.rank >= a.shards.world_size.max(1) {
        bail!(
            "--rank {} is not below --world-size {}",
            a.shards.rank,
            a.shards.world_size
        );
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
        MethodArg::Minhash => Method::MinHash(a.minhash.config()?),
        MethodArg::Exact => Method::Exact(ExactKey::NormalizedText),
    };
    let mut cfg = RunConfig::new(method, &a.shards.out);
    cfg.threads = a.shards.threads;
    cfg.rank = a.shards.rank;
    cfg.world_size = a.shards.world_size;
    cfg.progress = !a.shards.no_progress;
    cfg.fresh = a.shards.fresh;
    cfg.accept_partial = a.shards.accept_partial;
    Ok(cfg)
}

/// Run the stage.
pub fn run(cfg: &RunConfig, inputs: &[PathBuf]) -> Result<DedupSummary> {
    dclm_dedup::run::run(cfg, inputs).context("dedup stage")
}

/// `dclm dedup …`
pub fn main(a: &DedupArgs) -> Result<()> {
    if a.phase == PhaseArg::All {
        return main_all(a);
    }
    // map / reduce / apply
    for p in a.shards.inputs.iter().map(String::as_str).chain(a.shards.out.to_str()) {
        if dclm_objstore::ObjectUrl::is_object_url(p) {
            bail!("dedup --phase map/reduce/apply exchange files on a shared file system; {p} is an object URL");
        }
    }
    let inputs = expand_inputs(&a.shards.inputs)?;
    let cfg = config(a, &inputs)?;
    match a.phase {
        PhaseArg::All => main_all(a), // returned above; kept so the match is exhaustive without a panic
        PhaseArg::Map => {
            let s = global_map(&cfg, &inputs).context("dedup map phase")?;
            eprintln!(
                "dedup map (rank {} of {}): {} shards signed, {} skipped (up to date); docs in {}, with a \
                 signature {}; {} input errors",
                cfg.rank, cfg.world_size, s.shards_run, s.shards_skipped, s.docs_in, s.signed, s.errors
            );
            Ok(())
        }
        PhaseArg::Reduce => {
            let drops = global_reduce(&cfg, &inputs).context("dedup reduce phase")?;
            let report = DedupReport {
                method: method_name(a.method).into(),
                docs_removed: drops.dropped(),
                signed_docs: drops.docs,
                clusters: drops.clusters,
                ..Default::default()
            };
            let json = serde_json::to_vec_pretty(&report)?;
            dclm_core::io::write_atomic(&a.shards.out.join("dedup_report.json"), &json)?;
            eprintln!(
                "dedup reduce: {} shards, {} documents with a signature, {} clusters, {} to drop → {}",
                inputs.len(),
                drops.docs,
                drops.clusters,
                drops.dropped(),
                drop_set_path(&cfg).display()
            );
            Ok(())
        }
        PhaseArg::Apply => {
            let s = global_apply(&cfg, &inputs).context("dedup apply phase")?;
            report_summary("dedup", &s, &a.shards)
        }
    }
}

fn method_name(m: MethodArg) -> &'static str {
    match m {
        MethodArg::Bff => "bff",
        MethodArg::Minhash => "minhash",
        MethodArg::Exact => "exact",
    }
}

/// `--phase all`: one process over every input, local or `s3://` (StageIo stages the whole input, since dedup
/// is global).
fn main_all(a: &DedupArgs) -> Result<()> {
    let mut io = StageIo::new("dedup", &a.shards, None)?;
    io.publish_top_level(&["dedup_report.json"]);
    let s = io.run_whole(|b| {
        let mut local = a.clone();
        local.shards.out = b.out.clone();
        local.shards.rank = b.rank;
        local.shards.world_size = b.world_size;
        let s = run(&config(&local, &b.inputs)?, &b.inputs)?;
        eprintln!("{}", serde_json::to_string_pretty(&s.report)?);
        Ok(s.run)
    })?;
    report_summary("dedup", &s, &a.shards).and_then(|()| crate::datasets::record_stage("dedup", &a.shards, None))
}
