//! `dclm eval`: DCLM's evaluation (LLM-Foundry ICL tasks, CORE/EXTENDED aggregates) of any checkpoint — dclm-rs
//! safetensors, an open_lm `.pt`, an open_lm Hugging Face folder — with results in DCLM's eval JSON format; and
//! `dclm eval aggregate`, which re-aggregates such a file with the v1 or v2 baselines; `dclm eval prepare-gpqa`,
//! which writes GPQA's task files from the GPQA authors' password-protected release zip.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use dclm_eval::{EvalConfig, EvalVersion, RunOptions};
use std::path::{Path, PathBuf};

/// `eval`: score a checkpoint, `eval aggregate` a results file, or `eval prepare-gpqa`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvalCmd {
    /// `aggregate`: recompute the aggregates of a results file.
    #[command(subcommand)]
    pub sub: Option<EvalSub>,
    /// What to evaluate.
    #[command(flatten)]
    pub args: Option<EvalArgs>,
}

/// Subcommands of `eval`.
#[derive(Subcommand, Debug)]
pub enum EvalSub {
    /// Recompute `aggregated_results`, `aggregated_centered_results`, CORE/EXTENDED of a DCLM results file.
    Aggregate {
        /// The results JSON (`eval_metrics.icl` per task).
        results: PathBuf,
        /// Random baselines: `v1` (paper era) or `v2`.
        #[arg(long, default_value = "v2")]
        version: String,
        /// DCLM's `eval/` folder (`eval_meta_data*.csv`, `additional_aggregation.json`); default from `$DCLM_ASSETS`.
        #[arg(long)]
        eval_dir: Option<PathBuf>,
        /// Output file (default: print to stdout).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
    /// Write GPQA's task files (`gpqa_data/gpqa_main.jsonl`, `gpqa_diamond.jsonl`, `gpqa_extended.jsonl`, which
    /// heavy.yaml names) from the GPQA authors' release zip (DCLM's `eval/gpqa/dataset.zip`) or its extracted
    /// folder. Choices are ordered by `random.Random(1234).shuffle` per file; JSONL files in the zip are kept as is.
    PrepareGpqa {
        /// The release zip (or a folder with the extracted `gpqa_*.csv` / `gpqa_*.jsonl`).
        #[arg(long)]
        zip: PathBuf,
        /// The zip's password (default: the one the GPQA authors publish).
        #[arg(long, default_value = dclm_eval::GPQA_PASSWORD)]
        password: String,
        /// The task-data folder to write `gpqa_data/` into (the one `dclm eval --data-dir` is given).
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// Arguments of `eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The checkpoint: safetensors, an open_lm `.pt`, an open_lm HF folder, or a `dclm train` run folder.
    #[arg(long)]
    pub model: PathBuf,
    /// The model's shape (open_lm model JSON or HF `config.json`) when it is not beside the checkpoint.
    #[arg(long)]
    pub model_json: Option<PathBuf>,
    /// `core` (mmlu_and_lowvar.yaml), `extended`/`heavy` (heavy.yaml), `light`, `medium`, or a task YAML path.
    #[arg(long, default_value = "core")]
    pub tasks: String,
    /// DCLM's `eval/` folder (task YAMLs, baselines, aggregation); default: `<assets>/eval`.
    #[arg(long)]
    pub eval_dir: Option<PathBuf>,
    /// LLM-Foundry's task files (the folder holding `local_data/`); default: beside the eval folder.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// DCLM assets folder (finds `eval/`, the task files and the GPT-NeoX tokenizer); default `$DCLM_ASSETS`.
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Tokenizer (`tokenizer.json`); default: GPT-NeoX from the assets, or one in the checkpoint's folder.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Evaluate only the first N examples of each task.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Examples per model call.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Context window prompts are cut to (default: the model's `seq_len`).
    #[arg(long)]
    pub max_seq_len: Option<usize>,
    /// Device: `cpu`, `cuda`, `cuda:N` or `auto`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Random baselines of the written aggregates: `v1` or `v2`.
    #[arg(long, default_value = "v2")]
    pub version: String,
    /// Model name recorded in the results.
    #[arg(long)]
    pub name: Option<String>,
    /// Worker threads for the model and the per-example work (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Hide progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Results file (DCLM's eval JSON).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

fn assets_root(assets: Option<&Path>) -> Option<crate::recipe::Assets> {
    crate::common::assets_dir(assets).and_then(|d| crate::recipe::Assets::resolve(&d).ok())
}

/// DCLM's `eval/` folder from `--eval-dir` or the assets.
fn eval_dir(explicit: Option<&Path>, assets: Option<&Path>) -> Result<PathBuf> {
    if let Some(d) = explicit {
        return Ok(d.to_path_buf());
    }
    match assets_root(assets) {
        Some(a) => Ok(a.dclm_root.join("eval")),
        None => bail!("give --eval-dir (DCLM's eval/ folder) or --assets"),
    }
}

/// What one evaluation produced.
pub struct EvalOutcome {
    /// DCLM's results JSON (as written to `--out`).
    pub json: serde_json::Value,
    /// The full report (per-task results, aggregates).
    pub report: dclm_eval::EvalReport,
    /// The task configuration that ran.
    pub cfg: EvalConfig,
}

/// Evaluate; returns the DCLM results JSON (also written to `--out`) with the report it came from.
pub fn run(a: &EvalArgs) -> Result<EvalOutcome> {
    let version: EvalVersion = a.version.parse()?;
    let assets = assets_root(a.assets.as_deref());
    let edir = eval_dir(a.eval_dir.as_deref(), a.assets.as_deref())?;
    let data = match (&a.data_dir, assets.as_ref().and_then(|x| x.eval_data.clone())) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => d,
        (None, None) => edir.clone(),
    };
    let yaml = dclm_eval::suite_yaml(&a.tasks, &edir);
    let mut cfg = EvalConfig::dclm(&yaml, &edir, &data).with_context(|| format!("task list {}", yaml.display()))?;
    cfg.run = RunOptions {
        batch_size: a.batch_size.max(1),
        limit: a.limit,
        progress: !a.no_progress,
        keep_examples: false,
    };
    for s in cfg.unavailable_tasks() {
        eprintln!("eval: task {} cannot run: {}", s.label, s.reason);
    }
    let device = dclm_train::train::select_device(&a.device)?;
    let ckpt = dclm_train::checkpoint::load_any(&a.model, a.model_json.as_deref())
        .with_context(|| format!("loading {}", a.model.display()))?;
    let seq_len = a.max_seq_len.unwrap_or(ckpt.config.seq_len);
    let model = ckpt.model(&device)?;
    let tok_path = match &a.tokenizer {
        Some(p) => p.clone(),
        None => {
            let beside = if a.model.is_dir() {
                a.model.clone()
            } else {
                a.model.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            match (beside.join("tokenizer.json"), assets.and_then(|x| x.tokenizer)) {
                (p, _) if p.is_file() => p,
                (_, Some(t)) => t,
                _ => bail!("no tokenizer: give --tokenizer (GPT-NeoX's tokenizer.json) or --assets"),
            }
        }
    };
    let tokenizer = dclm_tokenizer::TokenizerSpec::from_path(&tok_path).load()?;
    let name = a.name.clone().unwrap_or_else(|| {
        a.model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let lm = crate::lm::CandleLm::new(model, name, seq_len);
    // Everything parallel (candle's matmuls, request building and scoring) runs on rayon: one pool of the
    // requested size bounds it.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build()
        .context("eval thread pool")?;
    let report = pool
        .install(|| dclm_eval::evaluate(&lm, tokenizer, &cfg))
        .context("evaluation")?;
    let mut json = report.to_dclm_json_version(version);
    if let Some(obj) = json.as_object_mut() {
        obj.insert("model".into(), serde_json::json!(a.model));
    }
    dclm_core::io::write_atomic(&a.out, &serde_json::to_vec_pretty(&json)?)?;
    eprintln!("{}", report.to_markdown());
    Ok(EvalOutcome { json, report, cfg })
}

/// The report's eval table: one row per task that ran, with DCLM's v2 random baselines and categories, and the
/// mean centered accuracy over them.
pub fn eval_table(report: &dclm_eval::EvalReport, cfg: &EvalConfig, suite: &str) -> dclm_report::EvalTable {
    let agg = report.aggregated_v2.as_ref();
    let rows: Vec<dclm_report::EvalRow> = report
        .tasks
        .iter()
        .map(|t| {
            let ta = agg.and_then(|a| a.per_task.iter().find(|p| p.task == t.label));
            let tc = cfg.tasks.iter().find(|c| c.label == t.label);
            dclm_report::EvalRow {
                task: t.label.clone(),
                category: ta.map(|a| a.category.clone()).unwrap_or_default(),
                task_type: tc.map(|c| format!("{:?}", c.icl_task_type)).unwrap_or_default(),
                shots: tc.map(|c| c.num_fewshot as u32).unwrap_or(0),
                n: t.num_examples as u64,
                accuracy: t.accuracy,
                random_baseline: ta.map(|a| a.random_baseline).unwrap_or(0.0),
                in_core: true,
            }
        })
        .collect();
    dclm_report::EvalTable::with_computed_core(
        suite,
        rows,
        "mean centered accuracy over the tasks that ran (DCLM's CORE uses v2 random baselines over its 22 tasks)",
    )
}

/// `dclm eval …`
pub fn main(c: &EvalCmd) -> Result<()> {
    match (&c.sub, &c.args) {
        (
            Some(EvalSub::Aggregate {
                results,
                version,
                eval_dir: dir,
                out,
            }),
            _,
        ) => {
            let version: EvalVersion = version.parse()?;
            let edir = eval_dir(dir.as_deref(), None)?;
            let tables = dclm_eval::AggregationTables::from_dclm_eval_dir(&edir)?;
            let target = out
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("dclm-eval-aggregate.json"));
            let v = dclm_eval::reaggregate_file(results, &target, &tables, version)?;
            if out.is_none() {
                std::fs::remove_file(&target).ok();
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            Ok(())
        }
        (
            Some(EvalSub::PrepareGpqa {
                zip,
                password,
                data_dir,
            }),
            _,
        ) => {
            let files = dclm_eval::prepare_gpqa(zip, password, data_dir)?;
            for f in &files {
                let how = if f.copied { "copied" } else { "converted" };
                eprintln!(
                    "eval: {} ← {} ({how}, {} questions)",
                    f.path.display(),
                    f.source,
                    f.questions
                );
            }
            Ok(())
        }
        (None, Some(a)) => {
            run(a)?;
            eprintln!("eval: results → {}", a.out.display());
            Ok(())
        }
        (None, None) => bail!("eval needs --model and -o (or `eval aggregate RESULTS`, `eval prepare-gpqa`)"),
    }
}
