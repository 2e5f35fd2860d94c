//! Throughput of tokenization (HF `tokenizer.json` and tiktoken backends) and of tokenize-shuffle end to end.
//!
//! `cargo bench -p dclm-train --bench tokshuf` runs the criterion benches on the real Common Crawl documents of
//! `shared/data/quality/`. For the side-by-side figure against `shared/bench/tokenize_hf.py`, run the bench
//! binary with `TOKSHUF_INPUT=/tmp/docs.jsonl` (the bench README's input): it then prints, on one line each,
//! the single-thread tokens/s of both backends over the documents held in memory (what `tokenize_hf.py`
//! measures; skipped with `TOKSHUF_SKIP_ENCODE=1`) and a full tokenize-shuffle run with `TOKSHUF_THREADS`
//! threads (default 1), and exits; wrap it in `/usr/bin/time -v` for the peak memory.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use dclm_train::data::{tokenize_shuffle_with, HfTokenizer, TiktokenBpe, Tokenizer, TokenizerSpec, TokshufConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn shared(rel: &str) -> Option<PathBuf> {
    dclm_core::testdata::shared(rel, "tokshuf bench")
}

fn read_texts(path: &Path) -> Vec<String> {
    let reader = dclm_core::io::ShardReader::open(path).expect("open input");
    reader.filter_map(|r| r.ok()).map(|(_, d)| d.text).collect()
}

fn single_thread_rate(enc: &dyn Tokenizer, texts: &[String]) -> (u64, f64) {
    let t0 = Instant::now();
    let mut n = 0u64;
    let mut buf = Vec::new();
    for t in texts {
        buf.clear();
        if enc.encode_into(t, &mut buf).is_ok() {
            n += buf.len() as u64;
        }
    }
    (n, t0.elapsed().as_secs_f64())
}

/// `TOKSHUF_INPUT` mode: the figures for the bench README, one line each.
fn side_by_side(input: PathBuf) {
    let hf_path = std::env::var_os("TOKSHUF_TOKENIZER")
        .map(PathBuf::from)
        .or_else(|| shared("data/tokenizers/gpt-neox-20b.tokenizer.json"))
        .expect("tokenizer.json");
    let threads: usize = std::env::var("TOKSHUF_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let hf = HfTokenizer::from_file(&hf_path).expect("load tokenizer");
    let texts = if std::env::var_os("TOKSHUF_SKIP_ENCODE").is_some() {
        Vec::new()
    } else {
        read_texts(&input)
    };
    let (n, s) = single_thread_rate(&hf, &texts);
    let tiktoken = shared("data/tokenizers/gpt-neox-20b.tiktoken").filter(|_| !texts.is_empty());
    if !texts.is_empty() {
        println!(
            "hf-json   1 thread: docs={} tokens={n} seconds={s:.3} tokens_per_s={:.0}",
            texts.len(),
            n as f64 / s
        );
    }
    if let Some(tt) = tiktoken {
        let tt = TiktokenBpe::from_file(tt).expect("load ranks");
        let (n, s) = single_thread_rate(&tt, &texts);
        println!(
            "tiktoken  1 thread: docs={} tokens={n} seconds={s:.3} tokens_per_s={:.0}",
            texts.len(),
            n as f64 / s
        );
    }
    drop(texts);
    let out = tempfile::tempdir().expect("tempdir");
    let mut cfg = TokshufConfig::new(TokenizerSpec::HfJson(hf_path), out.path().join("tokens"));
    cfg.threads = threads;
    let t0 = Instant::now();
    let sum = tokenize_shuffle_with(&cfg, &hf, std::slice::from_ref(&input)).expect("tokshuf");
    let s = t0.elapsed().as_secs_f64();
    println!(
        "tokshuf {threads} thread(s): docs={} doc_tokens={} contexts={} shards={} seconds={s:.3} tokens_per_s={:.0} \
         per_thread={:.0}",
        sum.docs,
        sum.doc_tokens,
        sum.contexts,
        sum.shards,
        sum.doc_tokens as f64 / s,
        sum.doc_tokens as f64 / s / threads as f64
    );
}

fn bench_tokenize(c: &mut Criterion) {
    let (Some(docs), Some(hf), Some(tt)) = (
        shared("data/quality/dclm-agreement-data.jsonl"),
        shared("data/tokenizers/gpt-neox-20b.tokenizer.json"),
        shared("data/tokenizers/gpt-neox-20b.tiktoken"),
    ) else {
        return;
    };
    let texts: Vec<String> = read_texts(&docs).into_iter().take(200).collect();
    let hf = HfTokenizer::from_file(hf).expect("tokenizer");
    let tt = TiktokenBpe::from_file(tt).expect("ranks");
    let tokens: u64 = texts
        .iter()
        .map(|t| hf.encode(t).map(|v| v.len() as u64).unwrap_or(0))
        .sum();
    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Elements(tokens));
    g.sample_size(10);
    for (name, enc) in [("hf-json", &hf as &dyn Tokenizer), ("tiktoken", &tt as &dyn Tokenizer)] {
        g.bench_with_input(BenchmarkId::new(name, texts.len()), &texts, |b, texts| {
            b.iter(|| single_thread_rate(enc, texts).0)
        });
    }
    g.finish();
}

fn bench_tokshuf(c: &mut Criterion) {
    let (Some(docs), Some(hf)) = (
        shared("data/quality/dclm-agreement-data.jsonl"),
        shared("data/tokenizers/gpt-neox-20b.tokenizer.json"),
    ) else {
        return;
    };
    let enc = HfTokenizer::from_file(&hf).expect("tokenizer");
    let tokens: u64 = read_texts(&docs)
        .iter()
        .map(|t| enc.encode(t).map(|v| v.len() as u64 + 1).unwrap_or(0))
        .sum();
    let mut g = c.benchmark_group("tokshuf");
    g.throughput(Throughput::Elements(tokens));
    g.sample_size(10);
    for threads in [1usize, 2] {
        g.bench_function(BenchmarkId::new("end_to_end_threads", threads), |b| {
            b.iter(|| {
                let out = tempfile::tempdir().expect("tempdir");
                let mut cfg = TokshufConfig::new(TokenizerSpec::HfJson(hf.clone()), out.path().join("t"));
                cfg.threads = threads;
                cfg.num_local_cells = 16;
                tokenize_shuffle_with(&cfg, &enc, std::slice::from_ref(&docs))
                    .expect("tokshuf")
                    .contexts
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_tokenize, bench_tokshuf);

fn main() {
    if let Some(input) = std::env::var_os("TOKSHUF_INPUT") {
        side_by_side(PathBuf::from(input));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
