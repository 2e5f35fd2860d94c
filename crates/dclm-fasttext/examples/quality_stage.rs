//! Runs DCLM's quality stage over JSONL shards (what `cargo xtask` wires): score every document with a
//! classifier, then keep by a fixed threshold or the top fraction of the pool.
//!
//! `cargo run --release -p dclm-fasttext --example quality_stage -- MODEL OUT_DIR (fixed=T | top=F[,sample=N] | enrich) SHARD...`

use std::path::PathBuf;

use dclm_core::ExecutorConfig;
use dclm_fasttext::quality::{run, QualityConfig, ThresholdMode, DCLM_BASELINE_SCORE_KEY};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: quality_stage MODEL OUT_DIR (fixed=T | top=F[,sample=N] | enrich) SHARD...");
        std::process::exit(2);
    }
    let mode = if args[2] == "enrich" {
        ThresholdMode::EnrichOnly
    } else if let Some(t) = args[2].strip_prefix("fixed=") {
        ThresholdMode::Fixed {
            threshold: t.parse()?,
            lower_better: false,
        }
    } else if let Some(spec) = args[2].strip_prefix("top=") {
        let (f, sample) = match spec.split_once(",sample=") {
            Some((f, n)) => (f, Some(n.parse()?)),
            None => (spec, None),
        };
        ThresholdMode::TopFraction {
            keep_fraction: f.parse()?,
            sample,
        }
    } else {
        return Err(format!("bad mode {}", args[2]).into());
    };
    let cfg = QualityConfig {
        model: PathBuf::from(&args[0]),
        key: DCLM_BASELINE_SCORE_KEY.to_string(),
        overwrite: true,
        mode,
    };
    let inputs: Vec<PathBuf> = args[3..].iter().map(PathBuf::from).collect();
    let t0 = std::time::Instant::now();
    let res = run(&cfg, ExecutorConfig::new("quality", &args[1]), &inputs)?;
    let s = &res.summary.stats;
    println!(
        "docs_in={} docs_out={} seconds={:.3} docs_per_s={:.0} threshold={:?}",
        s.docs_in,
        s.docs_out,
        t0.elapsed().as_secs_f64(),
        s.docs_in as f64 / t0.elapsed().as_secs_f64(),
        res.threshold.map(|t| t.threshold)
    );
    Ok(())
}
