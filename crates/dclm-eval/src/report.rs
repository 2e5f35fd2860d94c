//! DCLM's evaluation results file (`exp_data/evals/*.json`, what `eval_openlm_ckpt.py` writes and
//! `aggregated_metrics.py` / the leaderboard tooling read): `name`, `uuid`, `model`, `creation_date`,
//! `eval_metrics.icl` (task → accuracy), then the aggregates of one baseline version (`missing tasks`,
//! `aggregated_task_categories_centered`, `aggregated_centered_results`, `aggregated_results`, every group of
//! `additional_aggregation.json` raw and `_centered`, `Core`, `Extended`, `eval_version`) and both versions'
//! headlines (`Core_v1`, `Extended_v1`, `Core_v2`, `Extended_v2`).
//!
//! [`DclmEvalResults`] holds the task accuracies and the run's identity; [`DclmEvalResults::to_json`] adds the
//! aggregates; [`reaggregate`] recomputes them in an existing file (ours or DCLM's), keeping its other keys.

use crate::aggregate::{aggregate, Aggregated, AggregationGroups, EvalMeta};
use crate::EvalError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which random baselines the unsuffixed aggregate keys use: `v1` (`eval_meta_data_v1.csv`, the paper's) or
/// `v2` (`eval_meta_data.csv`, DCLM's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EvalVersion {
    /// `eval_meta_data_v1.csv`.
    V1,
    /// `eval_meta_data.csv` (default).
    #[default]
    V2,
}

impl EvalVersion {
    /// `"v1"` / `"v2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalVersion::V1 => "v1",
            EvalVersion::V2 => "v2",
        }
    }
}

impl std::str::FromStr for EvalVersion {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Self, EvalError> {
        match s {
            "v1" | "1" => Ok(EvalVersion::V1),
            "v2" | "2" => Ok(EvalVersion::V2),
            other => Err(EvalError::config(
                "aggregation",
                format!("unknown version {other:?} (allowed: v1, v2)"),
            )),
        }
    }
}

/// The tables aggregation needs: both baseline csvs and the task groups.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregationTables {
    /// `eval_meta_data_v1.csv`.
    pub meta_v1: Option<EvalMeta>,
    /// `eval_meta_data.csv`.
    pub meta_v2: Option<EvalMeta>,
    /// `additional_aggregation.json` (CORE = `low_variance_datasets`).
    pub groups: AggregationGroups,
}

impl AggregationTables {
    /// Read `eval_meta_data.csv`, `eval_meta_data_v1.csv` and `additional_aggregation.json` from DCLM's
    /// `eval/` folder; each must exist.
    pub fn from_dclm_eval_dir(dir: &Path) -> Result<Self, EvalError> {
        Ok(AggregationTables {
            meta_v1: Some(EvalMeta::from_csv(dir.join("eval_meta_data_v1.csv"))?),
            meta_v2: Some(EvalMeta::from_csv(dir.join("eval_meta_data.csv"))?),
            groups: AggregationGroups::from_json(dir.join("additional_aggregation.json"))?,
        })
    }

    /// Both versions' aggregates of `icl` (task → accuracy).
    pub fn aggregate(&self, icl: &BTreeMap<String, f64>) -> (Option<Aggregated>, Option<Aggregated>) {
        (
            self.meta_v1.as_ref().map(|m| aggregate(icl, m, &self.groups, "v1")),
            self.meta_v2.as_ref().map(|m| aggregate(icl, m, &self.groups, "v2")),
        )
    }
}

/// Insert DCLM's aggregate keys into `top`: the unsuffixed ones from `version`'s aggregation, and
/// `Core_v1`/`Extended_v1`/`Core_v2`/`Extended_v2` from whichever aggregations are given. Keys already in
/// `top` are overwritten in place (their position kept).
pub fn insert_aggregates(
    top: &mut Map<String, Value>,
    v1: Option<&Aggregated>,
    v2: Option<&Aggregated>,
    version: EvalVersion,
) -> Result<(), EvalError> {
    let main = match version {
        EvalVersion::V1 => v1,
        EvalVersion::V2 => v2,
    }
    .ok_or_else(|| {
        EvalError::config(
            "aggregation",
            format!("no eval_meta_data csv for {} was given", version.as_str()),
        )
    })?;
    let names: Vec<String> = main.missing_tasks.iter().map(|s| format!("'{s}'")).collect();
    top.insert(
        "aggregated_task_categories_centered".into(),
        json!(main.aggregated_task_categories_centered),
    );
    top.insert(
        "aggregated_centered_results".into(),
        json!(main.aggregated_centered_results),
    );
    top.insert("aggregated_results".into(), json!(main.aggregated_results));
    for (k, (raw, _)) in &main.groups {
        top.insert(k.clone(), json!(raw));
    }
    top.insert("missing tasks".into(), json!(format!("[{}]", names.join(", "))));
    for (k, (_, cen)) in &main.groups {
        top.insert(format!("{k}_centered"), json!(cen));
    }
    top.insert("Core".into(), json!(main.core));
    top.insert("Extended".into(), json!(main.extended));
    for agg in [v1, v2].into_iter().flatten() {
        top.insert(format!("Core_{}", agg.version), json!(agg.core));
        top.insert(format!("Extended_{}", agg.version), json!(agg.extended));
    }
    top.insert("eval_version".into(), json!(version.as_str()));
    Ok(())
}

/// The task accuracies of `eval_metrics.icl` in a results JSON.
pub fn icl_results(value: &Value, path: &Path) -> Result<BTreeMap<String, f64>, EvalError> {
    let icl = value
        .pointer("/eval_metrics/icl")
        .and_then(Value::as_object)
        .ok_or_else(|| EvalError::config(path.display().to_string(), "no `eval_metrics.icl` object"))?;
    let mut out = BTreeMap::new();
    for (k, v) in icl {
        // DCLM writes NaN for a task whose score could not be computed; pandas then treats it as missing.
        match v {
            Value::Number(n) => {
                out.insert(k.clone(), n.as_f64().unwrap_or(f64::NAN));
            }
            Value::Null => {}
            other => {
                return Err(EvalError::config(
                    path.display().to_string(),
                    format!("eval_metrics.icl.{k} is not a number: {other}"),
                ))
            }
        }
    }
    Ok(out)
}

/// Recompute the aggregates of a results JSON (DCLM's or ours) from its `eval_metrics.icl` with `tables`,
/// unsuffixed keys for `version`. Every other key (`name`, `uuid`, `model_uuid`, `_filename`, `dclm_rs`…) is
/// kept. `path` names the file in errors.
pub fn reaggregate(
    value: &Value,
    tables: &AggregationTables,
    version: EvalVersion,
    path: &Path,
) -> Result<Value, EvalError> {
    let icl = icl_results(value, path)?;
    let mut top = value
        .as_object()
        .cloned()
        .ok_or_else(|| EvalError::config(path.display().to_string(), "results file is not a JSON object"))?;
    let (v1, v2) = tables.aggregate(&icl);
    insert_aggregates(&mut top, v1.as_ref(), v2.as_ref(), version)?;
    Ok(Value::Object(top))
}

/// [`reaggregate`] on a file, written back to `out` (may equal `input`).
pub fn reaggregate_file(
    input: &Path,
    out: &Path,
    tables: &AggregationTables,
    version: EvalVersion,
) -> Result<Value, EvalError> {
    let text = std::fs::read_to_string(input).map_err(|e| EvalError::io(input, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| EvalError::Json {
        path: input.to_path_buf(),
        source: e,
    })?;
    let v = reaggregate(&value, tables, version, input)?;
    write_json(&v, out)?;
    Ok(v)
}

pub(crate) fn write_json(value: &Value, path: &Path) -> Result<(), EvalError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
    }
    let text = serde_json::to_string_pretty(value).map_err(|e| EvalError::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    std::fs::write(&tmp, text + "\n").map_err(|e| EvalError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| EvalError::io(path, e))
}

/// DCLM's `creation_date` format (`%Y_%m_%d-%H_%M_%S`, UTC) of a Unix time.
pub fn creation_date(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}_{m:02}_{d:02}-{:02}_{:02}_{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The identity and task accuracies of one evaluation run, as DCLM records them.
#[derive(Clone, Debug, PartialEq)]
pub struct DclmEvalResults {
    /// `name`: the run or checkpoint name.
    pub name: String,
    /// `uuid`: a fresh v4 UUID per evaluation.
    pub uuid: String,
    /// `model`: the model (DCLM records the open_lm model name or the checkpoint path).
    pub model: String,
    /// `creation_date` (`%Y_%m_%d-%H_%M_%S`).
    pub creation_date: String,
    /// `eval_metrics.icl`, in run order.
    pub icl: Vec<(String, f64)>,
    /// Extra top-level keys, written after the aggregates (e.g. `dclm_rs` with per-task details and the
    /// tasks that could not run, each with its reason).
    pub extra: Map<String, Value>,
}

impl DclmEvalResults {
    /// A record stamped now with a fresh UUID.
    pub fn new(name: impl Into<String>, model: impl Into<String>, icl: Vec<(String, f64)>) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        DclmEvalResults {
            name: name.into(),
            uuid: uuid::Uuid::new_v4().to_string(),
            model: model.into(),
            creation_date: creation_date(now),
            icl,
            extra: Map::new(),
        }
    }

    /// The JSON file: identity, `eval_metrics.icl`, the aggregates (see [`insert_aggregates`]), then
    /// [`extra`](Self::extra).
    pub fn to_json(&self, tables: &AggregationTables, version: EvalVersion) -> Result<Value, EvalError> {
        let mut top = Map::new();
        top.insert("name".into(), json!(self.name));
        top.insert("uuid".into(), json!(self.uuid));
        top.insert("model".into(), json!(self.model));
        top.insert("creation_date".into(), json!(self.creation_date));
        let icl: Map<String, Value> = self.icl.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        top.insert("eval_metrics".into(), json!({ "icl": icl }));
        let map: BTreeMap<String, f64> = self.icl.iter().cloned().collect();
        let (v1, v2) = tables.aggregate(&map);
        insert_aggregates(&mut top, v1.as_ref(), v2.as_ref(), version)?;
        for (k, v) in &self.extra {
            top.insert(k.clone(), v.clone());
        }
        Ok(Value::Object(top))
    }

    /// [`to_json`](Self::to_json) written to `path` (atomically).
    pub fn write(&self, path: &Path, tables: &AggregationTables, version: EvalVersion) -> Result<Value, EvalError> {
        let v = self.to_json(tables, version)?;
        write_json(&v, path)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::MetaRow;

    fn tables() -> AggregationTables {
        let row = |t: &str, c: &str, b: f64| MetaRow {
            task: t.into(),
            category: c.into(),
            random_baseline: b,
        };
        AggregationTables {
            meta_v1: Some(EvalMeta {
                rows: vec![row("a", "x", 50.0), row("b", "y", 0.0)],
            }),
            meta_v2: Some(EvalMeta {
                rows: vec![row("a", "x", 25.0), row("b", "y", 0.0)],
            }),
            groups: AggregationGroups {
                groups: vec![("low_variance_datasets".into(), vec!["a".into()])],
            },
        }
    }

    #[test]
    fn dates_match_pythons_strftime() {
        assert_eq!(creation_date(0), "1970_01_01-00_00_00");
        // datetime.utcfromtimestamp(1705374048).strftime("%Y_%m_%d-%H_%M_%S")
        assert_eq!(creation_date(1_705_374_048), "2024_01_16-03_00_48");
        assert_eq!(creation_date(951_782_400), "2000_02_29-00_00_00");
    }

    #[test]
    fn json_has_dclm_keys_for_the_chosen_version() {
        let r = DclmEvalResults::new("run", "open_lm_1b", vec![("b".into(), 0.5), ("a".into(), 0.75)]);
        assert_eq!(r.uuid.len(), 36);
        let v = r.to_json(&tables(), EvalVersion::V2).unwrap();
        assert_eq!(v["eval_metrics"]["icl"]["a"], json!(0.75));
        // v2: a centered with baseline 25 % → (0.75 − 0.25)/0.75.
        let core_v2 = (0.75 - 0.25) / 0.75;
        assert_eq!(v["Core"], json!(core_v2));
        assert_eq!(v["Core_v2"], json!(core_v2));
        assert_eq!(v["low_variance_datasets_centered"], json!(core_v2));
        assert_eq!(v["Core_v1"], json!(0.5));
        assert_eq!(v["missing tasks"], json!("[]"));
        assert_eq!(v["eval_version"], json!("v2"));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys[..5], ["name", "uuid", "model", "creation_date", "eval_metrics"]);
        // Re-aggregating for v1 switches the unsuffixed keys and keeps everything else.
        let v1 = reaggregate(&v, &tables(), EvalVersion::V1, Path::new("r.json")).unwrap();
        assert_eq!(v1["Core"], json!(0.5));
        assert_eq!(v1["eval_version"], json!("v1"));
        assert_eq!(v1["uuid"], v["uuid"]);
        assert_eq!(v1["Core_v2"], json!(core_v2));
        // A missing CORE task makes Core a DCLM "N/A" string.
        let r = DclmEvalResults::new("run", "m", vec![("b".into(), 0.5)]);
        let v = r.to_json(&tables(), EvalVersion::V2).unwrap();
        assert_eq!(v["Core"], json!("N/A due to missing tasks: ['a']"));
        assert_eq!(v["missing tasks"], json!("['a']"));
        assert!("v3".parse::<EvalVersion>().is_err());
        let e = reaggregate(&json!({"name": 1}), &tables(), EvalVersion::V2, Path::new("/r/x.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/r/x.json") && e.contains("eval_metrics.icl"), "{e}");
    }
}
