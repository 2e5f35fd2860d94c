//! The evaluation driver: run [`Task`]s against a [`LanguageModel`] in batches, aggregate DCLM-style
//! (CORE / EXTENDED / MMLU, v1 and v2 baselines) and write the results JSON and a Markdown table.

use crate::aggregate::{aggregate, Aggregated, AggregationGroups, EvalMeta, MaybeScore};
use crate::model::{GenRequest, LanguageModel, LoglikRequest, StopCriterion};
use crate::report::{insert_aggregates, DclmEvalResults, EvalVersion};
use crate::task::{ExampleScore, Request, Response, Task};
use crate::{EvalError, IclTask, TaskConfig, Tokenizer};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How to run one task.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Examples per model call (MC choices of an example always go together). Default 16.
    pub batch_size: usize,
    /// Evaluate only the first N examples of each task (smoke runs, conformance). Default: all.
    pub limit: Option<usize>,
    /// Show a progress bar per task.
    pub progress: bool,
    /// Keep every example's score in the [`TaskResult`].
    pub keep_examples: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            batch_size: 16,
            limit: None,
            progress: false,
            keep_examples: false,
        }
    }
}

/// The outcome of one task.
#[derive(Clone, Debug, Serialize)]
pub struct TaskResult {
    /// Task label.
    pub label: String,
    /// Examples evaluated.
    pub num_examples: usize,
    /// Examples correct.
    pub num_correct: usize,
    /// Accuracy as DCLM stores it: float32 `correct/total` (widened), or the plain mean of the per-category
    /// float32 accuracies.
    pub accuracy: f64,
    /// Per-category accuracies (categorised tasks only).
    pub categories: BTreeMap<String, f64>,
    /// Wall time.
    pub seconds: f64,
    /// Examples per second.
    pub examples_per_second: f64,
    /// Per-example scores when [`RunOptions::keep_examples`] is set.
    #[serde(skip)]
    pub examples: Vec<ExampleScore>,
}

struct BatchStop<'a> {
    task: &'a dyn Task,
    indices: &'a [usize],
}

impl StopCriterion for BatchStop<'_> {
    fn should_stop(&self, request: usize, generated: &[u32]) -> bool {
        self.indices
            .get(request)
            .is_some_and(|&i| self.task.should_stop(i, generated))
    }
}

/// Run `task` against `model`.
pub fn run_task(model: &dyn LanguageModel, task: &dyn Task, opts: &RunOptions) -> Result<TaskResult, EvalError> {
    let start = Instant::now();
    let n = opts.limit.map_or(task.num_examples(), |l| l.min(task.num_examples()));
    let bar = if opts.progress {
        let pb = indicatif::ProgressBar::new(n as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>28} {bar:40} {pos}/{len} [{elapsed_precise}<{eta_precise}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.set_prefix(task.name().to_string());
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let batch = opts.batch_size.max(1);
    let mut scores: Vec<(usize, ExampleScore)> = Vec::with_capacity(n);
    for chunk_start in (0..n).step_by(batch) {
        let idx: Vec<usize> = (chunk_start..(chunk_start + batch).min(n)).collect();
        let requests: Vec<Request> = idx.par_iter().map(|&i| task.request(i)).collect::<Result<_, _>>()?;
        let mut responses: Vec<Option<Response>> = vec![None; idx.len()];
        // Log-likelihood requests of the whole batch in one model call.
        let mut flat: Vec<LoglikRequest> = Vec::new();
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        let mut gen: Vec<GenRequest> = Vec::new();
        let mut gen_pos: Vec<usize> = Vec::new();
        for (k, r) in requests.into_iter().enumerate() {
            match r {
                Request::Loglik(rs) => {
                    spans.push((k, flat.len(), rs.len()));
                    flat.extend(rs);
                }
                Request::Generate(g) => {
                    gen.push(g);
                    gen_pos.push(k);
                }
            }
        }
        if !flat.is_empty() {
            let out = model.loglikelihood(&flat)?;
            if out.len() != flat.len() {
                return Err(EvalError::Model(format!(
                    "{} results for {} requests",
                    out.len(),
                    flat.len()
                )));
            }
            for &(k, s, len) in &spans {
                responses[k] = Some(Response::Loglik(out[s..s + len].to_vec()));
            }
        }
        if !gen.is_empty() {
            let gen_idx: Vec<usize> = gen_pos.iter().map(|&k| idx[k]).collect();
            let out = model.generate(
                &gen,
                &BatchStop {
                    task,
                    indices: &gen_idx,
                },
            )?;
            if out.len() != gen.len() {
                return Err(EvalError::Model(format!(
                    "{} generations for {} requests",
                    out.len(),
                    gen.len()
                )));
            }
            for (k, ids) in gen_pos.iter().zip(out) {
                responses[*k] = Some(Response::Generated(ids));
            }
        }
        let scored: Vec<(usize, ExampleScore)> = idx
            .par_iter()
            .zip(responses.into_par_iter())
            .map(|(&i, r)| {
                let r = r.ok_or_else(|| EvalError::Model(format!("no response for example {i}")))?;
                Ok((i, task.score(i, r)?))
            })
            .collect::<Result<_, EvalError>>()?;
        scores.extend(scored);
        bar.inc(idx.len() as u64);
    }
    bar.finish_and_clear();
    let num_correct = scores.iter().filter(|(_, s)| s.correct).count();
    let mut per_cat: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut categorised = false;
    for (i, s) in &scores {
        if let Some(g) = task.group(*i) {
            categorised = true;
            let e = per_cat.entry(g.to_string()).or_default();
            e.0 += usize::from(s.correct);
            e.1 += 1;
        }
    }
    let f32_acc = |c: usize, t: usize| {
        if t == 0 {
            f64::NAN
        } else {
            f64::from(c as f32 / t as f32)
        }
    };
    let categories: BTreeMap<String, f64> = per_cat.iter().map(|(k, &(c, t))| (k.clone(), f32_acc(c, t))).collect();
    let accuracy = if categorised {
        let vals: Vec<f64> = categories.values().copied().collect();
        crate::aggregate::numpy_sum(&vals) / vals.len() as f64
    } else {
        f32_acc(num_correct, scores.len())
    };
    let seconds = start.elapsed().as_secs_f64();
    Ok(TaskResult {
        label: task.name().to_string(),
        num_examples: scores.len(),
        num_correct,
        accuracy,
        categories,
        seconds,
        examples_per_second: if seconds > 0.0 {
            scores.len() as f64 / seconds
        } else {
            0.0
        },
        examples: if opts.keep_examples {
            scores.into_iter().map(|(_, s)| s).collect()
        } else {
            Vec::new()
        },
    })
}

/// What to evaluate and where the data and aggregation tables are.
#[derive(Clone, Debug)]
pub struct EvalConfig {
    /// Tasks (e.g. from [`crate::load_task_yaml`] on `mmlu_and_lowvar.yaml` or `heavy.yaml`).
    pub tasks: Vec<TaskConfig>,
    /// Folder holding `local_data/` (or `local_data/` itself).
    pub data_dir: PathBuf,
    /// `eval_meta_data.csv` (v2 baselines).
    pub meta_v2: Option<PathBuf>,
    /// `eval_meta_data_v1.csv` (paper-era baselines).
    pub meta_v1: Option<PathBuf>,
    /// `additional_aggregation.json` (CORE list and other groups).
    pub aggregation: Option<PathBuf>,
    /// Batching, limits, progress.
    pub run: RunOptions,
}

impl EvalConfig {
    /// DCLM's layout: `dclm_eval_dir` holds the YAMLs, csvs and aggregation json (`shared/data/dclm/eval`);
    /// `tasks_yaml` is one of its YAMLs or any LLM-Foundry task YAML.
    pub fn dclm(tasks_yaml: &Path, dclm_eval_dir: &Path, data_dir: &Path) -> Result<Self, EvalError> {
        Ok(EvalConfig {
            tasks: crate::load_task_yaml(tasks_yaml)?,
            data_dir: data_dir.to_path_buf(),
            meta_v2: Some(dclm_eval_dir.join("eval_meta_data.csv")),
            meta_v1: Some(dclm_eval_dir.join("eval_meta_data_v1.csv")),
            aggregation: Some(dclm_eval_dir.join("additional_aggregation.json")),
            run: RunOptions::default(),
        })
    }
}

/// Where LLM-Foundry's `local_data` lives: `$DCLM_EVAL_DATA` if set, else `fallback`.
pub fn data_dir_from_env(fallback: &Path) -> PathBuf {
    std::env::var_os("DCLM_EVAL_DATA").map_or_else(|| fallback.to_path_buf(), PathBuf::from)
}

/// The task YAML of a named suite in DCLM's eval folder: `core` → `mmlu_and_lowvar.yaml` (22 CORE tasks +
/// MMLU 5-shot), `extended` / `heavy` → `heavy.yaml` (all 53), `light` / `medium` → theirs; anything else is
/// taken as a path to a YAML file.
pub fn suite_yaml(suite: &str, dclm_eval_dir: &Path) -> PathBuf {
    match suite {
        "core" => dclm_eval_dir.join("mmlu_and_lowvar.yaml"),
        "extended" | "heavy" => dclm_eval_dir.join("heavy.yaml"),
        "light" => dclm_eval_dir.join("light.yaml"),
        "medium" => dclm_eval_dir.join("medium.yaml"),
        path => PathBuf::from(path),
    }
}

/// A task that did not run, and why (missing file, bad record with file:line, unsupported by the model).
#[derive(Clone, Debug, Serialize)]
pub struct SkippedTask {
    /// Task label.
    pub label: String,
    /// The reason.
    pub reason: String,
}

/// The results of an evaluation run.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// Model name.
    pub model: String,
    /// Tasks that ran.
    pub tasks: Vec<TaskResult>,
    /// Tasks that did not.
    pub skipped: Vec<SkippedTask>,
    /// Aggregation with v1 baselines (if the csv was given).
    pub aggregated_v1: Option<Aggregated>,
    /// Aggregation with v2 baselines (if the csv was given).
    pub aggregated_v2: Option<Aggregated>,
}

impl EvalReport {
    /// Build a report (and its aggregates) from task results.
    pub fn new(
        model: impl Into<String>,
        tasks: Vec<TaskResult>,
        skipped: Vec<SkippedTask>,
        meta_v1: Option<&EvalMeta>,
        meta_v2: Option<&EvalMeta>,
        groups: Option<&AggregationGroups>,
    ) -> Self {
        let results: BTreeMap<String, f64> = tasks.iter().map(|t| (t.label.clone(), t.accuracy)).collect();
        let empty = AggregationGroups { groups: vec![] };
        let g = groups.unwrap_or(&empty);
        EvalReport {
            model: model.into(),
            aggregated_v1: meta_v1.map(|m| aggregate(&results, m, g, "v1")),
            aggregated_v2: meta_v2.map(|m| aggregate(&results, m, g, "v2")),
            tasks,
            skipped,
        }
    }

    /// Accuracy of a task that ran.
    pub fn accuracy(&self, label: &str) -> Option<f64> {
        self.tasks.iter().find(|t| t.label == label).map(|t| t.accuracy)
    }

    /// MMLU headline: raw `mmlu_fewshot` accuracy.
    pub fn mmlu(&self) -> Option<f64> {
        self.accuracy("mmlu_fewshot")
    }

    /// The run as a [`DclmEvalResults`] (fresh UUID and date; `name` and `model` are the model's name), with
    /// a `MMLU` key and a `dclm_rs` block (per-task details, the tasks that did not run with their reasons,
    /// both full aggregations) as extra keys.
    pub fn to_dclm_results(&self) -> DclmEvalResults {
        let icl = self.tasks.iter().map(|t| (t.label.clone(), t.accuracy)).collect();
        let mut r = DclmEvalResults::new(self.model.clone(), self.model.clone(), icl);
        r.extra.insert("MMLU".into(), json!(self.mmlu()));
        r.extra.insert(
            "dclm_rs".into(),
            json!({
                "tasks": self.tasks,
                "skipped": self.skipped,
                "aggregated_v1": self.aggregated_v1,
                "aggregated_v2": self.aggregated_v2,
            }),
        );
        r
    }

    /// The results file in DCLM's shape (see [`crate::report`]): identity, `eval_metrics.icl`, the aggregates
    /// with `version`'s baselines in the unsuffixed keys (`Core`, `Extended`, groups…) and
    /// `Core_v1/Core_v2/Extended_v1/Extended_v2`, then `MMLU` and the `dclm_rs` block. Falls back to the other
    /// version when only one csv was given; without either, only identity and `eval_metrics` are written.
    pub fn to_dclm_json_version(&self, version: EvalVersion) -> Value {
        let r = self.to_dclm_results();
        let mut top = Map::new();
        top.insert("name".into(), json!(r.name));
        top.insert("uuid".into(), json!(r.uuid));
        top.insert("model".into(), json!(r.model));
        top.insert("creation_date".into(), json!(r.creation_date));
        let icl: Map<String, Value> = r.icl.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        top.insert("eval_metrics".into(), json!({ "icl": icl }));
        let (v1, v2) = (self.aggregated_v1.as_ref(), self.aggregated_v2.as_ref());
        let other = match version {
            EvalVersion::V1 => EvalVersion::V2,
            EvalVersion::V2 => EvalVersion::V1,
        };
        if insert_aggregates(&mut top, v1, v2, version).is_err() {
            // Only the other version's csv was given: use it rather than write no aggregate at all.
            let _ = insert_aggregates(&mut top, v1, v2, other);
        }
        for (k, v) in r.extra {
            top.insert(k, v);
        }
        Value::Object(top)
    }

    /// [`to_dclm_json_version`](Self::to_dclm_json_version) with DCLM's default `v2`.
    pub fn to_dclm_json(&self) -> Value {
        self.to_dclm_json_version(EvalVersion::V2)
    }

    /// A Markdown summary: headline numbers, then one row per task.
    pub fn to_markdown(&self) -> String {
        let fmt = |m: Option<&MaybeScore>| match m {
            Some(MaybeScore::Value(v)) => format!("{:.4}", v),
            Some(MaybeScore::Missing(_)) => "N/A (missing tasks)".into(),
            None => "-".into(),
        };
        let mut s = format!(
            "# Evaluation of {}\n\n| Metric | v1 | v2 |\n|---|---|---|\n",
            self.model
        );
        s += &format!(
            "| CORE | {} | {} |\n| EXTENDED | {} | {} |\n",
            fmt(self.aggregated_v1.as_ref().map(|a| &a.core)),
            fmt(self.aggregated_v2.as_ref().map(|a| &a.core)),
            fmt(self.aggregated_v1.as_ref().map(|a| &a.extended)),
            fmt(self.aggregated_v2.as_ref().map(|a| &a.extended)),
        );
        let mmlu = self.mmlu().map_or("-".to_string(), |v| format!("{v:.4}"));
        s += &format!("| MMLU (5-shot, raw) | {mmlu} | {mmlu} |\n\n");
        s += "| Task | Examples | Accuracy | Centered v1 | Centered v2 | Examples/s |\n|---|---|---|---|---|---|\n";
        let centered = |agg: &Option<Aggregated>, label: &str| {
            agg.as_ref()
                .and_then(|a| a.per_task.iter().find(|t| t.task == label))
                .and_then(|t| t.centered)
                .map_or("-".to_string(), |c| format!("{c:.4}"))
        };
        for t in &self.tasks {
            s += &format!(
                "| {} | {} | {:.4} | {} | {} | {:.1} |\n",
                t.label,
                t.num_examples,
                t.accuracy,
                centered(&self.aggregated_v1, &t.label),
                centered(&self.aggregated_v2, &t.label),
                t.examples_per_second
            );
        }
        if !self.skipped.is_empty() {
            s += "\n## Skipped tasks\n\n";
            for k in &self.skipped {
                s += &format!("- {}: {}\n", k.label, k.reason);
            }
        }
        s
    }

    /// Write the JSON (and Markdown, if a path is given).
    pub fn write(&self, json_path: &Path, markdown_path: Option<&Path>) -> Result<(), EvalError> {
        if let Some(dir) = json_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
        }
        let text = serde_json::to_string_pretty(&self.to_dclm_json()).map_err(|e| EvalError::Json {
            path: json_path.to_path_buf(),
            source: e,
        })?;
        std::fs::write(json_path, text + "\n").map_err(|e| EvalError::io(json_path, e))?;
        if let Some(md) = markdown_path {
            std::fs::write(md, self.to_markdown()).map_err(|e| EvalError::io(md, e))?;
        }
        Ok(())
    }
}

/// Why a task cannot run because its file is missing, or `None` when the file is there.
fn absent_reason(tc: &TaskConfig, path: &Path) -> Option<String> {
    if path.is_file() {
        return None;
    }
    Some(if tc.dataset_uri.starts_with("gpqa_data/") {
        format!(
            "task file {} is absent: GPQA ships only inside DCLM's password-protected eval/gpqa/dataset.zip \
             (write its task files with `dclm eval prepare-gpqa --zip dataset.zip --data-dir <this data folder>`)",
            path.display()
        )
    } else {
        format!("task file {} is absent", path.display())
    })
}

impl EvalConfig {
    /// The tasks that cannot run with this data folder, each with the reason (listed before a run so that a
    /// CLI can report them up front; [`evaluate`] records the same ones as skipped).
    pub fn unavailable_tasks(&self) -> Vec<SkippedTask> {
        self.tasks
            .iter()
            .filter_map(|tc| {
                absent_reason(tc, &tc.resolve_path(&self.data_dir)).map(|reason| SkippedTask {
                    label: tc.label.clone(),
                    reason,
                })
            })
            .collect()
    }
}

/// Evaluate `config.tasks` with `model` (token ids from `tokenizer`). Tasks whose file is missing or
/// malformed, or that the model cannot run (generation), are skipped with the reason recorded; CORE /
/// EXTENDED then read "N/A due to missing tasks", as in DCLM. Errors only for unreadable aggregation tables.
pub fn evaluate(
    model: &dyn LanguageModel,
    tokenizer: Arc<dyn Tokenizer>,
    config: &EvalConfig,
) -> Result<EvalReport, EvalError> {
    let meta_v1 = config.meta_v1.as_deref().map(EvalMeta::from_csv).transpose()?;
    let meta_v2 = config.meta_v2.as_deref().map(EvalMeta::from_csv).transpose()?;
    let groups = config
        .aggregation
        .as_deref()
        .map(AggregationGroups::from_json)
        .transpose()?;
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    for tc in &config.tasks {
        let path = tc.resolve_path(&config.data_dir);
        if let Some(reason) = absent_reason(tc, &path) {
            skipped.push(SkippedTask {
                label: tc.label.clone(),
                reason,
            });
            continue;
        }
        let outcome = IclTask::load(tc.clone(), &path, tokenizer.clone(), model.max_seq_len())
            .and_then(|task| run_task(model, &task, &config.run));
        match outcome {
            Ok(r) => results.push(r),
            Err(e) => skipped.push(SkippedTask {
                label: tc.label.clone(),
                reason: e.to_string(),
            }),
        }
    }
    Ok(EvalReport::new(
        model.name(),
        results,
        skipped,
        meta_v1.as_ref(),
        meta_v2.as_ref(),
        groups.as_ref(),
    ))
}
