//! The embedded default data of `cargo xtask baseline`, compiled into this crate so that a run needs nothing
//! but the binary: the corpus WARC and its index, the classifier's reference positives, and the eval tasks.

use crate::ReportError;
use std::path::{Path, PathBuf};

/// `assets/baseline/corpus.warc.gz`: the default corpus (WARC/1.0, gzip members).
pub const CORPUS_WARC_GZ: &[u8] = include_bytes!("../../../assets/baseline/corpus.warc.gz");

/// `assets/baseline/corpus.index.jsonl`: one [`PageInfo`](crate::corpus::PageInfo) per page (kind, expected step).
pub const CORPUS_INDEX_JSONL: &str = include_str!("../../../assets/baseline/corpus.index.jsonl");

/// `assets/baseline/positives.jsonl`: the quality classifier's positive reference set (`text` field).
pub const POSITIVES_JSONL: &str = include_str!("../../../assets/baseline/positives.jsonl");

/// `assets/baseline/negatives.jsonl`: 300 low-value web documents (shopping, forum chatter, gossip, horoscopes)
/// generated from templates: the classifier's negatives (stand-in for DCLM's random RefinedWeb documents).
pub const NEGATIVES_JSONL: &str = include_str!("../../../assets/baseline/negatives.jsonl");

/// The eval files, as (path relative to the eval directory, contents).
pub const EVAL_FILES: &[(&str, &str)] = &[
    (
        "baseline_tasks.yaml",
        include_str!("../../../assets/baseline/eval/baseline_tasks.yaml"),
    ),
    (
        "eval_meta_data.csv",
        include_str!("../../../assets/baseline/eval/eval_meta_data.csv"),
    ),
    (
        "additional_aggregation.json",
        include_str!("../../../assets/baseline/eval/additional_aggregation.json"),
    ),
    (
        "local_data/world_knowledge/mini_arc.jsonl",
        include_str!("../../../assets/baseline/eval/local_data/world_knowledge/mini_arc.jsonl"),
    ),
    (
        "local_data/language_understanding/mini_winograd.jsonl",
        include_str!("../../../assets/baseline/eval/local_data/language_understanding/mini_winograd.jsonl"),
    ),
    (
        "local_data/language_understanding/mini_lambada.jsonl",
        include_str!("../../../assets/baseline/eval/local_data/language_understanding/mini_lambada.jsonl"),
    ),
    (
        "local_data/reading_comprehension/mini_squad.jsonl",
        include_str!("../../../assets/baseline/eval/local_data/reading_comprehension/mini_squad.jsonl"),
    ),
];

/// What the report should say about the classifier's reference data when the embedded positives are used.
pub const POSITIVES_NOTE: &str = "DCLM trains its fastText quality classifier on OpenHermes-2.5 instruction data plus \
r/ExplainLikeImFive question/answer pairs (positives) against random documents of its RefinedWeb reproduction \
(negatives), and keeps the top ~10% of documents. This run's positives are the embedded \
assets/baseline/positives.jsonl: 126 explanatory instruction/answer documents written for dclm-rs in that style \
(OpenHermes-2.5 and ELI5 are not shipped). Its negatives are the embedded assets/baseline/negatives.jsonl (300 \
low-value shopping, forum, gossip and horoscope pages), a stand-in for random RefinedWeb documents: the embedded \
corpus is mostly good articles, so its own pages would teach the classifier that good articles are negatives.";

/// What the report should say about the embedded corpus.
pub const CORPUS_NOTE: &str = "Embedded default corpus: original pages written for dclm-rs (fictional towns, people \
and bird species generated from templates with a fixed seed, plus hand-written pages that each trip one DCLM step: \
other languages, banned-URL words, boilerplate, short pages, symbols, bullets, ellipses, numbers, missing stop \
words, repetition, ALL-CAPS and counter lines, exact and near duplicates, non-UTF-8 bytes). It is a smoke test of \
the pipeline, not a training set: scores and CORE from it are not comparable with DCLM's.";

/// Paths of the embedded data once written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineAssets {
    /// The corpus WARC.
    pub corpus_warc: PathBuf,
    /// Its index.
    pub corpus_index: PathBuf,
    /// The classifier positives.
    pub positives: PathBuf,
    /// The classifier negatives.
    pub negatives: PathBuf,
    /// The eval directory (holds `baseline_tasks.yaml`, `eval_meta_data.csv`, `local_data/…`).
    pub eval_dir: PathBuf,
    /// The eval task YAML.
    pub eval_yaml: PathBuf,
}

/// Write the embedded data under `dir` (`corpus.warc.gz`, `corpus.index.jsonl`, `positives.jsonl`,
/// `negatives.jsonl`, `eval/…`),
/// overwriting files with the same names, and return their paths.
pub fn write_baseline_assets(dir: &Path) -> Result<BaselineAssets, ReportError> {
    let write = |rel: &str, bytes: &[u8]| -> Result<PathBuf, ReportError> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ReportError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    };
    let corpus_warc = write("corpus.warc.gz", CORPUS_WARC_GZ)?;
    let corpus_index = write("corpus.index.jsonl", CORPUS_INDEX_JSONL.as_bytes())?;
    let positives = write("positives.jsonl", POSITIVES_JSONL.as_bytes())?;
    let negatives = write("negatives.jsonl", NEGATIVES_JSONL.as_bytes())?;
    for (rel, text) in EVAL_FILES {
        write(&format!("eval/{rel}"), text.as_bytes())?;
    }
    Ok(BaselineAssets {
        corpus_warc,
        corpus_index,
        positives,
        negatives,
        eval_dir: dir.join("eval"),
        eval_yaml: dir.join("eval/baseline_tasks.yaml"),
    })
}
