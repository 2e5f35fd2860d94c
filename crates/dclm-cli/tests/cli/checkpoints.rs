//! `dclm convert` and `dclm eval` on a real checkpoint: the conformance tiny open_lm model converted to an open_lm
//! `.pt`, an open_lm Hugging Face folder and back, each evaluated with the same per-task accuracies, into DCLM's
//! eval results format (re-aggregated by `eval aggregate` with the v1 baselines).

use std::path::Path;
use std::process::Command;

const DCLM: &str = env!("CARGO_BIN_EXE_dclm");

fn dclm(args: &[&str]) -> std::process::Output {
    let o = Command::new(DCLM).args(args).output().expect("running dclm");
    assert!(
        o.status.success(),
        "dclm {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

const TASKS: &str = "icl_tasks:
-
  label: copa
  dataset_uri: local_data/commonsense_reasoning/copa.jsonl
  num_fewshot: [0]
  icl_task_type: multiple_choice
-
  label: lambada_openai
  dataset_uri: local_data/language_understanding/lambada_openai.jsonl
  num_fewshot: [0]
  icl_task_type: language_modeling
";

fn accuracies(results: &Path) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(results).unwrap()).unwrap();
    for key in [
        "aggregated_results",
        "aggregated_centered_results",
        "eval_metrics",
        "uuid",
        "name",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {}", results.display());
    }
    v["eval_metrics"]["icl"].clone()
}

#[test]
fn converted_checkpoints_evaluate_identically_in_dclms_format() {
    let test = "converted_checkpoints_evaluate_identically_in_dclms_format";
    let (Some(weights), Some(config), Some(tok), Some(eval_dir), Some(data)) = (
        dclm_core::testdata::shared("conformance/eval/tiny_eval_model.bf16.safetensors", test),
        dclm_core::testdata::shared("conformance/eval/config_tiny_eval.json", test),
        dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test),
        dclm_core::testdata::shared("data/dclm-assets/eval", test),
        dclm_core::testdata::shared("data/eval", test),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    std::fs::write(tmp.path().join("tasks.yaml"), TASKS).unwrap();
    let (w, c, t, e, d) = (
        weights.to_str().unwrap(),
        config.to_str().unwrap(),
        tok.to_str().unwrap(),
        eval_dir.to_str().unwrap(),
        data.to_str().unwrap(),
    );
    dclm(&["convert", w, "--model-json", c, "--to", "open-lm", "-o", &p("model.pt")]);
    dclm(&[
        "convert",
        &p("model.pt"),
        "--to",
        "hf",
        "--tokenizer",
        t,
        "-o",
        &p("hf"),
    ]);
    dclm(&["convert", &p("hf"), "--to", "safetensors", "-o", &p("back.safetensors")]);
    let tasks = p("tasks.yaml");
    let eval = |model: &str, extra: &[&str], out: &str| {
        let mut args = vec![
            "eval",
            "--model",
            model,
            "--tasks",
            &tasks,
            "--eval-dir",
            e,
            "--data-dir",
            d,
            "--tokenizer",
            t,
            "--limit",
            "8",
            "--no-progress",
            "-o",
            out,
        ];
        args.extend_from_slice(extra);
        dclm(&args);
        accuracies(Path::new(out))
    };
    let original = eval(w, &["--model-json", c], &p("original.json"));
    assert_eq!(original.as_object().unwrap().len(), 2, "{original}");
    assert_eq!(eval(&p("model.pt"), &[], &p("pt.json")), original);
    assert_eq!(eval(&p("hf"), &[], &p("hf.json")), original);
    assert_eq!(eval(&p("back.safetensors"), &[], &p("back.json")), original);
    // Re-aggregation with the paper-era baselines keeps the per-task numbers.
    let o = dclm(&["eval", "aggregate", &p("pt.json"), "--version", "v1", "--eval-dir", e]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["eval_metrics"]["icl"], original);
    assert!(v["aggregated_centered_results"].is_number(), "{v}");
}

#[test]
fn eval_reproduces_the_conformance_accuracies() {
    // `dclm eval` on the conformance tiny model, every log-likelihood task of LLM-Foundry's conformance set with the
    // settings recorded in its summary.json, first 40 examples: the accuracies LLM-Foundry v0.9.0 computed.
    let test = "eval_reproduces_the_conformance_accuracies";
    let (Some(conf), Some(tok), Some(eval_dir), Some(data)) = (
        dclm_core::testdata::shared("conformance/eval", test),
        dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test),
        dclm_core::testdata::shared("data/dclm-assets/eval", test),
        dclm_core::testdata::shared("data/eval", test),
    ) else {
        return;
    };
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(conf.join("summary.json")).unwrap()).unwrap();
    let tasks: Vec<&serde_json::Value> = summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["icl_task_type"] != "generation_task_with_answers")
        .collect();
    assert!(tasks.len() >= 8, "{} tasks", tasks.len());
    let keys = [
        "label",
        "dataset_uri",
        "icl_task_type",
        "prompt_string",
        "example_delimiter",
        "continuation_delimiter",
        "question_prelimiter",
    ];
    let entries: Vec<serde_json::Value> = tasks
        .iter()
        .map(|t| {
            let mut e: serde_json::Map<String, serde_json::Value> =
                keys.iter().map(|k| (k.to_string(), t[*k].clone())).collect();
            e.insert("num_fewshot".into(), serde_json::json!([t["num_fewshot"]]));
            serde_json::Value::Object(e)
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    // YAML reads JSON.
    let yaml = tmp.path().join("tasks.yaml");
    std::fs::write(&yaml, serde_json::json!({ "icl_tasks": entries }).to_string()).unwrap();
    let out = tmp.path().join("results.json");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    dclm(&[
        "eval",
        "--model",
        &s(&conf.join("tiny_eval_model.bf16.safetensors")),
        "--model-json",
        &s(&conf.join("config_tiny_eval.json")),
        "--tasks",
        &s(&yaml),
        "--eval-dir",
        &s(&eval_dir),
        "--data-dir",
        &s(&data),
        "--tokenizer",
        &s(&tok),
        "--limit",
        "40",
        "--batch-size",
        "2",
        "--no-progress",
        "-o",
        &s(&out),
    ]);
    let got = accuracies(&out);
    for t in &tasks {
        let label = t["label"].as_str().unwrap();
        assert_eq!(t["n_examples_here"], 40, "{label}");
        assert_eq!(got[label], t["accuracy_first_n"], "{label}: ours vs LLM-Foundry v0.9.0");
    }
}
