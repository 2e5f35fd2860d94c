//! Inference throughput on one core, side by side with `shared/bench/fasttext_predict.py`: loads a model,
//! prepares every document's `text` as DCLM does, and times `predict(k=2)` over all of them.
//!
//! `cargo run --release -p dclm-fasttext --example bench_predict -- MODEL.bin DOCS.jsonl [REPEATS]`

use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(model), Some(docs)) = (args.next(), args.next()) else {
        eprintln!("usage: bench_predict MODEL DOCS.jsonl [REPEATS]");
        std::process::exit(2);
    };
    let repeats: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let t_load = Instant::now();
    let ft = dclm_fasttext::FastText::load(&PathBuf::from(&model))?;
    let load_s = t_load.elapsed().as_secs_f64();
    let (docs, errors) = dclm_core::io::read_all(&docs)?;
    if !errors.is_empty() {
        eprintln!("{} malformed lines skipped", errors.len());
    }
    let texts: Vec<String> = docs.iter().map(|d| dclm_fasttext::prepare_text(&d.text)).collect();
    let mb = texts.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    let mut buf = dclm_fasttext::PredictBuf::default();
    let mut checksum = 0.0f64;
    let mut times = Vec::new();
    for _ in 0..repeats {
        let t0 = Instant::now();
        for t in &texts {
            for (_, p) in ft.predict_with(t.as_bytes(), 2, 0.0, &mut buf) {
                checksum += f64::from(p);
            }
        }
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "docs={} MB={mb:.1} load_s={load_s:.3} seconds={median:.3} docs_per_s={:.0} (median of {repeats}; checksum {checksum:.3})",
        texts.len(),
        texts.len() as f64 / median
    );
    Ok(())
}
