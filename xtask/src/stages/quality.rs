//! `cargo xtask quality` (score with a fastText classifier and keep the best documents) and
//! `cargo xtask quality-train` (train such a classifier from positives and negatives, as DCLM did).

use crate::common::{expand_inputs, report_summary, ShardArgs};
use crate::stages::filter::executor_config;
use anyhow::{bail, Context, Result};
use clap::Args;
use dclm_fasttext::quality::{QualityRun, DCLM_BASELINE_SCORE_KEY, DCLM_BASELINE_THRESHOLD};
use dclm_fasttext::{train_supervised, QualityConfig, ThresholdMode, TrainArgs};
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
    dclm_fasttext::quality::run(cfg, executor_config(shards, "quality"), inputs).context("quality stage")
}

/// `cargo xtask quality …`
pub fn main(a: &QualityArgs) -> Result<()> {
    let inputs = expand_inputs(&a.shards.inputs)?;
    let r = run(&config(a), &a.shards, &inputs)?;
    if let Some(t) = &r.threshold {
        eprintln!("quality: threshold {} ({})", t.threshold, t.mode);
    }
    report_summary("quality", &r.summary)
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
    let train_file = out.with_extension("train.txt");
    let (p, n) = dclm_fasttext::train::write_training_file(positives, negatives, &train_file, Some(args.seed))
        .context("writing the classifier's training file")?;
    if p == 0 || n == 0 {
        bail!("the classifier needs both positives ({p}) and negatives ({n})");
    }
    let mut t = TrainArgs::default();
    t.word_ngrams = args.word_ngrams;
    t.epoch = args.epoch;
    t.thread = args.threads;
    t.seed = args.seed as i32;
    let trained = train_supervised(&train_file, &t).context("training the quality classifier")?;
    trained
        .model
        .save(out)
        .with_context(|| format!("saving {}", out.display()))?;
    eprintln!(
        "quality-train: {p} positives, {n} negatives, loss {:.4}, model {}",
        trained.loss,
        out.display()
    );
    Ok(trained.loss)
}

/// `cargo xtask quality-train …`
pub fn train_main(a: &QualityTrainArgs) -> Result<()> {
    let pos = expand_inputs(&a.positives)?;
    let neg = expand_inputs(&a.negatives)?;
    train(&pos, &neg, &a.out, a).map(|_| ())
}
