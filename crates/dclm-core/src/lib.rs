//! dclm-core: the shared vocabulary of dclm-rs — [`Document`] in DCLM's JSONL schema, [`Verdict`],
//! per-step [`Stats`], streaming shard IO ([`io`]), the resumable shard [`executor`], run [`provenance`], and
//! Python's `str` semantics ([`pystr`]) that DCLM's Python code relies on.
//!
//! Every stage crate depends on this one and on no other crate of the workspace:
//! `dclm-extract` (WARC → text), `dclm-filter` (heuristics, language ID), `dclm-dedup` (BFF,
//! MinHash, exact), `dclm-train` (tokenize+shuffle, model, trainer), `dclm-eval` (ICL evaluation).
//!
//! ```
//! use dclm_core::{Document, Verdict, Stats};
//! let doc = Document::from_json_line(r#"{"text":"Hello world.","url":"https://example.com/"}"#).unwrap();
//! let verdict = Verdict::keep_if(doc.text.split_whitespace().count() >= 2, "too_short");
//! let mut stats = Stats::new("demo");
//! stats.step_mut("min_words").record(verdict, 0.0);
//! assert_eq!(stats.steps[0].docs_out, 1);
//! ```
#![warn(missing_docs)]

pub mod bytescan;
mod document;
mod error;
pub mod executor;
pub mod io;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod provenance;
pub mod pystr;
mod stats;
#[cfg(any(test, feature = "testdata"))]
pub mod testdata;
pub mod uniseg;

pub use document::{keys, Document, TextRef};
pub use error::{CoreError, Result};
pub use executor::{process_batch, Executor, ExecutorConfig, RunSummary, ShardTask};
pub use provenance::{Fingerprint, InputIdentity, Provenance};
pub use stats::{
    snippet, DropExample, ErrorExample, Stats, StepStats, Verdict, MAX_DROP_EXAMPLES, MAX_ERROR_EXAMPLES, SNIPPET_CHARS,
};
