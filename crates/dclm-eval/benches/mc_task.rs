//! Throughput of a multiple-choice task end to end (prompt construction with 10 shots, tokenization,
//! batching, scoring) with the bigram test-double model over a GPT-NeoX-sized vocabulary, at batch 1 and 16.
//! The model's own cost dominates with a real network; this measures the harness around it.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dclm_eval::testing::{ByteTokenizer, HashLm};
use dclm_eval::{run_task, IclTask, IclTaskType, RunOptions, TaskConfig};
use std::sync::Arc;

fn bench(c: &mut Criterion) {
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
    let task = IclTask::load(config, &path, Arc::new(ByteTokenizer), 2048).unwrap();
    let model = HashLm::new(50_432);
    let n = 32;
    let mut group = c.benchmark_group("mc_task");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    for batch in [1usize, 16] {
        let opts = RunOptions {
            batch_size: batch,
            limit: Some(n),
            ..RunOptions::default()
        };
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| run_task(&model, &task, &opts).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
