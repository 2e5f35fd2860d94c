//! `CoreError`: every failure dclm-core reports, each naming the file and position it concerns.

use std::path::PathBuf;

/// Errors of the shared document, shard-IO and executor layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// An IO failure on a file (open, read, write, rename).
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSONL line that could not be read as a document.
    #[error("{path}:{line}: {kind}: {message}")]
    BadLine {
        /// Shard file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Short machine-readable reason (`invalid_json`, `missing_text`, `invalid_utf8`, …).
        kind: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// The compressed stream ended early or is corrupt (truncated gzip/zstd).
    #[error("{path}: corrupt or truncated {format} stream after line {line}: {message}")]
    Corrupt {
        /// Shard file.
        path: PathBuf,
        /// Compression format (`gzip`, `zstd`).
        format: &'static str,
        /// Last line read successfully (1-based; 0 = none).
        line: u64,
        /// Detail from the decoder.
        message: String,
    },
    /// Invalid executor or run configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A document could not be serialized.
    #[error("serializing document: {0}")]
    Serialize(#[from] serde_json::Error),
}

impl CoreError {
    /// Short reason used as the key in stats (`errors` map).
    pub fn reason(&self) -> &'static str {
        match self {
            CoreError::Io { .. } => "io_error",
            CoreError::BadLine { kind, .. } => kind,
            CoreError::Corrupt { .. } => "corrupt_stream",
            CoreError::Config(_) => "config",
            CoreError::Serialize(_) => "serialize",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for dclm-core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
