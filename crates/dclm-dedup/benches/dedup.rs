//! Criterion benches of the BFF port's steps (prepare = tokenize + hash, decide = filter, whole
//! document) and of MinHash signatures, on the conformance corpus when `../shared` is present
//! (else on generated text).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dclm_core::Document;
use dclm_dedup::minhash::{MinHashConfig, MinHashLsh};
use dclm_dedup::{bff_for_run, BffConfig, GlobalDeduplicator};

fn corpus() -> Vec<Document> {
    if let Some(dir) = dclm_core::testdata::shared("conformance/dedup/input", "bench dedup") {
        let mut docs = Vec::new();
        for i in 0..4 {
            let (d, _) = dclm_core::io::read_all(dir.join(format!("part-000{i}.jsonl"))).expect("readable shard");
            docs.extend(d);
        }
        return docs;
    }
    (0..2000)
        .map(|i| {
            let line: Vec<String> = (0..60).map(|j| format!("w{}", (i * 7 + j * 13) % 5000)).collect();
            Document::new(format!("{}\n{}", line.join(" "), line[..30].join(" ")))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let docs = corpus();
    let bytes: u64 = docs.iter().map(|d| d.text.len() as u64).sum();
    let mut g = c.benchmark_group("bff");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    let bff = bff_for_run(BffConfig::default(), 2_700_000, 0.01).expect("plan");
    g.bench_function("prepare", |b| {
        b.iter(|| docs.iter().map(|d| bff.prepare(&d.text).ngram_count()).sum::<usize>())
    });
    let prepared: Vec<_> = docs.iter().map(|d| bff.prepare(&d.text)).collect();
    g.bench_function("decide", |b| {
        b.iter(|| {
            let bff = bff_for_run(BffConfig::default(), 2_700_000, 0.01).expect("plan");
            prepared.iter().map(|p| bff.decide(p).contained_ngrams).sum::<u64>()
        })
    });
    g.bench_function("process", |b| {
        b.iter(|| {
            let bff = bff_for_run(BffConfig::default(), 2_700_000, 0.01).expect("plan");
            docs.iter().cloned().filter_map(|d| bff.process(d).0).count()
        })
    });
    g.finish();
    let mut g = c.benchmark_group("minhash");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    let m = MinHashLsh::new(MinHashConfig::default()).expect("valid config");
    g.bench_function("signature_93x15", |b| {
        b.iter(|| docs.iter().filter_map(|d| m.signature(d)).count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
