//! dclm-records: DCLM's experiment records — the JSON files under `exp_data/` that DCLM's leaderboard and
//! `training/train.py` are keyed on, linked by UUID: untokenized datasets (`datasets/untokenized/`), tokenized
//! datasets (`datasets/tokenized/`), models (`models/`) and evals (`evals/`).
//!
//! [`UntokenizedRecord`], [`TokenizedRecord`] and [`ModelRecord`] carry exactly the keys DCLM's records carry,
//! with the same JSON types, plus one `dclm_rs` block saying which tool, stage, settings and config made the
//! data (DCLM's loaders read the keys they know and ignore others). [`eval_record`] completes the results file
//! of `dclm-eval` into DCLM's eval record. [`key_types`] and [`check_keys`] compare a record with published
//! ones; [`compare`] reads eval records (ours or DCLM's), recomputes CORE and EXTENDED with both baseline
//! versions from their per-task accuracies, and [`render_table`] prints them as a leaderboard.
//!
//! ```
//! let mut rec = dclm_records::UntokenizedRecord::new("my_filtered_pool", "/data/my_filtered_pool/");
//! rec.size = 1234;
//! let v = serde_json::to_value(&rec).unwrap();
//! assert_eq!(v["tokenized"], false);
//! assert!(v["tokenizer"].is_null());
//! ```
#![warn(missing_docs)]

mod compare;
mod error;

pub use compare::{compare, render_table, EvalRow, Metrics};
pub use error::{RecordsError, Result};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The kinds of record, each with its folder under `exp_data/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// `datasets/untokenized/`: a JSONL/Parquet dataset made by a processing stage.
    Untokenized,
    /// `datasets/tokenized/`: token shards made by tokenize+shuffle.
    Tokenized,
    /// `models/`: a trained model.
    Model,
    /// `evals/`: an evaluation of a model.
    Eval,
}

impl RecordKind {
    /// The folder of this kind under `exp_data/`.
    pub fn dir(self) -> &'static str {
        match self {
            RecordKind::Untokenized => "datasets/untokenized",
            RecordKind::Tokenized => "datasets/tokenized",
            RecordKind::Model => "models",
            RecordKind::Eval => "evals",
        }
    }
}

/// A fresh random (v4) UUID, as DCLM makes them.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The current UTC time as DCLM writes `creation_date` (`2024_02_12-08_45_03`).
pub fn creation_date_now() -> String {
    let now: chrono::DateTime<chrono::Utc> = std::time::SystemTime::now().into();
    now.format("%Y_%m_%d-%H_%M_%S").to_string()
}

/// A dataset a record was made from: DCLM's `sources` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    /// The source record's uuid.
    pub uuid: String,
    /// The source record's name.
    pub name: String,
}

/// Which tool, stage and settings made a dataset (the `dclm_rs` block; not a DCLM key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MadeBy {
    /// `dclm-rs <version>`.
    pub tool: String,
    /// The stage (`extract`, `filter`, `dedup`, `quality`, `tokshuf`, …).
    pub stage: String,
    /// The command line that ran it.
    pub command: Vec<String>,
    /// The stage's settings fingerprint (as in its `_done/` markers).
    pub settings: String,
    /// The config file (e.g. the filter YAML), if any.
    pub config: Option<String>,
    /// sha256 of the config file's bytes, if any.
    pub config_sha256: Option<String>,
    /// The input paths or URLs.
    pub inputs: Vec<String>,
}

impl MadeBy {
    /// This tool at this version, for `stage`.
    pub fn new(stage: &str) -> Self {
        MadeBy {
            tool: format!("dclm-rs {}", env!("CARGO_PKG_VERSION")),
            stage: stage.to_string(),
            ..Default::default()
        }
    }
}

/// DCLM's untokenized dataset record (`exp_data/datasets/untokenized/<name>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UntokenizedRecord {
    /// Random UUID (kept when a record for the same output is rewritten).
    pub uuid: String,
    /// Dataset name (the output folder's name).
    pub name: String,
    /// `YYYY_MM_DD-HH_MM_SS`, UTC.
    pub creation_date: String,
    /// Where the shards are (folder or `s3://` prefix, ending in `/`).
    pub dataset_url: String,
    /// A manifest of the shards, if there is one (DCLM: null for untokenized data).
    pub manifest_url: Option<String>,
    /// The datasets this one was made from.
    pub sources: Vec<SourceRef>,
    /// Always false here.
    pub tokenized: bool,
    /// Always null here.
    pub tokenizer: Option<String>,
    /// Always null here.
    pub num_tokens: Option<u64>,
    /// Bytes of the output shards.
    pub size: u64,
    /// The DCLM repository commit that made the data: null, since this tool is not DCLM's repository.
    pub dcnlp_commit_hash: Option<String>,
    /// The uncommitted diff of that repository: null, as above.
    pub dcnlp_diff: Option<String>,
    /// Shard file extension (`jsonl.gz`, `jsonl.zst`, `parquet`).
    pub data_key: String,
    /// What made it.
    pub dclm_rs: MadeBy,
}

impl UntokenizedRecord {
    /// A record named `name` for the shards at `dataset_url`, created now with a new UUID.
    pub fn new(name: &str, dataset_url: &str) -> Self {
        UntokenizedRecord {
            uuid: new_uuid(),
            name: name.to_string(),
            creation_date: creation_date_now(),
            dataset_url: dataset_url.to_string(),
            manifest_url: None,
            sources: Vec::new(),
            tokenized: false,
            tokenizer: None,
            num_tokens: None,
            size: 0,
            dcnlp_commit_hash: None,
            dcnlp_diff: None,
            data_key: "jsonl.gz".into(),
            dclm_rs: MadeBy::default(),
        }
    }
}

/// DCLM's tokenized dataset record (`exp_data/datasets/tokenized/<name>.json`): what `training/train.py` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizedRecord {
    /// Random UUID.
    pub uuid: String,
    /// Dataset name.
    pub name: String,
    /// `YYYY_MM_DD-HH_MM_SS`, UTC.
    pub creation_date: String,
    /// Folder of the token shards (ending in `/`).
    pub dataset_url: String,
    /// The shards' `manifest.jsonl`.
    pub manifest_url: String,
    /// The untokenized datasets tokenized.
    pub sources: Vec<SourceRef>,
    /// Always true.
    pub tokenized: bool,
    /// Tokenizer name (`EleutherAI/gpt-neox-20b`) or file.
    pub tokenizer: String,
    /// Tokens in the shards (sequences × sequence length).
    pub num_tokens: u64,
    /// Bytes of the shards.
    pub size: u64,
    /// DCLM repository commit: empty, since this tool is not DCLM's repository (DCLM writes a string here).
    pub dcnlp_commit_hash: String,
    /// DCLM repository diff: empty.
    pub dcnlp_diff: String,
    /// Entry extension inside the webdataset tars (`json.gz`).
    pub data_key: String,
    /// The mixing YAML, if the data was sampled from several sources.
    pub sampling_yaml: Option<Value>,
    /// What made it.
    pub dclm_rs: MadeBy,
}

impl TokenizedRecord {
    /// A record for token shards at `dataset_url` (manifest `manifest.jsonl` inside), created now.
    pub fn new(name: &str, dataset_url: &str, tokenizer: &str) -> Self {
        let base = if dataset_url.ends_with('/') {
            dataset_url.to_string()
        } else {
            format!("{dataset_url}/")
        };
        TokenizedRecord {
            uuid: new_uuid(),
            name: name.to_string(),
            creation_date: creation_date_now(),
            manifest_url: format!("{base}manifest.jsonl"),
            dataset_url: base,
            sources: Vec::new(),
            tokenized: true,
            tokenizer: tokenizer.to_string(),
            num_tokens: 0,
            size: 0,
            dcnlp_commit_hash: String::new(),
            dcnlp_diff: String::new(),
            data_key: "json.gz".into(),
            sampling_yaml: None,
            dclm_rs: MadeBy::default(),
        }
    }
}

/// DCLM's model record (`exp_data/models/<name>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// `<dataset>-<model>-warm=…-lr=…-…` in DCLM; any unique name here.
    pub name: String,
    /// The tokenized dataset trained on.
    pub dataset_name: String,
    /// Its UUID.
    pub dataset_uuid: String,
    /// DCLM's hyperparameter block (`model`, `tokens`, `warmup`, `lr`, `wd`, `cd`, `global_bs`, `acc`,
    /// `qk_norm`, `z_loss`, `grad_checkpointing`, `params`, `params_no_embed`, `fsdp_flags`,
    /// `chinchilla_multiplier`, `seed`).
    pub hyperparameters: Map<String, Value>,
    /// The final checkpoint.
    pub checkpoint_url: String,
    /// open_lm version the architecture follows.
    pub open_lm_version: String,
    /// The trainer's command line.
    pub open_lm_args: Vec<String>,
    /// Per-checkpoint eval results (DCLM: usually empty).
    pub results: Vec<Value>,
    /// The run's parameter file.
    pub params_url: String,
    /// Random UUID.
    pub uuid: String,
    /// `YYYY_MM_DD-HH_MM_SS`, UTC.
    pub creation_date: String,
    /// Whether training failed.
    pub failed: bool,
    /// The error, if it failed (else empty).
    pub error: String,
    /// What made it.
    pub dclm_rs: MadeBy,
}

/// DCLM's eval record from the results JSON of `dclm-eval` (`EvalReport::to_dclm_json`): adds `uuid`,
/// `model` (the model's architecture name, e.g. `open_lm_1b`), `model_uuid`, `creation_date` and sets `name`.
pub fn eval_record(results: &Value, name: &str, model: &str, model_uuid: &str) -> Value {
    let mut top = match results {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    top.insert("name".into(), Value::from(name));
    top.insert("uuid".into(), Value::from(new_uuid()));
    top.insert("model".into(), Value::from(model));
    top.insert("model_uuid".into(), Value::from(model_uuid));
    top.insert("creation_date".into(), Value::from(creation_date_now()));
    Value::Object(top)
}

/// The path of a record: `<exp_data>/<kind dir>/<name>.json`.
pub fn record_path(exp_data: &Path, kind: RecordKind, name: &str) -> PathBuf {
    exp_data.join(kind.dir()).join(format!("{name}.json"))
}

/// Write a record as DCLM does (4-space indented JSON), atomically; returns its path.
pub fn write_record(exp_data: &Path, kind: RecordKind, name: &str, record: &impl Serialize) -> Result<PathBuf> {
    let path = record_path(exp_data, kind, name);
    let dir = path.parent().expect("a record path has a folder");
    std::fs::create_dir_all(dir).map_err(|e| RecordsError::io(dir, e))?;
    let mut bytes = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut bytes, fmt);
    record.serialize(&mut ser).map_err(|e| RecordsError::json(&path, e))?;
    bytes.push(b'\n');
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, &bytes).map_err(|e| RecordsError::io(&path, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| RecordsError::io(&path, e))?;
    Ok(path)
}

/// Read one record file as JSON (an object).
pub fn read_record(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| RecordsError::io(path, e))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| RecordsError::json(path, e))?;
    if !v.is_object() {
        return Err(RecordsError::Invalid {
            path: path.to_path_buf(),
            message: "a record is a JSON object".into(),
        });
    }
    Ok(v)
}

/// Every `*.json` record of a folder, sorted by file name.
pub fn read_records(dir: &Path) -> Result<Vec<(PathBuf, Value)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| RecordsError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths.into_iter().map(|p| read_record(&p).map(|v| (p, v))).collect()
}

/// The record of `kind` in `exp_data` whose `dataset_url` is `url` (trailing `/` ignored): its `sources` entry.
pub fn find_by_url(exp_data: &Path, kind: RecordKind, url: &str) -> Option<SourceRef> {
    let norm = |s: &str| s.trim_end_matches('/').to_string();
    let dir = exp_data.join(kind.dir());
    let records = read_records(&dir).ok()?;
    records.into_iter().find_map(|(_, v)| {
        (v.get("dataset_url").and_then(Value::as_str).map(norm) == Some(norm(url))).then(|| SourceRef {
            uuid: v["uuid"].as_str().unwrap_or_default().to_string(),
            name: v["name"].as_str().unwrap_or_default().to_string(),
        })
    })
}

/// The JSON type name of a value: `null`, `bool`, `int`, `float`, `str`, `list`, `dict` (Python's names).
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The key → types table of a set of records, and in how many records each key appears.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyTypes {
    /// Records seen.
    pub records: usize,
    /// Key → (records having it, the types it had).
    pub keys: BTreeMap<String, (usize, BTreeSet<&'static str>)>,
}

/// The keys and value types of `records` (top level).
pub fn key_types<'a>(records: impl IntoIterator<Item = &'a Value>) -> KeyTypes {
    let mut kt = KeyTypes::default();
    for r in records {
        kt.records += 1;
        if let Value::Object(m) = r {
            for (k, v) in m {
                let e = kt.keys.entry(k.clone()).or_default();
                e.0 += 1;
                e.1.insert(json_type(v));
            }
        }
    }
    kt
}

/// Problems of `ours` against published records' [`KeyTypes`]: a key every published record has that `ours`
/// lacks, or a value of a type no published record used for that key (an `int` where published ones have
/// `float` is accepted: Python's JSON writes whole floats such as `1.0` either way). Empty when it matches.
pub fn check_keys(ours: &Value, published: &KeyTypes) -> Vec<String> {
    let mut problems = Vec::new();
    let Value::Object(m) = ours else {
        return vec!["not a JSON object".into()];
    };
    for (k, (n, types)) in &published.keys {
        match m.get(k) {
            None if *n == published.records => problems.push(format!("missing key {k:?}")),
            None => {}
            Some(v) => {
                let t = json_type(v);
                let accepted = types.contains(t) || (t == "int" && types.contains("float"));
                if !accepted {
                    problems.push(format!("key {k:?} is {t}, published records have {types:?}"));
                }
            }
        }
    }
    problems
}
