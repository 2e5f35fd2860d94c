//! `ExtractError`: every failure of the extract stage, naming the WARC file, record and byte offset.

use std::path::PathBuf;

/// Errors of WARC reading and extraction. Record-level variants are counted under [`ExtractError::reason`]
/// and skipped; the rest of the file goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// Opening or reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The compressed stream is corrupt or ends inside a member/frame; the rest of the file is lost.
    #[error("{path}: corrupt or truncated compressed stream at decompressed offset {offset}: {message}")]
    CorruptStream {
        /// WARC file.
        path: PathBuf,
        /// Decompressed byte offset where reading failed.
        offset: u64,
        /// Decoder message.
        message: String,
    },
    /// Bytes between records that are not a WARC record start; skipped up to the next `WARC/` line.
    #[error("{path}: {skipped} bytes of garbage before offset {offset} (expected a `WARC/1.x` line)")]
    Garbage {
        /// WARC file.
        path: PathBuf,
        /// Decompressed offset where the next record (or EOF) was found.
        offset: u64,
        /// Bytes skipped.
        skipped: u64,
    },
    /// A record header block that cannot be used (no/invalid `Content-Length`, too long, bad line).
    #[error("{path}: malformed WARC header at offset {offset} (record {record_id}): {message}")]
    BadHeader {
        /// WARC file.
        path: PathBuf,
        /// Decompressed offset of the record start.
        offset: u64,
        /// `WARC-Record-ID` if it was read, else `?`.
        record_id: String,
        /// What is wrong.
        message: String,
    },
    /// The file ends inside a record body (wrong `Content-Length` or truncated file).
    #[error("{path}: record {record_id} at offset {offset} is truncated: {got} of {expected} body bytes")]
    Truncated {
        /// WARC file.
        path: PathBuf,
        /// Decompressed offset of the record start.
        offset: u64,
        /// `WARC-Record-ID`.
        record_id: String,
        /// Bytes present.
        got: u64,
        /// `Content-Length`.
        expected: u64,
    },
    /// A record larger than the configured limit; skipped without buffering it.
    #[error("{path}: record {record_id} at offset {offset} has {length} body bytes, over the {limit}-byte limit")]
    TooLarge {
        /// WARC file.
        path: PathBuf,
        /// Decompressed offset of the record start.
        offset: u64,
        /// `WARC-Record-ID`.
        record_id: String,
        /// `Content-Length`.
        length: u64,
        /// Configured limit.
        limit: u64,
    },
    /// The HTTP body is not valid UTF-8 (DCLM drops these pages).
    #[error("{path}: record {record_id} at offset {offset}: body is not valid UTF-8 (byte {position})")]
    NotUtf8 {
        /// WARC file.
        path: PathBuf,
        /// Decompressed offset of the record start.
        offset: u64,
        /// `WARC-Record-ID`.
        record_id: String,
        /// Byte position of the first invalid sequence in the body.
        position: usize,
    },
    /// An extractor failed on a record.
    #[error("{path}: record {record_id} at offset {offset}: {message}")]
    Extractor {
        /// WARC file.
        path: PathBuf,
        /// Decompressed offset of the record start.
        offset: u64,
        /// `WARC-Record-ID`.
        record_id: String,
        /// Extractor message.
        message: String,
    },
    /// A page whose text would be far larger than the page itself (lists nested thousands deep around a
    /// `<pre>`): skipped so that one page cannot exhaust memory.
    #[error("{path}: record {record_id} at offset {offset}: extracted text would exceed {limit} bytes (page of {html_bytes} bytes); page skipped")]
    OutputTooLarge {
        /// WARC file.
        path: PathBuf,
        /// Decompressed offset of the record start.
        offset: u64,
        /// `WARC-Record-ID`.
        record_id: String,
        /// The page's size.
        html_bytes: usize,
        /// The bound on its text.
        limit: usize,
    },
    /// An error of the shared IO/executor layer.
    #[error(transparent)]
    Core(#[from] dclm_core::CoreError),
    /// Invalid configuration.
    #[error("invalid extract configuration: {0}")]
    Config(String),
}

impl ExtractError {
    /// Short reason used as the key in stats.
    pub fn reason(&self) -> &'static str {
        match self {
            ExtractError::Io { .. } => "io_error",
            ExtractError::CorruptStream { .. } => "corrupt_stream",
            ExtractError::Garbage { .. } => "garbage_between_records",
            ExtractError::BadHeader { .. } => "malformed_warc_header",
            ExtractError::Truncated { .. } => "truncated_record",
            ExtractError::TooLarge { .. } => "record_too_large",
            ExtractError::NotUtf8 { .. } => "non_utf8",
            ExtractError::Extractor { .. } => "extractor_error",
            ExtractError::OutputTooLarge { .. } => "output_too_large",
            ExtractError::Core(e) => e.reason(),
            ExtractError::Config(_) => "config",
        }
    }
}
