//! DCLM's model-based quality step (fastText P(hq) filtering): text preparation exactly as
//! `classify_fasttext_hq_prob_enricher`, the P(`__label__hq`) score, `quality_filter`, top-k% thresholds,
//! DCLM YAML configs, and a resumable [`run`] over JSONL shards that adds the score key.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dclm_core::io::ShardReader;
use dclm_core::{Document, Executor, ExecutorConfig, RunSummary, Stats, Verdict};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::PredictBuf;
use crate::{FastText, FastTextError};

/// The score key DCLM's enricher writes by default (`key="fasttext_hq_prob"`).
pub const DEFAULT_SCORE_KEY: &str = "fasttext_hq_prob";
/// The score key of the released DCLM-Baseline data.
pub const DCLM_BASELINE_SCORE_KEY: &str = dclm_core::keys::FASTTEXT_QUALITY;
/// The fixed threshold of DCLM's shipped `fasttext_filter.yaml` ("the threshold used in the DCLM-Baseline").
pub const DCLM_BASELINE_THRESHOLD: f64 = 0.018112;
/// The positive label.
pub const HQ_LABEL: &str = "__label__hq";
/// The label DCLM's score rule flips (`1 - p` when it is the top label).
pub const CC_LABEL: &str = "__label__cc";

/// DCLM's preparation: `" ".join(text.strip().splitlines())` with Python's semantics. No lowercasing and
/// no other normalisation.
pub fn prepare_text(text: &str) -> String {
    let s = dclm_core::pystr::strip(text);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if dclm_core::pystr::is_line_break(c) {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Scores documents like DCLM's `classify_fasttext_hq_prob`: prepare the text, `predict(k=1)`, and take
/// the probability, or `1 - p` (in f64, as Python does) when the top label is `__label__cc`.
#[derive(Debug)]
pub struct QualityScorer {
    model: FastText,
    cc: Option<usize>,
}

impl QualityScorer {
    /// Loads a classifier; fails at load time if it has no `__label__hq`.
    pub fn load(path: &Path) -> Result<Self, FastTextError> {
        Self::new(FastText::load(path)?)
    }

    /// Wraps a loaded classifier; fails if it has no `__label__hq`.
    pub fn new(model: FastText) -> Result<Self, FastTextError> {
        if model.label_index(HQ_LABEL).is_none() {
            let labels = model.labels();
            let mut available = labels.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
            if labels.len() > 20 {
                available.push_str(", …");
            }
            return Err(FastTextError::MissingLabel {
                path: model.path().to_path_buf(),
                label: HQ_LABEL.to_string(),
                available,
            });
        }
        let cc = model.label_index(CC_LABEL);
        Ok(QualityScorer { model, cc })
    }

    /// The underlying model.
    pub fn model(&self) -> &FastText {
        &self.model
    }

    /// DCLM's score of a raw document text.
    pub fn score(&self, text: &str) -> f64 {
        self.score_prepared(&prepare_text(text))
    }

    /// DCLM's scores of raw document texts, on the current rayon pool; results in input order.
    pub fn score_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<f64> {
        texts
            .par_iter()
            .map_init(PredictBuf::default, |buf, text| {
                self.score_with(&prepare_text(text.as_ref()), buf)
            })
            .collect()
    }

    /// DCLM's score of an already prepared text (one line).
    pub fn score_prepared(&self, prepared: &str) -> f64 {
        let mut buf = PredictBuf::default();
        self.score_with(prepared, &mut buf)
    }

    fn score_with(&self, prepared: &str, buf: &mut PredictBuf) -> f64 {
        match self.model.predict_with(prepared.as_bytes(), 1, 0.0, buf).next() {
            Some((label, p)) if Some(label) == self.cc => 1.0 - f64::from(p),
            Some((_, p)) => f64::from(p),
            // Only possible for a model whose dictionary lacks `</s>` and an empty line: no prediction.
            None => 0.0,
        }
    }
}

/// DCLM's `quality_filter`: keep iff `score >= threshold` (or `<=` when `lower_better`).
pub fn quality_filter(score: f64, threshold: f64, lower_better: bool) -> Verdict {
    if lower_better {
        Verdict::keep_if(score <= threshold, "above_threshold")
    } else {
        Verdict::keep_if(score >= threshold, "below_threshold")
    }
}

/// The threshold that keeps the top `keep_fraction` (0 < f ≤ 1) of `scores` with `score >= threshold`:
/// the ⌈f·n⌉-th largest score (ties at the threshold are all kept). `None` for an empty sample or a fraction
/// outside (0, 1].
pub fn top_fraction_threshold(scores: &[f64], keep_fraction: f64) -> Option<f64> {
    if scores.is_empty() || !(keep_fraction > 0.0 && keep_fraction <= 1.0) {
        return None;
    }
    let n = scores.len();
    let k = ((keep_fraction * n as f64).ceil() as usize).clamp(1, n);
    let mut v = scores.to_vec();
    let (_, kth, _) = v.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    Some(*kth)
}

/// How `run` decides which documents to keep.
#[derive(Debug, Clone, PartialEq)]
pub enum ThresholdMode {
    /// Only add the score key (DCLM's enricher alone).
    EnrichOnly,
    /// DCLM's `quality_filter` with a fixed threshold (e.g. [`DCLM_BASELINE_THRESHOLD`]).
    Fixed {
        /// Threshold on the score.
        threshold: f64,
        /// Keep scores `<=` the threshold instead of `>=`.
        lower_better: bool,
    },
    /// Keep the top `keep_fraction` of the pool. The threshold is computed over all input shards (every rank
    /// computes the same value) from every document, or from a sample of at most `sample` documents (the first
    /// ⌈sample / shards⌉ of each shard).
    TopFraction {
        /// Fraction to keep, e.g. 0.1 for DCLM's top 10%.
        keep_fraction: f64,
        /// Sample size; `None` = exact over the whole pool.
        sample: Option<usize>,
    },
}

/// Configuration of the quality stage.
#[derive(Debug, Clone)]
pub struct QualityConfig {
    /// The classifier (`.bin` / `.ftz`) with `__label__hq`.
    pub model: PathBuf,
    /// Key the score is written under.
    pub key: String,
    /// Overwrite an existing score key (DCLM asserts otherwise; here such a document keeps its value and an
    /// error `score_key_exists` is counted).
    pub overwrite: bool,
    /// Filtering.
    pub mode: ThresholdMode,
}

impl QualityConfig {
    /// Enrich with DCLM-Baseline's key and filter with its fixed threshold.
    pub fn dclm_baseline(model: impl Into<PathBuf>) -> Self {
        QualityConfig {
            model: model.into(),
            key: DCLM_BASELINE_SCORE_KEY.to_string(),
            overwrite: false,
            mode: ThresholdMode::Fixed {
                threshold: DCLM_BASELINE_THRESHOLD,
                lower_better: false,
            },
        }
    }

    /// Reads a DCLM YAML pipeline holding `classify_fasttext_hq_prob_enricher` and (optionally)
    /// `quality_filter`, e.g. DCLM's `fasttext_filter.yaml`. `model_filename` is resolved against `model_dir`
    /// (DCLM's `quality_prediction_enrichment_models` folder); an absolute name is used as is.
    pub fn from_dclm_yaml(path: &Path, model_dir: &Path) -> Result<Self, FastTextError> {
        let text = std::fs::read_to_string(path).map_err(|e| FastTextError::io(path, e))?;
        Self::from_dclm_yaml_str(&text, model_dir)
            .map_err(|m| FastTextError::Config(format!("{}: {m}", path.display())))
    }

    /// [`QualityConfig::from_dclm_yaml`] on a string.
    pub fn from_dclm_yaml_str(text: &str, model_dir: &Path) -> Result<Self, String> {
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let sources = doc
            .as_array()
            .ok_or("expected a list of `- source: … steps: …` entries")?;
        let mut cfg: Option<QualityConfig> = None;
        let mut filter: Option<ThresholdMode> = None;
        let mut filter_key: Option<String> = None;
        for src in sources {
            let steps = src
                .get("steps")
                .and_then(Value::as_array)
                .ok_or("a source entry has no `steps` list")?;
            for (i, step) in steps.iter().enumerate() {
                let obj = step.as_object().ok_or(format!("step {i} is not a mapping"))?;
                let func = obj
                    .get("func")
                    .and_then(Value::as_str)
                    .ok_or(format!("step {i} has no `func`"))?;
                let param = |name: &str| obj.get(name);
                let check = |allowed: &[&str]| -> Result<(), String> {
                    for k in obj.keys() {
                        if k != "func" && !allowed.contains(&k.as_str()) {
                            return Err(format!(
                                "step {i} ({func}): unknown parameter `{k}` (allowed: {})",
                                allowed.join(", ")
                            ));
                        }
                    }
                    Ok(())
                };
                match func {
                    "classify_fasttext_hq_prob_enricher" => {
                        check(&["model_filename", "key", "overwrite"])?;
                        let name = match param("model_filename") {
                            Some(v) => v.as_str().ok_or("model_filename must be a string")?.to_string(),
                            None => "model.bin".to_string(),
                        };
                        let key = match param("key") {
                            Some(v) => v.as_str().ok_or("key must be a string")?.to_string(),
                            None => DEFAULT_SCORE_KEY.to_string(),
                        };
                        let overwrite = match param("overwrite") {
                            Some(v) => v.as_bool().ok_or("overwrite must be true or false")?,
                            None => false,
                        };
                        cfg = Some(QualityConfig {
                            model: model_dir.join(name),
                            key,
                            overwrite,
                            mode: ThresholdMode::EnrichOnly,
                        });
                    }
                    "quality_filter" => {
                        check(&["key", "threshold", "lower_better", "key_must_exist"])?;
                        let threshold = match param("threshold") {
                            Some(v) => v.as_f64().ok_or("threshold must be a number")?,
                            None => 0.0,
                        };
                        let lower_better = match param("lower_better") {
                            Some(v) => v.as_bool().ok_or("lower_better must be true or false")?,
                            None => false,
                        };
                        filter_key = Some(match param("key") {
                            Some(v) => v.as_str().ok_or("key must be a string")?.to_string(),
                            None => DEFAULT_SCORE_KEY.to_string(),
                        });
                        filter = Some(ThresholdMode::Fixed {
                            threshold,
                            lower_better,
                        });
                    }
                    other => {
                        return Err(format!(
                            "step {i}: `{other}` is not a quality step (allowed here: classify_fasttext_hq_prob_enricher, quality_filter)"
                        ))
                    }
                }
            }
        }
        let mut cfg = cfg.ok_or("no classify_fasttext_hq_prob_enricher step")?;
        if let Some(mode) = filter {
            let fk = filter_key.unwrap_or_default();
            if fk != cfg.key {
                return Err(format!(
                    "quality_filter reads key `{fk}` but the enricher writes `{}`",
                    cfg.key
                ));
            }
            cfg.mode = mode;
        }
        Ok(cfg)
    }
}

/// The threshold decided by a run, written to `quality_threshold.json` in the output folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ThresholdRecord {
    /// Score key.
    pub key: String,
    /// `fixed`, `top_fraction_exact` or `top_fraction_sample`.
    pub mode: String,
    /// The threshold applied (`score >= threshold` keeps).
    pub threshold: f64,
    /// Requested kept fraction (top-fraction modes).
    pub keep_fraction: Option<f64>,
    /// Number of scores the threshold was computed from.
    pub scored_docs: usize,
}

/// Result of [`run`].
#[derive(Debug)]
pub struct QualityRun {
    /// The executor's summary (stats.json contents).
    pub summary: RunSummary,
    /// The threshold used, if any.
    pub threshold: Option<ThresholdRecord>,
    /// The scores a top-fraction threshold was computed from (every document, or the sample), in input
    /// order; empty for a fixed threshold or enrich-only, whose scores are only in the output documents.
    pub scores: Vec<f64>,
}

/// Scores documents of all `inputs` for a top-fraction threshold (all of them, or the first `per_shard`).
fn collect_scores(
    scorer: &QualityScorer,
    inputs: &[PathBuf],
    per_shard: Option<usize>,
) -> Result<Vec<f64>, FastTextError> {
    let per: Vec<Result<Vec<f64>, FastTextError>> = inputs
        .par_iter()
        .map(|p| {
            let reader = ShardReader::open(p)?;
            let mut buf = PredictBuf::default();
            let mut out = Vec::new();
            for item in reader {
                if per_shard.is_some_and(|n| out.len() >= n) {
                    break;
                }
                // Malformed lines are counted by the filtering pass; here they are simply not scored.
                if let Ok((_, doc)) = item {
                    out.push(scorer.score_with(&prepare_text(&doc.text), &mut buf));
                }
            }
            Ok(out)
        })
        .collect();
    let mut all = Vec::new();
    for r in per {
        all.extend(r?);
    }
    Ok(all)
}

/// Runs the quality stage over JSONL shards: adds `cfg.key` to every document and keeps those that pass the
/// threshold. Writes output shards, `stats.json` (steps `classify_fasttext_hq_prob_enricher` and
/// `quality_filter`) and, when filtering, `quality_threshold.json`. Resumable like every executor stage.
pub fn run(cfg: &QualityConfig, exec: ExecutorConfig, inputs: &[PathBuf]) -> Result<QualityRun, FastTextError> {
    let scorer = QualityScorer::load(&cfg.model)?;
    let out_dir = exec.output_dir.clone();
    let mut all_scores = Vec::new();
    let (threshold, lower_better, record) = match &cfg.mode {
        ThresholdMode::EnrichOnly => (None, false, None),
        ThresholdMode::Fixed {
            threshold,
            lower_better,
        } => (
            Some(*threshold),
            *lower_better,
            Some(ThresholdRecord {
                key: cfg.key.clone(),
                mode: "fixed".into(),
                threshold: *threshold,
                keep_fraction: None,
                scored_docs: 0,
            }),
        ),
        ThresholdMode::TopFraction { keep_fraction, sample } => {
            if !(*keep_fraction > 0.0 && *keep_fraction <= 1.0) {
                return Err(FastTextError::Config(format!(
                    "keep_fraction {keep_fraction} is not in (0, 1]"
                )));
            }
            let per_shard = sample.map(|s| s.div_ceil(inputs.len().max(1)).max(1));
            let scores = collect_scores(&scorer, inputs, per_shard)?;
            let th = top_fraction_threshold(&scores, *keep_fraction)
                .ok_or_else(|| FastTextError::Config("no documents to compute a top-fraction threshold from".into()))?;
            let decided = (
                Some(th),
                false,
                Some(ThresholdRecord {
                    key: cfg.key.clone(),
                    mode: if sample.is_some() {
                        "top_fraction_sample".into()
                    } else {
                        "top_fraction_exact".into()
                    },
                    threshold: th,
                    keep_fraction: Some(*keep_fraction),
                    scored_docs: scores.len(),
                }),
            );
            all_scores = scores;
            decided
        }
    };
    if let Some(rec) = &record {
        std::fs::create_dir_all(&out_dir).map_err(|e| FastTextError::io(&out_dir, e))?;
        let p = out_dir.join("quality_threshold.json");
        let json = serde_json::to_vec_pretty(rec).map_err(dclm_core::CoreError::from)?;
        dclm_core::io::write_atomic(&p, &json)?;
    }
    let mut exec = exec;
    let mut fp = dclm_core::Fingerprint::new(&exec.stage);
    fp.add("caller", exec.settings.as_bytes())
        .add("key", cfg.key.as_bytes())
        .add_debug("overwrite", &cfg.overwrite)
        .add_debug("mode", &cfg.mode)
        // A top-fraction threshold depends on every input: other inputs give another threshold.
        .add_debug("threshold", &threshold.map(f64::to_bits))
        .add_debug("lower_better", &lower_better);
    fp.add_file("model", &cfg.model)?;
    exec.settings = fp.finish();
    let executor = Executor::new(exec)?;
    let key = cfg.key.as_str();
    let summary = executor.run_docs(inputs, |mut doc: Document, stats: &mut Stats| {
        let t0 = Instant::now();
        let score = match doc.get(key) {
            Some(v) if !cfg.overwrite => {
                stats.record_error(
                    "score_key_exists",
                    format!("document already has `{key}` and overwrite is false; kept its value"),
                );
                v.as_f64().unwrap_or(f64::NAN)
            }
            _ => {
                let s = scorer.score(&doc.text);
                doc.set(key, serde_json::json!(s));
                s
            }
        };
        let t1 = Instant::now();
        stats
            .step_mut("classify_fasttext_hq_prob_enricher")
            .record(Verdict::Keep, (t1 - t0).as_secs_f64());
        if let Some(th) = threshold {
            let v = quality_filter(score, th, lower_better);
            stats
                .step_mut("quality_filter")
                .record_doc(v, t1.elapsed().as_secs_f64(), &doc);
            if !v.is_keep() {
                return None;
            }
        }
        Some(doc)
    })?;
    Ok(QualityRun {
        summary,
        threshold: record,
        scores: all_scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_matches_python() {
        assert_eq!(
            prepare_text("  a\nb\r\nc\rd\u{2028}e\u{85}f\x0bg\x0ch\x1ci  "),
            "a b c d e f g h i"
        );
        assert_eq!(prepare_text("a\n\nb"), "a  b");
        assert_eq!(prepare_text("\u{a0}x\u{3000}"), "x");
        assert_eq!(prepare_text("a\x1fb"), "a\x1fb");
        assert_eq!(prepare_text("\x1f a \x1f"), "a");
        assert_eq!(prepare_text(" \t\r\n "), "");
    }

    #[test]
    fn batches_equal_single_calls() {
        use crate::{train::train_on_bytes, TrainArgs};
        let data = "__label__hq how do rainbows form\n__label__cc buy cheap watches now\n".repeat(20);
        let args = TrainArgs {
            dim: 8,
            epoch: 10,
            lr: 0.5,
            word_ngrams: 2,
            bucket: 1000,
            thread: 1,
            ..TrainArgs::default()
        };
        let model = train_on_bytes(data.as_bytes(), "t.txt".as_ref(), &args).unwrap().model;
        let texts = [
            "how do rainbows form",
            "buy cheap watches\nnow",
            "",
            "  rainbows \r\n watches ",
        ];
        let preds = model.predict_batch(&texts, 2, 0.0);
        for (t, p) in texts.iter().zip(&preds) {
            assert_eq!(p, &model.predict(t, 2, 0.0));
        }
        assert_eq!(preds[0][0].label, "__label__hq");
        let scorer = QualityScorer::new(model).unwrap();
        let scores = scorer.score_batch(&texts);
        let single: Vec<f64> = texts.iter().map(|t| scorer.score(t)).collect();
        assert_eq!(scores, single);
        assert!(scores[0] > 0.5 && scores[1] < 0.5, "{scores:?}");
    }

    #[test]
    fn top_fraction_keeps_k() {
        let s: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(top_fraction_threshold(&s, 0.1), Some(90.0));
        assert_eq!(s.iter().filter(|&&x| x >= 90.0).count(), 10);
        assert_eq!(top_fraction_threshold(&s, 1.0), Some(0.0));
        assert_eq!(top_fraction_threshold(&s, 0.001), Some(99.0));
        assert_eq!(top_fraction_threshold(&s, 0.0), None);
        assert_eq!(top_fraction_threshold(&[], 0.5), None);
    }

    #[test]
    fn filter_semantics() {
        assert!(quality_filter(0.5, 0.5, false).is_keep());
        assert!(!quality_filter(0.49, 0.5, false).is_keep());
        assert!(quality_filter(0.4, 0.5, true).is_keep());
    }

    #[test]
    fn yaml_config() {
        let y = "- source: cc\n  steps:\n    - func: classify_fasttext_hq_prob_enricher\n      model_filename: m.bin\n      key: k\n    - func: quality_filter\n      key: k\n      threshold: 0.018112\n";
        let c = QualityConfig::from_dclm_yaml_str(y, Path::new("/models")).unwrap();
        assert_eq!(c.model, Path::new("/models/m.bin"));
        assert_eq!(c.key, "k");
        assert_eq!(
            c.mode,
            ThresholdMode::Fixed {
                threshold: 0.018112,
                lower_better: false
            }
        );
        let bad = y.replace("threshold:", "treshold:");
        assert!(QualityConfig::from_dclm_yaml_str(&bad, Path::new("/m"))
            .unwrap_err()
            .contains("treshold"));
        let mismatch = y.replacen("key: k\n    - func", "key: j\n    - func", 1);
        assert!(QualityConfig::from_dclm_yaml_str(&mismatch, Path::new("/m")).is_err());
    }
}
