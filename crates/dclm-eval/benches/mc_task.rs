//! Throughput of a multiple-choice task end to end (prompt construction, few-shot sampling, tokenization,
//! batching, model, scoring) at batch 1 and batch 16:
//! * `tiny/*`: ARC-Easy 10-shot (DCLM's settings) with the GPT-NeoX tokenizer and the tiny open_lm eval model
//!   of `shared/conformance/eval/` run by the plain-Rust reference forward (skipped if `shared/` is absent);
//! * `harness/*`: a synthetic 10-shot MC task with the byte tokenizer and the bigram test double over a
//!   50,432-token vocabulary — the harness' own overhead.

#[path = "../tests/common/open_lm.rs"]
#[allow(dead_code)]
mod open_lm;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dclm_eval::testing::{gpt2_bytes, HashLm};
use dclm_eval::{run_task, HfTokenizer, IclTask, IclTaskType, LanguageModel, RunOptions, Task, TaskConfig};
use std::sync::Arc;

fn run_group(c: &mut Criterion, name: &str, model: &dyn LanguageModel, task: &dyn Task, n: usize) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    for batch in [1usize, 16] {
        let opts = RunOptions {
            batch_size: batch,
            limit: Some(n),
            ..RunOptions::default()
        };
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| run_task(model, task, &opts).unwrap())
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    if let (Some(conf), Some(data), Some(tok)) = (
        dclm_core::testdata::shared("conformance/eval/tiny_eval_model.bf16.safetensors", "bench tiny"),
        dclm_core::testdata::shared("data/eval", "bench tiny"),
        dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", "bench tiny"),
    ) {
        let model = open_lm::TinyOpenLm::load(&conf, 4);
        let config = TaskConfig::new(
            "arc_easy",
            "local_data/world_knowledge/arc_easy.jsonl",
            IclTaskType::MultipleChoice,
        )
        .with_fewshot(10)
        .with_continuation_delimiter("\nAnswer: ");
        let path = config.resolve_path(&data);
        let task = IclTask::load(config, &path, Arc::new(HfTokenizer::from_file(tok).unwrap()), 2048).unwrap();
        run_group(c, "tiny_arc_easy_10shot", &model, &task, 32);
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mc.jsonl");
    let mut text = String::new();
    for i in 0..200 {
        text += &format!(
            "{{\"query\": \"Question {i}: which of these is the right answer to item {i}?\", \"choices\": \
             [\"alpha {i}\", \"beta {i}\", \"gamma {i}\", \"delta {i}\"], \"gold\": {}}}\n",
            i % 4
        );
    }
    std::fs::write(&path, text).unwrap();
    let config = TaskConfig::new("mc", "mc.jsonl", IclTaskType::MultipleChoice)
        .with_fewshot(10)
        .with_continuation_delimiter("\nAnswer: ");
    let task = IclTask::load(config, &path, Arc::new(gpt2_bytes()), 2048).unwrap();
    run_group(c, "harness_synthetic_10shot", &HashLm::new(50_432), &task, 32);
}

criterion_group!(benches, bench);
criterion_main!(benches);
