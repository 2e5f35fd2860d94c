//! `FilterError`: everything that can go wrong while building or running a filter pipeline (config,
//! parameters, assets, models, IO). Per-document steps never fail; they decide.

use std::path::PathBuf;

/// Where in a config a step sits: 1-based index in its `steps:` list, its `func`, and its line in the YAML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLoc {
    /// 1-based position in the `steps:` list.
    pub index: usize,
    /// The `func` name.
    pub func: String,
    /// 1-based line of the step in the config file, when known.
    pub line: Option<usize>,
}

impl std::fmt::Display for StepLoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} (`{}`", self.index, self.func)?;
        if let Some(l) = self.line {
            write!(f, ", line {l}")?;
        }
        write!(f, ")")
    }
}

/// Errors of the filter stage.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// The config file could not be read or parsed.
    #[error("config {path}: {message}")]
    Config {
        /// Config file (or `<string>`).
        path: PathBuf,
        /// What is wrong, with line/column when the parser gives one.
        message: String,
    },
    /// A `func` name that neither DCLM nor the registry knows.
    #[error("{loc}: unknown func `{}`; accepted: {}", loc.func, accepted.join(", "))]
    UnknownFunc {
        /// The step.
        loc: StepLoc,
        /// Every registered name.
        accepted: Vec<String>,
    },
    /// A DCLM mapper that this crate does not implement.
    #[error("{loc}: DCLM func `{}` is not supported by dclm-filter: {why} (supported: {})", loc.func, supported.join(", "))]
    Unsupported {
        /// The step.
        loc: StepLoc,
        /// Why not.
        why: &'static str,
        /// Every registered name.
        supported: Vec<String>,
    },
    /// A parameter that the step does not accept, or a value of the wrong type or range.
    #[error("{loc}: parameter `{param}`: {message}")]
    BadParam {
        /// The step.
        loc: StepLoc,
        /// Parameter name.
        param: String,
        /// What is wrong and which values are accepted.
        message: String,
    },
    /// An asset file (banlist, TLD list, model) named by a step could not be read.
    #[error("{loc}: cannot read {what} {path}: {message}")]
    Asset {
        /// The step.
        loc: StepLoc,
        /// What the file is (`banlist`, `TLD list`, `language-ID model`).
        what: &'static str,
        /// Resolved path.
        path: PathBuf,
        /// The underlying error, plus a hint.
        message: String,
    },
    /// A model could not be loaded.
    #[error("model {path}: {message}")]
    Model {
        /// Model file.
        path: PathBuf,
        /// Loader message.
        message: String,
    },
    /// Shard IO or executor failure.
    #[error(transparent)]
    Core(#[from] dclm_core::CoreError),
    /// Any other IO failure.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = FilterError> = std::result::Result<T, E>;
