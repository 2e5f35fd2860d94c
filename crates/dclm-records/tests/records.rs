//! Our records against the ones DCLM published (`../shared/data/dclm-assets/exp_data/`): every key and value
//! type, and CORE/EXTENDED of every published eval record recomputed from its per-task results.

use dclm_eval::{AggregationGroups, EvalMeta, EvalReport, TaskResult};
use dclm_records::{
    check_keys, compare, key_types, read_records, render_table, write_record, KeyTypes, MadeBy, ModelRecord,
    RecordKind, SourceRef, TokenizedRecord, UntokenizedRecord,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn exp_data(test: &str) -> Option<PathBuf> {
    dclm_core::testdata::shared("data/dclm-assets/exp_data", test)
}

fn published(dir: &Path) -> Vec<Value> {
    read_records(dir).unwrap().into_iter().map(|(_, v)| v).collect()
}

fn assert_fits(kind: &str, ours: &Value, table: &KeyTypes) {
    let problems = check_keys(ours, table);
    assert!(problems.is_empty(), "{kind}: {problems:?}\n{ours:#}");
}

fn meta(test: &str) -> Option<(EvalMeta, EvalMeta, AggregationGroups)> {
    let dir = dclm_core::testdata::shared("data/dclm-assets/eval", test)?;
    Some((
        EvalMeta::from_csv(dir.join("eval_meta_data_v1.csv")).unwrap(),
        EvalMeta::from_csv(dir.join("eval_meta_data.csv")).unwrap(),
        AggregationGroups::from_json(dir.join("additional_aggregation.json")).unwrap(),
    ))
}

/// The keys DCLM's own writers put in a dataset record (`ray_processing`, `tokenize_shuffle`).
const DATASET_KEYS: &[&str] = &[
    "uuid",
    "name",
    "creation_date",
    "dataset_url",
    "manifest_url",
    "sources",
    "tokenized",
    "tokenizer",
    "num_tokens",
    "size",
    "dcnlp_commit_hash",
    "dcnlp_diff",
    "data_key",
];

#[test]
fn dataset_records_have_dclm_keys_and_types() {
    let Some(exp) = exp_data("dataset_records_have_dclm_keys_and_types") else {
        return;
    };
    let raw = published(&exp.join("datasets/raw_sources"));
    let tok = published(&exp.join("datasets/tokenized"));
    assert_eq!((raw.len(), tok.len()), (20, 62));

    let mut u = UntokenizedRecord::new("pool_filtered", "/data/pool_filtered/");
    u.size = 123_456;
    u.sources = vec![SourceRef {
        uuid: "b60484e4-dba7-4a8c-b5a9-b5c924d5d5f2".into(),
        name: "pool".into(),
    }];
    u.dclm_rs = MadeBy::new("filter");
    let u = serde_json::to_value(&u).unwrap();
    assert_fits("untokenized", &u, &key_types(&raw));
    for k in DATASET_KEYS {
        assert!(u.get(*k).is_some(), "untokenized lacks {k}");
    }

    let mut t = TokenizedRecord::new("pool_filtered_tok", "/data/tok", "EleutherAI/gpt-neox-20b");
    t.num_tokens = 2049 * 10;
    t.size = 99;
    let t = serde_json::to_value(&t).unwrap();
    let table = key_types(&tok);
    assert_fits("tokenized", &t, &table);
    // Every key of every published tokenized record but the optional ones DCLM writes for some only.
    for (k, (n, _)) in &table.keys {
        if !["mirrors", "note"].contains(&k.as_str()) {
            assert!(
                t.get(k).is_some(),
                "tokenized lacks {k} ({n} of {} published have it)",
                table.records
            );
        }
    }
    assert_eq!(t["manifest_url"], "/data/tok/manifest.jsonl");
    // The uuid is a v4 UUID and the date is DCLM's format.
    let uuid = t["uuid"].as_str().unwrap();
    assert_eq!((uuid.len(), &uuid[14..15]), (36, "4"));
    let date = t["creation_date"].as_str().unwrap();
    assert_eq!(date.len(), "2024_02_12-08_45_03".len());
    assert_eq!((&date[4..5], &date[10..11], &date[13..14]), ("_", "-", "_"));
}

#[test]
fn model_records_have_dclm_keys_and_types() {
    let Some(exp) = exp_data("model_records_have_dclm_keys_and_types") else {
        return;
    };
    let models = published(&exp.join("models"));
    assert_eq!(models.len(), 133);
    let hp = json!({
        "model": "open_lm_411m", "tokens": 8_200_000_000u64, "warmup": 2000, "lr": 0.003, "wd": 0.033,
        "cd": 3e-5, "global_bs": 512, "acc": 1, "qk_norm": true, "z_loss": 1e-4, "grad_checkpointing": false,
        "params": 411_000_000u64, "params_no_embed": 360_000_000u64, "fsdp_flags": [],
        "chinchilla_multiplier": 1.0, "seed": 124
    });
    let m = ModelRecord {
        name: "m".into(),
        dataset_name: "d".into(),
        dataset_uuid: dclm_records::new_uuid(),
        hyperparameters: hp.as_object().unwrap().clone(),
        checkpoint_url: "/runs/m/model.safetensors".into(),
        open_lm_version: "0.0.34".into(),
        open_lm_args: vec!["--lr".into(), "0.003".into()],
        results: vec![],
        params_url: "/runs/m/run.json".into(),
        uuid: dclm_records::new_uuid(),
        creation_date: dclm_records::creation_date_now(),
        failed: false,
        error: String::new(),
        dclm_rs: MadeBy::new("train"),
    };
    let m = serde_json::to_value(&m).unwrap();
    assert_fits("model", &m, &key_types(&models));
    let hps: Vec<Value> = models.iter().map(|r| r["hyperparameters"].clone()).collect();
    assert_fits("model.hyperparameters", &m["hyperparameters"], &key_types(&hps));
}

#[test]
fn eval_records_have_dclm_keys_and_types() {
    let Some(exp) = exp_data("eval_records_have_dclm_keys_and_types") else {
        return;
    };
    let Some((v1, v2, groups)) = meta("eval_records_have_dclm_keys_and_types") else {
        return;
    };
    let evals = published(&exp.join("evals"));
    assert_eq!(evals.len(), 156);
    // Our eval results for the per-task accuracies of a published record, completed into a record.
    let icl = evals[0]["eval_metrics"]["icl"].as_object().unwrap();
    let tasks: Vec<TaskResult> = icl
        .iter()
        .map(|(k, v)| TaskResult {
            label: k.clone(),
            num_examples: 100,
            num_correct: 50,
            accuracy: v.as_f64().unwrap(),
            categories: Default::default(),
            seconds: 1.0,
            examples_per_second: 100.0,
            examples: vec![],
        })
        .collect();
    let report = EvalReport::new("m", tasks, vec![], Some(&v1), Some(&v2), Some(&groups));
    let rec = dclm_records::eval_record(&report.to_dclm_json(), "m_heavy", "open_lm_411m", "some-uuid");
    let table = key_types(&evals);
    assert_fits("eval", &rec, &table);
    for (k, (n, _)) in &table.keys {
        // `_filename` and `model_name` are bookkeeping DCLM added to some records by hand.
        if *n == table.records || k == "model_uuid" {
            assert!(rec.get(k).is_some(), "eval lacks {k}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write_record(dir.path(), RecordKind::Eval, "m_heavy", &rec).unwrap();
    assert_eq!(p, dir.path().join("evals/m_heavy.json"));
    let rows = compare(&[p], &v1, &v2, &groups).unwrap();
    assert_eq!(rows[0].reproduces_stored(), Some(true));
    assert_eq!(rows[0].v2.core.value(), evals[0]["Core"].as_f64());
}

#[test]
fn published_core_and_extended_are_reproduced() {
    let Some(exp) = exp_data("published_core_and_extended_are_reproduced") else {
        return;
    };
    let Some((v1, v2, groups)) = meta("published_core_and_extended_are_reproduced") else {
        return;
    };
    let paths: Vec<PathBuf> = read_records(&exp.join("evals"))
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let rows = compare(&paths, &v1, &v2, &groups).unwrap();
    assert_eq!(rows.len(), 156);
    let mut na = 0;
    for r in &rows {
        assert_eq!(r.stored.len(), 4, "{}", r.path.display());
        assert_eq!(
            r.reproduces_stored(),
            Some(true),
            "{}: {:?} {:?} vs {:?}",
            r.path.display(),
            r.v1,
            r.v2,
            r.stored
        );
        na += r.v2.extended.value().is_none() as usize;
    }
    // Seven published records lack the chain-of-thought tasks: EXTENDED is DCLM's N/A string, reproduced.
    assert_eq!(na, 7);
    let table = render_table(&rows, &["hellaswag".to_string()]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2 + 156);
    assert!(lines[0].starts_with("#  ") && lines[0].contains("CORE") && lines[0].ends_with("hellaswag"));
    assert!(lines[2..].iter().all(|l| l.contains(" ok ")), "{table}");
    // Sorted by CORE, best first.
    let best = rows.iter().filter_map(|r| r.v2.core.value()).fold(f64::MIN, f64::max);
    assert!(lines[2].contains(&format!("{best:.4}")), "{}", lines[2]);
}

#[test]
fn a_changed_value_is_reported_and_a_non_eval_file_named() {
    let Some((v1, v2, groups)) = meta("a_changed_value_is_reported") else {
        return;
    };
    let Some(exp) = exp_data("a_changed_value_is_reported") else {
        return;
    };
    let (_, mut rec) = read_records(&exp.join("evals")).unwrap().remove(0);
    rec["Core_v1"] = json!(rec["Core_v1"].as_f64().unwrap() + 1e-6);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("changed.json");
    std::fs::write(&p, rec.to_string()).unwrap();
    let rows = compare(std::slice::from_ref(&p), &v1, &v2, &groups).unwrap();
    assert_eq!(rows[0].reproduces_stored(), Some(false));
    assert!(render_table(&rows, &[]).contains("DIFF"));
    let model = dir.path().join("model.json");
    std::fs::write(&model, r#"{"name": "m"}"#).unwrap();
    let err = compare(&[model], &v1, &v2, &groups).unwrap_err().to_string();
    assert!(err.contains("model.json") && err.contains("eval_metrics.icl"), "{err}");
}
