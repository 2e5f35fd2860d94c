//! open_lm model configuration: the JSON passed to open_lm as `--model`, DCLM's FFN hidden-size rule and
//! parameter counting.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// An open_lm `Transformer` configuration (the keys of open_lm's model-config JSON).
///
/// Only the DCLM architecture is implemented: gain-only LayerNorm, rotary positions, SwiGLU, no weight tying,
/// no post-embedding norm. Configs asking for anything else are rejected by [`ModelConfig::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Model width d (`hidden_dim`).
    pub hidden_dim: usize,
    /// Number of transformer blocks.
    pub n_layers: usize,
    /// Number of attention heads; head_dim = hidden_dim / n_heads.
    pub n_heads: usize,
    /// Maximum (training) sequence length.
    pub seq_len: usize,
    /// Vocabulary size (50,432 for GPT-NeoX in DCLM).
    pub vocab_size: usize,
    /// QK-norm: one gain-only LayerNorm over the whole q projection and one over k (DCLM: true).
    #[serde(default = "default_true")]
    pub qk_norm: bool,
    /// LayerNorm epsilon.
    #[serde(default = "default_eps")]
    pub norm_eps: f64,
    /// RoPE base.
    #[serde(default = "default_rope_base")]
    pub rope_base: f64,
    /// SwiGLU hidden size; `None` = DCLM's rule 256·ceil(int(8d/3)/256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ffn_hidden_dim: Option<usize>,
    /// open_lm `model_norm` (only `gain_only_lp_layer_norm` / `gain_only_layer_norm` are supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_norm: Option<String>,
    /// open_lm `ffn_type` (only `swiglu` / `swiglu_torch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ffn_type: Option<String>,
    /// open_lm `positional_embedding_type` (only `rotary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positional_embedding_type: Option<String>,
    /// open_lm `weight_tying` (must be false).
    #[serde(default)]
    pub weight_tying: bool,
    /// open_lm `post_embed_norm` (must be false).
    #[serde(default)]
    pub post_embed_norm: bool,
}

fn default_true() -> bool {
    true
}
fn default_eps() -> f64 {
    1e-5
}
fn default_rope_base() -> f64 {
    10_000.0
}

/// DCLM/open_lm SwiGLU hidden size: `256 * ceil(int(8d/3) / 256)` (2816 for d=1024, 11008 for d=4096).
pub fn swiglu_hidden_dim(d: usize) -> usize {
    let h = 8 * d / 3;
    256 * h.div_ceil(256)
}

impl ModelConfig {
    /// A config with the DCLM architecture and the given dimensions.
    pub fn new(hidden_dim: usize, n_layers: usize, n_heads: usize, seq_len: usize, vocab_size: usize) -> Self {
        Self {
            hidden_dim,
            n_layers,
            n_heads,
            seq_len,
            vocab_size,
            qk_norm: true,
            norm_eps: 1e-5,
            rope_base: 10_000.0,
            ffn_hidden_dim: None,
            model_norm: Some("gain_only_lp_layer_norm".into()),
            ffn_type: Some("swiglu_torch".into()),
            positional_embedding_type: Some("rotary".into()),
            weight_tying: false,
            post_embed_norm: false,
        }
    }

    /// Read an open_lm model-config JSON file (extra keys such as `_derived` are ignored) and validate it.
    pub fn from_json_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg: Self = serde_json::from_str(&text).map_err(|source| TrainError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check that the dimensions are consistent and the variant is the DCLM architecture.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.hidden_dim == 0 || self.n_layers == 0 || self.n_heads == 0 || self.vocab_size == 0 || self.seq_len == 0
        {
            return bad(format!("all dimensions must be positive: {self:?}"));
        }
        if self.hidden_dim % self.n_heads != 0 {
            return bad(format!(
                "hidden_dim {} not divisible by n_heads {}",
                self.hidden_dim, self.n_heads
            ));
        }
        if self.head_dim() % 2 != 0 {
            return bad(format!(
                "head_dim {} must be even for rotary embeddings",
                self.head_dim()
            ));
        }
        if let Some(n) = &self.model_norm {
            if n != "gain_only_lp_layer_norm" && n != "gain_only_layer_norm" {
                return bad(format!(
                    "model_norm `{n}` unsupported (allowed: gain_only_lp_layer_norm, gain_only_layer_norm)"
                ));
            }
        }
        if let Some(f) = &self.ffn_type {
            if f != "swiglu" && f != "swiglu_torch" {
                return bad(format!("ffn_type `{f}` unsupported (allowed: swiglu, swiglu_torch)"));
            }
        }
        if let Some(p) = &self.positional_embedding_type {
            if p != "rotary" {
                return bad(format!("positional_embedding_type `{p}` unsupported (allowed: rotary)"));
            }
        }
        if self.weight_tying {
            return bad("weight_tying true is unsupported (DCLM unties the head)".into());
        }
        if self.post_embed_norm {
            return bad("post_embed_norm true is unsupported (DCLM has none)".into());
        }
        let in_range =
            self.norm_eps > 0.0 && self.norm_eps.is_finite() && self.rope_base > 1.0 && self.rope_base.is_finite();
        if !in_range {
            return bad(format!(
                "norm_eps {} / rope_base {} out of range",
                self.norm_eps, self.rope_base
            ));
        }
        Ok(())
    }

    /// Per-head dimension.
    pub fn head_dim(&self) -> usize {
        self.hidden_dim / self.n_heads
    }

    /// SwiGLU hidden size (explicit value or DCLM's rule).
    pub fn ffn_hidden(&self) -> usize {
        self.ffn_hidden_dim
            .unwrap_or_else(|| swiglu_hidden_dim(self.hidden_dim))
    }

    /// Number of trainable parameters of the model as built (all weights, QK-norm gains included;
    /// the non-trainable RoPE `inv_freq` buffers excluded).
    pub fn n_params(&self) -> u64 {
        let d = self.hidden_dim as u64;
        let h = self.ffn_hidden() as u64;
        let v = self.vocab_size as u64;
        let norms = if self.qk_norm { 4 } else { 2 };
        let per_layer = 4 * d * d + 3 * d * h + norms * d;
        2 * v * d + self.n_layers as u64 * per_layer + d
    }

    /// The parameter count DCLM records for a scale (`params` in `dclm:training/configs/*.json`), from which
    /// the token budget (20 × params × multiplier) and the step count are derived. DCLM computed it without
    /// the QK-norm gains (2·d per layer) although its runs enable `--qk-norm`, so it equals
    /// [`n_params`](Self::n_params) of the same config with `qk_norm = false`.
    pub fn dclm_reference_params(&self) -> u64 {
        Self {
            qk_norm: false,
            ..self.clone()
        }
        .n_params()
    }

    /// DCLM's `params_no_embed`: the reference count minus the input embedding.
    pub fn dclm_reference_params_no_embed(&self) -> u64 {
        self.dclm_reference_params() - (self.vocab_size * self.hidden_dim) as u64
    }

    /// Approximate training FLOPs per token (6·N for the weights plus the attention score term
    /// 12·L·d·T), used for MFU.
    pub fn train_flops_per_token(&self) -> f64 {
        let n = (self.n_params() - (self.vocab_size * self.hidden_dim) as u64) as f64;
        6.0 * n + 12.0 * (self.n_layers * self.hidden_dim * self.seq_len) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_rule_matches_dclm_sizes() {
        assert_eq!(swiglu_hidden_dim(1024), 2816);
        assert_eq!(swiglu_hidden_dim(2048), 5632);
        assert_eq!(swiglu_hidden_dim(2560), 6912);
        assert_eq!(swiglu_hidden_dim(4096), 11008);
        assert_eq!(swiglu_hidden_dim(64), 256);
        assert_eq!(swiglu_hidden_dim(128), 512);
    }

    #[test]
    fn tiny_conformance_counts() {
        assert_eq!(ModelConfig::new(64, 2, 4, 32, 512).n_params(), 197_184);
        assert_eq!(ModelConfig::new(128, 3, 4, 32, 512).n_params(), 919_168);
    }

    #[test]
    fn rejects_unsupported_variants() {
        let mut c = ModelConfig::new(64, 2, 4, 32, 512);
        c.weight_tying = true;
        assert!(c.validate().is_err());
        let mut c = ModelConfig::new(64, 2, 3, 32, 512);
        assert!(c.validate().is_err());
        c.n_heads = 4;
        c.ffn_type = Some("gelu".into());
        assert!(c.validate().is_err());
        let c: ModelConfig = serde_json::from_str(
            r#"{"hidden_dim":64,"n_layers":2,"n_heads":4,"seq_len":32,"vocab_size":512,"_derived":{"x":1}}"#,
        )
        .unwrap();
        assert!(c.qk_norm && c.validate().is_ok());
    }
}
