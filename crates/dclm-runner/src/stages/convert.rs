//! `dclm convert`: move a checkpoint between dclm-rs safetensors, open_lm's `.pt` (+ model JSON) and an open_lm
//! Hugging Face folder (config, `model.`-prefixed sharded safetensors, tokenizer files), in any direction.

use anyhow::{Context, Result};
use clap::Args;
use dclm_train::checkpoint::{convert, ConvertOptions, ExportFormat};
use std::path::PathBuf;

/// Arguments of `convert`.
#[derive(Args, Debug, Clone)]
pub struct ConvertArgs {
    /// The checkpoint: safetensors, an open_lm `.pt`, an open_lm HF folder, or a `dclm train` run folder.
    pub checkpoint: PathBuf,
    /// Target layout: `open-lm`, `hf` or `safetensors`.
    #[arg(long)]
    pub to: String,
    /// The model's shape when it is not beside the checkpoint (open_lm model JSON or HF `config.json`).
    #[arg(long)]
    pub model_json: Option<PathBuf>,
    /// HF: a `tokenizer.json` (or folder of tokenizer files) to include.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// open_lm: the `epoch` recorded in the `.pt`.
    #[arg(long)]
    pub epoch: Option<i64>,
    /// Output file (`.pt`, `.safetensors`) or folder (HF).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

/// `dclm convert …`
pub fn main(a: &ConvertArgs) -> Result<()> {
    let to: ExportFormat = a.to.parse()?;
    let opts = ConvertOptions {
        epoch: a.epoch,
        tokenizer: a.tokenizer.clone(),
        ..ConvertOptions::default()
    };
    let files = convert(&a.checkpoint, a.model_json.as_deref(), to, &a.out, &opts)
        .with_context(|| format!("converting {}", a.checkpoint.display()))?;
    for f in files {
        eprintln!("convert: wrote {}", f.display());
    }
    Ok(())
}
