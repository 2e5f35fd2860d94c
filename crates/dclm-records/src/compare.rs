//! Eval records side by side: CORE and EXTENDED recomputed from each record's per-task accuracies
//! (`eval_metrics.icl`) with DCLM's v1 and v2 random baselines, MMLU, selected tasks, and whether the values
//! stored in the record are reproduced.

use crate::{read_record, RecordsError, Result};
use dclm_eval::{aggregate, AggregationGroups, EvalMeta, MaybeScore};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// CORE and EXTENDED of one baseline version.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Mean centered accuracy over the 22 CORE tasks, or DCLM's N/A string.
    pub core: MaybeScore,
    /// Mean centered accuracy over every task of the metadata csv, or DCLM's N/A string.
    pub extended: MaybeScore,
}

/// One eval record, recomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRow {
    /// The record file.
    pub path: PathBuf,
    /// The file stem (DCLM's own `name` key holds the eval suite, e.g. `heavy`, which names no run).
    pub name: String,
    /// Its `model` (architecture), if any.
    pub model: String,
    /// With `eval_meta_data_v1.csv`.
    pub v1: Metrics,
    /// With `eval_meta_data.csv` (DCLM's default, what `Core`/`Extended` hold).
    pub v2: Metrics,
    /// Raw 5-shot MMLU accuracy (`mmlu_fewshot`), if evaluated.
    pub mmlu: Option<f64>,
    /// Per-task accuracies.
    pub tasks: BTreeMap<String, f64>,
    /// The values the record itself stores (`Core_v1`, `Core_v2`, `Extended_v1`, `Extended_v2`), if any.
    pub stored: BTreeMap<String, Value>,
}

fn same(recomputed: &MaybeScore, stored: &Value) -> bool {
    match (recomputed, stored) {
        // numpy's and pandas' sums may order additions differently from ours in the last bit.
        (MaybeScore::Value(a), Value::Number(b)) => b.as_f64().is_some_and(|b| (a - b).abs() <= 1e-12),
        (MaybeScore::Missing(a), Value::String(b)) => a == b,
        _ => false,
    }
}

impl EvalRow {
    /// Whether every value the record stores equals the recomputed one (None when it stores none).
    pub fn reproduces_stored(&self) -> Option<bool> {
        if self.stored.is_empty() {
            return None;
        }
        Some(self.stored.iter().all(|(k, v)| match k.as_str() {
            "Core_v1" => same(&self.v1.core, v),
            "Core_v2" => same(&self.v2.core, v),
            "Extended_v1" => same(&self.v1.extended, v),
            "Extended_v2" => same(&self.v2.extended, v),
            _ => true,
        }))
    }
}

/// Read eval records and recompute their aggregates. A record without `eval_metrics.icl` is an error naming it.
pub fn compare(
    paths: &[PathBuf],
    meta_v1: &EvalMeta,
    meta_v2: &EvalMeta,
    groups: &AggregationGroups,
) -> Result<Vec<EvalRow>> {
    paths.iter().map(|p| row(p, meta_v1, meta_v2, groups)).collect()
}

fn row(path: &Path, meta_v1: &EvalMeta, meta_v2: &EvalMeta, groups: &AggregationGroups) -> Result<EvalRow> {
    let rec = read_record(path)?;
    let icl = rec
        .pointer("/eval_metrics/icl")
        .and_then(Value::as_object)
        .ok_or_else(|| RecordsError::Invalid {
            path: path.to_path_buf(),
            message: "no eval_metrics.icl object: not an eval record".into(),
        })?;
    let mut tasks = BTreeMap::new();
    for (k, v) in icl {
        match v.as_f64() {
            Some(x) => {
                tasks.insert(k.clone(), x);
            }
            None if v.is_null() => {}
            None => {
                return Err(RecordsError::Invalid {
                    path: path.to_path_buf(),
                    message: format!("eval_metrics.icl.{k} is not a number: {v}"),
                })
            }
        }
    }
    let metrics = |meta: &EvalMeta, ver: &str| {
        let a = aggregate(&tasks, meta, groups, ver);
        Metrics {
            core: a.core,
            extended: a.extended,
        }
    };
    let stored = ["Core_v1", "Core_v2", "Extended_v1", "Extended_v2"]
        .iter()
        .filter_map(|k| rec.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(EvalRow {
        path: path.to_path_buf(),
        name: stem,
        model: rec.get("model").and_then(Value::as_str).unwrap_or_default().to_string(),
        v1: metrics(meta_v1, "v1"),
        v2: metrics(meta_v2, "v2"),
        mmlu: tasks.get("mmlu_fewshot").copied(),
        tasks,
        stored,
    })
}

fn cell(m: &MaybeScore) -> String {
    match m {
        MaybeScore::Value(v) => format!("{v:.4}"),
        MaybeScore::Missing(_) => "N/A".into(),
    }
}

/// A leaderboard: rows by CORE (v2) from best, N/A last; columns CORE, EXTENDED, MMLU, CORE v1, EXTENDED v1,
/// `stored` (`ok` when the record's own Core/Extended values are reproduced, `DIFF` when not, `-` when it has
/// none), then one column per task of `task_columns`. Names longer than 60 characters are shortened.
pub fn render_table(rows: &[EvalRow], task_columns: &[String]) -> String {
    let mut order: Vec<&EvalRow> = rows.iter().collect();
    order.sort_by(|a, b| {
        let (x, y) = (a.v2.core.value(), b.v2.core.value());
        y.partial_cmp(&x)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut header: Vec<String> = [
        "#",
        "name",
        "model",
        "CORE",
        "EXTENDED",
        "MMLU",
        "CORE_v1",
        "EXTENDED_v1",
        "stored",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(task_columns.iter().cloned());
    let mut table: Vec<Vec<String>> = vec![header];
    for (i, r) in order.iter().enumerate() {
        let name = if r.name.chars().count() > 60 {
            format!("{}…", r.name.chars().take(59).collect::<String>())
        } else {
            r.name.clone()
        };
        let mut line = vec![
            (i + 1).to_string(),
            name,
            r.model.clone(),
            cell(&r.v2.core),
            cell(&r.v2.extended),
            r.mmlu.map_or("-".into(), |v| format!("{v:.4}")),
            cell(&r.v1.core),
            cell(&r.v1.extended),
            match r.reproduces_stored() {
                None => "-".into(),
                Some(true) => "ok".into(),
                Some(false) => "DIFF".into(),
            },
        ];
        for t in task_columns {
            line.push(r.tasks.get(t).map_or("-".into(), |v| format!("{v:.4}")));
        }
        table.push(line);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| table.iter().map(|l| l[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (li, l) in table.iter().enumerate() {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let pad = widths[c] - s.chars().count();
                // Text columns left-aligned, numbers right-aligned.
                if c == 1 || c == 2 || li == 0 {
                    format!("{s}{}", " ".repeat(pad))
                } else {
                    format!("{}{s}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if li == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}
