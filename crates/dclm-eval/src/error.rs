//! The crate's one error type, [`EvalError`], with the file, line and task that went wrong.

use std::path::PathBuf;

/// Everything that can go wrong while loading tasks, building prompts, running a model or writing results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A task-file line is not valid JSON or lacks / mistypes a field the task type needs.
    #[error("{path}:{line}: {message}")]
    BadRecord {
        /// The task file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A task configuration (YAML entry, [`crate::TaskConfig`]) is invalid.
    #[error("task config {task}: {message}")]
    BadConfig {
        /// Task label, or the YAML file when the label is unknown.
        task: String,
        /// What is wrong.
        message: String,
    },
    /// `icl_task_type` names a type this crate does not implement.
    #[error(
        "task {task}: unknown icl_task_type {kind:?} (allowed: multiple_choice, schema, language_modeling, \
         generation_task_with_answers, question_answering)"
    )]
    UnknownTaskType {
        /// Task label.
        task: String,
        /// The unknown type.
        kind: String,
    },
    /// A YAML file could not be parsed.
    #[error("{path}: {message}")]
    Yaml {
        /// The YAML file.
        path: PathBuf,
        /// Parser message (with line/column).
        message: String,
    },
    /// The eval metadata CSV could not be read.
    #[error("{path}:{line}: {message}")]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line (0 if unknown).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A JSON file (results, aggregation groups) could not be parsed or written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// An archive (GPQA's release zip) could not be read: not a zip, wrong password, unsupported entry.
    #[error("{path}: {message}")]
    Archive {
        /// The archive (or the file written from it).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The tokenizer failed to load, encode or decode.
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] dclm_tokenizer::TokenizerError),
    /// The model failed, or returned a response that does not fit the request.
    #[error("model: {0}")]
    Model(String),
    /// The model cannot do what a task needs (e.g. generation).
    #[error("model does not support {0}")]
    Unsupported(&'static str),
    /// A continuation does not fit in the model's context window at all.
    #[error("task {task}, example {index}: continuation of {len} tokens exceeds max_seq_len {max_seq_len}")]
    ContinuationTooLong {
        /// Task label.
        task: String,
        /// Example index in its (category) dataset.
        index: usize,
        /// Continuation length in tokens.
        len: usize,
        /// The limit.
        max_seq_len: usize,
    },
}

impl EvalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EvalError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn config(task: impl Into<String>, message: impl Into<String>) -> Self {
        EvalError::BadConfig {
            task: task.into(),
            message: message.into(),
        }
    }
}
