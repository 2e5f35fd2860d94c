//! dclm-fasttext: fastText in pure Rust — supervised inference for `.bin` and product-quantized `.ftz`
//! models and `train_supervised`, bit-compatible with C++ fastText 0.9.2 (the library behind DCLM's quality
//! classifier and `lid.176`), plus DCLM's quality step.
//!
//! * [`FastText`]: [`FastText::load`] (memory-mapped, so a 2.4 GB model is read in place) and
//!   [`FastText::predict`] with the exact semantics of C++ `predictLine` on `text + "\n"`: ASCII-whitespace
//!   tokens, `</s>`, hashed word n-grams (signed-byte FNV-1a, int32→uint64 sign extension), character
//!   n-grams, softmax / hierarchical softmax / negative sampling / one-vs-all heads, and the probabilities
//!   fastText reports (`exp(log(p + 1e-5))`, so they can exceed 1). `FastText` is `Send + Sync`.
//! * [`train_supervised`] / [`train::train_classifier`]: fastText's SGD with its defaults; with one thread the
//!   `.bin` is byte-identical to official fastText's, and official fastText loads ours.
//! * [`quality`]: [`prepare_text`] (Python `" ".join(text.strip().splitlines())`), [`QualityScorer`]
//!   (DCLM's P(`__label__hq`) score), `quality_filter`, top-k% thresholds, DCLM YAML, and [`quality::run`]
//!   over JSONL shards with the `dclm_core` executor.
//!
//! ```
//! use dclm_fasttext::{train::train_on_bytes, FastText, TrainArgs};
//! let data = "__label__hq how do rainbows form\n__label__cc buy cheap watches now\n".repeat(20);
//! let args = TrainArgs { dim: 8, epoch: 10, lr: 0.5, word_ngrams: 2, bucket: 1000, thread: 1, ..TrainArgs::default() };
//! let model = train_on_bytes(data.as_bytes(), "demo.txt".as_ref(), &args).unwrap().model;
//! let bytes = model.to_bytes().unwrap(); // a fastText .bin
//! let back = FastText::from_bytes(&bytes, "demo.bin".as_ref()).unwrap();
//! let top = &back.predict("how do rainbows form", 1, 0.0)[0];
//! assert_eq!(top.label, "__label__hq");
//! ```
//!
//! Sibling crates: `dclm-core` (documents, shard IO, executor), `dclm-filter` (heuristics and language
//! ID, which can use this crate's [`FastText`] for `lid.176`), `dclm-extract`, `dclm-dedup`, `dclm-train`,
//! `dclm-eval`.
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
pub use train::{evaluate, train_supervised, EvalReport, TrainArgs, Trained};
