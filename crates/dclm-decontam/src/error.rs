//! `DecontamError`: every failure of decontamination and mixing, each with the file, line or setting it concerns.

use std::path::PathBuf;

/// Errors of dclm-decontam. Per-document checks never fail; these come from configuration, eval task
/// files, mix specs, filter files and shard IO.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecontamError {
    /// An IO failure on a file.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A shard-IO or executor error from dclm-core.
    #[error(transparent)]
    Core(#[from] dclm_core::CoreError),
    /// A Bloom-filter error from dclm-dedup (sizing, budget, bad filter file).
    #[error(transparent)]
    Dedup(#[from] dclm_dedup::DedupError),
    /// An eval task file line that is not a JSON object.
    #[error("{path}:{line}: bad eval item: {message}")]
    BadEvalItem {
        /// Task file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A YAML file (task list or mix spec) that does not parse.
    #[error("{path}: bad YAML: {message}")]
    Yaml {
        /// File concerned.
        path: PathBuf,
        /// Parser message (with line and column).
        message: String,
    },
    /// An invalid setting (names the setting and the allowed values).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A mix source whose inputs cannot meet its target.
    #[error("mix source {source_name:?}: {message}")]
    Mix {
        /// Source name in the spec.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// JSON serialization of a report or manifest.
    #[error("{path}: {source}")]
    Json {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
}

impl DecontamError {
    /// An IO error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DecontamError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`DecontamError`].
pub type Result<T, E = DecontamError> = std::result::Result<T, E>;
