//! End-to-end `evaluate` over small task files with the test doubles: prompt construction visible through
//! the model's inputs, scoring, skipped tasks with reasons, bad input with file:line, results JSON/Markdown.

use dclm_eval::testing::{gpt2_bytes, HashLm};
use dclm_eval::{
    evaluate, parse_task_yaml, EvalConfig, EvalError, GenRequest, IclTask, IclTaskType, LanguageModel, LogLik,
    LoglikRequest, Request, RunOptions, StopCriterion, Task, TaskConfig, Tokenizer,
};
use std::sync::{Arc, Mutex};

fn write(dir: &std::path::Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn decode(ids: &[u32]) -> String {
    gpt2_bytes().decode_raw(ids).unwrap()
}

#[test]
fn prompt_construction_seen_by_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..5 {
        text += &format!(
            "{{\"query\": \" Q{i} \", \"choices\": [\"a{i}\", \" b{i}\"], \"gold\": {}}}\n",
            i % 2
        );
    }
    write(dir.path(), "mc.jsonl", &text);
    let cfg = TaskConfig::new("mc", "mc.jsonl", IclTaskType::MultipleChoice)
        .with_fewshot(2)
        .with_continuation_delimiter("\nAnswer: ");
    let task = IclTask::load(cfg, &dir.path().join("mc.jsonl"), Arc::new(gpt2_bytes()), 2048).unwrap();
    let p = task.prepare(0).unwrap();
    // Python: rng = random.Random(1234); rng.sample(range(5), 2) -> pool method.
    assert_eq!(p.fewshot_idxs.len(), 2);
    assert!(!p.fewshot_idxs.contains(&0));
    let shots: Vec<String> = p
        .fewshot_idxs
        .iter()
        .map(|&j| {
            let gold = if j % 2 == 0 { format!("a{j}") } else { format!(" b{j}") };
            format!("Q{j}\nAnswer: {gold}")
        })
        .collect();
    assert_eq!(p.preamble, shots.join("\n"));
    assert_eq!(p.contexts, vec!["\nQ0\nAnswer:".to_string()]);
    assert_eq!(p.continuations, vec![" a0".to_string(), " b0".to_string()]);
    let Request::Loglik(reqs) = &p.request else {
        panic!("MC gives log-likelihood requests")
    };
    assert_eq!(decode(&reqs[0].context), format!("{}\nQ0\nAnswer:", shots.join("\n")));
    assert_eq!(decode(&reqs[1].continuation), " b0");
}

#[test]
fn left_truncation_to_window() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "lm.jsonl",
        "{\"context\": \"abcdefghij\", \"continuation\": \"xyz\"}\n",
    );
    let cfg = TaskConfig::new("lm", "lm.jsonl", IclTaskType::LanguageModeling);
    let task = IclTask::load(cfg, &dir.path().join("lm.jsonl"), Arc::new(gpt2_bytes()), 8).unwrap();
    let p = task.prepare(0).unwrap();
    let Request::Loglik(reqs) = &p.request else { panic!() };
    // " xyz" is 4 tokens, so 4 context tokens remain: "ghij".
    assert_eq!(decode(&reqs[0].context), "ghij");
    assert_eq!(p.trim_left, vec![6]);
}

/// Records every request and answers with a fixed preference, to check scoring end to end.
struct Scripted {
    seen: Mutex<Vec<LoglikRequest>>,
}

impl LanguageModel for Scripted {
    fn loglikelihood(&self, requests: &[LoglikRequest]) -> Result<Vec<LogLik>, EvalError> {
        self.seen.lock().unwrap().extend(requests.iter().cloned());
        // Continuations containing 'g' (for "gold") are likely; the greedy flag says whether all tokens are 'g'.
        Ok(requests
            .iter()
            .map(|r| {
                let text = decode(&r.continuation);
                let lp: Vec<f32> = text.chars().map(|c| if c == 'g' { -0.1 } else { -3.0 }).collect();
                LogLik {
                    greedy: text.trim().chars().all(|c| c == 'g'),
                    token_logprobs: lp,
                }
            })
            .collect())
    }
    fn generate(&self, requests: &[GenRequest], stop: &dyn StopCriterion) -> Result<Vec<Vec<u32>>, EvalError> {
        Ok(requests
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let mut out = Vec::new();
                for t in gpt2_bytes().encode(" Paris is it\n\nQ: more").unwrap() {
                    out.push(t);
                    if stop.should_stop(i, &out) {
                        break;
                    }
                }
                out
            })
            .collect())
    }
}

#[test]
fn evaluate_suite_with_skips_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "local_data/mc.jsonl",
        "{\"query\": \"q1\", \"choices\": [\"xx\", \"gg\"], \"gold\": 1}\n{\"query\": \"q2\", \"choices\": [\"gg\", \"xx\"], \"gold\": 1}\n",
    );
    write(
        d,
        "local_data/lm.jsonl",
        "{\"context\": \"c\", \"continuation\": \"gg\"}\n{\"context\": \"c\", \"continuation\": \"gx\"}\n",
    );
    write(
        d,
        "local_data/schema.jsonl",
        "{\"context_options\": [\"A\", \"B\"], \"continuation\": \"gg\", \"gold\": 0}\n",
    );
    write(
        d,
        "local_data/gen.jsonl",
        "{\"context\": \"Capital of France?\", \"answer\": \"Paris\", \"aliases\": [\"paris city\"]}\n",
    );
    write(
        d,
        "local_data/broken.jsonl",
        "{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 0}\n{\"query\": \"q\" \n",
    );
    write(d, "local_data/cats.jsonl", "{\"context\":\"c\",\"continuation\":\"gg\",\"category\":\"b\"}\n{\"context\":\"c\",\"continuation\":\"gx\",\"category\":\"a\"}\n{\"context\":\"c\",\"continuation\":\"gg\",\"category\":\"a\"}\n");
    let yaml = "icl_tasks:\n\
        - {label: mc, dataset_uri: local_data/mc.jsonl, num_fewshot: [0], icl_task_type: multiple_choice}\n\
        - {label: lm, dataset_uri: local_data/lm.jsonl, num_fewshot: [0], icl_task_type: language_modeling}\n\
        - {label: schema, dataset_uri: local_data/schema.jsonl, num_fewshot: [0], icl_task_type: schema}\n\
        - {label: gen, dataset_uri: local_data/gen.jsonl, num_fewshot: [0], icl_task_type: generation_task_with_answers, early_stopping_criteria: [\"\\n\\n\"]}\n\
        - {label: broken, dataset_uri: local_data/broken.jsonl, num_fewshot: [0], icl_task_type: multiple_choice}\n\
        - {label: absent, dataset_uri: local_data/absent.jsonl, num_fewshot: [0], icl_task_type: multiple_choice}\n\
        - {label: cats, dataset_uri: local_data/cats.jsonl, num_fewshot: [0], icl_task_type: language_modeling, has_categories: true}\n";
    write(d, "eval_meta_data.csv", "Eval Task,Task Category,Task Type,#shots,#datapoints,Random baseline,Centered Metric?,Description\nmc,world knowledge,multiple choice,0,2,50,,\"a, quoted\"\nlm,symbolic,language modeling,0,2,0,,x\nabsent,symbolic,mc,0,1,25,,x\n");
    write(
        d,
        "additional_aggregation.json",
        "{\"low_variance_datasets\": [\"mc\", \"lm\"], \"rw_small\": [\"mc\", \"absent\"]}",
    );
    let config = EvalConfig {
        tasks: parse_task_yaml(yaml).unwrap(),
        data_dir: d.to_path_buf(),
        meta_v2: Some(d.join("eval_meta_data.csv")),
        meta_v1: Some(d.join("eval_meta_data.csv")),
        aggregation: Some(d.join("additional_aggregation.json")),
        run: RunOptions {
            batch_size: 3,
            ..RunOptions::default()
        },
    };
    let model = Scripted {
        seen: Mutex::new(vec![]),
    };
    let report = evaluate(&model, Arc::new(gpt2_bytes()), &config).unwrap();
    assert_eq!(report.accuracy("mc"), Some(0.5));
    assert_eq!(report.accuracy("lm"), Some(0.5));
    assert_eq!(report.accuracy("schema"), Some(1.0));
    assert_eq!(report.accuracy("gen"), Some(1.0));
    // Categories: a = 1/2, b = 1/1 → unweighted mean 0.75 (not 2/3).
    assert_eq!(report.accuracy("cats"), Some(0.75));
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.label.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(
        skipped[0].0 == "broken" && skipped[0].1.contains("broken.jsonl:2"),
        "{skipped:?}"
    );
    assert!(
        skipped[1].0 == "absent" && skipped[1].1.contains("absent"),
        "{skipped:?}"
    );
    // Zero-shot schema contexts are the bare options; the continuation carries the space.
    let seen = model.seen.lock().unwrap();
    assert!(seen
        .iter()
        .any(|r| decode(&r.context) == "A" && decode(&r.continuation) == " gg"));
    drop(seen);
    let agg = report.aggregated_v2.as_ref().unwrap();
    // mc centered (0.5-0.5)/0.5 = 0; lm 0.5 → CORE 0.25; EXTENDED N/A (absent missing).
    assert_eq!(agg.core.value(), Some(0.25));
    assert!(agg.extended.value().is_none());
    let out = d.join("out/results.json");
    report.write(&out, Some(&d.join("out/results.md"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["eval_metrics"]["icl"]["mc"], 0.5);
    assert_eq!(json["Core_v2"], 0.25);
    assert_eq!(json["missing tasks"], "['absent']");
    let md = std::fs::read_to_string(d.join("out/results.md")).unwrap();
    assert!(
        md.contains("| CORE | 0.2500 | 0.2500 |") && md.contains("broken.jsonl:2"),
        "{md}"
    );
}

#[test]
fn unknown_task_type_is_a_clear_error() {
    let y = "icl_tasks:\n- {label: x, dataset_uri: a.jsonl, num_fewshot: [0], icl_task_type: multiple-choice}\n";
    let e = parse_task_yaml(y).unwrap_err();
    assert!(matches!(e, EvalError::UnknownTaskType { .. }), "{e}");
}

#[test]
fn hash_model_scores_match_independent_computation() {
    let model = HashLm::new(300);
    let req = LoglikRequest {
        context: vec![5, 7],
        continuation: vec![11, 13],
    };
    let out = model.loglikelihood(std::slice::from_ref(&req)).unwrap();
    let lp = |prev: u32, t: usize| {
        let l = model.logits(prev);
        let m = l.iter().copied().fold(f32::MIN, f32::max) as f64;
        let z: f64 = l.iter().map(|&x| (x as f64 - m).exp()).sum();
        (l[t] as f64 - m - z.ln()) as f32
    };
    assert_eq!(out[0].token_logprobs, vec![lp(7, 11), lp(11, 13)]);
    assert_eq!(
        out[0].mean_ce(),
        ((-(lp(7, 11) as f64) - lp(11, 13) as f64) / 2.0) as f32
    );
    let task_len = IclTask::load(
        TaskConfig::new("t", "x", IclTaskType::LanguageModeling),
        std::path::Path::new("/nonexistent/x.jsonl"),
        Arc::new(gpt2_bytes()),
        2048,
    );
    assert!(matches!(task_len, Err(EvalError::Io { .. })));
    let _ = <IclTask as Task>::name;
}
