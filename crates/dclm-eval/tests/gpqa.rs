//! GPQA's release zip → LLM-Foundry JSONL (`prepare_gpqa`): a password-protected zip made here with Info-ZIP's
//! `zip -P` (skipped when the tool is absent), the choice order against CPython's `random.Random(1234).shuffle`,
//! JSONL entries kept unchanged, bad input (wrong password, missing column, empty cell) named by file and row,
//! and the converted files running as heavy.yaml's GPQA tasks.

use dclm_core::testdata::shared;
use dclm_eval::testing::{gpt2_bytes, HashLm};
use dclm_eval::{evaluate, parse_task_yaml, prepare_gpqa, EvalConfig, EvalError, RunOptions, GPQA_PASSWORD};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const HEADER: &str = "Pre-Revision Question,Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,\
                      Incorrect Answer 3,Record ID,Subdomain\n";

/// Five questions; the first has a quoted multi-line question and padded answers, as the release's do.
fn main_csv() -> String {
    let mut s = HEADER.to_string();
    s += "old,\"What is 2+2?\nExplain.\",  four ,three,five,six,rec0,arith\n";
    for i in 1..5 {
        s += &format!("old,Question {i}?,right {i},wrong {i}a,wrong {i}b,wrong {i}c,rec{i},misc\n");
    }
    s
}

/// `zip -P PASSWORD ARCHIVE FILES…` run in `dir`; `None` (with a SKIP line) when Info-ZIP's zip is absent.
fn zip_with_password(dir: &Path, archive: &str, password: &str, files: &[&str], test: &str) -> Option<PathBuf> {
    let status = Command::new("zip")
        .current_dir(dir)
        .args(["-q", "-P", password, archive])
        .args(files)
        .status();
    match status {
        Ok(s) if s.success() => Some(dir.join(archive)),
        Ok(s) => panic!("zip failed: {s}"),
        Err(_) => {
            eprintln!("SKIP {test}: Info-ZIP's `zip` is not installed (apt-get install zip)");
            None
        }
    }
}

fn release_folder(root: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(root.join("dataset")).unwrap();
    for (name, text) in files {
        std::fs::write(root.join("dataset").join(name), text).unwrap();
    }
}

fn read_jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn release_zip_becomes_llm_foundry_jsonl() {
    let test = "release_zip_becomes_llm_foundry_jsonl";
    let tmp = tempfile::tempdir().unwrap();
    let experts = "Name,Domain\nA,Physics\n";
    release_folder(
        tmp.path(),
        &[("gpqa_main.csv", &main_csv()), ("gpqa_experts.csv", experts)],
    );
    let Some(zip) = zip_with_password(
        tmp.path(),
        "dataset.zip",
        GPQA_PASSWORD,
        &["dataset/gpqa_main.csv", "dataset/gpqa_experts.csv"],
        test,
    ) else {
        return;
    };
    let data = tmp.path().join("data");
    let files = prepare_gpqa(&zip, GPQA_PASSWORD, &data).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].path, data.join("gpqa_data/gpqa_main.jsonl"));
    assert_eq!((files[0].questions, files[0].copied), (5, false));
    assert_eq!(files[0].source, "dataset/gpqa_main.csv");
    let rows = read_jsonl(&files[0].path);
    assert_eq!(rows.len(), 5);
    // CPython 3.11: r = random.Random(1234); for each row: c = [correct, inc1, inc2, inc3]; r.shuffle(c)
    // gives ['I1','I2','C','I3'], ['I1','I3','I2','C'], ['I2','I1','I3','C'], ['I3','I2','C','I1'],
    // ['I3','I2','I1','C'].
    let cpython = [[1, 2, 0, 3], [1, 3, 2, 0], [2, 1, 3, 0], [3, 2, 0, 1], [3, 2, 1, 0]];
    let csv_rows: Vec<[String; 4]> = (0..5)
        .map(|i| {
            if i == 0 {
                ["four".into(), "three".into(), "five".into(), "six".into()]
            } else {
                [
                    format!("right {i}"),
                    format!("wrong {i}a"),
                    format!("wrong {i}b"),
                    format!("wrong {i}c"),
                ]
            }
        })
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let want: Vec<&str> = cpython[i].iter().map(|&k| csv_rows[i][k].as_str()).collect();
        let got: Vec<&str> = row["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got, want, "row {i}");
        let gold = cpython[i].iter().position(|&k| k == 0).unwrap();
        assert_eq!(row["gold"], gold, "row {i}");
        assert_eq!(row.as_object().unwrap().len(), 3, "only query, choices, gold: {row}");
    }
    assert_eq!(rows[0]["query"], "What is 2+2?\nExplain.");
    assert_eq!(rows[3]["query"], "Question 3?");
    // Same input, same bytes.
    let first = std::fs::read(&files[0].path).unwrap();
    prepare_gpqa(&zip, GPQA_PASSWORD, &data).unwrap();
    assert_eq!(std::fs::read(&files[0].path).unwrap(), first);
}

#[test]
fn jsonl_in_the_zip_is_kept_unchanged() {
    let test = "jsonl_in_the_zip_is_kept_unchanged";
    let tmp = tempfile::tempdir().unwrap();
    // Deliberately not in our own format (spacing, key order, an extra key): it must come out byte for byte.
    let jsonl = "{\"gold\": 1, \"query\": \"Q?\", \"choices\": [\"a\", \"b\"], \"id\": 7}\n";
    release_folder(
        tmp.path(),
        &[("gpqa_diamond.jsonl", jsonl), ("gpqa_diamond.csv", &main_csv())],
    );
    let Some(zip) = zip_with_password(
        tmp.path(),
        "d.zip",
        "pw",
        &["dataset/gpqa_diamond.jsonl", "dataset/gpqa_diamond.csv"],
        test,
    ) else {
        return;
    };
    let data = tmp.path().join("data");
    let files = prepare_gpqa(&zip, "pw", &data).unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].copied);
    assert_eq!(
        std::fs::read_to_string(data.join("gpqa_data/gpqa_diamond.jsonl")).unwrap(),
        jsonl
    );
}

#[test]
fn wrong_password_is_reported_with_the_archive() {
    let test = "wrong_password_is_reported_with_the_archive";
    let tmp = tempfile::tempdir().unwrap();
    release_folder(tmp.path(), &[("gpqa_main.csv", &main_csv())]);
    let Some(zip) = zip_with_password(
        tmp.path(),
        "dataset.zip",
        GPQA_PASSWORD,
        &["dataset/gpqa_main.csv"],
        test,
    ) else {
        return;
    };
    // ZipCrypto checks one byte of the password hash: most wrong passwords fail there, the rest on inflating
    // or on the CRC; every one must be an error naming the archive and the entry.
    for bad in ["wrong", "deserted-untie-orchiD", "x", "0123456789"] {
        let err = prepare_gpqa(&zip, bad, &tmp.path().join("data")).unwrap_err();
        assert!(matches!(err, EvalError::Archive { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("dataset.zip") && msg.contains("gpqa_main.csv"), "{msg}");
        assert!(msg.contains("password"), "{msg}");
    }
    assert!(!tmp.path().join("data/gpqa_data/gpqa_main.jsonl").exists());
}

#[test]
fn missing_column_and_empty_cell_name_file_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    // No "Incorrect Answer 3" column.
    let no_col = "Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2\nQ?,a,b,c\n";
    release_folder(tmp.path(), &[("gpqa_main.csv", no_col)]);
    let err = prepare_gpqa(&tmp.path().join("dataset"), GPQA_PASSWORD, &tmp.path().join("data")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EvalError::Csv { line: 1, .. }), "{msg}");
    assert!(
        msg.contains("gpqa_main.csv") && msg.contains("Incorrect Answer 3"),
        "{msg}"
    );

    // Row 3 (line 5: the first row's question spans two lines) has an empty correct answer.
    let mut csv = main_csv().lines().take(4).collect::<Vec<_>>().join("\n") + "\n";
    csv += "old,Broken?,   ,x,y,z,rec9,misc\n";
    let tmp = tempfile::tempdir().unwrap();
    release_folder(tmp.path(), &[("gpqa_extended.csv", &csv)]);
    let err = prepare_gpqa(&tmp.path().join("dataset"), GPQA_PASSWORD, &tmp.path().join("data")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EvalError::Csv { line: 5, .. }), "{msg}");
    assert!(
        msg.contains("gpqa_extended.csv") && msg.contains("row 3") && msg.contains("Correct Answer"),
        "{msg}"
    );
}

#[test]
fn prepared_gpqa_runs_as_heavy_yaml_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    release_folder(
        tmp.path(),
        &[("gpqa_main.csv", &main_csv()), ("gpqa_diamond.csv", &main_csv())],
    );
    let data = tmp.path().join("data");
    prepare_gpqa(&tmp.path().join("dataset"), GPQA_PASSWORD, &data).unwrap();
    // heavy.yaml's two GPQA entries, verbatim.
    let yaml = "icl_tasks:\n\
        -\n  label: gpqa_main\n  dataset_uri: gpqa_data/gpqa_main.jsonl\n  num_fewshot: [5]\n  \
        icl_task_type: multiple_choice\n  continuation_delimiter: \"\\nAnswer: \"\n\
        -\n  label: gpqa_diamond\n  dataset_uri: gpqa_data/gpqa_diamond.jsonl\n  num_fewshot: [5]\n  \
        icl_task_type: multiple_choice\n  continuation_delimiter: \"\\nAnswer: \"\n";
    let config = EvalConfig {
        tasks: parse_task_yaml(yaml).unwrap(),
        data_dir: data.clone(),
        meta_v2: None,
        meta_v1: None,
        aggregation: None,
        run: RunOptions::default(),
    };
    assert!(config.unavailable_tasks().is_empty());
    let report = evaluate(&HashLm::new(257), Arc::new(gpt2_bytes()), &config).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let labels: Vec<(&str, usize)> = report
        .tasks
        .iter()
        .map(|t| (t.label.as_str(), t.num_examples))
        .collect();
    assert_eq!(labels, [("gpqa_main", 5), ("gpqa_diamond", 5)]);

    // DCLM's own heavy.yaml finds them in the same data folder.
    let test = "prepared_gpqa_runs_as_heavy_yaml_tasks";
    if let Some(eval_dir) = shared("data/dclm-assets/eval", test) {
        let heavy = EvalConfig::dclm(&dclm_eval::suite_yaml("heavy", &eval_dir), &eval_dir, &data).unwrap();
        let missing: Vec<String> = heavy.unavailable_tasks().into_iter().map(|s| s.label).collect();
        assert!(heavy.tasks.iter().any(|t| t.label == "gpqa_main"));
        assert!(!missing.iter().any(|l| l.starts_with("gpqa")), "{missing:?}");
    }
}
