//! DCLM's aggregation (`eval/aggregated_metrics.py::get_aggregated_results`): centered accuracy against the
//! random baselines of `eval_meta_data.csv` (v2) / `eval_meta_data_v1.csv` (v1), per-category means, CORE
//! (22 `low_variance_datasets`), EXTENDED (all csv rows), and the other groups of `additional_aggregation.json`,
//! with pandas' missing-value and summation semantics.

use crate::EvalError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One row of `eval_meta_data*.csv`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetaRow {
    /// `Eval Task`.
    pub task: String,
    /// `Task Category`.
    pub category: String,
    /// `Random baseline` in percent.
    pub random_baseline: f64,
}

/// A parsed `eval_meta_data*.csv` in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalMeta {
    /// Rows in file order (pandas keeps it).
    pub rows: Vec<MetaRow>,
}

impl EvalMeta {
    /// Read a DCLM eval metadata CSV (columns `Eval Task`, `Task Category`, `Random baseline`, …).
    pub fn from_csv(path: impl AsRef<Path>) -> Result<Self, EvalError> {
        let path = path.as_ref();
        let err = |line: u64, message: String| EvalError::Csv {
            path: path.to_path_buf(),
            line,
            message,
        };
        let mut rdr = csv::Reader::from_path(path).map_err(|e| err(0, e.to_string()))?;
        let headers = rdr.headers().map_err(|e| err(1, e.to_string()))?.clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| err(1, format!("missing column {name:?}")))
        };
        let (ti, ci, bi) = (col("Eval Task")?, col("Task Category")?, col("Random baseline")?);
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
            let line = rec.position().map_or(0, |p| p.line());
            let field = |i: usize| rec.get(i).map(str::trim).unwrap_or("");
            let baseline: f64 = field(bi)
                .parse()
                .map_err(|_| err(line, format!("Random baseline {:?} is not a number", field(bi))))?;
            rows.push(MetaRow {
                task: field(ti).to_string(),
                category: field(ci).to_string(),
                random_baseline: baseline,
            });
        }
        Ok(EvalMeta { rows })
    }

    /// The row of `task`.
    pub fn get(&self, task: &str) -> Option<&MetaRow> {
        self.rows.iter().find(|r| r.task == task)
    }
}

/// `additional_aggregation.json`: named task groups (`rw_small`, `95%_CI_above`, `99%_CI_above`,
/// `low_variance_datasets` = CORE), in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregationGroups {
    /// `(group name, task names)`.
    pub groups: Vec<(String, Vec<String>)>,
}

impl AggregationGroups {
    /// Read `additional_aggregation.json`.
    pub fn from_json(path: impl AsRef<Path>) -> Result<Self, EvalError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
        let value: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| EvalError::Json {
                path: path.to_path_buf(),
                source: e,
            })?;
        let mut groups = Vec::new();
        for (k, v) in value {
            let tasks: Vec<String> = serde_json::from_value(v).map_err(|e| EvalError::Json {
                path: PathBuf::from(path),
                source: e,
            })?;
            groups.push((k, tasks));
        }
        Ok(AggregationGroups { groups })
    }

    /// The CORE task list (`low_variance_datasets`).
    pub fn core(&self) -> Option<&[String]> {
        self.groups
            .iter()
            .find(|(k, _)| k == "low_variance_datasets")
            .map(|(_, v)| v.as_slice())
    }
}

/// `(acc − b/100) / (1 − b/100)`, b in percent.
pub fn centered(acc: f64, baseline_pct: f64) -> f64 {
    (acc - 0.01 * baseline_pct) / (1.0 - 0.01 * baseline_pct)
}

/// numpy's pairwise summation (`add.reduce` on a contiguous float64 array: 8 accumulators per block of
/// ≤ 128 elements, halves above that). Checked bit for bit against numpy 1.26 for n = 1…39.
pub fn numpy_sum(xs: &[f64]) -> f64 {
    fn pairwise(a: &[f64]) -> f64 {
        let n = a.len();
        if n < 8 {
            let mut res = 0.0;
            for &x in a {
                res += x;
            }
            res
        } else if n <= 128 {
            let mut r = [0.0f64; 8];
            r.copy_from_slice(&a[..8]);
            let mut i = 8;
            while i < n - (n % 8) {
                for j in 0..8 {
                    r[j] += a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            while i < n {
                res += a[i];
                i += 1;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            pairwise(&a[..n2]) + pairwise(&a[n2..])
        }
    }
    pairwise(xs)
}

/// pandas `Series.mean()` (skipna): NaN/missing counted as 0 in the numpy sum, divided by the non-missing
/// count; `None` when nothing is present.
pub fn pandas_mean(xs: &[Option<f64>]) -> Option<f64> {
    let count = xs.iter().filter(|x| x.is_some_and(|v| !v.is_nan())).count();
    if count == 0 {
        return None;
    }
    let filled: Vec<f64> = xs.iter().map(|x| x.filter(|v| !v.is_nan()).unwrap_or(0.0)).collect();
    Some(numpy_sum(&filled) / count as f64)
}

/// pandas `groupby(...).mean()` (Cython `group_mean`, Kahan-compensated), skipping missing values.
pub fn pandas_group_mean(xs: &[Option<f64>]) -> Option<f64> {
    let (mut sum, mut comp, mut n) = (0.0f64, 0.0f64, 0usize);
    for v in xs.iter().flatten().filter(|v| !v.is_nan()) {
        let y = v - comp;
        let t = sum + y;
        comp = t - sum - y;
        sum = t;
        n += 1;
    }
    (n > 0).then(|| sum / n as f64)
}

/// A number, or DCLM's `"N/A due to missing tasks: [...]"` string.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MaybeScore {
    /// The aggregate.
    Value(f64),
    /// Why it is missing.
    Missing(String),
}

impl MaybeScore {
    /// The value, if complete.
    pub fn value(&self) -> Option<f64> {
        match self {
            MaybeScore::Value(v) => Some(*v),
            MaybeScore::Missing(_) => None,
        }
    }
}

/// Per-task line of the aggregation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskAggregate {
    /// Task.
    pub task: String,
    /// Category.
    pub category: String,
    /// Raw accuracy (None = missing).
    pub accuracy: Option<f64>,
    /// Baseline (percent).
    pub random_baseline: f64,
    /// Centered accuracy.
    pub centered: Option<f64>,
}

/// The aggregates of one baseline version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregated {
    /// `v1` or `v2`.
    pub version: String,
    /// CORE: mean centered accuracy of the 22 tasks, or N/A with the missing ones.
    pub core: MaybeScore,
    /// EXTENDED: mean centered accuracy of all csv tasks, or N/A.
    pub extended: MaybeScore,
    /// csv tasks without a result (DCLM's `"missing tasks"`).
    pub missing_tasks: Vec<String>,
    /// Category → mean centered accuracy (present tasks only).
    pub aggregated_task_categories_centered: BTreeMap<String, f64>,
    /// Mean centered accuracy over present csv tasks.
    pub aggregated_centered_results: Option<f64>,
    /// Mean raw accuracy over present csv tasks.
    pub aggregated_results: Option<f64>,
    /// For each group of `additional_aggregation.json`: `(raw mean, centered mean)` over present tasks.
    pub groups: BTreeMap<String, (Option<f64>, Option<f64>)>,
    /// Per csv row.
    pub per_task: Vec<TaskAggregate>,
}

/// `get_aggregated_results` for one metadata table. `results` maps task label → accuracy.
pub fn aggregate(
    results: &BTreeMap<String, f64>,
    meta: &EvalMeta,
    groups: &AggregationGroups,
    version: &str,
) -> Aggregated {
    let per_task: Vec<TaskAggregate> = meta
        .rows
        .iter()
        .map(|r| {
            let accuracy = results.get(&r.task).copied();
            TaskAggregate {
                task: r.task.clone(),
                category: r.category.clone(),
                accuracy,
                random_baseline: r.random_baseline,
                centered: accuracy.map(|a| centered(a, r.random_baseline)),
            }
        })
        .collect();
    let missing_tasks: Vec<String> = meta
        .rows
        .iter()
        .filter(|r| !results.contains_key(&r.task))
        .map(|r| r.task.clone())
        .collect();
    let mut cats: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for t in &per_task {
        cats.entry(t.category.clone()).or_default().push(t.centered);
    }
    let aggregated_task_categories_centered = cats
        .into_iter()
        .filter_map(|(k, v)| pandas_group_mean(&v).map(|m| (k, m)))
        .collect();
    let centered_all: Vec<Option<f64>> = per_task.iter().map(|t| t.centered).collect();
    let raw_all: Vec<Option<f64>> = per_task.iter().map(|t| t.accuracy).collect();
    let mut group_means = BTreeMap::new();
    for (name, tasks) in &groups.groups {
        let sel: Vec<&TaskAggregate> = per_task.iter().filter(|t| tasks.contains(&t.task)).collect();
        let raw: Vec<Option<f64>> = sel.iter().map(|t| t.accuracy).collect();
        let cen: Vec<Option<f64>> = sel.iter().map(|t| t.centered).collect();
        group_means.insert(name.clone(), (pandas_mean(&raw), pandas_mean(&cen)));
    }
    let core = match groups.core() {
        None => MaybeScore::Missing("no low_variance_datasets group".into()),
        Some(core_tasks) => {
            let missing: Vec<&String> = core_tasks.iter().filter(|t| !results.contains_key(*t)).collect();
            if missing.is_empty() {
                match group_means.get("low_variance_datasets").and_then(|g| g.1) {
                    Some(v) => MaybeScore::Value(v),
                    None => MaybeScore::Missing("CORE tasks absent from the metadata csv".into()),
                }
            } else {
                MaybeScore::Missing(format!("N/A due to missing tasks: {}", py_list(&missing)))
            }
        }
    };
    let aggregated_centered_results = pandas_mean(&centered_all);
    let extended = if missing_tasks.is_empty() {
        aggregated_centered_results.map_or(MaybeScore::Missing("no tasks".into()), MaybeScore::Value)
    } else {
        MaybeScore::Missing(format!(
            "N/A due to missing tasks: {}",
            py_list(&missing_tasks.iter().collect::<Vec<_>>())
        ))
    };
    Aggregated {
        version: version.to_string(),
        core,
        extended,
        missing_tasks,
        aggregated_task_categories_centered,
        aggregated_centered_results,
        aggregated_results: pandas_mean(&raw_all),
        groups: group_means,
        per_task,
    }
}

fn py_list(items: &[&String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> EvalMeta {
        EvalMeta {
            rows: vec![
                MetaRow {
                    task: "a".into(),
                    category: "x".into(),
                    random_baseline: 50.0,
                },
                MetaRow {
                    task: "b".into(),
                    category: "x".into(),
                    random_baseline: 0.0,
                },
                MetaRow {
                    task: "c".into(),
                    category: "y".into(),
                    random_baseline: 25.0,
                },
            ],
        }
    }

    #[test]
    fn centered_and_core_with_missing_task() {
        assert!((centered(0.88, 50.0) - 0.76).abs() < 1e-12);
        let groups = AggregationGroups {
            groups: vec![("low_variance_datasets".into(), vec!["a".into(), "c".into()])],
        };
        let mut res = BTreeMap::new();
        res.insert("a".to_string(), 0.75);
        res.insert("b".to_string(), 0.5);
        let agg = aggregate(&res, &meta(), &groups, "v2");
        assert_eq!(agg.core, MaybeScore::Missing("N/A due to missing tasks: ['c']".into()));
        assert!(agg.extended.value().is_none());
        assert_eq!(agg.missing_tasks, vec!["c".to_string()]);
        // category x: mean(0.5, 0.5); y absent entirely.
        assert_eq!(agg.aggregated_task_categories_centered.get("x"), Some(&0.5));
        assert!(!agg.aggregated_task_categories_centered.contains_key("y"));
        // groups skip missing values (pandas).
        assert_eq!(agg.groups["low_variance_datasets"], (Some(0.75), Some(0.5)));
        res.insert("c".to_string(), 0.625);
        let agg = aggregate(&res, &meta(), &groups, "v2");
        assert_eq!(agg.core, MaybeScore::Value((0.5 + 0.5) / 2.0));
        assert_eq!(agg.extended, MaybeScore::Value((0.5 + 0.5 + 0.5) / 3.0));
    }

    #[test]
    fn numpy_sum_blocks() {
        let xs: Vec<f64> = (0..300).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let naive: f64 = xs.iter().sum();
        assert!((numpy_sum(&xs) - naive).abs() < 1e-12);
        assert_eq!(numpy_sum(&[]), 0.0);
        assert_eq!(pandas_mean(&[None, Some(1.0), Some(f64::NAN), Some(3.0)]), Some(2.0));
    }
}
