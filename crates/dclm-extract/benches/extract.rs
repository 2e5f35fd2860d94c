//! Criterion benchmarks: HTML parsing, HTML → text (main content and plain), and WARC reading +
//! extraction, on the real pages of `../shared/data/warc` (synthetic pages when it is absent).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dclm_extract::html::{extract_plain_text, parse, ExtractOptions};
use dclm_extract::warc::WarcReader;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

fn warc_files() -> Vec<PathBuf> {
    let Some(dir) = dclm_core::testdata::shared("data/warc", "extract bench") else {
        return vec![];
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.to_string_lossy().ends_with(".warc.gz") && !p.to_string_lossy().contains(".wet"));
    v.sort();
    v
}

fn pages(files: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        let Ok(r) = WarcReader::open(f, Arc::new(AtomicU64::new(0))) else {
            continue;
        };
        for rec in r.with_types(&["response"]).flatten() {
            if let Ok(s) = std::str::from_utf8(rec.payload()) {
                out.push(s.to_string());
            }
        }
    }
    if out.is_empty() {
        let para = "<p>Some <b>text</b> with a <a href='/x'>link</a> and &amp; entities.</p>";
        out.push(format!(
            "<html><head><title>t</title></head><body><nav><ul><li>a</li></ul></nav>{}</body></html>",
            para.repeat(300)
        ));
    }
    out
}

fn bench(c: &mut Criterion) {
    let files = warc_files();
    let pages = pages(&files);
    let bytes: u64 = pages.iter().map(|p| p.len() as u64).sum();
    let mut g = c.benchmark_group("html");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(parse(p.as_bytes()));
            }
        })
    });
    let main = ExtractOptions::default();
    let plain = ExtractOptions {
        main_content: false,
        ..ExtractOptions::default()
    };
    g.bench_function("extract_main_content", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(extract_plain_text(p, &main));
            }
        })
    });
    g.bench_function("extract_plain", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(extract_plain_text(p, &plain));
            }
        })
    });
    g.finish();

    if !files.is_empty() {
        let raw: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .sum();
        let mut g = c.benchmark_group("warc");
        g.throughput(Throughput::Bytes(raw));
        g.bench_function("read_and_extract", |b| {
            b.iter(|| {
                for f in &files {
                    let r = WarcReader::open(f, Arc::new(AtomicU64::new(0))).expect("open");
                    for rec in r.with_types(&["response"]).flatten() {
                        if let Ok(s) = std::str::from_utf8(rec.payload()) {
                            black_box(extract_plain_text(s, &main));
                        }
                    }
                }
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
