//! Criterion benchmarks: DCLM text preparation and `predict(k=2)` of the conformance bigram model and of
//! `lid.176.ftz` over real Common Crawl documents from `shared/data/quality/` (skipped when absent).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dclm_core::testdata::shared;
use dclm_fasttext::{prepare_text, FastText, PredictBuf};

fn docs() -> Option<Vec<String>> {
    let p = shared("data/quality/dclm-majority-data.jsonl", "bench predict")?;
    let (docs, _) = dclm_core::io::read_all(p).ok()?;
    Some(docs.into_iter().map(|d| d.text).collect())
}

fn bench(c: &mut Criterion) {
    let Some(raw) = docs() else { return };
    let bytes: usize = raw.iter().map(String::len).sum();
    let mut g = c.benchmark_group("fasttext");
    g.throughput(Throughput::Elements(raw.len() as u64));
    g.bench_function("prepare_text", |b| {
        b.iter(|| raw.iter().map(|t| prepare_text(t).len()).sum::<usize>())
    });
    let prepared: Vec<String> = raw.iter().map(|t| prepare_text(t)).collect();
    for (rel, name) in [
        ("conformance/fasttext/bigram.bin", "predict_k2_bigram_bin"),
        ("conformance/fasttext/bigram.ftz", "predict_k2_bigram_ftz"),
        ("data/lid/lid.176.ftz", "predict_k2_lid176_ftz"),
    ] {
        let Some(path) = shared(rel, name) else { continue };
        let Ok(model) = FastText::load(&path) else { continue };
        let mut buf = PredictBuf::default();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut s = 0.0f32;
                for t in &prepared {
                    s += model
                        .predict_with(t.as_bytes(), 2, 0.0, &mut buf)
                        .map(|p| p.1)
                        .sum::<f32>();
                }
                s
            })
        });
    }
    eprintln!("({} documents, {:.1} MB per iteration)", raw.len(), bytes as f64 / 1e6);
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
