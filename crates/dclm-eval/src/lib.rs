//! dclm-eval: DCLM's evaluation — LLM-Foundry v0.9.0 in-context-learning tasks with identical prompts,
//! few-shot sampling and scoring, and DCLM's CORE / EXTENDED / MMLU aggregation.
//!
//! The model is reached only through the [`LanguageModel`] trait (batched continuation log-likelihoods,
//! greedy generation); tokens through [`Tokenizer`] ([`HfTokenizer`] loads GPT-NeoX's `tokenizer.json`).
//! A task is anything implementing [`Task`]; [`IclTask`] implements LLM-Foundry's four types
//! (`multiple_choice`, `schema`, `language_modeling`, `generation_task_with_answers`), configured by
//! [`TaskConfig`] or DCLM's eval YAMLs ([`load_task_yaml`]). [`evaluate`] runs a suite and builds an
//! [`EvalReport`] (DCLM's results JSON plus Markdown).
//!
//! ```
//! use dclm_eval::{testing::{gpt2_bytes, HashLm}, IclTask, IclTaskType, RunOptions, TaskConfig, run_task};
//! use std::sync::Arc;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("copa.jsonl");
//! std::fs::write(&path, "{\"query\": \"It rained, so\", \"choices\": [\"the grass got wet.\", \"the sun rose.\"], \"gold\": 0}\n").unwrap();
//! let config = TaskConfig::new("copa", "copa.jsonl", IclTaskType::MultipleChoice);
//! let task = IclTask::load(config, &path, Arc::new(gpt2_bytes()), 2048).unwrap();
//! let result = run_task(&HashLm::new(257), &task, &RunOptions::default()).unwrap();
//! assert_eq!(result.num_examples, 1);
//! ```
//!
//! Running DCLM's evaluation (what `cargo xtask eval --tasks core|extended|FILE --data DIR` does):
//!
//! ```no_run
//! # fn demo(model: &dyn dclm_eval::LanguageModel) -> Result<(), dclm_eval::EvalError> {
//! use dclm_eval::{data_dir_from_env, evaluate, suite_yaml, EvalConfig, HfTokenizer};
//! use std::{path::Path, sync::Arc};
//! let dclm_eval_dir = Path::new("../shared/data/dclm/eval"); // YAMLs, eval_meta_data*.csv, additional_aggregation.json
//! let data = data_dir_from_env(Path::new("../shared/data/eval")); // holds local_data/ ($DCLM_EVAL_DATA overrides)
//! let mut config = EvalConfig::dclm(&suite_yaml("core", dclm_eval_dir), dclm_eval_dir, &data)?;
//! config.run.progress = true;
//! let tokenizer = Arc::new(HfTokenizer::from_file("../shared/data/tokenizers/gpt-neox-20b.tokenizer.json")?);
//! let report = evaluate(model, tokenizer, &config)?;
//! report.write(Path::new("out/eval/results.json"), Some(Path::new("out/eval/results.md")))?;
//! # Ok(()) }
//! ```
//!
//! Sibling crates: `dclm-core` (shared types), `dclm-extract`, `dclm-filter`, `dclm-dedup`, `dclm-train`
//! (whose candle model an adapter exposes as a [`LanguageModel`]).
#![warn(missing_docs)]

pub mod aggregate;
mod config;
pub mod data;
mod error;
mod evaluate;
pub mod gpqa;
mod icl;
mod model;
pub mod pyrandom;
pub mod report;
pub mod scoring;
mod task;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use aggregate::{aggregate, Aggregated, AggregationGroups, EvalMeta, MaybeScore};
pub use config::{load_task_yaml, parse_task_yaml, IclTaskType, TaskConfig};
/// The tokenizer seam is `dclm-tokenizer`'s, shared with tokenize+shuffle and training.
pub use dclm_tokenizer::{clean_up_tokenization, ByteTokenizer, HfTokenizer, Tokenizer, TokenizerSpec};
pub use error::EvalError;
pub use evaluate::{
    data_dir_from_env, evaluate, run_task, suite_yaml, EvalConfig, EvalReport, RunOptions, SkippedTask, TaskResult,
};
pub use gpqa::{prepare_gpqa, GpqaFile, GPQA_PASSWORD};
pub use icl::{trim_left_count, IclTask, PreparedExample};
pub use model::{
    argmax, greedy_generate_with, log_softmax_at, GenRequest, LanguageModel, LogLik, LoglikRequest, NoStop,
    StopCriterion,
};
pub use report::{reaggregate, reaggregate_file, AggregationTables, DclmEvalResults, EvalVersion};
pub use task::{ExampleScore, Request, Response, ScoreDetail, Task};
