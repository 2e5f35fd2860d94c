//! The dclm-rs runner: the command line's definitions (the `dclm` binary is a thin shell over [`Cli`] and
//! [`run`]), one module per stage command, `StageIo` (local and `s3://` staging with markers and resume),
//! the `baseline` sequencer, the cluster launch plans (Slurm, Kubernetes, Ray), and `bench` (every stage against
//! its reference tool).

pub mod baseline;
pub mod bench;
pub mod common;
pub mod datasets;
pub mod decontam;
pub mod fetch;
pub mod launch;
pub mod lm;
pub mod recipe;
pub mod stages;
pub mod standin;

use clap::{Parser, Subcommand};

/// dclm-rs: the DataComp-LM pipeline in Rust.
#[derive(Parser, Debug)]
#[command(name = "dclm", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands: the whole loop, or one stage.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// The whole DCLM loop on the embedded default corpus (no arguments) or on real data.
    Baseline(baseline::BaselineArgs),
    /// Common Crawl WARC → DCLM-Pool JSONL.
    Extract(stages::extract::ExtractArgs),
    /// DCLM YAML heuristic pipeline over JSONL shards.
    Filter(stages::filter::FilterArgs),
    /// BFF / MinHash / exact dedup over JSONL shards.
    Dedup(stages::dedup::DedupArgs),
    /// Score with a fastText quality classifier and keep the best documents.
    Quality(stages::quality::QualityArgs),
    /// Train a fastText quality classifier from positives and negatives.
    QualityTrain(stages::quality::QualityTrainArgs),
    /// Tokenize + global shuffle into open_lm token shards (DCLM's tokshuf-rs).
    Tokshuf(stages::tokshuf::TokshufArgs),
    /// Train an open_lm model (candle) on token shards: DCLM's recipe per scale, with overrides.
    Train(stages::train::TrainArgs),
    /// Evaluate any checkpoint on DCLM's tasks (CORE, EXTENDED, MMLU, …) into DCLM's results format; `aggregate`.
    Eval(Box<stages::eval::EvalCmd>),
    /// Convert a checkpoint between dclm-rs safetensors, open_lm `.pt` and an open_lm Hugging Face folder.
    Convert(stages::convert::ConvertArgs),
    /// Eval n-gram decontamination (annotate/remove, per-task report).
    Decontaminate(decontam::DecontamArgs),
    /// Realize a YAML data-mix spec.
    Mix(decontam::MixArgs),
    /// Fetch or list DCLM's assets (pinned URLs, sha256, resumable).
    Assets(fetch::AssetsArgs),
    /// Download Common Crawl WARCs (a seeded sample of a crawl, or a pool list).
    Cc(fetch::CcArgs),
    /// Run stages as shard tasks on a cluster: Slurm arrays, Kubernetes Indexed Jobs, Ray.
    #[command(subcommand)]
    Launch(launch::LaunchCmd),
    /// Download a DCLM competition pool (DCLM-Pool shards or raw WARCs of a scale).
    Pool(datasets::PoolArgs),
    /// Hugging Face Hub datasets: download or list `hf://datasets/…` files at one commit.
    Hf(datasets::HfArgs),
    /// DCLM experiment records: compare eval records as a leaderboard.
    Records(datasets::RecordsArgs),
    /// Every stage timed side by side with its reference tool (resiliparse, datatrove, fastText, HF tokenizers,
    /// PyTorch, LLM-Foundry), pinned, alternated, N rounds: bench.json, bench.html and a table.
    Bench(bench::BenchArgs),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Baseline(a) => baseline::main(a),
        Cmd::Extract(a) => stages::extract::main(&a),
        Cmd::Filter(a) => stages::filter::main(&a),
        Cmd::Dedup(a) => stages::dedup::main(&a),
        Cmd::Quality(a) => stages::quality::main(&a),
        Cmd::QualityTrain(a) => stages::quality::train_main(&a),
        Cmd::Tokshuf(a) => stages::tokshuf::main(&a),
        Cmd::Train(a) => stages::train::main(&a),
        Cmd::Eval(c) => stages::eval::main(&c),
        Cmd::Convert(a) => stages::convert::main(&a),
        Cmd::Decontaminate(a) => decontam::decontaminate_main(&a),
        Cmd::Mix(a) => decontam::mix_main(&a),
        Cmd::Assets(a) => fetch::assets_main(&a),
        Cmd::Cc(a) => fetch::cc_main(&a),
        Cmd::Launch(c) => launch::main(&c),
        Cmd::Pool(a) => datasets::pool_main(&a),
        Cmd::Hf(a) => datasets::hf_main(&a),
        Cmd::Records(a) => datasets::records_main(&a),
        Cmd::Bench(a) => bench::main(&a),
    }
}
