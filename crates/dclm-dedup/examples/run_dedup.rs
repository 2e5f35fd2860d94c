//! Command-line driver of [`dclm_dedup::run::run`] with BFF-style flags, for benchmarks and manual runs
//! until xtask wires the stage:
//!
//! ```text
//! cargo run --release -p dclm-dedup --example run_dedup -- --method bff --inputs DIR --output-directory OUT \
//!   --expected-ngram-count N [--fp-rate 0.01] [--min-ngram-size 13] [--max-ngram-size 13] \
//!   [--filtering-threshold 0.8] [--remove-type old-both] [--annotate] [--threads T] [--per-shard] \
//!   [--bloom-filter-file F] [--no-update-bloom-filter] [--memory-budget-mib M] [--key-order sorted|preserve]
//! cargo run --release -p dclm-dedup --example run_dedup -- --method minhash --inputs DIR --output-directory OUT \
//!   [--shingle-size 5] [--bands 93] [--rows 15] [--jaccard-threshold 0]
//! cargo run --release -p dclm-dedup --example run_dedup -- --method exact --inputs DIR --output-directory OUT [--key text|raw-text|url]
//! ```

use dclm_dedup::exact::ExactKey;
use dclm_dedup::minhash::MinHashConfig;
use dclm_dedup::run::{run, BffRunConfig, Method, RunConfig};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    fn num<T: std::str::FromStr>(v: Option<String>, name: &str, default: T) -> Result<T, String> {
        match v {
            Some(s) => s.parse().map_err(|_| format!("{name}: cannot parse `{s}`")),
            None => Ok(default),
        }
    }
    let inputs: Vec<PathBuf> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i > 0 && args[i - 1] == "--inputs")
        .map(|(_, a)| PathBuf::from(a))
        .collect();
    let output = value("--output-directory").ok_or("--output-directory is required")?;
    let method = match value("--method").as_deref().unwrap_or("bff") {
        "bff" => {
            let n: u64 = num(value("--expected-ngram-count"), "--expected-ngram-count", 0)?;
            let mut b = BffRunConfig::new(n);
            b.fp_rate = num(value("--fp-rate"), "--fp-rate", 0.01)?;
            b.bff.min_ngram_size = num(value("--min-ngram-size"), "--min-ngram-size", 13)?;
            b.bff.ngram_size = num(value("--max-ngram-size"), "--max-ngram-size", 13)?;
            b.bff.threshold = num(value("--filtering-threshold"), "--filtering-threshold", 0.8)?;
            b.num_hashers = num(value("--num-hashers"), "--num-hashers", 0)?;
            if let Some(m) = value("--remove-type") {
                b.bff.mode = m.parse().map_err(|e: dclm_dedup::DedupError| e.to_string())?;
            }
            b.bff.annotate = flag("--annotate");
            b.bff.update_filter = !flag("--no-update-bloom-filter");
            b.cross_shard = !flag("--per-shard");
            b.filter_file = value("--bloom-filter-file").map(PathBuf::from);
            if let Some(m) = value("--memory-budget-mib") {
                b.memory_budget = Some(num::<u64>(Some(m), "--memory-budget-mib", 0)? << 20);
            }
            Method::Bff(b)
        }
        "minhash" => Method::MinHash(MinHashConfig {
            shingle_size: num(value("--shingle-size"), "--shingle-size", 5)?,
            bands: num(value("--bands"), "--bands", 93)?,
            rows: num(value("--rows"), "--rows", 15)?,
            jaccard_threshold: num(value("--jaccard-threshold"), "--jaccard-threshold", 0.0)?,
            ..Default::default()
        }),
        "exact" => Method::Exact(
            value("--key")
                .unwrap_or_else(|| "text".into())
                .parse::<ExactKey>()
                .map_err(|e| e.to_string())?,
        ),
        other => return Err(format!("unknown --method `{other}` (allowed: bff, minhash, exact)")),
    };
    let mut cfg = RunConfig::new(method, output);
    cfg.threads = num(value("--threads"), "--threads", 0)?;
    cfg.batch_bytes = num::<usize>(value("--batch-kib"), "--batch-kib", 1024)? << 10;
    if let Some(k) = value("--key-order") {
        cfg.key_order = k.parse()?;
    }
    let s = run(&cfg, &inputs).map_err(|e| e.to_string())?;
    let r = &s.report;
    println!(
        "{}: {} docs in, {} out, {} removed whole; units {}/{} removed; n-grams {}/{} contained; {:.2} s on {} threads; stats in {}",
        r.method,
        r.docs_in,
        r.docs_out,
        r.docs_removed,
        r.units_removed,
        r.units,
        r.ngrams_contained,
        r.ngrams,
        r.seconds,
        r.threads,
        s.run.stats_path.display()
    );
    Ok(())
}
