//! `dclm baseline`: the whole DCLM loop — extract → heuristics → dedup → quality classifier →
//! tokenize+shuffle → train → eval — on the embedded default corpus (offline) or on real data, with
//! stage-level resume and a run report (`report.json` + self-contained `report.html`).

use crate::common::{assets_dir, expand_inputs};
use crate::recipe::{Negatives, Recipe};
use crate::stages;
use crate::standin::StopwordLid;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use dclm_core::Stats;
use dclm_report::{ExampleCollector, Histogram, Report, StageFidelity};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The stages, in order.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// WARC → DCLM-Pool JSONL.
    Extract,
    /// DCLM's heuristic chain.
    Heuristics,
    /// BFF dedup.
    Dedup,
    /// fastText quality classifier (train when no model is given) and top-k% filter.
    Quality,
    /// Tokenize + global shuffle.
    Tokenize,
    /// Train an open_lm model (candle).
    Train,
    /// LLM-Foundry ICL evaluation and CORE.
    Eval,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 7] = [
        Stage::Extract,
        Stage::Heuristics,
        Stage::Dedup,
        Stage::Quality,
        Stage::Tokenize,
        Stage::Train,
        Stage::Eval,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Extract => "extract",
            Stage::Heuristics => "heuristics",
            Stage::Dedup => "dedup",
            Stage::Quality => "quality",
            Stage::Tokenize => "tokenize",
            Stage::Train => "train",
            Stage::Eval => "eval",
        }
    }

    fn dir(self, out: &Path) -> PathBuf {
        let i = Stage::ALL.iter().position(|s| *s == self).expect("listed") + 1;
        out.join(format!("{i}-{}", self.name()))
    }
}

/// Arguments of `baseline`.
#[derive(Args, Debug, Clone)]
pub struct BaselineArgs {
    /// Input WARC files (or DCLM-Pool JSONL or Parquet, which start at the heuristics): files, folders, globs or
    /// `hf://datasets/<owner>/<name>[@revision]/<glob>` (downloaded under `<out>/_hf/` first). Default: the
    /// embedded corpus.
    #[arg(long = "input", short = 'i', num_args = 1..)]
    pub inputs: Vec<String>,
    /// DCLM assets folder (DCLM's repository layout, or a folder holding `dclm-assets/`, `tokenizers/`,
    /// `eval/`); default `$DCLM_ASSETS`. Without it, built-in stand-ins are used and the report says so.
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Output folder.
    #[arg(long, short = 'o', default_value = "out/baseline")]
    pub out: PathBuf,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// First stage to run (earlier stages must be complete in `--out`).
    #[arg(long, value_enum)]
    pub from: Option<Stage>,
    /// Last stage to run.
    #[arg(long, value_enum)]
    pub to: Option<Stage>,
    /// Rerun stages even when they are complete.
    #[arg(long)]
    pub fresh: bool,
    /// Smaller, faster run (fewer training steps and eval rows): the CI smoke test.
    #[arg(long)]
    pub reduced: bool,
    /// Seed for the classifier, the shuffle, training and few-shot sampling.
    #[arg(long, default_value_t = 1234)]
    pub seed: u64,
    /// Fraction of documents the quality filter keeps (DCLM: ≈ 0.1; embedded default: 0.9, as the corpus is tiny).
    #[arg(long)]
    pub keep_fraction: Option<f64>,
    /// A trained quality classifier (e.g. DCLM's released `openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin`);
    /// default: train one on `--positives` vs. the deduplicated documents.
    #[arg(long)]
    pub quality_model: Option<PathBuf>,
    /// Positive reference documents (JSONL) for the classifier; default: the embedded explanatory set.
    #[arg(long, num_args = 1..)]
    pub positives: Vec<String>,
    /// Tokenizer (`tokenizer.json` or `.tiktoken`); default: GPT-NeoX from the assets, else a byte-level stand-in.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Hide progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Training scale (`tiny`, `micro`, or a DCLM scale such as `400M-1x`); default `tiny`.
    #[arg(long, default_value = "tiny")]
    pub scale: String,
    /// Stop training after this many optimizer steps (default: the scale's full schedule).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Evaluate only the first N examples of each task (default: all).
    #[arg(long)]
    pub eval_limit: Option<usize>,
    /// Device for training and eval: `cpu`, `cuda`, `cuda:N` or `auto` (CUDA needs `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Matrix-product precision in training: `f32`, or `bf16` autocast (weights and optimizer stay f32).
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// Peak TFLOP/s of the device, for the MFU column of the training log (e.g. 989 for an H200 in bf16).
    #[arg(long)]
    pub peak_tflops: Option<f64>,
}

impl BaselineArgs {
    /// Defaults for a run into `out` (what `dclm baseline` does with no arguments).
    pub fn new(out: impl Into<PathBuf>) -> Self {
        BaselineArgs {
            inputs: Vec::new(),
            assets: None,
            out: out.into(),
            threads: 0,
            from: None,
            to: None,
            fresh: false,
            reduced: false,
            seed: 1234,
            keep_fraction: None,
            quality_model: None,
            positives: Vec::new(),
            tokenizer: None,
            no_progress: false,
            scale: "tiny".into(),
            max_steps: None,
            eval_limit: None,
            device: "cpu".into(),
            dtype: "f32".into(),
            peak_tflops: None,
        }
    }
}

/// What one stage did; saved as `<stage dir>/_stage.json` (its presence marks the stage complete).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRecord {
    /// Stage.
    pub stage: Stage,
    /// Output folder of the stage.
    pub dir: PathBuf,
    /// The stage's merged stats (docs in/out, steps, errors).
    pub stats: Stats,
    /// Tokens written (tokenize).
    pub tokens: Option<u64>,
    /// Seconds of wall-clock time.
    pub seconds: f64,
    /// DCLM-faithful or stand-in, and why.
    pub fidelity: StageFidelity,
    /// Stage-specific figures (threshold, filter plan, …).
    pub extra: serde_json::Value,
    /// Fingerprint of the settings and inputs that made this stage and every stage before it (see
    /// [`stage_settings`]); a rerun with other settings refuses to reuse the stage.
    #[serde(default)]
    pub settings: String,
    /// The report's drop examples collected up to and including this stage (restored when a rerun skips it).
    #[serde(default)]
    pub examples: ExampleCollector,
    /// The report's histograms made up to and including this stage (restored when a rerun skips it).
    #[serde(default)]
    pub histograms: Vec<Histogram>,
}

/// Everything the stages share during one baseline run.
pub struct Run {
    /// Arguments.
    pub args: BaselineArgs,
    /// The recipe: embedded default or real data, with or without DCLM's assets.
    pub recipe: Recipe,
    /// Embedded data written under `<out>/embedded` (corpus, positives, eval tasks, config).
    pub embedded: dclm_report::embedded::BaselineAssets,
    /// Input files of the first stage.
    pub inputs: Vec<PathBuf>,
    /// True when the inputs are DCLM-Pool JSONL (extraction is skipped).
    pub jsonl_inputs: bool,
    /// Example dropped documents collected for the report.
    pub examples: ExampleCollector,
    /// Histograms for the report.
    pub histograms: Vec<Histogram>,
}

/// The result of a baseline run.
#[derive(Debug)]
pub struct Outcome {
    /// Stage records in order (run now or resumed).
    pub stages: Vec<(StageRecord, bool)>,
    /// `report.json`.
    pub report_json: PathBuf,
    /// `report.html`.
    pub report_html: PathBuf,
    /// The report itself.
    pub report: Report,
}

/// Extension of the pages the baseline's document stages write (extract, heuristics, dedup, quality keep the
/// input's name): zstd level 3. Compressing with gzip cost a quarter of extraction and a sixth of the heuristics
/// stage; zstd writes the same pages several times faster and reads them back faster, and every DCLM tool that
/// reads pages (the spec's tokenize-shuffle, this project's readers) takes `.jsonl.zst`.
pub const INTERMEDIATE_EXTENSION: &str = "jsonl.zst";

const EMBEDDED_CONFIG: &str = include_str!("../../../configs/embedded/baseline_refinedweb.yaml");
const EMBEDDED_TLDS: &str = include_str!("../../../configs/embedded/tlds.txt");

/// Run the baseline.
pub fn run(args: BaselineArgs) -> Result<Outcome> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let assets = match assets_dir(args.assets.as_deref()) {
        Some(d) => Some(crate::recipe::Assets::resolve(&d)?),
        None => None,
    };
    let recipe = if args.inputs.is_empty() {
        Recipe::embedded()
    } else {
        Recipe::dclm(None)
    }
    .with_assets(assets);
    let embedded_dir = args.out.join("embedded");
    let embedded = dclm_report::embedded::write_baseline_assets(&embedded_dir).context("writing embedded data")?;
    std::fs::write(embedded_dir.join("baseline_refinedweb.yaml"), EMBEDDED_CONFIG)?;
    std::fs::write(embedded_dir.join("tlds.txt"), EMBEDDED_TLDS)?;

    let (inputs, jsonl_inputs) = if args.inputs.is_empty() {
        (vec![embedded.corpus_warc.clone()], false)
    } else {
        let local = crate::datasets::fetch_hub_inputs(&args.inputs, &args.out.join("_hf"))?;
        let inputs = expand_inputs(&local)?;
        let warc = inputs.iter().filter(|p| p.to_string_lossy().contains(".warc")).count();
        if warc != 0 && warc != inputs.len() {
            bail!("--input mixes WARC and JSONL files; give one kind");
        }
        (inputs, warc == 0)
    };
    let mut run = Run {
        args,
        recipe,
        embedded,
        inputs,
        jsonl_inputs,
        examples: ExampleCollector::new(),
        histograms: Vec::new(),
    };

    let from = run.args.from.unwrap_or(if run.jsonl_inputs {
        Stage::Heuristics
    } else {
        Stage::Extract
    });
    let to = run.args.to.unwrap_or(*Stage::ALL.last().expect("stages"));
    if from > to {
        bail!("--from {} comes after --to {}", from.name(), to.name());
    }
    let mut records: Vec<(StageRecord, bool)> = Vec::new();
    let mut settings = dclm_core::Fingerprint::new("baseline").finish();
    for stage in Stage::ALL {
        if stage > to {
            break;
        }
        if run.jsonl_inputs && stage == Stage::Extract {
            continue;
        }
        let dir = stage.dir(&run.args.out);
        let marker = dir.join("_stage.json");
        let previous: Option<StageRecord> = std::fs::read(&marker)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        settings = stage_settings(&run, stage, &settings)?;
        let skip = stage < from || (!run.args.fresh && previous.is_some());
        if skip {
            let Some(rec) = previous else {
                bail!(
                    "stage {} is not complete in {}: run it first (drop --from)",
                    stage.name(),
                    dir.display()
                );
            };
            if rec.settings != settings {
                bail!(
                    "stage {} in {} was made from other inputs or settings (or by another version) than this run \
                     has; its results would be mixed with this run's. Rerun with --fresh (and --from the first \
                     stage to redo) or use another --out",
                    stage.name(),
                    dir.display()
                );
            }
            eprintln!(
                "baseline: {} already complete ({}), skipped",
                stage.name(),
                dir.display()
            );
            // The report's examples and histograms as they were after this stage.
            run.examples = rec.examples.clone();
            run.histograms = rec.histograms.clone();
            records.push((rec, true));
            continue;
        }
        // An incomplete training run resumes from its latest checkpoint; other stages restart clean.
        if dir.exists() && (stage != Stage::Train || run.args.fresh) {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing incomplete {}", dir.display()))?;
        }
        // The previous stage's folder under this run's --out (a record's own `dir` is where it was written,
        // which differs when the run folder was moved or the run is resumed from another working folder).
        let input_dir = records.last().map(|(r, _)| r.stage.dir(&run.args.out));
        let stage_inputs = match (&input_dir, stage) {
            (_, Stage::Train | Stage::Eval) => Vec::new(),
            (Some(d), _) => stage_shards(d)?,
            (None, _) => run.inputs.clone(),
        };
        eprintln!("baseline: {} …", stage.name());
        let t0 = Instant::now();
        let mut rec = match stage {
            Stage::Extract => extract(&mut run, &stage_inputs, &dir)?,
            Stage::Heuristics => heuristics(&mut run, &stage_inputs, &dir)?,
            Stage::Dedup => {
                let text_bytes = records.last().map_or(0, |(r, _)| r.stats.bytes_out);
                dedup(&mut run, &stage_inputs, &dir, text_bytes)?
            }
            Stage::Quality => quality(&mut run, &stage_inputs, &dir)?,
            Stage::Tokenize => tokenize(&mut run, &stage_inputs, &dir)?,
            Stage::Train => train(&mut run, &dir)?,
            Stage::Eval => eval(&mut run, &dir)?,
        };
        rec.seconds = t0.elapsed().as_secs_f64();
        rec.settings = settings.clone();
        rec.examples = run.examples.clone();
        rec.histograms = run.histograms.clone();
        dclm_core::io::write_atomic(&marker, &serde_json::to_vec_pretty(&rec)?)?;
        eprintln!(
            "baseline: {} done in {:.1}s: docs {} → {}{}",
            stage.name(),
            rec.seconds,
            rec.stats.docs_in,
            rec.stats.docs_out,
            rec.tokens.map(|t| format!(", {t} tokens")).unwrap_or_default()
        );
        records.push((rec, false));
    }
    let report = build_report(&run, &records, started.elapsed().as_secs_f64());
    let (report_json, report_html) = report.write(&run.args.out).context("writing the report")?;
    Ok(Outcome {
        stages: records,
        report_json,
        report_html,
        report,
    })
}

/// The settings fingerprint of `stage`: the previous stage's, plus what this stage's output depends on (the
/// inputs' bytes for the first stage; assets, seed, classifier, tokenizer, scale, … for the
/// stages that read them). Threads, progress and `--from/--to` do not change outputs and are left out.
pub fn stage_settings(run: &Run, stage: Stage, previous: &str) -> Result<String> {
    let a = &run.args;
    let mut fp = dclm_core::Fingerprint::new(stage.name());
    fp.add("previous", previous.as_bytes());
    let file = |fp: &mut dclm_core::Fingerprint, key: &str, p: &Option<PathBuf>| -> Result<()> {
        if let Some(p) = p {
            fp.add_file(key, p)?;
        }
        Ok(())
    };
    match stage {
        Stage::Extract | Stage::Heuristics => {
            if stage == Stage::Extract || run.jsonl_inputs {
                for p in &run.inputs {
                    // Content, not path: the embedded corpus is rewritten (same bytes) by every run.
                    fp.add_file("input", p)?;
                }
            }
            if stage == Stage::Heuristics {
                fp.add_debug("assets", &a.assets);
            }
        }
        Stage::Dedup => {}
        Stage::Quality => {
            fp.add_debug("seed", &a.seed)
                .add_debug("keep_fraction", &a.keep_fraction.map(f64::to_bits))
                .add_debug("positives", &a.positives);
            file(&mut fp, "quality_model", &a.quality_model)?;
        }
        Stage::Tokenize => {
            fp.add_debug("seed", &a.seed).add_debug("assets", &a.assets);
            file(&mut fp, "tokenizer", &a.tokenizer)?;
        }
        Stage::Train => {
            fp.add_debug("seed", &a.seed)
                .add("scale", a.scale.as_bytes())
                .add_debug("reduced", &a.reduced)
                .add_debug("max_steps", &a.max_steps)
                .add("device", a.device.as_bytes())
                .add("dtype", a.dtype.as_bytes());
        }
        Stage::Eval => {
            fp.add_debug("seed", &a.seed)
                .add_debug("reduced", &a.reduced)
                .add_debug("eval_limit", &a.eval_limit)
                .add_debug("assets", &a.assets);
        }
    }
    Ok(fp.finish())
}

/// The JSONL shards a stage wrote (not its markers or side files).
fn stage_shards(dir: &Path) -> Result<Vec<PathBuf>> {
    let pattern = vec![dir.to_string_lossy().into_owned()];
    expand_inputs(&pattern).with_context(|| format!("reading the outputs of {}", dir.display()))
}

fn record(stage: Stage, dir: &Path, stats: Stats, fidelity: StageFidelity) -> StageRecord {
    StageRecord {
        stage,
        dir: dir.to_path_buf(),
        stats,
        tokens: None,
        seconds: 0.0,
        fidelity,
        extra: serde_json::Value::Null,
        settings: String::new(),
        examples: ExampleCollector::default(),
        histograms: Vec::new(),
    }
}

fn fidelity(stage: Stage, faithful: bool, implementation: &str, reason: &str) -> StageFidelity {
    StageFidelity {
        stage: stage.name().to_string(),
        faithful,
        implementation: implementation.to_string(),
        reason: reason.to_string(),
    }
}

fn check_clean(stage: Stage, s: &dclm_core::RunSummary) -> Result<()> {
    if !s.failed.is_empty() {
        bail!("{}: {} shard(s) failed: {:?}", stage.name(), s.failed.len(), s.failed);
    }
    if s.stats.error_count() > 0 {
        eprintln!(
            "warning: {}: {} input record(s) could not be read ({:?}); counted in {}",
            stage.name(),
            s.stats.error_count(),
            s.stats.errors,
            s.stats_path.display()
        );
    }
    Ok(())
}

fn extract(run: &mut Run, inputs: &[PathBuf], dir: &Path) -> Result<StageRecord> {
    let mut cfg = dclm_extract::ExtractConfig::new(inputs.to_vec(), dir);
    cfg.output_extension = INTERMEDIATE_EXTENSION.into();
    cfg.threads = run.args.threads;
    cfg.progress = !run.args.no_progress;
    let s = stages::extract::run(&cfg)?;
    check_clean(Stage::Extract, &s)?;
    let f = fidelity(
        Stage::Extract,
        true,
        "dclm-extract: resiliparse extract_plain_text(main_content=True) port, strict UTF-8 as DCLM",
        "same settings as DCLM's process_common_crawl_w_ray.py",
    );
    Ok(record(Stage::Extract, dir, s.stats, f))
}

fn heuristics(run: &mut Run, inputs: &[PathBuf], dir: &Path) -> Result<StageRecord> {
    let (config, assets_dir, skip, lid, f) = match &run.recipe.assets {
        Some(a) => {
            let config = a
                .dclm_root
                .join("baselines/baselines_configs/dclm_baseline_refinedweb.yaml");
            let curated = a
                .dclm_root
                .join("baselines/mappers/banlists/refinedweb_banned_domains_curated.txt");
            let skip = if curated.is_file() { vec![] } else { vec![2] };
            let reason = if skip.is_empty() {
                "DCLM's own dclm_baseline_refinedweb.yaml with its banlists and lid.176".to_string()
            } else {
                "DCLM's own dclm_baseline_refinedweb.yaml; step 2 (curated-domain banlist, a separate DCLM download) \
                 skipped because refinedweb_banned_domains_curated.txt is not in the assets"
                    .to_string()
            };
            let f = fidelity(Stage::Heuristics, skip.is_empty(), "dclm-filter, DCLM config", &reason);
            (config, a.dclm_root.clone(), skip, None, f)
        }
        None => {
            let embedded_dir = run.args.out.join("embedded");
            let f = fidelity(
                Stage::Heuristics,
                false,
                "dclm-filter with configs/embedded/baseline_refinedweb.yaml and a stop-word language-ID stand-in",
                "no --assets: DCLM's chain step for step, but short inline URL banlists instead of RefinedWeb's lists, \
                 a small TLD list, no curated-domain step, and stop-word language ID instead of fastText lid.176",
            );
            let lid: Arc<dyn dclm_filter::LanguageId> = Arc::new(StopwordLid::default());
            (
                embedded_dir.join("baseline_refinedweb.yaml"),
                embedded_dir,
                vec![],
                Some(lid),
                f,
            )
        }
    };
    let mut cfg = dclm_filter::FilterRunConfig::new(&config, inputs.to_vec(), dir);
    cfg.executor = exec_config(run, "heuristics", dir);
    cfg.assets_dir = assets_dir;
    cfg.load.skip_steps = skip;
    let job = stages::filter::FilterJob { cfg, language_id: lid };
    let s = stages::filter::run(&job)?;
    check_clean(Stage::Heuristics, &s)?;
    run.examples.add_stats(&s.stats);
    Ok(record(Stage::Heuristics, dir, s.stats, f))
}

/// Shard arguments for a single-task stage writing into `dir`.
fn shard_args(run: &Run, dir: &Path) -> crate::common::ShardArgs {
    crate::common::ShardArgs {
        inputs: vec![],
        out: dir.to_path_buf(),
        threads: run.args.threads,
        rank: 0,
        world_size: 1,
        no_progress: run.args.no_progress,
        max_error_rate: 0.0,
        fresh: false,
        accept_partial: false,
    }
}

fn exec_config(run: &Run, stage: &str, dir: &Path) -> dclm_core::ExecutorConfig {
    let mut e = dclm_core::ExecutorConfig::new(stage, dir);
    e.threads = run.args.threads;
    e.progress = !run.args.no_progress;
    e
}

fn dedup(run: &mut Run, inputs: &[PathBuf], dir: &Path, text_bytes: u64) -> Result<StageRecord> {
    // The filter is sized from the uncompressed bytes the previous stage wrote (its stats), so it does not
    // depend on how well its shards compress.
    let expected_ngrams = dclm_dedup::run::ngrams_for_bytes(text_bytes).max(1_000);
    let args = stages::dedup::DedupArgs {
        shards: shard_args(run, dir),
        method: stages::dedup::MethodArg::Bff,
        phase: stages::dedup::PhaseArg::All,
        mode: "old-both".into(),
        expected_ngrams: Some(expected_ngrams),
        fp_rate: 0.01,
        ngram_size: 13,
        threshold: 0.8,
        annotate: false,
        per_shard: false,
        filter_file: None,
        minhash: Default::default(),
    };
    let cfg = stages::dedup::config(&args, inputs)?;
    let s = stages::dedup::run(&cfg, inputs)?;
    check_clean(Stage::Dedup, &s.run)?;
    run.examples.add_stats(&s.run.stats);
    // Containment histogram, counted by the dedup run itself: the share of each document's n-grams already seen.
    let mut h = Histogram::new(
        "dedup_containment",
        "BFF: share of each document's 13-grams already in the filter (every document)",
        "contained n-grams / n-grams",
        0.0,
        1.0,
        dclm_dedup::run::CONTAINMENT_BINS,
    );
    if s.report.containment.len() == h.counts.len() {
        h.counts.clone_from(&s.report.containment);
    }
    run.histograms.push(h);
    let f = fidelity(
        Stage::Dedup,
        true,
        "dclm-dedup BFF port, old-both, 13-grams, threshold 0.8, fp 0.01",
        "DCLM-Baseline's BFF settings; deterministic and across all shards (upstream ran per shard)",
    );
    let mut rec = record(Stage::Dedup, dir, s.run.stats, f);
    rec.extra = serde_json::to_value(&s.report)?;
    Ok(rec)
}

fn quality(run: &mut Run, inputs: &[PathBuf], dir: &Path) -> Result<StageRecord> {
    std::fs::create_dir_all(dir)?;
    let (model, trained_note) = match &run.args.quality_model {
        Some(m) => (m.clone(), None),
        None => {
            let positives = if run.args.positives.is_empty() {
                vec![run.embedded.positives.clone()]
            } else {
                expand_inputs(&run.args.positives)?
            };
            let model = run.args.out.join("quality-classifier/quality.bin");
            std::fs::create_dir_all(model.parent().expect("has parent"))?;
            let targs = stages::quality::QualityTrainArgs {
                positives: vec![],
                negatives: vec![],
                out: model.clone(),
                epoch: run.recipe.classifier_epochs,
                lr: run.recipe.classifier_lr,
                word_ngrams: 2,
                seed: run.args.seed,
                threads: 1,
            };
            let (negatives, neg_note) = match run.recipe.negatives {
                Negatives::EmbeddedLowValue => (vec![run.embedded.negatives.clone()], "embedded low-value negatives"),
                Negatives::HeuristicOutput => (
                    stage_shards(&Stage::Heuristics.dir(&run.args.out))?,
                    "heuristic-stage documents as negatives",
                ),
            };
            let loss = stages::quality::train(&positives, &negatives, &model, &targs)?;
            (
                model,
                Some(format!(
                    "trained here on {neg_note} (loss {loss:.3}, {} epochs, lr {})",
                    targs.epoch, targs.lr
                )),
            )
        }
    };
    let keep = run.args.keep_fraction.unwrap_or(run.recipe.keep_fraction);
    let mut cfg = dclm_fasttext::QualityConfig::dclm_baseline(&model);
    cfg.mode = dclm_fasttext::ThresholdMode::TopFraction {
        keep_fraction: keep,
        sample: None,
    };
    let shards = shard_args(run, dir);
    let r = stages::quality::run(&cfg, &shards, inputs)?;
    check_clean(Stage::Quality, &r.summary)?;
    run.examples.add_stats(&r.summary.stats);
    // Score distribution over the stage's whole input: the scores the top-fraction threshold was computed from.
    let scores = &r.scores;
    let threshold = r.threshold.as_ref().map(|t| t.threshold);
    let mut h = Histogram::from_values(
        "quality_score",
        "fastText quality classifier: P(hq) of every document",
        "P(__label__hq)",
        0.0,
        1.0,
        20,
        scores,
    );
    if let Some(t) = threshold {
        h = h.with_threshold(t);
    }
    run.histograms.push(h);
    let f = match (&run.args.quality_model, trained_note) {
        (Some(m), _) => fidelity(
            Stage::Quality,
            keep == 0.1,
            &format!("dclm-fasttext with {}", m.display()),
            &format!(
                "given classifier; keeps the top {:.0}% (DCLM-Baseline: ≈ 10%)",
                keep * 100.0
            ),
        ),
        (None, note) => fidelity(
            Stage::Quality,
            false,
            &format!("dclm-fasttext classifier {}", note.unwrap_or_default()),
            &format!(
                "{} Keeps the top {:.0}% of documents (DCLM-Baseline keeps ≈ 10% with its released classifier).",
                dclm_report::embedded::POSITIVES_NOTE,
                keep * 100.0
            ),
        ),
    };
    let mut rec = record(Stage::Quality, dir, r.summary.stats, f);
    rec.extra = serde_json::json!({ "model": model, "keep_fraction": keep, "threshold": threshold });
    Ok(rec)
}

fn tokenize(run: &mut Run, inputs: &[PathBuf], dir: &Path) -> Result<StageRecord> {
    use dclm_train::data::{tokenize_shuffle_with, TokshufConfig};
    let tok_path = tokenizer_path(run);
    let spec = tokenizer_spec(run);
    let encoder = spec.load()?;
    let f = match &tok_path {
        Some(p) => fidelity(
            Stage::Tokenize,
            true,
            &format!("tokenizer {}", p.display()),
            "DCLM's tokenize-shuffle semantics",
        ),
        None => fidelity(
            Stage::Tokenize,
            false,
            "byte-level tokenizer (dclm-rs stand-in)",
            "no GPT-NeoX tokenizer.json in the assets; DCLM's tokenize-shuffle semantics otherwise",
        ),
    };
    let mut cfg = TokshufConfig::new(spec, dir);
    cfg.seed = run.args.seed;
    cfg.threads = run.args.threads;
    let seqlen = train_seq_len(run) + 1;
    cfg.seqlen = seqlen;
    cfg.wds_chunk_size = run.recipe.wds_chunk_size;
    let s = tokenize_shuffle_with(&cfg, encoder.as_ref(), inputs)?;
    let tok_name = tok_path
        .as_ref()
        .map_or("bytes (dclm-rs stand-in)".into(), |p| p.display().to_string());
    let source = dclm_core::executor::common_parent(inputs);
    let settings = format!("seed={} seqlen={seqlen}", cfg.seed);
    if let Err(e) = crate::datasets::record_tokenized(&run.args.out, dir, &source, &tok_name, seqlen, &settings) {
        eprintln!("baseline: no tokenized-dataset record: {e:#}");
    }
    let mut rec = record(Stage::Tokenize, dir, s.stats.clone(), f);
    rec.tokens = Some(s.doc_tokens);
    rec.extra = serde_json::to_value(&s)?;
    Ok(rec)
}

/// Context length of the model the baseline trains (tokens per training sequence, without the shifted target).
pub fn train_seq_len(run: &Run) -> usize {
    train_preset(run).map(|p| p.model.seq_len).unwrap_or(2048)
}

/// The tokenizer file of the run: `--tokenizer`, else GPT-NeoX from the assets.
fn tokenizer_path(run: &Run) -> Option<PathBuf> {
    run.args
        .tokenizer
        .clone()
        .or_else(|| run.recipe.assets.as_ref().and_then(|a| a.tokenizer.clone()))
}

/// The one tokenizer both the tokenize and the eval stage load: the run's file, else the byte-level stand-in.
fn tokenizer_spec(run: &Run) -> dclm_tokenizer::TokenizerSpec {
    match tokenizer_path(run) {
        Some(p) => dclm_tokenizer::TokenizerSpec::from_path(p),
        None => dclm_tokenizer::TokenizerSpec::Bytes,
    }
}

/// True when no GPT-NeoX tokenizer is available and the byte-level stand-in is used.
fn byte_level(run: &Run) -> bool {
    tokenizer_path(run).is_none()
}

/// The training recipe: the named scale; with the byte-level stand-in tokenizer the vocabulary shrinks to
/// the 260 ids it uses (the GPT-NeoX-sized head would be 200× wider for nothing).
pub fn train_preset(run: &Run) -> Result<dclm_train::train::Preset> {
    let mut p = dclm_train::train::Preset::by_name(&run.args.scale)?;
    if byte_level(run) {
        p.model.vocab_size = dclm_tokenizer::ByteTokenizer::MODEL_VOCAB;
        p.model.seq_len = 256;
        p.name = format!("{}-bytes", p.name);
        p.tokens = p.steps * p.global_batch as u64 * p.model.seq_len as u64;
    }
    p.seed = run.args.seed;
    Ok(p)
}

fn train(run: &mut Run, dir: &Path) -> Result<StageRecord> {
    use dclm_train::data::TokenSource;
    use dclm_train::train::{manifest_hash, TrainOptions, Trainer};
    let tok_dir = Stage::Tokenize.dir(&run.args.out);
    let preset = train_preset(run)?;
    let device = dclm_train::train::select_device(&run.args.device)?;
    let mut opts = TrainOptions::new(dir);
    opts.compute_dtype = run.args.dtype.parse()?;
    opts.peak_flops = run.args.peak_tflops.map(|t| t * 1e12);
    opts.max_steps = run.args.max_steps.or(if run.args.reduced { Some(10) } else { None });
    opts.checkpoint_every = 50;
    opts.log_every = 1;
    opts.dataset_manifest_hash = Some(manifest_hash(&tok_dir.join("manifest.jsonl"))?);
    opts.dataset_name = Some(run.recipe.dataset_name().into());
    let mut trainer = match Trainer::latest_checkpoint(dir) {
        Some(ckpt) => Trainer::resume(&ckpt, opts, &device)?,
        None => Trainer::new(preset.clone(), opts, &device)?,
    };
    let mut source = TokenSource::open(&tok_dir)?
        .with_seed(run.args.seed)
        .cycle(true)
        .expect_seq_len(preset.model.seq_len + 1);
    let batch = preset.global_batch;
    let batches = std::iter::from_fn(move || match source.next_batch(batch) {
        Ok(Some(b)) => Some(Ok(b)),
        Ok(None) => None,
        Err(e) => Some(Err(e)),
    });
    let rec = trainer.fit_fallible(batches).context("training")?;
    let mut stats = Stats::new("train");
    stats.seconds = rec.wall_seconds;
    let faithful = !byte_level(run) && run.args.max_steps.is_none() && !run.args.reduced;
    let f = fidelity(
        Stage::Train,
        faithful && preset.chinchilla_multiplier > 0,
        &format!(
            "open_lm in candle (CPU), scale {}: {} params, {} steps, {} tokens, {:.0} tokens/s",
            preset.name, rec.params, rec.steps, rec.tokens_seen, rec.tokens_per_s
        ),
        if preset.chinchilla_multiplier > 0 {
            "a DCLM competition scale with DCLM's recipe"
        } else {
            "a small CPU preset with DCLM's recipe (AdamW β2 0.95, warmup + cosine, z-loss), not a DCLM scale"
        },
    );
    if let Err(e) = crate::datasets::record_model(&run.args.out, dir, &rec, &format!("seed={}", run.args.seed)) {
        eprintln!("baseline: no model record: {e:#}");
    }
    let mut r = record(Stage::Train, dir, stats, f);
    r.tokens = Some(rec.tokens_seen);
    r.extra = serde_json::to_value(&rec)?;
    Ok(r)
}

fn eval(run: &mut Run, dir: &Path) -> Result<StageRecord> {
    use dclm_eval::{EvalConfig, RunOptions};
    std::fs::create_dir_all(dir)?;
    let preset = train_preset(run)?;
    let weights = Stage::Train.dir(&run.args.out).join("model.safetensors");
    let device = dclm_train::train::select_device(&run.args.device)?;
    let model = dclm_train::train::load_model(&preset, &weights, &device)
        .with_context(|| format!("loading {}", weights.display()))?;
    let lm = crate::lm::CandleLm::new(model, preset.name.clone(), preset.model.seq_len);
    let tokenizer = tokenizer_spec(run).load()?;
    let limit = run.args.eval_limit.or(if run.args.reduced { Some(5) } else { None });
    let options = RunOptions {
        batch_size: 4,
        limit,
        progress: !run.args.no_progress,
        keep_examples: false,
    };
    let (mut cfg, suite, f) = match (
        &run.recipe.assets,
        run.recipe.assets.as_ref().and_then(|a| a.eval_data.clone()),
    ) {
        (Some(a), Some(data)) => {
            let eval_dir = a.dclm_root.join("eval");
            let cfg = EvalConfig::dclm(&eval_dir.join("mmlu_and_lowvar.yaml"), &eval_dir, &data)?;
            let f = fidelity(
                Stage::Eval,
                limit.is_none(),
                "dclm-eval: LLM-Foundry ICL tasks of DCLM's mmlu_and_lowvar.yaml (CORE + MMLU)",
                "DCLM's task list, prompts and scoring; tasks whose files are not in the assets are reported as skipped",
            );
            (cfg, "DCLM CORE (mmlu_and_lowvar.yaml)", f)
        }
        _ => {
            let e = &run.embedded.eval_dir;
            let cfg = EvalConfig {
                tasks: dclm_eval::load_task_yaml(&run.embedded.eval_yaml)?,
                data_dir: e.clone(),
                meta_v2: Some(e.join("eval_meta_data.csv")),
                meta_v1: None,
                aggregation: Some(e.join("additional_aggregation.json")),
                run: RunOptions::default(),
            };
            let f = fidelity(
                Stage::Eval,
                false,
                "dclm-eval with the four embedded mini tasks (one per LLM-Foundry task type)",
                "no --assets: DCLM's 22 CORE task files are not shipped; the embedded tasks exercise the same prompt \
                 construction and scoring",
            );
            (cfg, "embedded mini tasks (CORE-style aggregate)", f)
        }
    };
    cfg.run = options;
    let report = dclm_eval::evaluate(&lm, tokenizer, &cfg).context("evaluation")?;
    dclm_core::io::write_atomic(&dir.join("eval_results.json"), &serde_json::to_vec_pretty(&report)?)?;
    let model_name = crate::datasets::model_record_name(&run.args.out, &preset.name);
    if let Err(e) = crate::datasets::record_eval(&run.args.out, &report, &model_name) {
        eprintln!("baseline: no eval record: {e:#}");
    }
    let table = crate::stages::eval::eval_table(&report, &cfg, suite);
    let mut stats = Stats::new("eval");
    stats.seconds = report.tasks.iter().map(|t| t.seconds).sum();
    let mut r = record(Stage::Eval, dir, stats, f);
    r.extra = serde_json::json!({ "skipped": report.skipped, "table": table });
    Ok(r)
}

/// The loss curve from the trainer's `train_log.jsonl`.
fn read_loss_curve(dir: &Path, model: &str) -> Option<dclm_report::LossCurve> {
    let text = std::fs::read_to_string(dir.join("train_log.jsonl")).ok()?;
    let points = text
        .lines()
        .filter_map(|l| serde_json::from_str::<dclm_train::train::StepLog>(l).ok())
        .map(|s| dclm_report::LossPoint {
            step: s.step,
            tokens: s.tokens,
            train_loss: s.ce as f64,
            val_loss: None,
            lr: s.lr,
        })
        .collect();
    Some(dclm_report::LossCurve {
        model: model.to_string(),
        points,
    })
}

fn build_report(run: &Run, records: &[(StageRecord, bool)], seconds: f64) -> Report {
    let mut r = Report::new("dclm-rs baseline run", run.recipe.mode());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    r.started = format!("finished at unix time {now}, {seconds:.0} s wall-clock for this invocation");
    r.settings.insert("output".into(), run.args.out.display().to_string());
    r.settings.insert("threads".into(), run.args.threads.to_string());
    r.settings.insert("seed".into(), run.args.seed.to_string());
    r.settings.insert(
        "assets".into(),
        run.recipe
            .assets
            .as_ref()
            .map(|a| a.dclm_root.display().to_string())
            .unwrap_or_else(|| "none (stand-ins)".into()),
    );
    r.settings.insert(
        "inputs".into(),
        if run.recipe.embedded_corpus {
            "embedded corpus".into()
        } else {
            run.args.inputs.join(" ")
        },
    );
    for (rec, resumed) in records {
        let mut stats = rec.stats.clone();
        stats.stage = rec.stage.name().to_string();
        if rec.stage <= Stage::Tokenize {
            r.add_stage_stats(&stats);
        } else {
            r.timings.push(dclm_report::Timing {
                stage: stats.stage.clone(),
                seconds: 0.0,
                resumed: false,
            });
        }
        if let Some(t) = r.timings.last_mut() {
            t.seconds = rec.seconds;
            t.resumed = *resumed;
        }
        if rec.stage == Stage::Train {
            r.loss_curve = read_loss_curve(&rec.dir, &rec.fidelity.implementation);
        }
        if rec.stage == Stage::Eval {
            r.eval = serde_json::from_value(rec.extra["table"].clone()).ok();
            if let Some(sk) = rec.extra["skipped"].as_array().filter(|a| !a.is_empty()) {
                r.notes
                    .push(format!("Eval tasks skipped: {}", serde_json::Value::Array(sk.clone())));
            }
        }
        if let Some(tok) = rec.tokens {
            if let Some(f) = r.funnel_stage_mut(rec.stage.name()) {
                f.tokens_out = Some(tok);
            }
        }
        r.fidelity.push(rec.fidelity.clone());
        r.outputs
            .insert(rec.stage.name().to_string(), rec.dir.display().to_string());
    }
    run.examples.attach(&mut r.steps);
    r.histograms = run.histograms.clone();
    if run.recipe.embedded_corpus {
        r.notes.push(dclm_report::embedded::CORPUS_NOTE.to_string());
    }
    let mismatches = r.funnel_mismatches();
    if !mismatches.is_empty() {
        r.notes
            .push(format!("Funnel inconsistencies: {}", mismatches.join("; ")));
    }
    r
}

/// `dclm baseline …`
pub fn main(args: BaselineArgs) -> Result<()> {
    let out = run(args)?;
    eprintln!("\nbaseline complete.");
    for (rec, resumed) in &out.stages {
        eprintln!(
            "  {:<11} {:>7} → {:<7} docs {}  {}",
            rec.stage.name(),
            rec.stats.docs_in,
            rec.stats.docs_out,
            if *resumed { "(resumed)" } else { "" },
            rec.dir.display()
        );
    }
    println!("report: {}", out.report_html.display());
    println!("report data: {}", out.report_json.display());
    Ok(())
}
