//! Parquet through the filter stage against pyarrow: a file pyarrow writes (snappy, several row groups, extra
//! columns of several types, nulls) is filtered into Parquet and into JSONL with every column kept, and the
//! Parquet we write reads back in pyarrow equal to its input rows, types included.
//!
//! Needs a Python with pyarrow: set `DCLM_PYARROW_PYTHON` (`.ci/run` does); otherwise the test says so and skips.

use dclm_filter::{BuildContext, FilterRunConfig, Registry};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<PathBuf> {
    match std::env::var_os("DCLM_PYARROW_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("SKIP parquet/pyarrow test: set DCLM_PYARROW_PYTHON to a Python with pyarrow");
            None
        }
    }
}

fn py(python: &Path, script: &str, args: &[&Path]) -> String {
    let out = Command::new(python).arg("-c").arg(script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Rows with the columns of a DCLM page plus extra ones; row 1 has no stop words (dropped by the filter),
/// row 3 has nulls in the optional columns.
const WRITE: &str = r#"
import sys, json, pyarrow as pa, pyarrow.parquet as pq
rows = [
  {"text": "The cat and the dog sat on the mat.", "url": "http://a/0", "metadata": {"WARC-Type": "response", "Content-Length": "120"},
   "previous_word_count": 9, "fasttext_score": 0.875, "tags": ["x", "y"], "flag": True, "nested": {"a": {"b": [1, 2]}}},
  {"text": "no stop words", "url": "http://a/1", "metadata": {"WARC-Type": "response", "Content-Length": "13"},
   "previous_word_count": 3, "fasttext_score": 0.125, "tags": [], "flag": False, "nested": {"a": {"b": []}}},
  {"text": "It is what it is, and that is that.", "url": "http://a/2", "metadata": {"WARC-Type": "response", "Content-Length": "35"},
   "previous_word_count": 10, "fasttext_score": 1.0, "tags": ["z"], "flag": True, "nested": {"a": {"b": [3]}}},
  {"text": "The end of the story is in the book.", "url": "http://a/3", "metadata": None,
   "previous_word_count": None, "fasttext_score": None, "tags": None, "flag": None, "nested": None},
]
pq.write_table(pa.Table.from_pylist(rows), sys.argv[1], row_group_size=2)
print(json.dumps(pq.read_table(sys.argv[1]).to_pylist()))
"#;

/// Our Parquet, read by pyarrow: rows as JSON (ints stay ints) and the column types.
const READ: &str = r#"
import sys, json, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"rows": t.to_pylist(), "types": {f.name: str(f.type).replace("element", "item") for f in t.schema},
                  "row_groups": pq.ParquetFile(sys.argv[1]).metadata.num_row_groups,
                  "codec": pq.ParquetFile(sys.argv[1]).metadata.row_group(0).column(0).compression}))
"#;

const TYPES: &str = r#"
import sys, json, pyarrow.parquet as pq
print(json.dumps({f.name: str(f.type).replace("element", "item") for f in pq.read_table(sys.argv[1]).schema}))
"#;

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        v => v.clone(),
    }
}

fn filter(input: &Path, out: &Path, ext: &str) {
    let dir = input.parent().unwrap().parent().unwrap();
    let config = dir.join("c.yaml");
    std::fs::write(&config, "- source: cc\n  steps:\n    - func: stop_word_filter\n").unwrap();
    let mut cfg = FilterRunConfig::new(&config, vec![input.to_path_buf()], out);
    cfg.executor.progress = false;
    cfg.executor.threads = 2;
    cfg.executor.output_extension = Some(ext.to_string());
    let s = dclm_filter::run(&cfg, &Registry::dclm(), BuildContext::default()).unwrap();
    assert_eq!((s.stats.docs_in, s.stats.docs_out), (4, 3));
    assert!(s.stats.errors.is_empty(), "{:?}", s.stats.errors);
}

#[test]
fn pyarrow_parquet_round_trips_through_filter() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in/a.parquet");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    let rows: Vec<Value> = serde_json::from_str(&py(&python, WRITE, &[&input])).unwrap();
    let kept: Vec<Value> = [0, 2, 3].iter().map(|&i| rows[i].clone()).collect();

    // Into JSONL: every column is a key (null cells are absent keys).
    filter(&input, &dir.path().join("out_jsonl"), "jsonl");
    let text = std::fs::read_to_string(dir.path().join("out_jsonl/a.jsonl")).unwrap();
    let got: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let want: Vec<Value> = kept.iter().map(without_nulls).collect();
    assert_eq!(got, want);
    assert_eq!(got[0]["previous_word_count"], serde_json::json!(9));
    assert!(got[0]["fasttext_score"].is_f64());

    // Into Parquet: pyarrow reads our file back equal, with the input's types and no helper column.
    let out = dir.path().join("out_pq/a.parquet");
    filter(&input, &dir.path().join("out_pq"), "parquet");
    let back: Value = serde_json::from_str(&py(&python, READ, &[&out])).unwrap();
    assert_eq!(back["rows"], Value::Array(kept));
    let in_types: Value = serde_json::from_str(&py(&python, TYPES, &[&input])).unwrap();
    assert_eq!(back["types"], in_types);
    assert_eq!(back["codec"], "ZSTD");
    assert_eq!(back["row_groups"], 1);
}
