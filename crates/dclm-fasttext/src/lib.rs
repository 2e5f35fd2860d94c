//! dclm-fasttext: fastText in pure Rust — supervised inference for `.bin` and quantized `.ftz` models,
//! bit-compatible with C++ fastText 0.9.2 (the version behind DCLM's quality classifier and `lid.176`).
//!
//! ```no_run
//! use dclm_fasttext::FastText;
//! let ft = FastText::load(std::path::Path::new("lid.176.ftz")).unwrap();
//! for p in ft.predict("Bonjour tout le monde", 2, 0.0) {
//!     println!("{} {}", p.label, p.prob);
//! }
//! ```
//!
//! Sibling crates: `dclm-core` (documents, shard IO, executor), `dclm-filter` (heuristics and language
//! ID, which uses this crate), `dclm-extract`, `dclm-dedup`, `dclm-train`, `dclm-eval`.
#![warn(missing_docs)]

mod args;
mod dictionary;
mod error;
mod matrix;
mod model;
pub mod quality;
mod reader;
mod stdalgo;
pub mod train;

pub use args::{Loss, ModelArgs};
pub use dictionary::{fnv_hash, EOS, LABEL_PREFIX};
pub use error::FastTextError;
pub use model::{FastText, PredictBuf, Prediction};
pub use quality::{prepare_text, QualityConfig, QualityScorer, ThresholdMode};
pub use train::{evaluate, train_supervised, TrainArgs, Trained};
