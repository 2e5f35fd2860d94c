//! Shared CLI pieces of the runner: shard arguments, input expansion (globs, folders), asset discovery,
//! and the one-line summary of a stage run.

use anyhow::{bail, Context, Result};
use clap::Args;
use dclm_core::RunSummary;
use std::path::{Path, PathBuf};

/// Arguments every shard stage takes.
#[derive(Args, Debug, Clone)]
pub struct ShardArgs {
    /// Input shards: files, folders (searched recursively) or glob patterns (`'in/*.jsonl.gz'`).
    #[arg(long = "input", short = 'i', required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// Output folder.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// This task's rank (for Slurm arrays / Kubernetes indexed jobs).
    #[arg(long, default_value_t = 0)]
    pub rank: usize,
    /// Number of tasks the shards are split over.
    #[arg(long, default_value_t = 1)]
    pub world_size: usize,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

const SHARD_SUFFIXES: &[&str] = &[
    ".jsonl",
    ".jsonl.gz",
    ".jsonl.zst",
    ".jsonl.zstd",
    ".json.gz",
    ".warc",
    ".warc.gz",
    ".warc.zst",
    ".tar",
];

fn is_shard(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    !name.starts_with('.') && !name.starts_with('_') && SHARD_SUFFIXES.iter().any(|s| name.ends_with(s))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if p.is_dir() {
            if !name.starts_with('_') && !name.starts_with('.') {
                walk(&p, out)?;
            }
        } else if is_shard(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Expand files, folders and glob patterns into a sorted, deduplicated list of shard files.
pub fn expand_inputs(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for pat in patterns {
        let p = Path::new(pat);
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.is_file() {
            out.push(p.to_path_buf());
        } else {
            let mut n = 0;
            for entry in glob::glob(pat).with_context(|| format!("bad glob pattern {pat:?}"))? {
                let path = entry?;
                if path.is_file() {
                    out.push(path);
                    n += 1;
                }
            }
            if n == 0 {
                bail!("no input matches {pat:?}");
            }
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        bail!("no input shards found in {patterns:?}");
    }
    Ok(out)
}

/// The DCLM assets folder: `--assets`, else `$DCLM_ASSETS`, else none (built-in stand-ins are used).
pub fn assets_dir(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("DCLM_ASSETS").map(PathBuf::from))
}

/// Print a stage summary and turn input errors or failed shards into a non-zero exit.
pub fn report_summary(stage: &str, s: &RunSummary) -> Result<()> {
    let st = &s.stats;
    eprintln!(
        "{stage}: {} shards run, {} skipped (already complete); docs in {} → out {}; {} input errors; stats: {}",
        s.shards_run,
        s.shards_skipped,
        st.docs_in,
        st.docs_out,
        st.error_count(),
        s.stats_path.display()
    );
    for step in &st.steps {
        let dropped: u64 = step.dropped.values().sum();
        if dropped > 0 {
            eprintln!("  {:<40} dropped {:>8}  {:?}", step.name, dropped, step.dropped);
        }
    }
    for (input, err) in &s.failed {
        eprintln!("  FAILED {}: {err}", input.display());
    }
    if !s.failed.is_empty() {
        bail!(
            "{stage}: {} shard(s) failed; rerun to retry them (completed shards are skipped)",
            s.failed.len()
        );
    }
    if st.error_count() > 0 {
        bail!(
            "{stage}: finished, but {} input record(s) could not be read ({:?}); see {}",
            st.error_count(),
            st.errors,
            s.stats_path.display()
        );
    }
    Ok(())
}
