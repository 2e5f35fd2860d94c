//! Regenerates the embedded default corpus `assets/baseline/corpus.warc.gz` (and its `corpus.index.jsonl`) from
//! the page sources in `assets/baseline/pages/`, plus the classifier's reference negatives
//! `assets/baseline/negatives.jsonl`: `cargo run -p dclm-report --example make_corpus [OUT.warc.gz]`.

use dclm_report::corpus::{write_default_corpus, write_reference_negatives, CorpusPlan};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let baseline = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/baseline");
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| baseline.join("corpus.warc.gz"));
    let summary = write_default_corpus(&baseline.join("pages"), &out, &CorpusPlan::default())?;
    let size = std::fs::metadata(&summary.warc)?.len();
    println!(
        "wrote {} ({} pages, {} bytes) and {}",
        summary.warc.display(),
        summary.pages,
        size,
        summary.index.display()
    );
    for (kind, n) in &summary.kinds {
        println!("  {kind}: {n}");
    }
    let neg = out.with_file_name("negatives.jsonl");
    let n = write_reference_negatives(&baseline.join("pages"), &neg, 300)?;
    println!("wrote {} ({n} reference negatives)", neg.display());
    Ok(())
}
