//! The crate's one error type: every variant names the file it is about.

use std::path::{Path, PathBuf};

/// Everything that can go wrong reading, writing or comparing records.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A record is not valid JSON.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line and column).
        source: serde_json::Error,
    },
    /// A record lacks what is needed (e.g. an eval record without `eval_metrics.icl`).
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// DCLM's eval metadata could not be read.
    #[error(transparent)]
    Eval(#[from] dclm_eval::EvalError),
}

impl RecordsError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        RecordsError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn json(path: impl AsRef<Path>, source: serde_json::Error) -> Self {
        RecordsError::Json {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = RecordsError> = std::result::Result<T, E>;
