//! The crate's one error type: every variant names the URL, file or line it is about.

use std::path::PathBuf;

/// Everything that can go wrong while fetching.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The server answered with a status that is not retried (e.g. 403, 404), or a retried one too often.
    #[error("{url}: HTTP {status} after {attempts} attempt(s){hint}")]
    Status {
        /// The URL.
        url: String,
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// Extra advice (e.g. for an asset that needs credentials).
        hint: String,
    },
    /// Connection errors persisted through every retry.
    #[error("{url}: transfer failed after {attempts} attempt(s): {message}")]
    Transport {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        message: String,
    },
    /// The downloaded bytes do not hash to the pinned (or first-use recorded) sha256; nothing was kept.
    #[error("{url}: sha256 mismatch for {path}: expected {expected}, got {actual} ({size} bytes); download removed")]
    ChecksumMismatch {
        /// The URL.
        url: String,
        /// The destination that was not written.
        path: PathBuf,
        /// Expected sha256 (hex).
        expected: String,
        /// Actual sha256 (hex).
        actual: String,
        /// Bytes received.
        size: u64,
    },
    /// The size differs from the pinned one; nothing was kept.
    #[error("{url}: size mismatch for {path}: expected {expected} bytes, got {actual}; download removed")]
    SizeMismatch {
        /// The URL.
        url: String,
        /// The destination that was not written.
        path: PathBuf,
        /// Expected size.
        expected: u64,
        /// Actual size.
        actual: u64,
    },
    /// The content failed a check (gzip integrity of a WARC, a Git LFS pointer instead of the file, …).
    #[error("{url}: {path}: content check failed: {message}; download removed")]
    BadContent {
        /// The URL.
        url: String,
        /// The destination that was not written.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A line of the asset registry, a paths list or a lock file is malformed.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file (or `<embedded assets.tsv>`).
        path: PathBuf,
        /// 1-based line number (0 when the whole file is at fault).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The user asked for something that does not exist or cannot be done.
    #[error("{0}")]
    Invalid(String),
    /// Some downloads of a batch failed (each listed).
    #[error("{failed} of {total} download(s) failed:\n{details}")]
    Batch {
        /// How many failed.
        failed: usize,
        /// How many were attempted.
        total: usize,
        /// One line per failure.
        details: String,
    },
}

impl FetchError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FetchError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = FetchError> = std::result::Result<T, E>;
