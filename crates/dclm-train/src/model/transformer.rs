//! The open_lm `Transformer` forward pass in candle: embeddings, pre-norm blocks (gain-only LayerNorm,
//! fused QKV with QK-norm over the whole projection, rotary, causal softmax attention, fused SwiGLU), final
//! norm and untied head. Built only from differentiable candle ops, so `loss.backward()` gives gradients.

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::config::ModelConfig;
use super::params::{rope_inv_freq, Params};
use crate::error::{CandleContext, Result, TrainError};

/// Gain-only LayerNorm over the last dimension (no bias, biased variance, `eps` inside the square root).
pub fn layer_norm(x: &Tensor, gain: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let inv = (var + eps)?.sqrt()?.recip()?;
    xc.broadcast_mul(&inv)?.broadcast_mul(gain)
}

/// Softmax over the last dimension with the (gradient-free) row max subtracted first.
pub fn softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    let s = e.sum_keepdim(D::Minus1)?;
    e.broadcast_div(&s)
}

/// Precision of the matrix products (the mixed-precision mode of a run).
///
/// `F32` computes everything in f32. `Bf16` is DCLM's `amp_bfloat16` in the style of `torch.autocast`: the
/// weights stay f32 (the optimizer updates f32 masters), and every matrix product (projections, attention
/// scores and values, head) casts its operands to bf16 and its result back to f32; norms, softmax, rotary and
/// the loss stay f32. The casts are differentiable, so gradients reach the f32 weights (the backward products
/// of a cast product run in bf16 too, as under autocast).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputeDtype {
    /// Plain f32 (the default; what the conformance tests check).
    #[default]
    F32,
    /// bf16 matrix products, f32 everything else.
    Bf16,
}

impl std::fmt::Display for ComputeDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ComputeDtype::F32 => "f32",
            ComputeDtype::Bf16 => "bf16",
        })
    }
}

impl std::str::FromStr for ComputeDtype {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(ComputeDtype::F32),
            "bf16" | "bfloat16" | "amp_bf16" | "amp_bfloat16" => Ok(ComputeDtype::Bf16),
            _ => Err(TrainError::Config(format!("unknown dtype `{s}` (allowed: f32, bf16)"))),
        }
    }
}

impl ComputeDtype {
    /// `a @ b` in this precision, the result in f32. On the CPU, whose candle backend has no bf16 matrix
    /// product, bf16 is emulated with the same rounding as a GPU's: operands and result rounded to bf16, the
    /// product accumulated in f32.
    fn matmul(self, a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            ComputeDtype::F32 => a.matmul(b),
            ComputeDtype::Bf16 if a.device().is_cpu() => {
                let round = |x: &Tensor| x.to_dtype(DType::BF16)?.to_dtype(DType::F32);
                round(&round(a)?.matmul(&round(b)?)?)
            }
            ComputeDtype::Bf16 => a
                .to_dtype(DType::BF16)?
                .matmul(&b.to_dtype(DType::BF16)?)?
                .to_dtype(DType::F32),
        }
    }

    /// `x @ w.T` for a 2-D activation `[n, in]` and a torch-layout weight `[out, in]`.
    fn linear(self, x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
        self.matmul(x, &w.t()?)
    }
}

/// Rotate-half RoPE on `[B, H, T, hd]` with `cos`/`sin` of shape `[T, hd]`.
fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
    let hd = x.dim(D::Minus1)?;
    let x1 = x.narrow(D::Minus1, 0, hd / 2)?;
    let x2 = x.narrow(D::Minus1, hd / 2, hd / 2)?;
    let rot = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    x.broadcast_mul(cos)? + rot.broadcast_mul(sin)?
}

/// What the forward pass returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    /// Logits `[B, T, V]`.
    Logits3d,
    /// Logits `[B·T, V]`.
    LogitsFlat,
    /// Final-norm hidden states `[B·T, d]`, no output projection.
    Hidden,
}

/// One block's weights.
#[derive(Debug, Clone)]
struct Block {
    attention_norm: Tensor,
    in_proj: Tensor,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    out_proj: Tensor,
    ffn_norm: Tensor,
    w12: Tensor,
    w3: Tensor,
}

/// Cached keys and values of earlier positions, for incremental decoding.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Named intermediate activations (open_lm forward-hook names, e.g. `layers.0.attention`), for conformance
/// checks and debugging.
pub type Trace = Vec<(String, Tensor)>;

/// The open_lm decoder-only transformer.
#[derive(Debug, Clone)]
pub struct Transformer {
    cfg: ModelConfig,
    tok_embeddings: Tensor,
    layers: Vec<Block>,
    norm: Tensor,
    output: Tensor,
    inv_freq: Vec<f32>,
    compute: ComputeDtype,
}

impl Transformer {
    /// Build from a [`VarBuilder`] holding open_lm names (candle-transformers style); the tensors the builder
    /// returns are used as they are, so a builder over [`Var`](candle_core::Var)s gives a trainable model.
    pub fn load(vb: VarBuilder<'_>, cfg: &ModelConfig) -> Result<Self> {
        cfg.validate()?;
        let d = cfg.hidden_dim;
        let h = cfg.ffn_hidden();
        let v = cfg.vocab_size;
        let get = |shape: &[usize], name: &str| vb.get(shape, name).ctx(&format!("loading `{name}`"));
        let mut layers = Vec::with_capacity(cfg.n_layers);
        for l in 0..cfg.n_layers {
            let p = |s: &str| format!("layers.{l}.{s}");
            layers.push(Block {
                attention_norm: get(&[d], &p("attention_norm.weight"))?,
                in_proj: get(&[3 * d, d], &p("attention.in_proj.weight"))?,
                q_norm: if cfg.qk_norm {
                    Some(get(&[d], &p("attention.q_norm.weight"))?)
                } else {
                    None
                },
                k_norm: if cfg.qk_norm {
                    Some(get(&[d], &p("attention.k_norm.weight"))?)
                } else {
                    None
                },
                out_proj: get(&[d, d], &p("attention.out_proj.weight"))?,
                ffn_norm: get(&[d], &p("ffn_norm.weight"))?,
                w12: get(&[2 * h, d], &p("feed_forward.w12.weight"))?,
                w3: get(&[d, h], &p("feed_forward.w3.weight"))?,
            });
        }
        Ok(Self {
            cfg: cfg.clone(),
            tok_embeddings: get(&[v, d], "tok_embeddings.weight")?,
            layers,
            norm: get(&[d], "norm.weight")?,
            output: get(&[v, d], "output.weight")?,
            inv_freq: rope_inv_freq(cfg),
            compute: ComputeDtype::F32,
        })
    }

    /// A model whose weights are the variables of `params` (training: gradients flow to them, and optimizer
    /// updates are seen by the model without rebuilding it).
    pub fn from_params(params: &Params, cfg: &ModelConfig) -> Result<Self> {
        let device = params.vars().first().map(|v| v.device().clone()).unwrap_or(Device::Cpu);
        let map: std::collections::HashMap<String, Tensor> = params.named_tensors().into_iter().collect();
        Self::load(VarBuilder::from_tensors(map, DType::F32, &device), cfg)
    }

    /// The same model computing its matrix products in `dtype` (weights are shared, not copied).
    pub fn with_compute_dtype(mut self, dtype: ComputeDtype) -> Self {
        self.compute = dtype;
        self
    }

    /// The precision of the matrix products.
    pub fn compute_dtype(&self) -> ComputeDtype {
        self.compute
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The device of the weights.
    pub fn device(&self) -> &Device {
        self.tok_embeddings.device()
    }

    /// Logits `[B, T, V]` (f32) for token ids `[B, T]` (u32), positions 0..T.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_inner(ids, None, None, Head::Logits3d)
    }

    /// Final-norm hidden states `[B·T, d]` (row `b·T + t`): the forward pass without the output projection,
    /// for callers that need logits at a few positions only (see [`project`](Self::project)).
    pub fn hidden_flat(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_inner(ids, None, None, Head::Hidden)
    }

    /// Logits `[n, V]` of hidden-state rows `[n, d]` from [`hidden_flat`](Self::hidden_flat): the output
    /// projection, computed as the full forward pass computes it.
    pub fn project(&self, hidden: &Tensor) -> Result<Tensor> {
        self.compute.linear(hidden, &self.output).ctx("output projection")
    }

    /// Logits flattened to `[B·T, V]` (row `b·T + t`), for the training loss: the same values as
    /// [`forward`](Self::forward) without the reshape node, whose backward would cost a zero-filled
    /// `[B·T, V]` gradient buffer and an addition (candle accumulates every gradient that way).
    pub fn forward_flat(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_inner(ids, None, None, Head::LogitsFlat)
    }

    /// Like [`forward`](Self::forward), also returning the intermediate activations under open_lm's
    /// forward-hook names.
    pub fn forward_traced(&self, ids: &Tensor) -> Result<(Tensor, Trace)> {
        let mut trace = Vec::new();
        let logits = self.forward_inner(ids, None, Some(&mut trace), Head::Logits3d)?;
        Ok((logits, trace))
    }

    /// Incremental forward: `ids` `[B, T]` are the tokens at positions `cache.len()..cache.len()+T`; keys and
    /// values of earlier positions come from `cache`, which is extended. Returns logits `[B, T, V]`.
    pub fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        self.forward_inner(ids, Some(cache), None, Head::Logits3d)
    }

    fn rope_tables(&self, offset: usize, t: usize, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(t * 2 * half);
        let mut sin = Vec::with_capacity(t * 2 * half);
        for pos in offset..offset + t {
            let p = pos as f32;
            for _ in 0..2 {
                for &f in &self.inv_freq {
                    let a = p * f;
                    cos.push(a.cos());
                    sin.push(a.sin());
                }
            }
        }
        Ok((
            Tensor::from_vec(cos, (t, 2 * half), device)?,
            Tensor::from_vec(sin, (t, 2 * half), device)?,
        ))
    }

    fn forward_inner(
        &self,
        ids: &Tensor,
        mut cache: Option<&mut KvCache>,
        mut trace: Option<&mut Trace>,
        head: Head,
    ) -> Result<Tensor> {
        let (b, t) = ids.dims2().map_err(|_| TrainError::BadBatch {
            step: 0,
            reason: format!("token ids must be a [batch, time] tensor, got shape {:?}", ids.dims()),
        })?;
        let offset = cache.as_ref().map_or(0, |c| c.len);
        let ids = ids.to_dtype(DType::U32).ctx("casting token ids")?;
        let max_id = ids
            .max_all()
            .and_then(|m| m.to_scalar::<u32>())
            .ctx("checking token ids")?;
        if t == 0 || max_id as usize >= self.cfg.vocab_size {
            return Err(TrainError::BadBatch {
                step: 0,
                reason: format!("{t} positions, largest id {max_id}, vocabulary {}", self.cfg.vocab_size),
            });
        }
        let mut rec = |name: &str, x: &Tensor| -> Result<()> {
            if let Some(tr) = trace.as_deref_mut() {
                let d = x.dim(D::Minus1).ctx("trace")?;
                tr.push((name.to_string(), x.reshape((b, t, d)).ctx("trace")?));
            }
            Ok(())
        };
        let d = self.cfg.hidden_dim;
        let nh = self.cfg.n_heads;
        let hd = self.cfg.head_dim();
        let hidden = self.cfg.ffn_hidden();
        let eps = self.cfg.norm_eps;
        let n = b * t;
        let dev = self.device().clone();
        let cx = "forward pass";
        let (cos, sin) = self.rope_tables(offset, t, &dev).ctx(cx)?;
        let total = offset + t;
        // Causal mask over [t, total]: query i (absolute offset+i) may see keys j <= offset+i.
        let mask: Vec<f32> = (0..t)
            .flat_map(|i| (0..total).map(move |j| if j <= offset + i { 0.0 } else { f32::NEG_INFINITY }))
            .collect();
        let mask = Tensor::from_vec(mask, (t, total), &dev).ctx(cx)?;
        let scale = 1.0 / (hd as f64).sqrt();
        let mm = self.compute;

        let mut x = self.tok_embeddings.embedding(&ids.flatten_all().ctx(cx)?).ctx(cx)?; // [n, d]
        rec("tok_embeddings", &x)?;
        if let Some(c) = cache.as_deref_mut() {
            if c.layers.len() != self.layers.len() {
                c.layers = vec![None; self.layers.len()];
            }
        }
        for (l, blk) in self.layers.iter().enumerate() {
            let h = layer_norm(&x, &blk.attention_norm, eps).ctx(cx)?;
            rec(&format!("layers.{l}.attention_norm"), &h)?;
            let qkv = mm.linear(&h, &blk.in_proj).ctx(cx)?; // [n, 3d]
            let mut q = qkv.narrow(1, 0, d).ctx(cx)?;
            let mut k = qkv.narrow(1, d, d).ctx(cx)?;
            let v = qkv.narrow(1, 2 * d, d).ctx(cx)?;
            if let (Some(qn), Some(kn)) = (&blk.q_norm, &blk.k_norm) {
                q = layer_norm(&q, qn, eps).ctx(cx)?;
                k = layer_norm(&k, kn, eps).ctx(cx)?;
                rec(&format!("layers.{l}.attention.q_norm"), &q)?;
                rec(&format!("layers.{l}.attention.k_norm"), &k)?;
            }
            let heads = |z: &Tensor| -> candle_core::Result<Tensor> {
                z.reshape((b, t, nh, hd))?.transpose(1, 2)?.contiguous() // [b, nh, t, hd]
            };
            let q = apply_rope(&heads(&q).ctx(cx)?, &cos, &sin).ctx(cx)?;
            let mut k = apply_rope(&heads(&k).ctx(cx)?, &cos, &sin).ctx(cx)?;
            let mut v = heads(&v).ctx(cx)?;
            if let Some(c) = cache.as_deref_mut() {
                if let Some((pk, pv)) = &c.layers[l] {
                    k = Tensor::cat(&[pk, &k], 2).ctx(cx)?;
                    v = Tensor::cat(&[pv, &v], 2).ctx(cx)?;
                }
                c.layers[l] = Some((k.clone(), v.clone()));
            }
            let scores = (mm.matmul(&q, &k.t().ctx(cx)?).ctx(cx)? * scale).ctx(cx)?; // [b, nh, t, total]
            let probs = softmax_last_dim(&scores.broadcast_add(&mask).ctx(cx)?).ctx(cx)?;
            let a = mm.matmul(&probs, &v).ctx(cx)?; // [b, nh, t, hd]
            let a = a.transpose(1, 2).and_then(|a| a.reshape((n, d))).ctx(cx)?;
            let a = mm.linear(&a, &blk.out_proj).ctx(cx)?;
            rec(&format!("layers.{l}.attention"), &a)?;
            x = (x + a).ctx(cx)?;
            let h = layer_norm(&x, &blk.ffn_norm, eps).ctx(cx)?;
            rec(&format!("layers.{l}.ffn_norm"), &h)?;
            let gu = mm.linear(&h, &blk.w12).ctx(cx)?; // [n, 2h]
            let gate = gu.narrow(1, 0, hidden).ctx(cx)?;
            let up = gu.narrow(1, hidden, hidden).ctx(cx)?;
            let f = mm.linear(&(gate.silu().ctx(cx)? * up).ctx(cx)?, &blk.w3).ctx(cx)?;
            rec(&format!("layers.{l}.feed_forward"), &f)?;
            x = (x + f).ctx(cx)?;
            rec(&format!("layers.{l}"), &x)?;
        }
        if let Some(c) = cache {
            c.len += t;
        }
        let h = layer_norm(&x, &self.norm, eps).ctx(cx)?;
        rec("norm", &h)?;
        match head {
            Head::Hidden => Ok(h),
            Head::LogitsFlat => mm.linear(&h, &self.output).ctx(cx),
            Head::Logits3d => mm
                .linear(&h, &self.output)
                .and_then(|l| l.reshape((b, t, self.cfg.vocab_size)))
                .ctx(cx),
        }
    }
}

impl Module for Transformer {
    fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        Transformer::forward(self, ids).map_err(|e| candle_core::Error::Msg(e.to_string()))
    }
}

/// Log-probabilities `[.., V]` of logits over the last dimension.
pub fn log_softmax(logits: &Tensor) -> candle_core::Result<Tensor> {
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&max)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    shifted.broadcast_sub(&lse)
}
