//! The run report's data model: funnel, per-step drops with examples, histograms, loss curve, eval table,
//! fidelity notes and timings — everything that goes into `report.json`.

use crate::ReportError;
pub use dclm_core::{snippet, DropExample, MAX_DROP_EXAMPLES, SNIPPET_CHARS};
use dclm_core::{Stats, StepStats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the `report.json` schema written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run of the DCLM loop, as written to `report.json` and rendered to `report.html`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    /// [`SCHEMA_VERSION`] at write time.
    pub schema_version: u32,
    /// Title shown at the top of the HTML page.
    pub title: String,
    /// When the run started, as given by the caller (e.g. RFC 3339 text); free-form.
    pub started: String,
    /// `"embedded-default"` or `"real-data"` (free-form, shown as is).
    pub mode: String,
    /// Run settings worth showing (input glob, output dir, threads, scale, assets dir, …).
    pub settings: BTreeMap<String, String>,
    /// Documents (and tokens where known) into and out of each stage, in pipeline order.
    pub funnel: Vec<FunnelStage>,
    /// Per-step counters with drop reasons and example dropped documents, in pipeline order.
    pub steps: Vec<StepReport>,
    /// Score distributions (dedup containment, classifier probability, …).
    pub histograms: Vec<Histogram>,
    /// Training loss curve, if training ran.
    pub loss_curve: Option<LossCurve>,
    /// Evaluation results with CORE, if evaluation ran.
    pub eval: Option<EvalTable>,
    /// Which stages ran DCLM-faithful and which used a stand-in, and why.
    pub fidelity: Vec<StageFidelity>,
    /// Wall-clock time per stage.
    pub timings: Vec<Timing>,
    /// Where outputs were written (stage → path).
    pub outputs: BTreeMap<String, String>,
    /// Free-form remarks shown at the end of the report.
    pub notes: Vec<String>,
}

/// One row of the funnel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunnelStage {
    /// Stage name (`extract`, `heuristics`, `dedup`, `quality`, `tokenize`, …).
    pub stage: String,
    /// Documents into the stage (records for extraction).
    pub docs_in: u64,
    /// Documents out of the stage.
    pub docs_out: u64,
    /// Tokens out of the stage, if counted (GPT-NeoX or stand-in tokenizer, see fidelity).
    pub tokens_out: Option<u64>,
    /// Bytes of text out of the stage, if counted.
    pub bytes_out: Option<u64>,
    /// Documents that could not be read or processed (counted separately from drops).
    pub errors: u64,
}

/// Counters of one pipeline step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepReport {
    /// Stage the step belongs to.
    pub stage: String,
    /// Step name (DCLM mapper name where there is one).
    pub step: String,
    /// Documents that reached the step.
    pub docs_in: u64,
    /// Documents that left it.
    pub docs_out: u64,
    /// Drops by reason, largest first.
    pub drops: Vec<DropReason>,
    /// Seconds spent in the step (summed over threads).
    pub seconds: f64,
}

/// How many documents one step dropped for one reason, with a few examples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DropReason {
    /// Short reason string (the `Verdict::Drop` reason).
    pub reason: String,
    /// Number of documents dropped for it.
    pub count: u64,
    /// Up to [`MAX_DROP_EXAMPLES`] example documents.
    pub examples: Vec<DropExample>,
}

impl StepReport {
    /// Build from dclm-core's [`StepStats`] (reasons sorted by count, largest first; no examples yet).
    pub fn from_step_stats(stage: &str, s: &StepStats) -> Self {
        let mut drops: Vec<DropReason> = s
            .dropped
            .iter()
            .map(|(reason, &count)| DropReason {
                reason: reason.clone(),
                count,
                examples: Vec::new(),
            })
            .collect();
        drops.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        StepReport {
            stage: stage.to_string(),
            step: s.name.clone(),
            docs_in: s.docs_in,
            docs_out: s.docs_out,
            drops,
            seconds: s.seconds,
        }
    }

    /// Total documents dropped by this step.
    pub fn dropped(&self) -> u64 {
        self.drops.iter().map(|d| d.count).sum()
    }

    /// Attach an example for `reason` (creating the reason with count 0 if unknown); ignored once
    /// [`MAX_DROP_EXAMPLES`] examples are held.
    pub fn add_example(&mut self, reason: &str, example: DropExample) {
        let idx = match self.drops.iter().position(|d| d.reason == reason) {
            Some(i) => i,
            None => {
                self.drops.push(DropReason {
                    reason: reason.to_string(),
                    count: 0,
                    examples: Vec::new(),
                });
                self.drops.len() - 1
            }
        };
        let d = &mut self.drops[idx];
        if d.examples.len() < MAX_DROP_EXAMPLES {
            d.examples.push(example);
        }
    }
}

/// Collects up to [`MAX_DROP_EXAMPLES`] examples per (step, reason) while a stage runs; cheap to call
/// for every dropped document (it stops storing once full). Merge per-thread collectors with [`merge`](Self::merge).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExampleCollector {
    /// (step, reason) → examples.
    pub examples: BTreeMap<String, BTreeMap<String, Vec<DropExample>>>,
}

impl ExampleCollector {
    /// Empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// True if another example for (step, reason) would be stored.
    pub fn wants(&self, step: &str, reason: &str) -> bool {
        self.examples
            .get(step)
            .and_then(|m| m.get(reason))
            .is_none_or(|v| v.len() < MAX_DROP_EXAMPLES)
    }

    /// Record a dropped document (text cut to [`SNIPPET_CHARS`]).
    pub fn record(&mut self, step: &str, reason: &str, url: &str, text: &str) {
        if self.wants(step, reason) {
            self.examples
                .entry(step.to_string())
                .or_default()
                .entry(reason.to_string())
                .or_default()
                .push(DropExample::new(url, text));
        }
    }

    /// Add another collector's examples (keeping the limit).
    pub fn merge(&mut self, other: &ExampleCollector) {
        for (step, reasons) in &other.examples {
            for (reason, exs) in reasons {
                for e in exs {
                    if self.wants(step, reason) {
                        self.examples
                            .entry(step.clone())
                            .or_default()
                            .entry(reason.clone())
                            .or_default()
                            .push(e.clone());
                    }
                }
            }
        }
    }

    /// Add the examples a stage gathered while it ran (its merged stats' per-step examples).
    pub fn add_stats(&mut self, stats: &Stats) {
        for st in &stats.steps {
            for (reason, exs) in &st.examples {
                for e in exs {
                    if self.wants(&st.name, reason) {
                        self.examples
                            .entry(st.name.clone())
                            .or_default()
                            .entry(reason.clone())
                            .or_default()
                            .push(e.clone());
                    }
                }
            }
        }
    }

    /// Attach the collected examples to the matching steps of `steps` (by step name).
    pub fn attach(&self, steps: &mut [StepReport]) {
        for s in steps.iter_mut() {
            if let Some(reasons) = self.examples.get(&s.step) {
                for (reason, exs) in reasons {
                    for e in exs {
                        s.add_example(reason, e.clone());
                    }
                }
            }
        }
    }
}

/// A histogram with fixed-width bins over `[lo, hi)`; values outside are clamped into the end bins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Histogram {
    /// Short identifier (`dedup_containment`, `quality_score`, …).
    pub name: String,
    /// Title shown above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Lower edge of the first bin.
    pub lo: f64,
    /// Upper edge of the last bin.
    pub hi: f64,
    /// Count per bin.
    pub counts: Vec<u64>,
    /// A decision threshold drawn as a vertical line (e.g. the kept-fraction cut of the classifier).
    pub threshold: Option<f64>,
    /// Values that were not finite and so not counted.
    pub non_finite: u64,
}

impl Histogram {
    /// Empty histogram with `bins` bins over `[lo, hi)` (at least one bin; `hi > lo` is enforced by widening).
    pub fn new(name: &str, title: &str, x_label: &str, lo: f64, hi: f64, bins: usize) -> Self {
        let hi = if hi.is_finite() && lo.is_finite() && hi > lo {
            hi
        } else {
            lo + 1.0
        };
        Histogram {
            name: name.to_string(),
            title: title.to_string(),
            x_label: x_label.to_string(),
            lo,
            hi,
            counts: vec![0; bins.max(1)],
            threshold: None,
            non_finite: 0,
        }
    }

    /// Count one value.
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() || !self.lo.is_finite() {
            self.non_finite += 1;
            return;
        }
        let n = self.counts.len();
        let t = (v - self.lo) / (self.hi - self.lo) * n as f64;
        let i = if t < 0.0 { 0 } else { (t as usize).min(n - 1) };
        self.counts[i] += 1;
    }

    /// Histogram of `values` with `bins` bins over `[lo, hi)`.
    pub fn from_values(name: &str, title: &str, x_label: &str, lo: f64, hi: f64, bins: usize, values: &[f64]) -> Self {
        let mut h = Histogram::new(name, title, x_label, lo, hi, bins);
        for &v in values {
            h.add(v);
        }
        h
    }

    /// Set the threshold line.
    pub fn with_threshold(mut self, t: f64) -> Self {
        self.threshold = Some(t);
        self
    }

    /// Total values counted in bins.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Width of one bin.
    pub fn bin_width(&self) -> f64 {
        (self.hi - self.lo) / self.counts.len().max(1) as f64
    }
}

/// One point of the loss curve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LossPoint {
    /// Optimizer step.
    pub step: u64,
    /// Tokens seen so far.
    pub tokens: u64,
    /// Training loss (cross-entropy, nats/token) at this step.
    pub train_loss: f64,
    /// Validation loss, when measured at this step.
    pub val_loss: Option<f64>,
    /// Learning rate at this step.
    pub lr: f64,
}

/// The training loss curve plus the model that produced it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LossCurve {
    /// Model description (e.g. `open_lm tiny: 2 layers, d=128, 1.2M params`).
    pub model: String,
    /// Points in step order.
    pub points: Vec<LossPoint>,
}

/// One evaluated task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalRow {
    /// Task label (as in the eval YAML).
    pub task: String,
    /// Category (world knowledge, commonsense reasoning, …).
    pub category: String,
    /// LLM-Foundry ICL task type.
    pub task_type: String,
    /// Few-shot count.
    pub shots: u32,
    /// Number of examples evaluated.
    pub n: u64,
    /// Raw accuracy in [0, 1].
    pub accuracy: f64,
    /// Random baseline in percent (as in `eval_meta_data.csv`).
    pub random_baseline: f64,
    /// Whether the task counts toward CORE.
    pub in_core: bool,
}

impl EvalRow {
    /// DCLM's centered accuracy: `(acc − b/100) / (1 − b/100)`; equals `acc` when the baseline is 100 %
    /// or more (degenerate; never in DCLM's tables).
    pub fn centered(&self) -> f64 {
        let b = self.random_baseline / 100.0;
        if b >= 1.0 {
            self.accuracy
        } else {
            (self.accuracy - b) / (1.0 - b)
        }
    }
}

/// The eval table with its aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalTable {
    /// Which task set ran (e.g. `embedded default tasks` or `DCLM CORE (mmlu_and_lowvar.yaml)`).
    pub suite: String,
    /// Rows in task order.
    pub rows: Vec<EvalRow>,
    /// CORE as DCLM computes it (mean centered accuracy over the CORE rows), if computed.
    pub core: Option<f64>,
    /// How the CORE figure should be read (e.g. that it covers stand-in tasks).
    pub core_note: String,
}

impl EvalTable {
    /// Table whose `core` is the mean centered accuracy of its `in_core` rows (None if there are none).
    pub fn with_computed_core(suite: &str, rows: Vec<EvalRow>, core_note: &str) -> Self {
        let core_rows: Vec<f64> = rows.iter().filter(|r| r.in_core).map(EvalRow::centered).collect();
        let core = if core_rows.is_empty() {
            None
        } else {
            Some(core_rows.iter().sum::<f64>() / core_rows.len() as f64)
        };
        EvalTable {
            suite: suite.to_string(),
            rows,
            core,
            core_note: core_note.to_string(),
        }
    }
}

/// Whether a stage ran as DCLM does it, or with a stand-in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StageFidelity {
    /// Stage name.
    pub stage: String,
    /// True when the stage ran DCLM's exact configuration and assets.
    pub faithful: bool,
    /// What actually ran (e.g. `fastText lid.176.ftz` or `embedded trigram language ID`).
    pub implementation: String,
    /// Why (missing asset, scale, …); for faithful stages what makes them so.
    pub reason: String,
}

/// Wall-clock time of one stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timing {
    /// Stage name.
    pub stage: String,
    /// Seconds of wall-clock time.
    pub seconds: f64,
    /// True if the stage was skipped because its outputs were already complete (resume).
    pub resumed: bool,
}

impl Report {
    /// Empty report with the current schema version.
    pub fn new(title: impl Into<String>, mode: impl Into<String>) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            title: title.into(),
            mode: mode.into(),
            ..Default::default()
        }
    }

    /// Append a stage from its dclm-core [`Stats`]: one funnel row (docs in/out, bytes out, errors) and
    /// one [`StepReport`] per step. `tokens_out` is set separately (only the tokenizer knows it).
    pub fn add_stage_stats(&mut self, stats: &Stats) {
        self.funnel.push(FunnelStage {
            stage: stats.stage.clone(),
            docs_in: stats.docs_in,
            docs_out: stats.docs_out,
            tokens_out: None,
            bytes_out: Some(stats.bytes_out),
            errors: stats.error_count(),
        });
        for s in &stats.steps {
            self.steps.push(StepReport::from_step_stats(&stats.stage, s));
        }
        self.timings.push(Timing {
            stage: stats.stage.clone(),
            seconds: stats.seconds,
            resumed: false,
        });
    }

    /// Append a stage from a `stats.json` written by dclm-core's executor (see [`add_stage_stats`](Self::add_stage_stats)).
    pub fn add_stats_file(&mut self, path: &Path) -> Result<(), ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let stats: Stats = serde_json::from_str(&text).map_err(|source| ReportError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_stage_stats(&stats);
        Ok(())
    }

    /// The funnel row of `stage`, if present.
    pub fn funnel_stage_mut(&mut self, stage: &str) -> Option<&mut FunnelStage> {
        self.funnel.iter_mut().find(|f| f.stage == stage)
    }

    /// Places where the funnel does not add up: docs out of stage N ≠ docs into stage N+1, docs out >
    /// docs in, or a step whose in − out differs from its counted drops. Empty when consistent.
    pub fn funnel_mismatches(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.funnel {
            if f.docs_out > f.docs_in {
                out.push(format!(
                    "stage {}: docs_out {} > docs_in {}",
                    f.stage, f.docs_out, f.docs_in
                ));
            }
        }
        for w in self.funnel.windows(2) {
            if w[0].docs_out != w[1].docs_in {
                out.push(format!(
                    "stage {} -> {}: {} docs out but {} docs in",
                    w[0].stage, w[1].stage, w[0].docs_out, w[1].docs_in
                ));
            }
        }
        for s in &self.steps {
            let lost = s.docs_in.saturating_sub(s.docs_out);
            if s.docs_out > s.docs_in || lost != s.dropped() {
                out.push(format!(
                    "step {}/{}: {} in, {} out, but {} counted drops",
                    s.stage,
                    s.step,
                    s.docs_in,
                    s.docs_out,
                    s.dropped()
                ));
            }
        }
        out
    }

    /// Serialize to pretty JSON.
    pub fn to_json(&self) -> Result<String, ReportError> {
        serde_json::to_string_pretty(self).map_err(|source| ReportError::Json {
            path: PathBuf::new(),
            source,
        })
    }

    /// Parse from JSON text.
    pub fn from_json(s: &str) -> Result<Report, ReportError> {
        serde_json::from_str(s).map_err(|source| ReportError::Json {
            path: PathBuf::new(),
            source,
        })
    }

    /// Read a `report.json`.
    pub fn read(path: &Path) -> Result<Report, ReportError> {
        let s = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&s).map_err(|source| ReportError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Write `report.json` and `report.html` into `dir` (created if missing); returns both paths.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf), ReportError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let json_path = dir.join("report.json");
        let html_path = dir.join("report.html");
        let json = serde_json::to_string_pretty(self).map_err(|source| ReportError::Json {
            path: json_path.clone(),
            source,
        })?;
        std::fs::write(&json_path, json).map_err(io(&json_path))?;
        std::fs::write(&html_path, crate::render_html(self)).map_err(io(&html_path))?;
        Ok((json_path, html_path))
    }
}
