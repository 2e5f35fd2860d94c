//! [`TokenizerError`]: every way loading or running a tokenizer can fail, naming the file where there is one.

use std::path::PathBuf;

/// Errors of `dclm-tokenizer`.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A tokenizer file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// A tokenizer file is not a valid tokenizer of its kind, or a name is not found.
    #[error("{}: {message}", path.display())]
    Load {
        /// The file (or the name that was looked up).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A text could not be encoded (e.g. a byte sequence without a rank).
    #[error("encoding: {0}")]
    Encode(String),
    /// Ids could not be decoded.
    #[error("decoding: {0}")]
    Decode(String),
}

/// `Result` with [`TokenizerError`].
pub type Result<T> = std::result::Result<T, TokenizerError>;
