//! DCLM's results-file format against DCLM's own files: every `exp_data/evals/*.json` re-aggregated from its
//! `eval_metrics.icl` with DCLM's tables gives the aggregates stored in it; our results file has the same
//! top-level keys as DCLM's.

use std::path::Path;

use dclm_core::testdata::shared;
use dclm_eval::{reaggregate, AggregationTables, DclmEvalResults, EvalVersion};
use serde_json::Value;

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Equal as DCLM stores them: numbers to 1e-12 relative (pandas vs our summation order is exact in most
/// files; JSON float printing round-trips), strings exactly, NaN written by Python as `NaN` is absent here.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

const AGGREGATE_KEYS: [&str; 18] = [
    "aggregated_task_categories_centered",
    "aggregated_centered_results",
    "aggregated_results",
    "rw_small",
    "95%_CI_above",
    "99%_CI_above",
    "low_variance_datasets",
    "missing tasks",
    "rw_small_centered",
    "95%_CI_above_centered",
    "99%_CI_above_centered",
    "low_variance_datasets_centered",
    "Core",
    "Extended",
    "Core_v1",
    "Extended_v1",
    "Core_v2",
    "Extended_v2",
];

#[test]
fn dclm_result_files_reaggregate_to_their_stored_values() {
    let test = "dclm_result_files_reaggregate_to_their_stored_values";
    let (Some(evals), Some(eval_dir)) = (
        shared("data/dclm-assets/exp_data/evals", test),
        shared("data/dclm-assets/eval", test),
    ) else {
        return;
    };
    let tables = AggregationTables::from_dclm_eval_dir(&eval_dir).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&evals)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 100, "{} files", files.len());
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for f in &files {
        let stored = read(f);
        let version: EvalVersion = stored["eval_version"].as_str().unwrap_or("v2").parse().unwrap();
        let ours = reaggregate(&stored, &tables, version, f).unwrap();
        for key in AGGREGATE_KEYS {
            let Some(want) = stored.get(key) else { continue };
            compared += 1;
            if !same(&ours[key], want) {
                mismatches.push(format!(
                    "{}: {key}: ours {} stored {}",
                    f.file_name().unwrap().to_string_lossy(),
                    ours[key],
                    want
                ));
            }
        }
        // Nothing else in the file changes.
        for (k, v) in stored.as_object().unwrap() {
            if !AGGREGATE_KEYS.contains(&k.as_str()) && k != "eval_version" {
                assert_eq!(&ours[k], v, "{}: key {k} changed", f.display());
            }
        }
    }
    eprintln!(
        "{} DCLM result files, {compared} aggregate values compared, {} differ",
        files.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn our_results_file_has_dclms_keys() {
    let test = "our_results_file_has_dclms_keys";
    let (Some(example), Some(eval_dir)) = (
        shared(
            "data/dclm-assets/exp_data/evals/evaluation_c4_original-open_lm_1b-5.0_heavy.json",
            test,
        ),
        shared("data/dclm-assets/eval", test),
    ) else {
        return;
    };
    let tables = AggregationTables::from_dclm_eval_dir(&eval_dir).unwrap();
    let stored = read(&example);
    let icl: Vec<(String, f64)> = stored["eval_metrics"]["icl"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect();
    let ours = DclmEvalResults::new("c4_original", "open_lm_1b", icl)
        .to_json(&tables, EvalVersion::V2)
        .unwrap();
    // DCLM's keys minus those its experiment database adds afterwards.
    let mut want: Vec<&String> = stored
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !["_filename", "model_uuid"].contains(&k.as_str()))
        .collect();
    let mut got: Vec<&String> = ours.as_object().unwrap().keys().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    for key in AGGREGATE_KEYS {
        assert!(
            same(&ours[key], &stored[key]),
            "{key}: {} vs {}",
            ours[key],
            stored[key]
        );
    }
}

#[test]
fn heavy_suite_covers_extended_and_lists_what_cannot_run() {
    let test = "heavy_suite_covers_extended_and_lists_what_cannot_run";
    let (Some(eval_dir), Some(data)) = (shared("data/dclm-assets/eval", test), shared("data/eval", test)) else {
        return;
    };
    let config = dclm_eval::EvalConfig::dclm(&dclm_eval::suite_yaml("extended", &eval_dir), &eval_dir, &data).unwrap();
    let tables = AggregationTables::from_dclm_eval_dir(&eval_dir).unwrap();
    // EXTENDED is every row of the metadata csv: heavy.yaml has a task for each.
    let labels: Vec<&str> = config.tasks.iter().map(|t| t.label.as_str()).collect();
    for row in &tables.meta_v2.as_ref().unwrap().rows {
        assert!(labels.contains(&row.task.as_str()), "heavy.yaml lacks {}", row.task);
    }
    let unavailable = config.unavailable_tasks();
    for s in &unavailable {
        eprintln!("cannot run {}: {}", s.label, s.reason);
        let tc = config.tasks.iter().find(|t| t.label == s.label).unwrap();
        assert!(!tc.resolve_path(&data).is_file());
        assert!(s.reason.contains("absent"), "{}", s.reason);
    }
    for t in &config.tasks {
        let listed = unavailable.iter().any(|s| s.label == t.label);
        assert_eq!(listed, !t.resolve_path(&data).is_file(), "{}", t.label);
    }
    if let Some(g) = unavailable.iter().find(|s| s.label == "gpqa_main") {
        assert!(g.reason.contains("dataset.zip"), "{}", g.reason);
    }
    eprintln!(
        "heavy.yaml: {} tasks, {} cannot run here",
        config.tasks.len(),
        unavailable.len()
    );
}
