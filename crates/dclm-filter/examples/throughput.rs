//! Single-thread throughput of the DCLM-Baseline heuristic chain on a JSONL file (default
//! `/tmp/docs.jsonl`, see `../shared/bench/README.md`), with and without language ID, plus seconds per step.
//!
//! `cargo run --release -p dclm-filter --example throughput -- [DOCS.jsonl] [SHARED_DIR]`
//!
//! Documents without `metadata["WARC-Target-URI"]` (the bench file has none) get
//! `http://example.com/doc-N`, as the conformance set does, so that the URL steps pass them on. The
//! curated-domain step (2) is skipped: its banlist is not public. "Without LID" also skips steps 8 and 9.

use dclm_core::{Document, Stats};
use dclm_filter::{BuildContext, LoadOptions, PipelineConfig, Registry};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let input = args.first().map_or("/tmp/docs.jsonl", String::as_str);
    let shared = std::path::PathBuf::from(args.get(1).map_or("../shared", String::as_str));
    let mut docs = Vec::new();
    for (i, line) in std::fs::read_to_string(input)?.lines().enumerate() {
        let mut d = Document::from_json_line(line).map_err(|e| e.1)?;
        if d.metadata().and_then(|m| m.get("WARC-Target-URI")).is_none() {
            d.metadata_mut()
                .insert("WARC-Target-URI".into(), format!("http://example.com/doc-{i}").into());
        }
        docs.push(d);
    }
    let cfg = PipelineConfig::load(shared.join("data/dclm/configs/dclm_baseline_refinedweb.yaml"))?;
    let ctx = BuildContext::new(shared.join("data/dclm-assets"));
    for (name, skip) in [
        ("full chain with LID", vec![2]),
        ("without LID (steps 8, 9 skipped)", vec![2, 8, 9]),
    ] {
        let opts = LoadOptions {
            skip_steps: skip,
            ..Default::default()
        };
        let p = cfg.build(&Registry::dclm(), &ctx, &opts)?.pipeline;
        // Warm-up pass (page cache, allocator), then the timed pass.
        let mut stats = Stats::new("filter");
        for d in docs.iter().take(500) {
            p.process(d.clone(), &mut stats);
        }
        let mut stats = Stats::new("filter");
        let batch: Vec<Document> = docs.clone();
        let cpu0 = thread_cpu_seconds();
        let t0 = Instant::now();
        let mut kept = 0usize;
        for d in batch {
            kept += p.process(d, &mut stats).is_some() as usize;
        }
        let secs = t0.elapsed().as_secs_f64();
        let cpu = thread_cpu_seconds().zip(cpu0).map(|(a, b)| a - b);
        println!(
            "{name}: docs={} kept={kept} wall_seconds={secs:.3} docs_per_s_per_core={:.0} (wall){}",
            docs.len(),
            docs.len() as f64 / secs,
            cpu.map(|c| format!(", {:.0} per CPU-second (cpu_seconds={c:.3})", docs.len() as f64 / c))
                .unwrap_or_default()
        );
        for s in &stats.steps {
            println!(
                "  {:36} in {:5} out {:5} {:8.4} s  {:6.2} us/doc",
                s.name,
                s.docs_in,
                s.docs_out,
                s.seconds,
                1e6 * s.seconds / s.docs_in.max(1) as f64
            );
        }
    }
    Ok(())
}

/// CPU time of this thread (Linux `schedstat`), so that figures stay meaningful on a loaded machine.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}
