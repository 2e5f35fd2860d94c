//! `ReportError`: the one error type of dclm-report (IO and JSON problems, with the path involved).

use std::path::PathBuf;

/// Errors of report writing/reading and corpus generation.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// JSON (de)serialization failed (`path` empty for in-memory text).
    #[error("{path}: invalid report JSON: {source}")]
    Json {
        /// The file, if any.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A corpus page source is malformed (bad manifest line, unknown page kind, unencodable text).
    #[error("{path}:{line}: {message}")]
    Corpus {
        /// The source file.
        path: PathBuf,
        /// 1-based line (0 when not line-specific).
        line: usize,
        /// What is wrong.
        message: String,
    },
}
