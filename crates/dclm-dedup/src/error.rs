//! `DedupError`: every failure of the dedup stage, each with the file, position or setting it concerns.

use std::path::PathBuf;

/// Errors of dclm-dedup. Per-document dedup decisions never fail; these come from configuration,
/// filter files and shard IO.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DedupError {
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
    /// An invalid setting (names the setting and the allowed values).
    #[error("invalid dedup configuration: {0}")]
    Config(String),
    /// The planned Bloom filter does not fit the memory budget; nothing was allocated.
    #[error(
        "Bloom filter for {expected_ngrams} n-grams at fp rate {fp_rate} needs {needed_bytes} bytes \
         ({needed_mib:.1} MiB, {hashers} hashers) x {copies} filter(s), over the memory budget of {budget_bytes} bytes \
         ({budget_mib:.1} MiB); raise the budget, lower --expected-ngram-count or raise --fp-rate",
        needed_mib = *needed_bytes as f64 * *copies as f64 / 1048576.0,
        budget_mib = *budget_bytes as f64 / 1048576.0
    )]
    OverBudget {
        /// Expected n-gram count the filter was sized for.
        expected_ngrams: u64,
        /// Target per-n-gram false-positive rate.
        fp_rate: f64,
        /// Bytes one filter needs.
        needed_bytes: u64,
        /// Number of hash functions of the plan.
        hashers: u32,
        /// Filters held at once (one per concurrently processed shard when not deduplicating across shards).
        copies: u64,
        /// The budget.
        budget_bytes: u64,
    },
    /// A Bloom filter file that is not one, is of another version, is truncated or fails its checksum.
    #[error("{path}: bad Bloom filter file at byte {offset}: {message}")]
    BadFilterFile {
        /// Filter file.
        path: PathBuf,
        /// Byte offset where the problem was found.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A filter file built with other n-gram settings than the run asks for.
    #[error("{path}: Bloom filter was built with {found}, but this run uses {wanted}")]
    FilterMismatch {
        /// Filter file.
        path: PathBuf,
        /// Settings stored in the file.
        found: String,
        /// Settings of this run.
        wanted: String,
    },
    /// A signature or drop-list file of the two-phase (MinHash / exact) dedup that cannot be read.
    #[error("{path}: bad signature file at byte {offset}: {message}")]
    BadSignatureFile {
        /// File concerned.
        path: PathBuf,
        /// Byte offset where the problem was found.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// Some shards failed; the others were written.
    #[error("{failed} shard(s) failed, first: {first_path}: {first_error}")]
    ShardsFailed {
        /// How many shards failed.
        failed: usize,
        /// The first failed shard.
        first_path: PathBuf,
        /// Its error.
        first_error: String,
    },
}

impl DedupError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DedupError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for dclm-dedup.
pub type Result<T, E = DedupError> = std::result::Result<T, E>;
