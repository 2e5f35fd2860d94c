//! `dclm decontaminate` (eval n-gram overlap: annotate or remove, per-task report) and
//! `dclm mix` (realize a YAML mix spec with a manifest), over the `dclm-decontam` crate.

use crate::common::{expand_inputs, report_summary, ShardArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use dclm_decontam::decontam::{Action, DecontamConfig, RunConfig};
use dclm_decontam::index::{tasks_from_yaml, tasks_in_dir, EvalIndex, IndexConfig, IndexKind};
use dclm_decontam::mix::{run_mix, MixSpec, WhitespaceCounter};
use std::path::PathBuf;

/// Arguments of `decontaminate`.
#[derive(Args, Debug, Clone)]
pub struct DecontamArgs {
    #[command(flatten)]
    pub shards: ShardArgs,
    /// Eval task folder (LLM-Foundry `local_data`): every `*.jsonl` under it is a task.
    #[arg(long, default_value = "../shared/data/eval/local_data")]
    pub eval_dir: PathBuf,
    /// Only the tasks of this eval YAML (`icl_tasks` labels and `dataset_uri`s, e.g. DCLM's heavy.yaml);
    /// `dataset_uri` is resolved against the parent of --eval-dir.
    #[arg(long)]
    pub tasks_yaml: Option<PathBuf>,
    /// n-gram size (normalized words).
    #[arg(long, default_value_t = 13)]
    pub ngram_size: usize,
    /// What to do with contaminated text: annotate, document (remove) or paragraph (remove).
    #[arg(long, default_value = "annotate")]
    pub action: String,
    /// Matched n-grams needed to call a document (or paragraph) contaminated.
    #[arg(long, default_value_t = 1)]
    pub min_matches: u64,
    /// Annotation key.
    #[arg(long, default_value = dclm_decontam::decontam::OVERLAP_KEY)]
    pub key: String,
    /// Use a Bloom filter at this false-positive rate instead of the exact index (no per-task attribution).
    #[arg(long)]
    pub bloom_fp_rate: Option<f64>,
    /// Load a Bloom index saved earlier instead of reading the eval files.
    #[arg(long, conflicts_with_all = ["bloom_fp_rate", "tasks_yaml"])]
    pub load_bloom: Option<PathBuf>,
    /// Save the Bloom index to this file (with --bloom-fp-rate).
    #[arg(long, requires = "bloom_fp_rate")]
    pub save_bloom: Option<PathBuf>,
    /// Examples per task in the report.
    #[arg(long, default_value_t = 3)]
    pub max_examples: usize,
}

/// Build (or load) the eval index the arguments ask for.
pub fn build_index(a: &DecontamArgs) -> Result<EvalIndex> {
    if let Some(p) = &a.load_bloom {
        return EvalIndex::load_bloom(p, None).with_context(|| format!("loading Bloom index {}", p.display()));
    }
    let tasks = match &a.tasks_yaml {
        Some(y) => {
            let root = a.eval_dir.parent().map(PathBuf::from).unwrap_or_default();
            let (tasks, missing) = tasks_from_yaml(y, &root)?;
            if !missing.is_empty() {
                eprintln!(
                    "decontaminate: {} tasks of {} have no file: {missing:?}",
                    missing.len(),
                    y.display()
                );
            }
            tasks
        }
        None => tasks_in_dir(&a.eval_dir)?,
    };
    if tasks.is_empty() {
        bail!("no eval task files found (--eval-dir {})", a.eval_dir.display());
    }
    let kind = match a.bloom_fp_rate {
        Some(fp_rate) => IndexKind::Bloom { fp_rate },
        None => IndexKind::Exact,
    };
    let index = EvalIndex::build(
        &tasks,
        &IndexConfig {
            ngram_size: a.ngram_size,
            kind,
        },
    )?;
    eprintln!(
        "decontaminate: indexed {} tasks, {} distinct {}-grams",
        tasks.len(),
        index.distinct_ngrams(),
        a.ngram_size
    );
    if let Some(p) = &a.save_bloom {
        index.save_bloom(p)?;
    }
    Ok(index)
}

/// `dclm decontaminate …`
pub fn decontaminate_main(a: &DecontamArgs) -> Result<()> {
    let inputs = expand_inputs(&a.shards.inputs)?;
    let index = build_index(a)?;
    let decontam = DecontamConfig {
        action: a.action.parse::<Action>()?,
        min_matches: a.min_matches,
        key: a.key.clone(),
    };
    let mut cfg = RunConfig::new(decontam, &a.shards.out);
    cfg.threads = a.shards.threads;
    cfg.rank = a.shards.rank;
    cfg.world_size = a.shards.world_size;
    cfg.progress = !a.shards.no_progress;
    cfg.max_examples = a.max_examples;
    let s = dclm_decontam::decontam::run(&cfg, &index, &inputs).context("decontaminate stage")?;
    let r = &s.report;
    eprintln!(
        "decontaminate: {} docs scanned, {} contaminated, {} removed, {} paragraphs removed; report: {}",
        r.docs_scanned,
        r.docs_contaminated,
        r.docs_removed,
        r.paragraphs_removed,
        cfg.report_path().display()
    );
    for (task, t) in &r.tasks {
        eprintln!("  {task:<50} {:>8} docs {:>10} n-gram matches", t.docs, t.ngram_matches);
    }
    report_summary("decontaminate", &s.run, &a.shards)
}

/// Arguments of `mix`.
#[derive(Args, Debug, Clone)]
pub struct MixArgs {
    /// The YAML mix spec (seed, total_tokens, sources with inputs and weight or tokens).
    #[arg(long)]
    pub spec: PathBuf,
    /// Output folder (`<source>/epoch-NNN/part-NNNNN.jsonl`, `mix_manifest.json`).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Override the spec's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Count tokens with this tokenizer (`tokenizer.json` or `.tiktoken`, as `tokshuf` loads it); default:
    /// whitespace-separated words.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
}

/// `dclm mix …` (tokens counted by `--tokenizer`, else as whitespace words).
pub fn mix_main(a: &MixArgs) -> Result<()> {
    let mut spec = MixSpec::load(&a.spec)?;
    if let Some(seed) = a.seed {
        spec.seed = seed;
    }
    let m = match &a.tokenizer {
        Some(p) => {
            let counter = dclm_decontam::mix::TokenizerCounter(dclm_tokenizer::TokenizerSpec::from_path(p).load()?);
            run_mix(&spec, &a.out, &counter)
        }
        None => run_mix(&spec, &a.out, &WhitespaceCounter),
    }
    .context("mix")?;
    eprintln!(
        "mix: {} of {} target tokens ({}), max share error {:.5}; manifest: {}",
        m.total_tokens_realized,
        m.total_tokens_target,
        m.token_counter,
        m.max_share_error,
        a.out.join("mix_manifest.json").display()
    );
    for s in &m.sources {
        eprintln!(
            "  {:<24} target {:.4} realized {:.4}  epochs {:.3} ({} full + {} docs)",
            s.name, s.target_share, s.realized_share, s.epochs_realized, s.full_epochs, s.partial_epoch_docs
        );
    }
    Ok(())
}
