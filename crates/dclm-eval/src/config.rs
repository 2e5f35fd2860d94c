//! Task configuration: [`TaskConfig`] (one LLM-Foundry `icl_tasks` entry with `build_icl_evaluators`
//! defaults) and reading DCLM's eval YAMLs (`mmlu_and_lowvar.yaml`, `heavy.yaml`).

use crate::EvalError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The four LLM-Foundry ICL task types DCLM uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IclTaskType {
    /// `query`, `choices[]`, `gold`: argmin of mean per-token cross-entropy over the choice.
    MultipleChoice,
    /// `context_options[]`, `continuation`, `gold`: argmin of the continuation's mean CE per context option.
    Schema,
    /// `context`, `continuation`: correct iff every continuation token is the greedy argmax.
    LanguageModeling,
    /// `context`, `answer`, `aliases`, optional `chain_of_thought`: greedy generation, normalized prefix match.
    GenerationTaskWithAnswers,
}

impl IclTaskType {
    /// Parse LLM-Foundry's `icl_task_type` string (`question_answering` is its deprecated alias).
    pub fn parse(task: &str, s: &str) -> Result<Self, EvalError> {
        Ok(match s {
            "multiple_choice" => IclTaskType::MultipleChoice,
            "schema" => IclTaskType::Schema,
            "language_modeling" => IclTaskType::LanguageModeling,
            "generation_task_with_answers" | "question_answering" => IclTaskType::GenerationTaskWithAnswers,
            other => {
                return Err(EvalError::UnknownTaskType {
                    task: task.into(),
                    kind: other.into(),
                })
            }
        })
    }

    /// LLM-Foundry's name.
    pub fn as_str(self) -> &'static str {
        match self {
            IclTaskType::MultipleChoice => "multiple_choice",
            IclTaskType::Schema => "schema",
            IclTaskType::LanguageModeling => "language_modeling",
            IclTaskType::GenerationTaskWithAnswers => "generation_task_with_answers",
        }
    }
}

/// One ICL task, with LLM-Foundry v0.9.0's defaults for everything the YAML leaves out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskConfig {
    /// Result key (`copa`, `mmlu_fewshot`, …).
    pub label: String,
    /// Task file, relative to the eval data root (`local_data/…jsonl`) or absolute.
    pub dataset_uri: String,
    /// Task type.
    pub icl_task_type: IclTaskType,
    /// Shots per test example.
    pub num_fewshot: usize,
    /// Text once before everything (default `""`).
    pub prompt_string: String,
    /// Between shots (default `"\n"`).
    pub example_delimiter: String,
    /// Between context and answer (default `" "`).
    pub continuation_delimiter: String,
    /// Before every context (default `""`).
    pub question_prelimiter: String,
    /// Between chain of thought and answer (generation; default `""`).
    pub cot_delimiter: String,
    /// Stop strings for generation (used as a regex alternation, as upstream).
    pub early_stopping_criteria: Vec<String>,
    /// Split the file by `category`, one dataset (and RNG) per category; score = mean of category accuracies.
    pub has_categories: bool,
    /// Few-shot RNG seed (default 1234).
    pub fewshot_random_seed: u64,
    /// Normalize generations and answers before matching (default true).
    pub do_normalization: bool,
    /// Context window (default: the model's, DCLM 2048).
    pub max_seq_len: Option<usize>,
}

impl TaskConfig {
    /// A config with LLM-Foundry defaults.
    pub fn new(label: impl Into<String>, dataset_uri: impl Into<String>, icl_task_type: IclTaskType) -> Self {
        TaskConfig {
            label: label.into(),
            dataset_uri: dataset_uri.into(),
            icl_task_type,
            num_fewshot: 0,
            prompt_string: String::new(),
            example_delimiter: "\n".into(),
            continuation_delimiter: " ".into(),
            question_prelimiter: String::new(),
            cot_delimiter: String::new(),
            early_stopping_criteria: Vec::new(),
            has_categories: false,
            fewshot_random_seed: 1234,
            do_normalization: true,
            max_seq_len: None,
        }
    }

    /// Builder: number of shots.
    pub fn with_fewshot(mut self, n: usize) -> Self {
        self.num_fewshot = n;
        self
    }

    /// Builder: continuation delimiter.
    pub fn with_continuation_delimiter(mut self, d: impl Into<String>) -> Self {
        self.continuation_delimiter = d.into();
        self
    }

    /// Resolve `dataset_uri` against a data directory that is either the folder holding `local_data/` or
    /// `local_data/` itself.
    pub fn resolve_path(&self, data_dir: &Path) -> PathBuf {
        let uri = Path::new(&self.dataset_uri);
        if uri.is_absolute() {
            return uri.to_path_buf();
        }
        let direct = data_dir.join(uri);
        if direct.exists() {
            return direct;
        }
        if let Ok(stripped) = uri.strip_prefix("local_data") {
            let alt = data_dir.join(stripped);
            if alt.exists() {
                return alt;
            }
        }
        direct
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Shots {
    One(usize),
    Many(Vec<usize>),
}

/// One `icl_tasks` entry as written in LLM-Foundry YAML.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlTask {
    label: String,
    dataset_uri: String,
    num_fewshot: Shots,
    icl_task_type: String,
    prompt_string: Option<String>,
    example_delimiter: Option<String>,
    continuation_delimiter: Option<String>,
    question_prelimiter: Option<String>,
    cot_delimiter: Option<String>,
    early_stopping_criteria: Option<Vec<String>>,
    has_categories: Option<bool>,
    fewshot_random_seed: Option<u64>,
    do_normalization: Option<bool>,
    max_seq_len: Option<usize>,
    // Accepted and ignored (they do not change DCLM's scores): evaluation plumbing of LLM-Foundry.
    #[allow(dead_code)]
    batch_size: Option<serde_yaml_ng::Value>,
    #[allow(dead_code)]
    metric_names: Option<serde_yaml_ng::Value>,
    #[allow(dead_code)]
    pass_at_k: Option<serde_yaml_ng::Value>,
    #[allow(dead_code)]
    generations_per_sample: Option<serde_yaml_ng::Value>,
    #[allow(dead_code)]
    generation_kwargs: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
struct YamlFile {
    icl_tasks: Vec<YamlTask>,
    max_seq_len: Option<usize>,
}

/// Read an LLM-Foundry / DCLM eval YAML (top-level `icl_tasks:` list; other top-level keys are ignored).
/// A task with several shot counts becomes one config per count, labelled `label_{n}shot`.
pub fn load_task_yaml(path: impl AsRef<Path>) -> Result<Vec<TaskConfig>, EvalError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    parse_task_yaml(&text).map_err(|e| match e {
        EvalError::Yaml { message, .. } => EvalError::Yaml {
            path: path.to_path_buf(),
            message,
        },
        other => other,
    })
}

/// [`load_task_yaml`] on a string.
pub fn parse_task_yaml(text: &str) -> Result<Vec<TaskConfig>, EvalError> {
    let file: YamlFile = serde_yaml_ng::from_str(text).map_err(|e| EvalError::Yaml {
        path: PathBuf::from("<yaml>"),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for t in file.icl_tasks {
        let kind = IclTaskType::parse(&t.label, &t.icl_task_type)?;
        let shots = match t.num_fewshot {
            Shots::One(n) => vec![n],
            Shots::Many(v) => v,
        };
        if shots.is_empty() {
            return Err(EvalError::config(&t.label, "num_fewshot is an empty list"));
        }
        for &n in &shots {
            let label = if shots.len() == 1 {
                t.label.clone()
            } else {
                format!("{}_{n}shot", t.label)
            };
            let mut c = TaskConfig::new(label, t.dataset_uri.clone(), kind).with_fewshot(n);
            if let Some(v) = &t.prompt_string {
                c.prompt_string = v.clone();
            }
            if let Some(v) = &t.example_delimiter {
                c.example_delimiter = v.clone();
            }
            if let Some(v) = &t.continuation_delimiter {
                c.continuation_delimiter = v.clone();
            }
            if let Some(v) = &t.question_prelimiter {
                c.question_prelimiter = v.clone();
            }
            if let Some(v) = &t.cot_delimiter {
                c.cot_delimiter = v.clone();
            }
            if let Some(v) = &t.early_stopping_criteria {
                c.early_stopping_criteria = v.clone();
            }
            c.has_categories = t.has_categories.unwrap_or(false);
            c.fewshot_random_seed = t.fewshot_random_seed.unwrap_or(1234);
            c.do_normalization = t.do_normalization.unwrap_or(true);
            c.max_seq_len = t.max_seq_len.or(file.max_seq_len);
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_delimiters() {
        let y =
            "max_seq_len: 2048\nicl_tasks:\n- label: arc\n  dataset_uri: local_data/a.jsonl\n  num_fewshot: [10]\n  \
                 icl_task_type: multiple_choice\n  continuation_delimiter: \"\\nAnswer: \"\n- label: g\n  \
                 dataset_uri: g.jsonl\n  num_fewshot: [0, 3]\n  icl_task_type: question_answering\n";
        let t = parse_task_yaml(y).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].continuation_delimiter, "\nAnswer: ");
        assert_eq!(t[0].example_delimiter, "\n");
        assert_eq!(t[0].num_fewshot, 10);
        assert_eq!(t[0].max_seq_len, Some(2048));
        assert_eq!(t[1].label, "g_0shot");
        assert_eq!(t[2].icl_task_type, IclTaskType::GenerationTaskWithAnswers);
        assert_eq!(t[2].continuation_delimiter, " ");
    }

    #[test]
    fn unknown_type_and_key_are_errors() {
        let y = "icl_tasks:\n- label: x\n  dataset_uri: a\n  num_fewshot: [0]\n  icl_task_type: code_evaluation\n";
        let e = parse_task_yaml(y).unwrap_err().to_string();
        assert!(e.contains("code_evaluation") && e.contains("allowed"), "{e}");
        let y = "icl_tasks:\n- label: x\n  dataset_uri: a\n  num_fewshot: [0]\n  icl_task_type: schema\n  bogus: 1\n";
        let e = parse_task_yaml(y).unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }
}
