//! Training presets: every DCLM competition scale (model dims, token budget
//! 20 × params × multiplier, global batch, steps, warmup, lr, wd, z-loss) and two small CPU presets,
//! `micro` (tests, seconds) and `tiny` (the embedded baseline, minutes on 2 cores).

use serde::{Deserialize, Serialize};

use super::optim::{AdamWConfig, CosineSchedule};
use crate::error::{Result, TrainError};
use crate::model::ModelConfig;

/// A complete training recipe for one scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    /// Scale name (`400M-1x`, `1B-1x`, …, `micro`, `tiny`).
    pub name: String,
    /// DCLM config name (`411m_1x`, `1b_1x_fast`, …) or the local preset name.
    pub dclm_config: String,
    /// Model architecture.
    pub model: ModelConfig,
    /// Parameter count the token budget is derived from (DCLM's recorded `params`).
    pub reference_params: u64,
    /// Chinchilla multiplier (1 for "1x", 2 for "2x").
    pub chinchilla_multiplier: u64,
    /// Training tokens = 20 × reference_params × multiplier.
    pub tokens: u64,
    /// Global batch in sequences (of `model.seq_len` tokens).
    pub global_batch: usize,
    /// Gradient-accumulation steps (the global batch is split into this many micro-batches).
    pub accum: usize,
    /// Optimizer steps = tokens / seq_len / global_batch (floor, as open_lm).
    pub steps: u64,
    /// Warmup steps.
    pub warmup: u64,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine (`lr_cooldown_end`).
    pub min_lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// z-loss coefficient.
    pub z_loss: f64,
    /// Gradient clipping norm.
    pub grad_clip: f64,
    /// Seed (open_lm default 124).
    pub seed: u64,
}

/// GPT-NeoX vocabulary size as padded by open_lm/DCLM.
pub const DCLM_VOCAB: usize = 50_432;

#[allow(clippy::too_many_arguments)]
fn dclm_scale(
    name: &str,
    dclm_config: &str,
    model: ModelConfig,
    mult: u64,
    global_batch: usize,
    accum: usize,
    warmup: u64,
    lr: f64,
    wd: f64,
    z: f64,
) -> Preset {
    let reference_params = model.dclm_reference_params();
    let tokens = 20 * reference_params * mult;
    let steps = tokens / model.seq_len as u64 / global_batch as u64;
    Preset {
        name: name.into(),
        dclm_config: dclm_config.into(),
        model,
        reference_params,
        chinchilla_multiplier: mult,
        tokens,
        global_batch,
        accum,
        steps,
        warmup,
        lr,
        min_lr: 3e-5,
        weight_decay: wd,
        z_loss: z,
        grad_clip: 1.0,
        seed: 124,
    }
}

fn local(name: &str, model: ModelConfig, global_batch: usize, steps: u64, warmup: u64, lr: f64) -> Preset {
    let tokens = steps * global_batch as u64 * model.seq_len as u64;
    Preset {
        name: name.into(),
        dclm_config: name.into(),
        reference_params: model.n_params(),
        chinchilla_multiplier: 0,
        tokens,
        global_batch,
        accum: 1,
        steps,
        warmup,
        lr,
        min_lr: 3e-5,
        weight_decay: 0.033,
        z_loss: 1e-4,
        grad_clip: 1.0,
        seed: 124,
        model,
    }
}

impl Preset {
    /// All preset names.
    pub const NAMES: [&'static str; 7] = ["micro", "tiny", "400M-1x", "1B-1x", "3B-1x", "7B-1x", "7B-2x"];

    /// The preset called `name` (case-insensitive; DCLM config names such as `411m_1x` are accepted too).
    pub fn by_name(name: &str) -> Result<Self> {
        let n = name.to_ascii_lowercase();
        let v = DCLM_VOCAB;
        let p = match n.as_str() {
            // Tests: 2 layers, d=32, 256-token vocabulary, 32-token contexts; a step takes milliseconds.
            "micro" => local("micro", ModelConfig::new(32, 2, 2, 32, 256), 8, 200, 10, 1e-2),
            // Embedded baseline: the GPT-NeoX vocabulary so that it reads real token shards and can be
            // evaluated with the real tokenizer; d=64, 2 layers, 4 heads (the shape of the eval conformance
            // model), 6.59M params (6.45M of them in the embedding and head), 128-token contexts, 8 sequences
            // per step in 2 micro-batches (the [tokens, 50432] logits dominate memory), 200 steps = 204,800
            // tokens. Measured ≈ 525 tokens per CPU-second on this machine (example `model_train_preset`,
            // dev profile with optimized candle; 516 MB peak RSS): ≈ 3–4 minutes on 2 idle cores.
            "tiny" => Preset {
                accum: 2,
                ..local("tiny", ModelConfig::new(64, 2, 4, 128, v), 8, 200, 20, 3e-3)
            },
            "400m-1x" | "411m_1x" => dclm_scale(
                "400M-1x",
                "411m_1x",
                ModelConfig::new(1024, 24, 8, 2048, v),
                1,
                512,
                8,
                2000,
                3e-3,
                0.033,
                1e-4,
            ),
            "1b-1x" | "1b_1x_fast" => dclm_scale(
                "1B-1x",
                "1b_1x_fast",
                ModelConfig::new(2048, 24, 16, 2048, v),
                1,
                256,
                1,
                5000,
                3e-3,
                0.033,
                1e-4,
            ),
            "3b-1x" | "3b_1x_fast_3e-3_lr_1e-4_zloss" => dclm_scale(
                "3B-1x",
                "3b_1x_fast_3e-3_lr_1e-4_zloss",
                ModelConfig::new(2560, 32, 32, 2048, v),
                1,
                256,
                1,
                5000,
                3e-3,
                0.033,
                1e-4,
            ),
            "7b-1x" | "7b_1x_fast_2e-3_lr_5e-6_zloss" => dclm_scale(
                "7B-1x",
                "7b_1x_fast_2e-3_lr_5e-6_zloss",
                ModelConfig::new(4096, 32, 32, 2048, v),
                1,
                2048,
                2,
                5000,
                2e-3,
                0.05,
                5e-6,
            ),
            "7b-2x" | "7b_2x_fast_2e-3_lr_5e-6_zloss" => dclm_scale(
                "7B-2x",
                "7b_2x_fast_2e-3_lr_5e-6_zloss",
                ModelConfig::new(4096, 32, 32, 2048, v),
                2,
                2048,
                2,
                5000,
                2e-3,
                0.05,
                5e-6,
            ),
            _ => {
                return Err(TrainError::Config(format!(
                    "unknown scale `{name}` (allowed: {})",
                    Self::NAMES.join(", ")
                )))
            }
        };
        Ok(p)
    }

    /// The AdamW settings of this preset.
    pub fn adamw(&self) -> AdamWConfig {
        AdamWConfig {
            weight_decay: self.weight_decay,
            ..AdamWConfig::default()
        }
    }

    /// The learning-rate schedule of this preset.
    pub fn schedule(&self) -> CosineSchedule {
        CosineSchedule {
            base_lr: self.lr,
            warmup: self.warmup,
            total_steps: self.steps,
            min_lr: self.min_lr,
        }
    }

    /// Sequences per micro-batch (global batch / accumulation steps).
    pub fn micro_batch(&self) -> usize {
        self.global_batch / self.accum.max(1)
    }
}
