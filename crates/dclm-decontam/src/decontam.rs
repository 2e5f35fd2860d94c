//! Marking or removing training documents (or paragraphs) that contain eval n-grams, the per-task
//! overlap report, and the [`run`] entry over JSONL shards.

use crate::error::{DecontamError, Result};
use crate::index::{EvalIndex, TaskIndexStats, UNATTRIBUTED};
use crate::ngram::{ngram_hashes, normalized_tokens};
use dclm_core::{Document, Executor, ExecutorConfig, RunSummary, Stats};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Default annotation key.
pub const OVERLAP_KEY: &str = "decontam_overlap";
/// Name of the stats step.
pub const STEP: &str = "decontaminate";

/// What to do with a contaminated document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Keep every document; add `{task: matched n-grams}` under the annotation key to contaminated ones.
    Annotate,
    /// Drop contaminated documents.
    RemoveDocument,
    /// Drop the contaminated paragraphs (`\n`-separated lines); drop the document if nothing is left.
    RemoveParagraph,
}

impl std::str::FromStr for Action {
    type Err = DecontamError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "annotate" => Ok(Action::Annotate),
            "document" | "remove-document" | "remove_document" => Ok(Action::RemoveDocument),
            "paragraph" | "remove-paragraph" | "remove_paragraph" => Ok(Action::RemoveParagraph),
            _ => Err(DecontamError::Config(format!(
                "action {s:?}: expected annotate, document or paragraph"
            ))),
        }
    }
}

/// Settings of the per-document check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecontamConfig {
    /// What to do with contaminated text.
    pub action: Action,
    /// A document (or paragraph) is contaminated when at least this many of its n-gram positions are eval
    /// n-grams (1 by default).
    pub min_matches: u64,
    /// Annotation key.
    pub key: String,
}

impl Default for DecontamConfig {
    fn default() -> Self {
        DecontamConfig {
            action: Action::Annotate,
            min_matches: 1,
            key: OVERLAP_KEY.to_string(),
        }
    }
}

/// The overlap of one text with the eval index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overlap {
    /// n-gram positions that are eval n-grams.
    pub matched: u64,
    /// Matched positions per task (a position shared by two tasks counts for both).
    pub per_task: BTreeMap<String, u64>,
    /// Byte span of the first matched n-gram.
    pub first_span: Option<Range<usize>>,
}

impl Overlap {
    fn add(&mut self, other: Overlap) {
        self.matched += other.matched;
        for (k, v) in other.per_task {
            *self.per_task.entry(k).or_default() += v;
        }
        if self.first_span.is_none() {
            self.first_span = other.first_span;
        }
    }

    /// The per-task counts as a JSON object (the annotation value).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.per_task
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(*v)))
                .collect::<Map<_, _>>(),
        )
    }
}

/// What happened to one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The document to write (`None`: dropped).
    pub doc: Option<Document>,
    /// Overlap of the contaminated parts (empty when the document is clean).
    pub overlap: Overlap,
    /// Paragraphs removed (paragraph mode).
    pub paragraphs_removed: u64,
}

/// The per-document decontaminator: an index and the settings.
#[derive(Debug)]
pub struct Decontaminator<'a> {
    index: &'a EvalIndex,
    cfg: DecontamConfig,
}

impl<'a> Decontaminator<'a> {
    /// A decontaminator over `index`.
    pub fn new(index: &'a EvalIndex, cfg: DecontamConfig) -> Self {
        Decontaminator { index, cfg }
    }

    /// The overlap of `text` with the index (offsets relative to `text`). Never panics.
    pub fn scan(&self, text: &str) -> Overlap {
        let h = self.index.hasher();
        let n = self.index.ngram_size();
        let toks = normalized_tokens(text, h);
        let mut ov = Overlap::default();
        for (i, g) in ngram_hashes(&toks, n, h).enumerate() {
            if let Some(tasks) = self.index.lookup(g) {
                ov.matched += 1;
                if tasks.is_empty() {
                    *ov.per_task.entry(UNATTRIBUTED.to_string()).or_default() += 1;
                }
                for &t in tasks {
                    *ov.per_task.entry(self.index.task_name(t).to_string()).or_default() += 1;
                }
                if ov.first_span.is_none() {
                    ov.first_span = Some(toks[i].start..toks[i + n - 1].end);
                }
            }
        }
        ov
    }

    fn contaminated(&self, ov: &Overlap) -> bool {
        ov.matched > 0 && ov.matched >= self.cfg.min_matches
    }

    /// Check `doc` and apply the configured action. Never panics.
    pub fn apply(&self, mut doc: Document) -> Outcome {
        match self.cfg.action {
            Action::Annotate | Action::RemoveDocument => {
                let ov = self.scan(&doc.text);
                if !self.contaminated(&ov) {
                    return Outcome {
                        doc: Some(doc),
                        overlap: Overlap::default(),
                        paragraphs_removed: 0,
                    };
                }
                let keep = self.cfg.action == Action::Annotate;
                if keep {
                    doc.set(self.cfg.key.clone(), ov.to_json());
                }
                Outcome {
                    doc: keep.then_some(doc),
                    overlap: ov,
                    paragraphs_removed: 0,
                }
            }
            Action::RemoveParagraph => {
                let mut total = Overlap::default();
                let mut out = String::with_capacity(doc.text.len());
                let mut removed = 0;
                let mut offset = 0;
                for para in doc.text.split_inclusive('\n') {
                    let mut ov = self.scan(para);
                    if self.contaminated(&ov) {
                        removed += 1;
                        ov.first_span = ov.first_span.map(|r| r.start + offset..r.end + offset);
                        total.add(ov);
                    } else {
                        out.push_str(para);
                    }
                    offset += para.len();
                }
                if removed == 0 {
                    return Outcome {
                        doc: Some(doc),
                        overlap: total,
                        paragraphs_removed: 0,
                    };
                }
                doc.text = out;
                let keep = !doc.text.trim().is_empty();
                // `first_span` indexes the original text (the caller keeps a copy for snippets).
                Outcome {
                    doc: keep.then_some(doc),
                    overlap: total,
                    paragraphs_removed: removed,
                }
            }
        }
    }
}

/// One example of an overlapping document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// Input shard.
    pub shard: PathBuf,
    /// 1-based line of the document in the shard.
    pub line: u64,
    /// Document id, if any.
    pub id: Option<String>,
    /// URL, if any.
    pub url: Option<String>,
    /// Matched n-gram positions of this task in the document.
    pub matched_ngrams: u64,
    /// The text of the first matched n-gram.
    pub snippet: String,
}

/// Overlap of the training data with one task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskOverlap {
    /// Documents with at least one of the task's n-grams (in their contaminated parts).
    pub docs: u64,
    /// Matched n-gram positions.
    pub ngram_matches: u64,
    /// Up to `max_examples` documents, the first in (shard, line) order.
    pub examples: Vec<Example>,
}

/// The decontamination report (`decontam_report.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecontamReport {
    /// n-gram size.
    pub ngram_size: usize,
    /// Exact (attributing) or Bloom index.
    pub index_kind: String,
    /// Distinct eval n-grams (exact index).
    pub index_ngrams: u64,
    /// What was indexed per task.
    pub index_tasks: Vec<TaskIndexStats>,
    /// The settings used.
    pub config: Option<DecontamConfig>,
    /// Documents scanned (in shards run now; shards skipped as complete are not rescanned).
    pub docs_scanned: u64,
    /// Documents with contaminated text.
    pub docs_contaminated: u64,
    /// Documents dropped.
    pub docs_removed: u64,
    /// Paragraphs removed.
    pub paragraphs_removed: u64,
    /// Overlap per task, tasks sorted by name; tasks without overlap are omitted.
    pub tasks: BTreeMap<String, TaskOverlap>,
}

impl DecontamReport {
    fn record(
        &mut self,
        shard: &Path,
        line: u64,
        doc_meta: (Option<String>, Option<String>),
        o: &Outcome,
        snippet: &str,
        max_examples: usize,
    ) {
        self.docs_scanned += 1;
        if o.overlap.matched == 0 {
            return;
        }
        self.docs_contaminated += 1;
        self.docs_removed += o.doc.is_none() as u64;
        self.paragraphs_removed += o.paragraphs_removed;
        for (task, &m) in &o.overlap.per_task {
            let t = self.tasks.entry(task.clone()).or_default();
            t.docs += 1;
            t.ngram_matches += m;
            if t.examples.len() < max_examples {
                t.examples.push(Example {
                    shard: shard.to_path_buf(),
                    line,
                    id: doc_meta.0.clone(),
                    url: doc_meta.1.clone(),
                    matched_ngrams: m,
                    snippet: snippet.to_string(),
                });
            }
        }
    }

    /// Merge a shard's report (call in shard order so examples stay the first ones).
    pub fn merge(&mut self, other: DecontamReport, max_examples: usize) {
        self.docs_scanned += other.docs_scanned;
        self.docs_contaminated += other.docs_contaminated;
        self.docs_removed += other.docs_removed;
        self.paragraphs_removed += other.paragraphs_removed;
        for (k, v) in other.tasks {
            let t = self.tasks.entry(k).or_default();
            t.docs += v.docs;
            t.ngram_matches += v.ngram_matches;
            let room = max_examples.saturating_sub(t.examples.len());
            t.examples.extend(v.examples.into_iter().take(room));
        }
    }
}

/// Settings of a decontamination run over shards.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The per-document settings.
    pub decontam: DecontamConfig,
    /// Output folder (shards mirror the input layout; `stats.json`, `decontam_report.json`).
    pub output_dir: PathBuf,
    /// Worker threads (0 = rayon's default).
    pub threads: usize,
    /// This task's rank and the number of tasks.
    pub rank: usize,
    /// Number of tasks the shards are split over.
    pub world_size: usize,
    /// Show a progress bar.
    pub progress: bool,
    /// Examples per task in the report.
    pub max_examples: usize,
}

impl RunConfig {
    /// Defaults: annotate, one task, rayon's threads, 3 examples per task.
    pub fn new(decontam: DecontamConfig, output_dir: impl Into<PathBuf>) -> Self {
        RunConfig {
            decontam,
            output_dir: output_dir.into(),
            threads: 0,
            rank: 0,
            world_size: 1,
            progress: false,
            max_examples: 3,
        }
    }

    /// Path of the report (per rank when `world_size > 1`).
    pub fn report_path(&self) -> PathBuf {
        if self.world_size > 1 {
            self.output_dir.join(format!(
                "decontam_report.rank-{}-of-{}.json",
                self.rank, self.world_size
            ))
        } else {
            self.output_dir.join("decontam_report.json")
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct DecontamSummary {
    /// The executor's summary (stats written to `stats.json`).
    pub run: RunSummary,
    /// The report (written to [`RunConfig::report_path`]).
    pub report: DecontamReport,
}

const BATCH: usize = 1024;

/// A scanned document: line, (id, url), outcome, snippet of the first match.
type Scanned = (u64, (Option<String>, Option<String>), Outcome, String);

/// Decontaminate JSONL shards against `index`: write output shards, `stats.json` (step `decontaminate`:
/// docs in/out, drops by reason `eval_overlap`) and the report. Output is identical for any thread count.
pub fn run(cfg: &RunConfig, index: &EvalIndex, inputs: &[PathBuf]) -> Result<DecontamSummary> {
    let mut ecfg = ExecutorConfig::new("decontaminate", &cfg.output_dir);
    ecfg.threads = cfg.threads;
    ecfg.rank = cfg.rank;
    ecfg.world_size = cfg.world_size;
    ecfg.progress = cfg.progress;
    let exec = Executor::new(ecfg)?;
    let dec = Decontaminator::new(index, cfg.decontam.clone());
    let reports: Mutex<Vec<(PathBuf, DecontamReport)>> = Mutex::new(Vec::new());
    let summary = exec.run_shards(inputs, |task| {
        let mut stats = Stats::new("decontaminate");
        let mut report = DecontamReport::default();
        let reader = dclm_core::io::ShardReader::open_counted(task.input, task.raw_bytes.clone())?;
        let mut writer = task.writer()?;
        let mut batch: Vec<(u64, Document)> = Vec::with_capacity(BATCH);
        let flush = |batch: &mut Vec<(u64, Document)>,
                     stats: &mut Stats,
                     report: &mut DecontamReport,
                     writer: &mut dclm_core::io::ShardWriter|
         -> dclm_core::Result<()> {
            let done: Vec<Scanned> = std::mem::take(batch)
                .into_par_iter()
                .map(|(line, doc)| {
                    let id = doc
                        .id()
                        .or_else(|| doc.get("id").and_then(Value::as_str))
                        .map(str::to_string);
                    let meta = (id, doc.url().map(str::to_string));
                    let original = (cfg.decontam.action != Action::Annotate).then(|| doc.text.clone());
                    let o = dec.apply(doc);
                    let snippet = match (&o.overlap.first_span, &original, &o.doc) {
                        (Some(r), Some(t), _) => t.get(r.clone()).unwrap_or_default().to_string(),
                        (Some(r), None, Some(d)) => d.text.get(r.clone()).unwrap_or_default().to_string(),
                        _ => String::new(),
                    };
                    (line, meta, o, snippet)
                })
                .collect();
            let n = done.len() as u64;
            for (line, meta, o, snippet) in done {
                let step = stats.step_mut(STEP);
                step.docs_in += 1;
                if o.doc.is_some() {
                    step.docs_out += 1;
                } else {
                    *step.dropped.entry("eval_overlap".into()).or_default() += 1;
                }
                report.record(task.input, line, meta, &o, &snippet, cfg.max_examples);
                if let Some(d) = &o.doc {
                    writer.write(d)?;
                    stats.docs_out += 1;
                }
            }
            task.add_docs(n);
            Ok(())
        };
        for item in reader {
            match item {
                Ok((line, doc)) => {
                    stats.docs_in += 1;
                    batch.push((line, doc));
                    if batch.len() >= BATCH {
                        flush(&mut batch, &mut stats, &mut report, &mut writer)?;
                    }
                }
                Err(e) => task.report_error(&mut stats, &e),
            }
        }
        flush(&mut batch, &mut stats, &mut report, &mut writer)?;
        stats.bytes_out = writer.bytes_written();
        writer.finish()?;
        reports
            .lock()
            .expect("reports lock")
            .push((task.input.to_path_buf(), report));
        Ok(stats)
    })?;
    let mut shard_reports = reports.into_inner().expect("reports lock");
    shard_reports.sort_by(|a, b| a.0.cmp(&b.0));
    let mut report = DecontamReport {
        ngram_size: index.ngram_size(),
        index_kind: if index.is_bloom() { "bloom" } else { "exact" }.into(),
        index_ngrams: index.distinct_ngrams(),
        index_tasks: index.tasks().to_vec(),
        config: Some(cfg.decontam.clone()),
        ..Default::default()
    };
    for (_, r) in shard_reports {
        report.merge(r, cfg.max_examples);
    }
    let path = cfg.report_path();
    let json = serde_json::to_vec_pretty(&report).map_err(|e| DecontamError::Json {
        path: path.clone(),
        source: e,
    })?;
    dclm_core::io::write_atomic(&path, &json)?;
    Ok(DecontamSummary { run: summary, report })
}
