//! dclm-decontam: decontamination of training data against DCLM's eval suite, and data mixing (DCLM's
//! mixing track).
//!
//! * [`index::EvalIndex`] holds every n-gram (13 by default) of every prompt-reaching field of the eval task
//!   files (LLM-Foundry JSONL: multiple choice, schema, language modeling, generation, code), over
//!   lower-cased, punctuation-free UAX #29 word tokens ([`ngram`]), remembering which task each came from;
//!   or a yes/no Bloom filter (dclm-dedup's [`dclm_dedup::bloom::BloomFilter`], saveable).
//! * [`decontam::Decontaminator`] marks (`decontam_overlap: {task: count}`) or removes documents or
//!   paragraphs containing eval n-grams; [`decontam::run`] does it over JSONL shards with
//!   `dclm_core::Executor` and writes `decontam_report.json` (per task: overlapping documents, n-gram
//!   matches, up to 3 examples).
//! * [`mix`] realizes a YAML mix spec (sources with weights or token budgets, a total budget, a seed)
//!   deterministically, upsampling with recorded epochs, and writes a manifest with the realized mix.
//!
//! ```
//! use dclm_decontam::decontam::{DecontamConfig, Decontaminator};
//! use dclm_decontam::index::{EvalIndex, EvalTask, IndexConfig};
//! let dir = tempfile::tempdir().unwrap();
//! let item = r#"{"query": "Question: Which gas do plants absorb from the air to make their food?", "choices": ["Oxygen", "Carbon dioxide"], "gold": 1}"#;
//! std::fs::write(dir.path().join("arc.jsonl"), item).unwrap();
//! let tasks = vec![EvalTask { name: "arc".into(), path: dir.path().join("arc.jsonl") }];
//! let index = EvalIndex::build(&tasks, &IndexConfig::default()).unwrap();
//! let dec = Decontaminator::new(&index, DecontamConfig::default());
//! let ov = dec.scan("Quiz time! QUESTION - which gas do plants absorb from the air, to make their food? Carbon dioxide.");
//! assert_eq!(ov.per_task.keys().collect::<Vec<_>>(), ["arc"]);
//! assert_eq!(dec.scan("Plants are green and absorb light to make food.").matched, 0);
//! ```
#![warn(missing_docs)]

pub mod decontam;
mod error;
pub mod index;
pub mod mix;
pub mod ngram;

pub use error::{DecontamError, Result};
