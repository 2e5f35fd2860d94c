//! Criterion benchmark: shard read and write throughput (MB/s of uncompressed JSONL) for each compression, and
//! for Parquet with `--features parquet`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dclm_core::io::{ShardReader, ShardWriter};
use dclm_core::Document;

fn corpus() -> Vec<Document> {
    // `DCLM_BENCH_CORPUS=FILE` (any JSONL shard, e.g. DCLM-Pool pages with their WARC metadata), else real DCLM
    // documents when ../shared is present, else synthetic text of similar shape.
    if let Some(p) = std::env::var_os("DCLM_BENCH_CORPUS") {
        let (docs, _) = dclm_core::io::read_all(&p).expect("DCLM_BENCH_CORPUS is a readable JSONL shard");
        return docs;
    }
    if let Some(p) = dclm_core::testdata::shared("data/quality/dclm-majority-data.jsonl", "shard_io bench") {
        let (docs, _) = dclm_core::io::read_all(p).expect("readable");
        if !docs.is_empty() {
            return docs;
        }
    }
    (0..500)
        .map(|i| {
            let text = format!("Paragraph {i}. ").repeat(200);
            Document::with_url(text, format!("https://example.com/{i}"))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let docs = corpus();
    let bytes: u64 = docs.iter().map(|d| d.to_json_line().len() as u64 + 1).sum();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("shard_io");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    let mut exts = vec!["jsonl", "jsonl.gz", "jsonl.zst"];
    if cfg!(feature = "parquet") {
        exts.push("parquet");
    }
    for ext in exts {
        let path = dir.path().join(format!("bench.{ext}"));
        g.bench_function(format!("write/{ext}"), |b| {
            b.iter(|| {
                let mut w = ShardWriter::create(&path).expect("create");
                for d in &docs {
                    w.write(d).expect("write");
                }
                w.finish().expect("finish")
            })
        });
        g.bench_function(format!("read/{ext}"), |b| {
            b.iter(|| ShardReader::open(&path).expect("open").filter(|r| r.is_ok()).count())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
