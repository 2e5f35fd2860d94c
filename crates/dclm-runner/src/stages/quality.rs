//! `dclm quality` (score with a fastText classifier and keep the best documents) and
//! `dclm quality-train` (train such a classifier from positives and negatives, as DCLM did).
//! `quality` inputs and output may be local or `s3://` (see [`crate::common::StageIo`]).

use crate::common::{expand_inputs, report_summary, ShardArgs, StageIo};
use anyhow::{bail, Context, Result};
use clap::Args;
use dclm_fasttext::quality::{QualityRun, DCLM_BASELINE_SCORE_KEY, DCLM_BASELINE_THRESHOLD};
use dclm_fasttext::{QualityConfig, ThresholdMode, TrainArgs};
use std::path::{Path, PathBuf};

/// Arguments of `quality`.
#[derive(Args, Debug, Clone)]
pub struct QualityArgs {
    #[command(flatten)]
    pub shards: ShardArgs,
    /// fastText classifier (`.bin`/`.ftz`) with labels `__label__hq` / `__label__cc` (DCLM's released
    /// `openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin`, or one from `quality-train`).
    #[arg(long)]
    pub model: PathBuf,
    /// Keep this fraction of the pool (top-k% by score, computed over all inputs). Default: DCLM-Baseline's
    /// fixed threshold 0.018112 on its released classifier (≈ top 10% of its pool).
    #[arg(long)]
    pub keep_fraction: Option<f64>,
    /// A fixed score threshold instead.
    #[arg(long, conflicts_with = "keep_fraction")]
    pub threshold: Option<f64>,
    /// Only add the score, keep every document.
    #[arg(long, conflicts_with_all = ["keep_fraction", "threshold"])]
    pub enrich_only: bool,
    /// Key the score is written under.
    #[arg(long, default_value = DCLM_BASELINE_SCORE_KEY)]
    pub key: String,
    /// Write outputs with this extension instead of the input's (`parquet`, `jsonl.gz`, `jsonl.zst`, `jsonl`).
    #[arg(long)]
    pub output_extension: Option<String>,
}

/// The crate's configuration from CLI arguments.
pub fn config(a: &QualityArgs) -> QualityConfig {
    let mut cfg = QualityConfig::dclm_baseline(&a.model);
    cfg.key = a.key.clone();
    cfg.mode = if a.enrich_only {
        ThresholdMode::EnrichOnly
    } else if let Some(f) = a.keep_fraction {
        ThresholdMode::TopFraction {
            keep_fraction: f,
            sample: None,
        }
    } else {
        ThresholdMode::Fixed {
            threshold: a.threshold.unwrap_or(DCLM_BASELINE_THRESHOLD),
            lower_better: false,
        }
    };
    cfg
}

/// Run the stage.
pub fn run(cfg: &QualityConfig, shards: &ShardArgs, inputs: &[PathBuf]) -> Result<QualityRun> {
    dclm_fasttext::quality::run(cfg, shards.executor_config("quality"), inputs).context("quality stage")
}

/// `dclm quality …`. A top-fraction threshold is global (computed over every input), so with object
/// storage all inputs are staged at once; a fixed threshold runs in bounded batches.
pub fn main(a: &QualityArgs) -> Result<()> {
    let cfg = config(a);
    let mut io = StageIo::new("quality", &a.shards, a.output_extension.as_deref())?;
    io.publish_top_level(&["quality_threshold.json"]);
    let mut threshold = None;
    let go = |batch: &crate::common::Batch| -> Result<dclm_core::RunSummary> {
        let mut shards = a.shards.clone();
        shards.out = batch.out.clone();
        shards.rank = batch.rank;
        shards.world_size = batch.world_size;
        let mut ecfg = shards.executor_config("quality");
        ecfg.output_extension = a.output_extension.clone();
        let r = dclm_fasttext::quality::run(&cfg, ecfg, &batch.inputs).context("quality stage")?;
        threshold = r.threshold;
        Ok(r.summary)
    };
    let s = match cfg.mode {
        ThresholdMode::TopFraction { .. } => io.run_whole(go)?,
        _ => io.run_batched(go)?,
    };
    if let Some(t) = &threshold {
        eprintln!("quality: threshold {} ({})", t.threshold, t.mode);
    }
    report_summary("quality", &s, &a.shards)
        .and_then(|()| crate::datasets::record_stage("quality", &a.shards, Some(&a.model)))
}

/// Arguments of `quality-train`.
#[derive(Args, Debug, Clone)]
pub struct QualityTrainArgs {
    /// Positive (high-quality reference) JSONL shards: files, folders or globs.
    #[arg(long, required = true, num_args = 1..)]
    pub positives: Vec<String>,
    /// Negative JSONL shards (DCLM: random documents of its RefinedWeb reproduction).
    #[arg(long, required = true, num_args = 1..)]
    pub negatives: Vec<String>,
    /// Output model path (`.bin`).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Epochs.
    #[arg(long, default_value_t = 5)]
    pub epoch: i32,
    /// Learning rate (fastText's default 0.1).
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// Word n-grams (DCLM: 2).
    #[arg(long, default_value_t = 2)]
    pub word_ngrams: i32,
    /// Seed (training is deterministic with one thread).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads (1 = reproducible).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// Train a DCLM-style quality classifier: a shuffled training file with DCLM's text preparation, then
/// `train_supervised` with DCLM's settings (word bigrams, softmax). Returns the training loss.
pub fn train(positives: &[PathBuf], negatives: &[PathBuf], out: &Path, args: &QualityTrainArgs) -> Result<f64> {
    if positives.is_empty() || negatives.is_empty() {
        bail!("the classifier needs both positive and negative shards");
    }
    let t = TrainArgs {
        word_ngrams: args.word_ngrams,
        epoch: args.epoch,
        lr: args.lr,
        thread: args.threads,
        seed: args.seed as i32,
        ..TrainArgs::default()
    };
    let trained = dclm_fasttext::train::train_classifier(positives, negatives, out, &t, Some(args.seed))
        .context("training the quality classifier")?;
    eprintln!(
        "quality-train: loss {:.4}, {:.1}s, model {}",
        trained.loss,
        trained.seconds,
        out.display()
    );
    Ok(trained.loss)
}

/// `dclm quality-train …`
pub fn train_main(a: &QualityTrainArgs) -> Result<()> {
    let pos = expand_inputs(&a.positives)?;
    let neg = expand_inputs(&a.negatives)?;
    train(&pos, &neg, &a.out, a).map(|_| ())
}
