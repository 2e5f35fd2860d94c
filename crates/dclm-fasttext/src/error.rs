//! `FastTextError`: every failure of this crate, with the file, byte offset or line it concerns.

use std::path::PathBuf;

/// Errors of model loading, saving, training and the DCLM quality stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FastTextError {
    /// An IO failure on a file (open, map, read, write).
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The model file ends before a field that must be there.
    #[error("{path}: truncated fastText model: {what} needs {needed} bytes at offset {offset}, but the file has {len} bytes")]
    Truncated {
        /// Model file.
        path: PathBuf,
        /// The field being read.
        what: String,
        /// Byte offset of the field.
        offset: u64,
        /// Bytes the field needs.
        needed: u64,
        /// File length.
        len: u64,
    },
    /// The file does not start with fastText's magic number.
    #[error("{path}: not a fastText model: magic number {found:#010x} at offset 0, expected 0x2f4f16ba")]
    BadMagic {
        /// Model file.
        path: PathBuf,
        /// The 32-bit value found.
        found: u32,
    },
    /// A file format version this crate does not read.
    #[error("{path}: unsupported fastText model version {found} at offset 4 (supported: 11 and 12)")]
    UnsupportedVersion {
        /// Model file.
        path: PathBuf,
        /// The version found.
        found: i32,
    },
    /// A field holds a value that cannot belong to a valid model.
    #[error("{path}: invalid fastText model at offset {offset}: {message}")]
    Invalid {
        /// Model file.
        path: PathBuf,
        /// Byte offset of the offending field.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// The model has no label the caller needs (e.g. `__label__hq` for DCLM's quality score).
    #[error("{path}: model has no label {label:?} (its labels: {available})")]
    MissingLabel {
        /// Model file.
        path: PathBuf,
        /// The label asked for.
        label: String,
        /// The model's labels, comma-separated (first 20).
        available: String,
    },
    /// A training input line or record is unusable.
    #[error("{path}:{line}: {message}")]
    BadInput {
        /// Input file.
        path: PathBuf,
        /// 1-based line number (0 when not line-specific).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Invalid arguments or configuration (training arguments, thresholds, DCLM YAML).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Training diverged (fastText's "Encountered NaN").
    #[error("training diverged: encountered NaN (try a lower learning rate)")]
    NaN,
    /// An error of the shared shard layer.
    #[error(transparent)]
    Core(#[from] dclm_core::CoreError),
}

impl FastTextError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FastTextError::Io {
            path: path.into(),
            source,
        }
    }
}
