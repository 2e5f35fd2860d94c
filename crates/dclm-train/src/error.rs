//! The crate's one error enum, [`TrainError`], shared by the token data (`data`) and the model/trainer
//! (`model`, `train`) halves of `dclm-train`.

use std::path::PathBuf;

/// Errors of `dclm-train`. Each variant carries the context needed to find the problem (path, tensor name,
/// step).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A tensor operation failed inside candle (shape mismatch, unsupported op, device error).
    #[error("candle error while {context}: {source}")]
    Candle {
        /// What was being done.
        context: String,
        /// The underlying candle error.
        #[source]
        source: candle_core::Error,
    },
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (model config, checkpoint metadata, run record) could not be parsed or written.
    #[error("JSON error in {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A model configuration is invalid or asks for an architecture variant this port does not implement.
    #[error("invalid model config: {0}")]
    Config(String),
    /// A checkpoint lacks a tensor the model needs.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor {
        /// The safetensors file.
        path: PathBuf,
        /// The open_lm parameter name.
        name: String,
    },
    /// A checkpoint tensor has the wrong shape for the configured model.
    #[error("{path}: tensor `{name}` has shape {got:?}, the config needs {expected:?}")]
    TensorShape {
        /// The safetensors file.
        path: PathBuf,
        /// The open_lm parameter name.
        name: String,
        /// Shape required by the config.
        expected: Vec<usize>,
        /// Shape found in the file.
        got: Vec<usize>,
    },
    /// A token batch handed to the model or trainer is malformed (wrong length, id out of vocabulary).
    #[error("bad token batch at step {step}: {reason}")]
    BadBatch {
        /// Optimizer step (0-based) the batch was meant for.
        step: u64,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint does not belong to this run (different config, missing optimizer state).
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The loss became NaN or infinite.
    #[error("non-finite loss {loss} at step {step}")]
    NonFiniteLoss {
        /// Optimizer step (0-based).
        step: u64,
        /// The loss value.
        loss: f32,
    },
    /// A tokenizer file (`tokenizer.json`, tiktoken ranks) could not be loaded or run.
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] dclm_tokenizer::TokenizerError),
    /// A token shard (webdataset tar of `*.json.gz` contexts) or its manifest is malformed.
    #[error("token shard {path}, entry `{entry}`: {reason}")]
    TokenShard {
        /// The shard tar or `manifest.jsonl`.
        path: PathBuf,
        /// The tar entry name or manifest line (empty when the whole file is concerned).
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// Invalid tokenize-shuffle or token-source configuration.
    #[error("invalid tokenize/shuffle configuration: {0}")]
    DataConfig(String),
    /// A shard-IO failure reported by dclm-core.
    #[error(transparent)]
    Core(#[from] dclm_core::CoreError),
}

/// `Result` with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// Attach a context string to candle results: `tensor_op().ctx("computing the loss")?`.
pub(crate) trait CandleContext<T> {
    /// Wrap a candle error into [`TrainError::Candle`] with `context`.
    fn ctx(self, context: &str) -> Result<T>;
}

impl<T> CandleContext<T> for std::result::Result<T, candle_core::Error> {
    fn ctx(self, context: &str) -> Result<T> {
        self.map_err(|source| TrainError::Candle {
            context: context.to_string(),
            source,
        })
    }
}
