//! The baseline recipe: every setting that differs between the offline embedded default and a run on real data,
//! in one place ([`Recipe::embedded`], [`Recipe::dclm`]), plus where DCLM's assets are ([`Assets`]).

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Where the quality classifier's negatives come from when the run trains one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negatives {
    /// The embedded low-value set (the embedded corpus is too small: its good articles would be the negatives).
    EmbeddedLowValue,
    /// DCLM's choice: documents of the heuristic stage's output (its RefinedWeb reproduction).
    HeuristicOutput,
}

/// The settings of one baseline recipe.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// True for the embedded default corpus, false for the user's inputs.
    pub embedded_corpus: bool,
    /// DCLM's assets (`None`: built-in stand-ins, named in the report).
    pub assets: Option<Assets>,
    /// Epochs of the quality classifier trained when none is given.
    pub classifier_epochs: i32,
    /// Learning rate of that classifier.
    pub classifier_lr: f64,
    /// Its negatives.
    pub negatives: Negatives,
    /// Fraction of documents the quality filter keeps, unless `--keep-fraction` says otherwise.
    pub keep_fraction: f64,
    /// Contexts per token shard (DCLM's tokshuf: 8192).
    pub wds_chunk_size: usize,
}

impl Recipe {
    /// The offline default over the embedded corpus: a classifier trained longer on the small embedded sets,
    /// 90% kept (the corpus is tiny), small token shards so that the shuffle has several.
    pub fn embedded() -> Self {
        Recipe {
            embedded_corpus: true,
            assets: None,
            classifier_epochs: 25,
            classifier_lr: 0.5,
            negatives: Negatives::EmbeddedLowValue,
            keep_fraction: 0.9,
            wds_chunk_size: 64,
        }
    }

    /// DCLM-Baseline on real data: fastText's defaults for the classifier (5 epochs, lr 0.1) with heuristic-stage
    /// documents as negatives, the top 10% kept, 8192 contexts per shard.
    pub fn dclm(assets: Option<Assets>) -> Self {
        Recipe {
            embedded_corpus: false,
            assets,
            classifier_epochs: 5,
            classifier_lr: 0.1,
            negatives: Negatives::HeuristicOutput,
            keep_fraction: 0.1,
            wds_chunk_size: 8192,
        }
    }

    /// This recipe with DCLM's assets (or the stand-ins, for `None`).
    pub fn with_assets(mut self, assets: Option<Assets>) -> Self {
        self.assets = assets;
        self
    }

    /// The report's mode: `embedded-default` or `real-data`.
    pub fn mode(&self) -> &'static str {
        if self.embedded_corpus {
            "embedded-default"
        } else {
            "real-data"
        }
    }

    /// The dataset name recorded with a training run.
    pub fn dataset_name(&self) -> &'static str {
        if self.embedded_corpus {
            "embedded"
        } else {
            "real"
        }
    }
}

/// Where DCLM's assets are, resolved from `--assets`.
#[derive(Debug, Clone)]
pub struct Assets {
    /// Folder in DCLM's repository layout (holds `baselines/`).
    pub dclm_root: PathBuf,
    /// The GPT-NeoX tokenizer, if found.
    pub tokenizer: Option<PathBuf>,
    /// LLM-Foundry task files (`local_data/`'s parent), if found.
    pub eval_data: Option<PathBuf>,
}

impl Assets {
    /// Resolve an assets folder: DCLM's layout itself, or a folder holding `dclm-assets/`.
    pub fn resolve(dir: &Path) -> Result<Assets> {
        let dclm_root = [dir.to_path_buf(), dir.join("dclm-assets")]
            .into_iter()
            .find(|d| d.join("baselines").is_dir())
            .with_context(|| {
                format!(
                    "{}: not a DCLM assets folder (no baselines/ in it or in dclm-assets/)",
                    dir.display()
                )
            })?;
        let tokenizer = [dir, &dclm_root, dclm_root.parent().unwrap_or(dir)]
            .iter()
            .map(|d| d.join("tokenizers/gpt-neox-20b.tokenizer.json"))
            .find(|p| p.is_file());
        let eval_data = [
            dir.join("eval"),
            dclm_root.join("eval"),
            dclm_root.parent().unwrap_or(dir).join("eval"),
        ]
        .into_iter()
        .find(|d| d.join("local_data").is_dir());
        Ok(Assets {
            dclm_root,
            tokenizer,
            eval_data,
        })
    }
}
