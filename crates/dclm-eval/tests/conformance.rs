//! Conformance against `shared/conformance/eval/` (LLM-Foundry v0.9.0's own code, GPT-NeoX tokenizer, a
//! fixed tiny model): few-shot indices for every example, prompt strings and token ids, and — replaying the
//! reference model's per-token outputs through our scoring — per-example choices, results and accuracies.

use dclm_core::testdata::shared;
use dclm_eval::pyrandom::{fewshot_sample_idxs_traced, PyRandom};
use dclm_eval::{
    AggregationGroups, EvalMeta, GenRequest, HfTokenizer, IclTask, IclTaskType, LanguageModel, LogLik, LoglikRequest,
    Request, RunOptions, ScoreDetail, StopCriterion, TaskConfig, Tokenizer,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn fewshot_indices_all_examples() {
    let Some(p) = shared(
        "conformance/eval/fewshot_indices_all.json",
        "fewshot_indices_all_examples",
    ) else {
        return;
    };
    let all: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let (mut total, mut matched, mut with_redraw) = (0usize, 0usize, 0usize);
    for (task, t) in all["tasks"].as_object().unwrap() {
        let n = t["dataset_size"].as_u64().unwrap() as usize;
        let k = t["num_fewshot"].as_u64().unwrap() as usize;
        let mut rng = PyRandom::new(1234);
        let mut task_matched = 0;
        for i in 0..n {
            let (order, sampled, draws) = fewshot_sample_idxs_traced(&mut rng, n, k, i);
            let want_order: Vec<usize> = ids(&t["prompt_order"][i]).into_iter().map(|x| x as usize).collect();
            let want_sample: Vec<usize> = ids(&t["rng_sample_order"][i]).into_iter().map(|x| x as usize).collect();
            let want_draws: Vec<usize> = ids(&t["replacement_draws"][i])
                .into_iter()
                .map(|x| x as usize)
                .collect();
            with_redraw += usize::from(!want_draws.is_empty());
            if order == want_order && sampled == want_sample && draws == want_draws {
                task_matched += 1;
            } else if task_matched + 1 == i + 1 {
                eprintln!("{task} example {i}: got {order:?}/{sampled:?}/{draws:?}, want {want_order:?}");
            }
        }
        eprintln!("fewshot {task}: {task_matched}/{n} identical");
        total += n;
        matched += task_matched;
    }
    eprintln!("fewshot indices: {matched}/{total} examples identical ({with_redraw} needed a redraw)");
    assert_eq!(matched, total);
}

fn tokenizer() -> Option<Arc<dyn Tokenizer>> {
    let p = shared("data/tokenizers/gpt-neox-20b.tokenizer.json", "conformance tokenizer")?;
    Some(Arc::new(HfTokenizer::from_file(p).unwrap()))
}

fn load_records(task: &str) -> Vec<Value> {
    let p = shared(&format!("conformance/eval/{task}.jsonl"), task).unwrap();
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn summary() -> Option<Value> {
    let p = shared("conformance/eval/summary.json", "conformance summary")?;
    Some(serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
}

fn config_of(t: &Value) -> TaskConfig {
    let kind = match t["icl_task_type"].as_str().unwrap() {
        "multiple_choice" => IclTaskType::MultipleChoice,
        "schema" => IclTaskType::Schema,
        "language_modeling" => IclTaskType::LanguageModeling,
        _ => IclTaskType::GenerationTaskWithAnswers,
    };
    let mut c = TaskConfig::new(t["label"].as_str().unwrap(), t["dataset_uri"].as_str().unwrap(), kind)
        .with_fewshot(t["num_fewshot"].as_u64().unwrap() as usize)
        .with_continuation_delimiter(t["continuation_delimiter"].as_str().unwrap());
    c.question_prelimiter = t["question_prelimiter"].as_str().unwrap().to_string();
    c.cot_delimiter = t["cot_delimiter"].as_str().unwrap().to_string();
    c.prompt_string = t["prompt_string"].as_str().unwrap().to_string();
    c.example_delimiter = t["example_delimiter"].as_str().unwrap().to_string();
    if t["early_stopping_criteria"].is_array() {
        c.early_stopping_criteria = strs(&t["early_stopping_criteria"]);
    }
    c
}

fn load_task(t: &Value, tok: Arc<dyn Tokenizer>) -> Option<IclTask> {
    let c = config_of(t);
    let data = shared("data/eval", "conformance task files")?;
    let path = c.resolve_path(&data);
    Some(IclTask::load(c, &path, tok, 2048).unwrap())
}

/// Replays the reference model: per-token log-probabilities and greedy flags for the exact input ids LLM-Foundry
/// built, generated ids for the exact generation contexts. An input we build differently is not found (error).
#[derive(Default)]
struct ReplayModel {
    loglik: HashMap<(Vec<u32>, Vec<u32>), LogLik>,
    generated: HashMap<Vec<u32>, Vec<u32>>,
}

impl ReplayModel {
    fn add_choice(&mut self, context: Vec<u32>, cont: Vec<u32>, m: &Value) {
        let ce: Vec<f32> = m["token_ce"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| -(x.as_f64().unwrap() as f32))
            .collect();
        let greedy = ids(&m["argmax"]) == ids(&m["targets"]);
        self.loglik.insert(
            (context, cont),
            LogLik {
                token_logprobs: ce,
                greedy,
            },
        );
    }
}

impl LanguageModel for ReplayModel {
    fn loglikelihood(&self, requests: &[LoglikRequest]) -> Result<Vec<LogLik>, dclm_eval::EvalError> {
        requests
            .iter()
            .map(|r| {
                self.loglik
                    .get(&(r.context.clone(), r.continuation.clone()))
                    .cloned()
                    .ok_or_else(|| dclm_eval::EvalError::Model("input ids differ from the reference".into()))
            })
            .collect()
    }
    fn generate(
        &self,
        requests: &[GenRequest],
        stop: &dyn StopCriterion,
    ) -> Result<Vec<Vec<u32>>, dclm_eval::EvalError> {
        requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let full = self
                    .generated
                    .get(&r.context)
                    .ok_or_else(|| dclm_eval::EvalError::Model("generation context differs".into()))?;
                let mut out = Vec::new();
                for &t in full.iter().take(r.max_new_tokens) {
                    if Some(t) == r.eos_token_id {
                        break;
                    }
                    out.push(t);
                    if stop.should_stop(i, &out) {
                        break;
                    }
                }
                Ok(out)
            })
            .collect()
    }
}

#[test]
fn prompts_token_ids_and_scores() {
    let Some(summary) = summary() else { return };
    let Some(tok) = tokenizer() else { return };
    let mut report = Vec::new();
    for t in summary["tasks"].as_array().unwrap() {
        let label = t["label"].as_str().unwrap();
        let Some(task) = load_task(t, tok.clone()) else { return };
        let records = load_records(label);
        let mut model = ReplayModel::default();
        let (mut prompts_ok, mut ids_ok) = (0, 0);
        for r in &records {
            let idx = r["idx"].as_u64().unwrap() as usize;
            let p = task.prepare(idx).unwrap();
            let fewshot: Vec<usize> = ids(&r["fewshot_idxs"]).into_iter().map(|x| x as usize).collect();
            assert_eq!(p.fewshot_idxs, fewshot, "{label} {idx} fewshot");
            let mut prompt_same = p.preamble == r["preamble"].as_str().unwrap();
            let mut ids_same = p.preamble_ids == ids(&r["preamble_ids"]);
            match t["icl_task_type"].as_str().unwrap() {
                "schema" => {
                    prompt_same &= p.contexts == strs(&r["contexts"]);
                    let Request::Loglik(reqs) = &p.request else { panic!() };
                    for (k, o) in r["options"].as_array().unwrap().iter().enumerate() {
                        ids_same &= p.context_ids[k] == ids(&o["context_ids"]);
                        ids_same &= p.trim_left[k] == o["trim_left"].as_u64().unwrap() as usize;
                        ids_same &= reqs[k].continuation == ids(&o["continuation_ids"]);
                        prompt_same &= p.continuations[0] == o["continuation"].as_str().unwrap();
                        let full: Vec<u32> = p.preamble_ids.iter().chain(&ids(&o["context_ids"])).copied().collect();
                        let cut = o["trim_left"].as_u64().unwrap() as usize;
                        model.add_choice(
                            full[cut..].to_vec(),
                            ids(&o["continuation_ids"]),
                            &r["metric"]["per_choice"][k],
                        );
                    }
                }
                kind => {
                    prompt_same &= p.contexts[0] == r["context"].as_str().unwrap();
                    ids_same &= p.context_ids[0] == ids(&r["context_ids"]);
                    let full: Vec<u32> = ids(&r["preamble_ids"])
                        .into_iter()
                        .chain(ids(&r["context_ids"]))
                        .collect();
                    match kind {
                        "multiple_choice" => {
                            let Request::Loglik(reqs) = &p.request else { panic!() };
                            for (k, ch) in r["choices"].as_array().unwrap().iter().enumerate() {
                                prompt_same &= p.continuations[k] == ch["text"].as_str().unwrap();
                                ids_same &= reqs[k].continuation == ids(&ch["ids"]);
                                let cut = ch["trim_left"].as_u64().unwrap() as usize;
                                ids_same &= p.trim_left[k] == cut;
                                model.add_choice(full[cut..].to_vec(), ids(&ch["ids"]), &r["metric"]["per_choice"][k]);
                            }
                        }
                        "language_modeling" => {
                            prompt_same &= p.continuations[0] == r["continuation"].as_str().unwrap();
                            let Request::Loglik(reqs) = &p.request else { panic!() };
                            ids_same &= reqs[0].continuation == ids(&r["continuation_ids"]);
                            let cut = r["trim_left"].as_u64().unwrap() as usize;
                            ids_same &= p.trim_left[0] == cut;
                            model.add_choice(full[cut..].to_vec(), ids(&r["continuation_ids"]), &r["metric"]);
                        }
                        _ => {
                            let Request::Generate(g) = &p.request else { panic!() };
                            let cut = r["trim_left"].as_u64().unwrap() as usize;
                            ids_same &= p.trim_left[0] == cut;
                            ids_same &= g.max_new_tokens == t["max_new_tokens"].as_u64().unwrap() as usize;
                            prompt_same &= p.aliases == strs(&r["aliases"]);
                            model
                                .generated
                                .insert(full[cut..].to_vec(), ids(&r["metric"]["generated_ids_batched"]));
                        }
                    }
                }
            }
            if !prompt_same || !ids_same {
                eprintln!("{label} idx {idx}: prompt same {prompt_same}, ids same {ids_same}");
            }
            prompts_ok += usize::from(prompt_same);
            ids_ok += usize::from(ids_same);
        }
        // Scores: run the task over the same examples with the replayed model outputs.
        let opts = RunOptions {
            batch_size: 4,
            limit: Some(records.len()),
            progress: false,
            keep_examples: true,
        };
        let res = dclm_eval::run_task(&model, &task, &opts).unwrap();
        let (mut decisions_ok, mut max_dev) = (0usize, 0f64);
        for (r, s) in records.iter().zip(&res.examples) {
            let m = &r["metric"];
            let want_correct = m["result"].as_u64().unwrap() == 1;
            let mut same = s.correct == want_correct;
            match &s.detail {
                ScoreDetail::Choices(c) => {
                    same &= c.selected == m["selected_choice_idx"].as_u64().unwrap() as usize;
                    for (got, want) in c.mean_ce.iter().zip(m["per_choice_mean_ce"].as_array().unwrap()) {
                        max_dev = max_dev.max((f64::from(*got) - want.as_f64().unwrap()).abs());
                    }
                }
                ScoreDetail::Greedy { mean_ce } => {
                    max_dev = max_dev.max((f64::from(*mean_ce) - m["mean_ce"].as_f64().unwrap()).abs());
                }
                ScoreDetail::Generated { cleaned, .. } => {
                    same &= cleaned == m["cleaned_output"].as_str().unwrap();
                }
                ScoreDetail::Other(_) => same = false,
            }
            decisions_ok += usize::from(same);
        }
        let want_acc = t["accuracy_first_n"].as_f64().unwrap();
        report.push(format!(
            "{label}: prompts {prompts_ok}/{n}, ids {ids_ok}/{n}, decisions {decisions_ok}/{n}, max|Δ mean_ce| {max_dev:.2e}, \
             accuracy {} (reference {want_acc})",
            res.accuracy,
            n = records.len()
        ));
        assert_eq!(prompts_ok, records.len(), "{label} prompts");
        assert_eq!(ids_ok, records.len(), "{label} ids");
        assert_eq!(decisions_ok, records.len(), "{label} decisions");
        assert!(max_dev < 1e-4, "{label} mean_ce");
        assert_eq!(res.accuracy, want_acc, "{label} accuracy");
    }
    for line in report {
        eprintln!("{line}");
    }
}

#[test]
fn aggregation_worked_example() {
    let Some(p) = shared(
        "conformance/eval/aggregation_worked_example.json",
        "aggregation_worked_example",
    ) else {
        return;
    };
    let Some(dir) = shared("data/dclm/eval", "aggregation_worked_example") else {
        return;
    };
    let ex: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let results: BTreeMap<String, f64> = ex["per_task"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["task"].as_str().unwrap().to_string(), t["accuracy"].as_f64().unwrap()))
        .collect();
    let groups = AggregationGroups::from_json(dir.join("additional_aggregation.json")).unwrap();
    for (ver, csv) in [("v1", "eval_meta_data_v1.csv"), ("v2", "eval_meta_data.csv")] {
        let meta = EvalMeta::from_csv(dir.join(csv)).unwrap();
        let agg = dclm_eval::aggregate(&results, &meta, &groups, ver);
        let want = &ex[format!("recomputed_{ver}")];
        let close = |got: f64, want: &Value, what: &str| {
            let w = want.as_f64().unwrap();
            assert!((got - w).abs() <= 1e-15, "{ver} {what}: got {got:?} want {w:?}");
        };
        close(agg.core.value().unwrap(), &want["Core"], "Core");
        close(agg.extended.value().unwrap(), &want["Extended"], "Extended");
        assert_eq!(
            agg.core.value().unwrap(),
            ex["stored_values_in_source"][format!("Core_{ver}")].as_f64().unwrap()
        );
        assert_eq!(
            agg.extended.value().unwrap(),
            ex["stored_values_in_source"][format!("Extended_{ver}")]
                .as_f64()
                .unwrap()
        );
        for (cat, v) in want["aggregated_task_categories_centered"].as_object().unwrap() {
            close(agg.aggregated_task_categories_centered[cat], v, cat);
        }
        close(
            agg.groups["rw_small"].1.unwrap(),
            &want["rw_small_centered"],
            "rw_small",
        );
        close(
            agg.groups["95%_CI_above"].1.unwrap(),
            &want["95%_CI_above_centered"],
            "95%",
        );
        close(
            agg.groups["99%_CI_above"].1.unwrap(),
            &want["99%_CI_above_centered"],
            "99%",
        );
        close(
            agg.aggregated_results.unwrap(),
            &want["aggregated_results_uncentered_mean"],
            "uncentered",
        );
        for t in ex["per_task"].as_array().unwrap() {
            let name = t["task"].as_str().unwrap();
            let got = agg.per_task.iter().find(|x| x.task == name).unwrap();
            close(got.centered.unwrap(), &t[format!("centered_{ver}")], name);
        }
        // CORE with one task missing is N/A and names it; the side aggregates still exist.
        let mut partial = results.clone();
        partial.remove("copa");
        let agg = dclm_eval::aggregate(&partial, &meta, &groups, ver);
        assert_eq!(
            agg.core,
            dclm_eval::MaybeScore::Missing("N/A due to missing tasks: ['copa']".into())
        );
        assert!(agg.extended.value().is_none());
        assert!(agg.groups["rw_small"].1.is_some());
    }
    let _ = Path::new("");
}

/// Every task of DCLM's `heavy.yaml` whose file is present loads, and its first and last examples build
/// prompts within the window (checks the real task files' fields against the four task types).
#[test]
fn all_dclm_tasks_load_and_build_prompts() {
    let Some(yaml) = shared("data/dclm/eval/heavy.yaml", "all_dclm_tasks_load") else {
        return;
    };
    let Some(data) = shared("data/eval", "all_dclm_tasks_load") else {
        return;
    };
    let Some(tok) = tokenizer() else { return };
    let tasks = dclm_eval::load_task_yaml(yaml).unwrap();
    assert_eq!(tasks.len(), 53);
    let (mut loaded, mut absent) = (0, Vec::new());
    for c in tasks {
        let path = c.resolve_path(&data);
        if !path.is_file() {
            absent.push(c.label.clone());
            continue;
        }
        let label = c.label.clone();
        let task = IclTask::load(c, &path, tok.clone(), 2048).unwrap_or_else(|e| panic!("{label}: {e}"));
        let n = dclm_eval::Task::num_examples(&task);
        for i in [0, n - 1] {
            let p = task.prepare(i).unwrap_or_else(|e| panic!("{label} {i}: {e}"));
            match &p.request {
                Request::Loglik(rs) => assert!(rs.iter().all(|r| r.context.len() + r.continuation.len() <= 2048)),
                Request::Generate(g) => assert!(g.context.len() + g.max_new_tokens <= 2048),
            }
        }
        loaded += 1;
    }
    eprintln!("DCLM heavy.yaml: {loaded} tasks load and build prompts; absent files: {absent:?}");
}
