//! dclm-filter: DCLM's heuristic stage (the 26-step "RefinedWeb reproduction" chain of
//! `dclm_baseline_refinedweb.yaml`, `refinedweb.yaml`, and `c4.yaml` via [`steps::c4`]) with DCLM's semantics, read from DCLM's own
//! YAML configs, plus the traits to add your own steps. Every mapper of DCLM's `baselines/mappers/` is here
//! except those in [`UNSUPPORTED_DCLM_FUNCS`] (each with its reason): the code-data ([`steps::code`]), arXiv
//! ([`steps::arxiv`]), StackExchange ([`steps::stackexchange`]) and HTML ([`steps::html`]) mappers and the seeded
//! `random_sampling_filter` ([`steps::sampling`]) too.
//!
//! * Pages follow DCLM's page model: `text` may be missing or any JSON value until a step needs a string (see
//!   [`Pipeline`]; [`run()`] reads shards that way), and a step may split one page into several.
//! * Traits: [`Filter`] (`check(&Document) -> Verdict`) and [`Mapper`] (`apply(&mut Document) -> Verdict`),
//!   closure adapters [`FnFilter`] / [`FnMapper`], and [`Pipeline`], which records per-step counters and
//!   seconds into `dclm_core::Stats`.
//! * [`Registry`]: DCLM `func` name → constructor; [`PipelineConfig`] reads DCLM YAML and checks every step
//!   (parameters, banlists, models) before any data is read.
//! * Semantics: Python's `str` predicates (`dclm_core::pystr`), DCLM's three word tokenizers ([`tokenize`]), and
//!   DCLM's quirks reproduced by default (see [`steps`]; corrected variants: `url_substring_filter`
//!   `fix_www: true`, `url_removal_modifier` `gate: search`).
//! * Language ID through any [`LanguageId`] backend; [`FastTextLid`] (crate `dclm-fasttext`, pure Rust,
//!   `lid.176.bin`/`.ftz`) is the default.
//! * [`run()`]: the stage over JSONL shards via `dclm_core::Executor`.
//!
//! ```
//! use dclm_filter::{FnFilter, Pipeline, Registry, BuildContext, PipelineConfig, LoadOptions};
//! use dclm_core::{Document, Verdict, Stats};
//!
//! let mut registry = Registry::dclm();
//! registry.register_filter("no_lorem", |_params, _ctx| {
//!     Ok(FnFilter::new("no_lorem", |d: &Document| Verdict::keep_if(!d.text.contains("lorem"), "lorem")))
//! });
//! let yaml = "- source: cc\n  steps:\n    - func: no_lorem\n    - func: stop_word_filter\n      min_stop_word: 2\n";
//! let cfg = PipelineConfig::parse(yaml, "inline.yaml").unwrap();
//! let p = cfg.build(&registry, &BuildContext::default(), &LoadOptions::default()).unwrap().pipeline;
//! let mut stats = Stats::new("filter");
//! assert!(p.process(Document::new("the cat and the dog"), &mut stats).is_some());
//! assert!(p.process(Document::new("lorem ipsum of the"), &mut stats).is_none());
//! assert_eq!(stats.steps[0].dropped["lorem"], 1);
//! ```
//!
//! Sibling crates: `dclm-core` (documents, IO, executor), `dclm-extract` (WARC → text), `dclm-dedup`,
//! `dclm-fasttext` (fastText inference), `dclm-train`, `dclm-eval`.
#![warn(missing_docs)]

pub mod config;
mod error;
pub mod fasttext;
pub mod lang;
pub mod matcher;
mod pipeline;
mod registry;
pub mod run;
pub mod steps;
pub mod tokenize;

pub use config::{LoadOptions, LoadedPipeline, PipelineConfig};
pub use error::{FilterError, Result, StepLoc};
pub use fasttext::{fasttext_lid_loader, FastTextLid};
pub use lang::{FnLanguageId, LanguageId};
pub use pipeline::{Filter, FnFilter, FnMapper, Mapper, Pipeline, Step, Trace};
pub use registry::{BuildContext, Constructor, LidLoader, Params, Registry, UNSUPPORTED_DCLM_FUNCS};
pub use run::{run, FilterRunConfig, StepReport};
