//! `dclm tokshuf`: DCLM's tokenize + global shuffle (tokshuf-rs flags and semantics) over any folder of JSONL /
//! JSONL.gz / JSONL.zst documents, into open_lm token shards (`shard_%08d.tar` + `manifest.jsonl`).

use crate::common::expand_inputs;
use anyhow::{bail, Context, Result};
use clap::Args;
use dclm_train::data::{tokenize_shuffle, TokenizerSpec, TokshufConfig, TokshufSummary};
use std::path::PathBuf;

/// Arguments of `tokshuf` (the names of DCLM's `rust_processing/tokshuf-rs`).
#[derive(Args, Debug, Clone)]
pub struct TokshufArgs {
    /// Input documents: files, folders (searched recursively), globs, or `hf://datasets/<repo>[@rev]/<glob>`
    /// (downloaded first under `<output>/_hf/`).
    #[arg(long = "input", short = 'i', required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// Output folder (`shard_*.tar`, `manifest.jsonl`, `stats.json`); must not hold a manifest already.
    #[arg(long = "output", short = 'o', alias = "out")]
    pub output: PathBuf,
    /// A `tokenizer.json` or `.tiktoken` file, or a Hub name found in the local Hugging Face cache.
    #[arg(long, default_value = "EleutherAI/gpt-neox-20b")]
    pub tokenizer: String,
    /// Read `--tokenizer` as tiktoken ranks (DCLM's `--use-tiktoken`), whatever its extension.
    #[arg(long)]
    pub use_tiktoken: bool,
    /// Tokens per context: the model's context length + 1 for the shifted target.
    #[arg(long, default_value_t = 2049)]
    pub seqlen: usize,
    /// Contexts per output shard.
    #[arg(long, default_value_t = 8192)]
    pub wds_chunk_size: usize,
    /// Local cells of the coarse shuffle (DCLM's default 128; its README uses 512).
    #[arg(long, default_value_t = 128)]
    pub num_local_cells: usize,
    /// Shuffle seed.
    #[arg(long, default_value_t = 1234)]
    pub seed: u64,
    /// Scratch folder for the local cells (default: `<output>/_tokshuf_cells`).
    #[arg(long)]
    pub local_cell_dir: Option<PathBuf>,
    /// Input file extensions to take from folders, comma-separated.
    #[arg(
        long,
        default_value = "jsonl,jsonl.gz,jsonl.zst,jsonl.zstd,parquet",
        value_delimiter = ','
    )]
    pub ext: Vec<String>,
    /// Id prepended to every document (DCLM's Llama-3 path: 128000).
    #[arg(long)]
    pub bos_id: Option<u32>,
    /// tokshuf-rs's quirk: an all-PAD context for a file whose tokens fill its contexts exactly.
    #[arg(long)]
    pub pad_empty_remainder: bool,
    /// Worker threads (0 = one per core); the output does not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl TokshufArgs {
    /// The crate's configuration.
    pub fn config(&self) -> Result<TokshufConfig> {
        let spec = if self.use_tiktoken {
            TokenizerSpec::Tiktoken(PathBuf::from(&self.tokenizer))
        } else {
            TokenizerSpec::from_name_or_path(&self.tokenizer)?
        };
        let mut cfg = TokshufConfig::new(spec, &self.output);
        cfg.seqlen = self.seqlen;
        cfg.wds_chunk_size = self.wds_chunk_size;
        cfg.num_local_cells = self.num_local_cells;
        cfg.seed = self.seed;
        cfg.work_dir = self.local_cell_dir.clone();
        cfg.bos_id = self.bos_id;
        cfg.pad_empty_remainder = self.pad_empty_remainder;
        cfg.threads = self.threads;
        Ok(cfg)
    }

    /// The input files: every given file, and the files under given folders whose name ends with one of `--ext`.
    pub fn input_files(&self) -> Result<Vec<PathBuf>> {
        let inputs = crate::datasets::fetch_hub_inputs(&self.inputs, &self.output.join("_hf"))?;
        let mut files = Vec::new();
        for f in expand_inputs(&inputs)? {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let given = inputs.iter().any(|i| std::path::Path::new(i) == f);
            if given || self.ext.iter().any(|e| name.ends_with(&format!(".{e}"))) {
                files.push(f);
            }
        }
        if files.is_empty() {
            bail!("no input files with extension {:?} in {:?}", self.ext, inputs);
        }
        Ok(files)
    }
}

/// Tokenize and shuffle; returns the summary (also in `<output>/stats.json`).
pub fn run(a: &TokshufArgs) -> Result<TokshufSummary> {
    let cfg = a.config()?;
    let inputs = a.input_files()?;
    // Token shards written into (or around) an input folder would be read back as inputs by a rerun.
    let dirs: Vec<PathBuf> = a.inputs.iter().map(PathBuf::from).filter(|p| p.is_dir()).collect();
    dclm_core::provenance::check_disjoint(&dirs, &inputs, &a.output)?;
    tokenize_shuffle(&cfg, &inputs).context("tokshuf")
}

/// `dclm tokshuf …`
pub fn main(a: &TokshufArgs) -> Result<()> {
    let s = run(a)?;
    let name = a
        .output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tokens".into());
    let exp = crate::datasets::exp_data_dir(&a.output);
    let rec =
        crate::datasets::record_token_shards(&exp, &name, &a.output, &a.tokenizer, a.seqlen, "tokshuf", &a.inputs)?;
    eprintln!("tokshuf: tokenized-dataset record {}", rec.display());
    eprintln!(
        "tokshuf: {} documents, {} tokens ({} contexts of {}) in {} shards → {}",
        s.docs,
        s.doc_tokens,
        s.contexts,
        a.seqlen,
        s.shards,
        a.output.join("manifest.jsonl").display()
    );
    if s.stats.error_count() > 0 {
        bail!(
            "tokshuf: {} input record(s) could not be read ({:?}); see {}",
            s.stats.error_count(),
            s.stats.errors,
            a.output.join("stats.json").display()
        );
    }
    Ok(())
}
