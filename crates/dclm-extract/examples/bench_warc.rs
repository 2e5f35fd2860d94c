//! Side-by-side throughput tool (the Rust twin of `shared/bench/extract_resiliparse.py`).
//!
//! `bench_warc FILE.warc.gz...` reads every `response` record on one thread, decodes it as strict
//! UTF-8 and runs the DCLM extractor, printing the same figures as the Python script.
//! `bench_warc --threads N --out DIR FILE...` instead runs the full stage ([`dclm_extract::run`]:
//! reading, extraction, JSONL.gz writing, stats) on N threads.

use dclm_extract::html::{extract_plain_text, ExtractOptions};
use dclm_extract::warc::WarcReader;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let mut threads = 0usize;
    let mut out: Option<PathBuf> = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--out" => out = args.next().map(PathBuf::from),
            _ => files.push(PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        eprintln!("usage: bench_warc [--threads N --out DIR] FILE.warc.gz...");
        std::process::exit(2);
    }
    let t0 = Instant::now();
    if let Some(out) = out {
        let mut cfg = dclm_extract::ExtractConfig::new(files, out);
        cfg.threads = threads;
        cfg.progress = false;
        match dclm_extract::run(&cfg) {
            Ok(s) => {
                let dt = t0.elapsed().as_secs_f64();
                println!(
                    "threads={threads} records={} written={} seconds={dt:.2} docs_per_s={:.0}",
                    s.stats.docs_in,
                    s.stats.docs_out,
                    s.stats.docs_out as f64 / dt
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let opts = ExtractOptions::default();
    let (mut n, mut ok, mut bad, mut nbytes, mut text_bytes) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for f in &files {
        let reader = match WarcReader::open(f, Arc::new(AtomicU64::new(0))) {
            Ok(r) => r.with_types(&["response"]),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        for rec in reader {
            let Ok(rec) = rec else { continue };
            n += 1;
            let body = rec.payload();
            nbytes += body.len() as u64;
            match std::str::from_utf8(body) {
                Ok(html) => {
                    text_bytes += extract_plain_text(html, &opts).len() as u64;
                    ok += 1;
                }
                Err(_) => bad += 1,
            }
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "records={n} extracted={ok} undecodable={bad} body_MB={:.1} text_MB={:.1} seconds={dt:.2} docs_per_s={:.0} MB_per_s={:.1}",
        nbytes as f64 / 1e6,
        text_bytes as f64 / 1e6,
        ok as f64 / dt,
        nbytes as f64 / 1e6 / dt
    );
}
