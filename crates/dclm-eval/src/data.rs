//! Reading LLM-Foundry task files (`*.jsonl`): JSON per line, top-level strings stripped, per-type fields
//! checked with file:line errors, optional split by `category`.

use crate::{EvalError, IclTaskType};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One test example, fields already `str.strip()`ped where LLM-Foundry strips them.
#[derive(Clone, Debug, PartialEq)]
pub enum Example {
    /// `multiple_choice`.
    MultipleChoice {
        /// `query`.
        query: String,
        /// `choices` (not stripped: list fields are left alone upstream).
        choices: Vec<String>,
        /// `gold`.
        gold: usize,
    },
    /// `schema`.
    Schema {
        /// `context_options` (not stripped).
        context_options: Vec<String>,
        /// `continuation`.
        continuation: String,
        /// `gold`.
        gold: usize,
    },
    /// `language_modeling`.
    LanguageModeling {
        /// `context`.
        context: String,
        /// `continuation`.
        continuation: String,
    },
    /// `generation_task_with_answers`.
    Generation {
        /// `context`.
        context: String,
        /// `answer`.
        answer: String,
        /// `{answer} ∪ aliases`, sorted, unstripped (as upstream builds the set before stripping).
        aliases: Vec<String>,
        /// `chain_of_thought` (`""` if absent).
        chain_of_thought: String,
        /// Unstripped `(chain_of_thought, [answer, aliases…])`, for the max-answer-length computation that
        /// upstream runs before stripping.
        unstripped: (String, Vec<String>),
    },
}

/// The examples of one task file (or of one category of it).
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The task file.
    pub path: PathBuf,
    /// `Some(category)` when split by category.
    pub category: Option<String>,
    /// Examples in file order.
    pub examples: Vec<Example>,
    /// 1-based line of each example in `path`.
    pub lines: Vec<usize>,
    /// Whether any record has `chain_of_thought` (generation tasks).
    pub has_cot: bool,
}

fn bad(path: &Path, line: usize, message: impl Into<String>) -> EvalError {
    EvalError::BadRecord {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn get_str(obj: &Map<String, Value>, key: &str, path: &Path, line: usize) -> Result<String, EvalError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(bad(
            path,
            line,
            format!("field {key:?} must be a string, got {}", type_name(other)),
        )),
        None => Err(bad(path, line, format!("missing field {key:?}"))),
    }
}

fn get_str_list(obj: &Map<String, Value>, key: &str, path: &Path, line: usize) -> Result<Vec<String>, EvalError> {
    match obj.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(bad(
                    path,
                    line,
                    format!("field {key:?} must hold strings, got {}", type_name(other)),
                )),
            })
            .collect(),
        Some(other) => Err(bad(
            path,
            line,
            format!("field {key:?} must be a list, got {}", type_name(other)),
        )),
        None => Err(bad(path, line, format!("missing field {key:?}"))),
    }
}

fn get_gold(obj: &Map<String, Value>, n: usize, path: &Path, line: usize) -> Result<usize, EvalError> {
    match obj.get("gold") {
        Some(Value::Number(x)) => match x.as_u64() {
            Some(g) if (g as usize) < n => Ok(g as usize),
            _ => Err(bad(path, line, format!("gold {x} is not an index into {n} options"))),
        },
        Some(other) => Err(bad(
            path,
            line,
            format!("field \"gold\" must be an integer, got {}", type_name(other)),
        )),
        None => Err(bad(path, line, "missing field \"gold\"")),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Parse one record (already JSON) into an [`Example`] of `kind`, stripping top-level strings.
pub fn parse_example(
    raw: &Map<String, Value>,
    kind: IclTaskType,
    path: &Path,
    line: usize,
) -> Result<Example, EvalError> {
    let stripped: Map<String, Value> = raw
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k.clone(), Value::String(dclm_core::pystr::strip(s).to_string())),
            other => (k.clone(), other.clone()),
        })
        .collect();
    let o = &stripped;
    Ok(match kind {
        IclTaskType::MultipleChoice => {
            let query = get_str(o, "query", path, line)?;
            let choices = get_str_list(o, "choices", path, line)?;
            if choices.is_empty() {
                return Err(bad(path, line, "field \"choices\" is empty"));
            }
            let gold = get_gold(o, choices.len(), path, line)?;
            Example::MultipleChoice { query, choices, gold }
        }
        IclTaskType::Schema => {
            let context_options = get_str_list(o, "context_options", path, line)?;
            if context_options.is_empty() {
                return Err(bad(path, line, "field \"context_options\" is empty"));
            }
            let continuation = get_str(o, "continuation", path, line)?;
            let gold = get_gold(o, context_options.len(), path, line)?;
            Example::Schema {
                context_options,
                continuation,
                gold,
            }
        }
        IclTaskType::LanguageModeling => Example::LanguageModeling {
            context: get_str(o, "context", path, line)?,
            continuation: get_str(o, "continuation", path, line)?,
        },
        IclTaskType::GenerationTaskWithAnswers => {
            let context = get_str(o, "context", path, line)?;
            let answer = get_str(o, "answer", path, line)?;
            let raw_answer = get_str(raw, "answer", path, line)?;
            let raw_aliases = if raw.contains_key("aliases") {
                get_str_list(raw, "aliases", path, line)?
            } else {
                vec![]
            };
            let chain_of_thought = if o.contains_key("chain_of_thought") {
                get_str(o, "chain_of_thought", path, line)?
            } else {
                String::new()
            };
            let raw_cot = if raw.contains_key("chain_of_thought") {
                get_str(raw, "chain_of_thought", path, line)?
            } else {
                String::new()
            };
            let mut aliases: Vec<String> = std::iter::once(raw_answer.clone())
                .chain(raw_aliases.iter().cloned())
                .collect();
            aliases.sort();
            aliases.dedup();
            let mut all = vec![raw_answer];
            all.extend(raw_aliases);
            Example::Generation {
                context,
                answer,
                aliases,
                chain_of_thought,
                unstripped: (raw_cot, all),
            }
        }
    })
}

/// Load a task file. Empty lines are skipped; the first malformed line is an error naming file and line.
/// With `has_categories`, the file is split by its `category` field into datasets in sorted category order.
pub fn load_datasets(path: &Path, kind: IclTaskType, has_categories: bool) -> Result<Vec<Dataset>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    let mut records: Vec<(usize, Option<String>, Example, bool)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| bad(path, lineno, format!("invalid JSON: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(bad(
                path,
                lineno,
                format!("expected a JSON object, got {}", type_name(&value)),
            ));
        };
        let category = if has_categories {
            match obj.get("category") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
                None => {
                    return Err(bad(
                        path,
                        lineno,
                        "has_categories is set but the record has no \"category\"",
                    ))
                }
            }
        } else {
            None
        };
        let has_cot = obj.contains_key("chain_of_thought");
        let ex = parse_example(&obj, kind, path, lineno)?;
        records.push((lineno, category, ex, has_cot));
    }
    if records.is_empty() {
        return Err(bad(path, 0, "no examples in file"));
    }
    let mut cats: Vec<Option<String>> = records.iter().map(|r| r.1.clone()).collect();
    cats.sort();
    cats.dedup();
    Ok(cats
        .into_iter()
        .map(|cat| {
            let mut ds = Dataset {
                path: path.to_path_buf(),
                category: cat.clone(),
                examples: vec![],
                lines: vec![],
                has_cot: false,
            };
            for (lineno, c, ex, has_cot) in &records {
                if *c == cat {
                    ds.examples.push(ex.clone());
                    ds.lines.push(*lineno);
                    ds.has_cot |= *has_cot;
                }
            }
            ds
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn strips_and_reports_file_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        let mut f = std::fs::File::create(&p).unwrap();
        writeln!(
            f,
            "{{\"query\": \"  Q? \", \"choices\": [\" a \", \"b\"], \"gold\": 1}}"
        )
        .unwrap();
        writeln!(f).unwrap();
        writeln!(f, "{{\"query\": \"Q2\", \"choices\": [\"a\"], \"gold\": 3}}").unwrap();
        drop(f);
        let e = load_datasets(&p, IclTaskType::MultipleChoice, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.jsonl:3") && e.contains("gold"), "{e}");
        std::fs::write(
            &p,
            "{\"query\": \"  Q? \", \"choices\": [\" a \", \"b\"], \"gold\": 1}\n{broken\n",
        )
        .unwrap();
        let e = load_datasets(&p, IclTaskType::MultipleChoice, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.jsonl:2") && e.contains("invalid JSON"), "{e}");
        std::fs::write(
            &p,
            "{\"query\": \"  Q? \", \"choices\": [\" a \", \"b\"], \"gold\": 1}\n",
        )
        .unwrap();
        let ds = load_datasets(&p, IclTaskType::MultipleChoice, false).unwrap();
        assert_eq!(
            ds[0].examples[0],
            Example::MultipleChoice {
                query: "Q?".into(),
                choices: vec![" a ".into(), "b".into()],
                gold: 1
            }
        );
        let e = load_datasets(&p, IclTaskType::LanguageModeling, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.jsonl:1") && e.contains("missing field \"context\""),
            "{e}"
        );
    }

    #[test]
    fn splits_categories_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.jsonl");
        std::fs::write(
            &p,
            "{\"context\":\"a\",\"continuation\":\"b\",\"category\":\"z\"}\n{\"context\":\"c\",\"continuation\":\"d\",\"category\":\"m\"}\n",
        )
        .unwrap();
        let ds = load_datasets(&p, IclTaskType::LanguageModeling, true).unwrap();
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].category.as_deref(), Some("m"));
        assert_eq!(ds[0].lines, vec![2]);
    }

    #[test]
    fn python_whitespace() {
        assert_eq!(dclm_core::pystr::strip("\u{1f} x \u{a0}\n"), "x");
        assert_eq!(dclm_core::pystr::rstrip("\nAnswer: "), "\nAnswer:");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsing_any_line_never_panics(line in ".{0,200}", kind in 0usize..4) {
            let kind = [IclTaskType::MultipleChoice, IclTaskType::Schema, IclTaskType::LanguageModeling,
                IclTaskType::GenerationTaskWithAnswers][kind];
            if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(&line) {
                let _ = parse_example(&obj, kind, Path::new("x.jsonl"), 1);
            }
        }

        #[test]
        fn records_with_wrong_types_never_panic(q in ".{0,20}", gold in -3i64..10, n in 0usize..4) {
            let choices: Vec<Value> = (0..n).map(|i| Value::String(format!("{q}{i}"))).collect();
            let mut obj = Map::new();
            obj.insert("query".into(), Value::String(q.clone()));
            obj.insert("choices".into(), Value::Array(choices));
            obj.insert("gold".into(), Value::from(gold));
            let r = parse_example(&obj, IclTaskType::MultipleChoice, Path::new("x.jsonl"), 7);
            prop_assert_eq!(r.is_ok(), gold >= 0 && (gold as usize) < n);
        }
    }
}
