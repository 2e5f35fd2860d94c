//! dclm-train: tokenize + global shuffle into open_lm token shards (`data`), and the open_lm model
//! with DCLM's training recipe in candle (`model`, `train`), and checkpoints in dclm-rs, open_lm `.pt` and
//! Hugging Face layouts (`checkpoint`).
#![warn(missing_docs)]

pub mod checkpoint;
pub mod data;
pub mod error;
pub mod model;
pub mod train;

pub use error::{Result, TrainError};
