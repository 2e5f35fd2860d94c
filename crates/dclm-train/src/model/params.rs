//! The model's trainable parameters under open_lm's `state_dict()` names: open_lm's truncated-normal init
//! with depth scaling, and safetensors load/save (RoPE `inv_freq` buffers included on save, as open_lm does).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::config::ModelConfig;
use crate::error::{CandleContext, Result, TrainError};

/// How a parameter is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamInit {
    /// Truncated normal N(0, std²) cut at ±3·std (`torch.nn.init.trunc_normal_(std, a=-3std, b=3std)`).
    TruncNormal {
        /// Standard deviation before truncation.
        std: f64,
    },
    /// All ones (norm gains).
    Ones,
}

/// One parameter's name (open_lm), shape and init rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// open_lm state_dict name, e.g. `layers.0.attention.in_proj.weight`.
    pub name: String,
    /// Shape (torch layout: `[out, in]` for linear weights).
    pub shape: Vec<usize>,
    /// Init rule.
    pub init: ParamInit,
}

/// Name of the non-trainable RoPE buffer of layer `l` (saved in open_lm checkpoints).
pub fn inv_freq_name(layer: usize) -> String {
    format!("layers.{layer}.attention.pos_embed.inv_freq")
}

/// The trainable parameters of `cfg` in open_lm's state_dict order, with open_lm's init:
/// σ = 1/√d for embeddings, output, QKV and w12; out-proj σ = 1/√d / √(2(l+1)); w3 σ = 1/√h / √(2(l+1));
/// norm gains 1.
pub fn param_specs(cfg: &ModelConfig) -> Vec<ParamSpec> {
    let d = cfg.hidden_dim;
    let h = cfg.ffn_hidden();
    let v = cfg.vocab_size;
    let sd = 1.0 / (d as f64).sqrt();
    let sh = 1.0 / (h as f64).sqrt();
    let tn = |std: f64| ParamInit::TruncNormal { std };
    let mut out = vec![ParamSpec {
        name: "tok_embeddings.weight".into(),
        shape: vec![v, d],
        init: tn(sd),
    }];
    for l in 0..cfg.n_layers {
        let depth = (2.0 * (l as f64 + 1.0)).sqrt();
        let p = |s: &str| format!("layers.{l}.{s}");
        out.push(ParamSpec {
            name: p("attention.in_proj.weight"),
            shape: vec![3 * d, d],
            init: tn(sd),
        });
        out.push(ParamSpec {
            name: p("attention.out_proj.weight"),
            shape: vec![d, d],
            init: tn(sd / depth),
        });
        if cfg.qk_norm {
            out.push(ParamSpec {
                name: p("attention.q_norm.weight"),
                shape: vec![d],
                init: ParamInit::Ones,
            });
            out.push(ParamSpec {
                name: p("attention.k_norm.weight"),
                shape: vec![d],
                init: ParamInit::Ones,
            });
        }
        out.push(ParamSpec {
            name: p("feed_forward.w12.weight"),
            shape: vec![2 * h, d],
            init: tn(sd),
        });
        out.push(ParamSpec {
            name: p("feed_forward.w3.weight"),
            shape: vec![d, h],
            init: tn(sh / depth),
        });
        out.push(ParamSpec {
            name: p("attention_norm.weight"),
            shape: vec![d],
            init: ParamInit::Ones,
        });
        out.push(ParamSpec {
            name: p("ffn_norm.weight"),
            shape: vec![d],
            init: ParamInit::Ones,
        });
    }
    out.push(ParamSpec {
        name: "norm.weight".into(),
        shape: vec![d],
        init: ParamInit::Ones,
    });
    out.push(ParamSpec {
        name: "output.weight".into(),
        shape: vec![v, d],
        init: tn(sd),
    });
    out
}

/// RoPE inverse frequencies 1/base^(2j/hd), j = 0..hd/2, computed in f32 like open_lm.
pub fn rope_inv_freq(cfg: &ModelConfig) -> Vec<f32> {
    let hd = cfg.head_dim();
    (0..hd / 2)
        .map(|j| 1.0 / (cfg.rope_base as f32).powf((2 * j) as f32 / hd as f32))
        .collect()
}

/// Trainable parameters as candle [`Var`]s, in open_lm's state_dict order.
#[derive(Debug, Clone)]
pub struct Params {
    names: Vec<String>,
    vars: Vec<Var>,
}

impl Params {
    /// open_lm's init drawn from a ChaCha8 stream seeded with `seed` (parameters in state_dict order).
    /// Deterministic for a given seed on every platform; it does not reproduce torch's random stream.
    pub fn init(cfg: &ModelConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut names = Vec::new();
        let mut vars = Vec::new();
        for spec in param_specs(cfg) {
            let n: usize = spec.shape.iter().product();
            let data: Vec<f32> = match spec.init {
                ParamInit::Ones => vec![1.0; n],
                ParamInit::TruncNormal { std } => (0..n)
                    .map(|_| loop {
                        let z: f64 = rng.sample(StandardNormal);
                        if z.abs() <= 3.0 {
                            break (z * std) as f32;
                        }
                    })
                    .collect(),
            };
            let t = Tensor::from_vec(data, spec.shape.as_slice(), device).ctx("creating a parameter")?;
            vars.push(Var::from_tensor(&t).ctx("creating a parameter")?);
            names.push(spec.name);
        }
        Ok(Self { names, vars })
    }

    /// Parameters from named tensors (any float dtype, upcast to f32), checked against `cfg`'s names and
    /// shapes; `source` names the file in errors. Extra tensors (e.g. `inv_freq`) are ignored.
    pub fn from_tensors(
        cfg: &ModelConfig,
        tensors: &HashMap<String, Tensor>,
        source: &Path,
        device: &Device,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut names = Vec::new();
        let mut vars = Vec::new();
        for spec in param_specs(cfg) {
            let t = tensors.get(&spec.name).ok_or_else(|| TrainError::MissingTensor {
                path: source.to_path_buf(),
                name: spec.name.clone(),
            })?;
            if t.dims() != spec.shape.as_slice() {
                return Err(TrainError::TensorShape {
                    path: source.to_path_buf(),
                    name: spec.name,
                    expected: spec.shape,
                    got: t.dims().to_vec(),
                });
            }
            let t = t
                .to_dtype(DType::F32)
                .and_then(|t| t.to_device(device))
                .and_then(|t| t.contiguous())
                .ctx("loading a parameter")?;
            // A fresh copy so that the Var owns its storage (updates never alias the loaded map).
            let t = t.copy().ctx("loading a parameter")?;
            vars.push(Var::from_tensor(&t).ctx("loading a parameter")?);
            names.push(spec.name);
        }
        Ok(Self { names, vars })
    }

    /// Load from an open_lm safetensors file (names as open_lm's `state_dict()`; BF16/F16/F32 accepted).
    pub fn load_safetensors(cfg: &ModelConfig, path: &Path, device: &Device) -> Result<Self> {
        let tensors = load_safetensors_map(path, device)?;
        Self::from_tensors(cfg, &tensors, path, device)
    }

    /// Save as safetensors with open_lm's names, f32, including the `inv_freq` buffers open_lm saves.
    pub fn save_safetensors(&self, cfg: &ModelConfig, path: &Path) -> Result<()> {
        let mut map: HashMap<String, Tensor> = self.named_tensors().into_iter().collect();
        let inv = rope_inv_freq(cfg);
        let device = self.vars.first().map(|v| v.device().clone()).unwrap_or(Device::Cpu);
        for l in 0..cfg.n_layers {
            let t = Tensor::from_slice(&inv, inv.len(), &device).ctx("saving inv_freq")?;
            map.insert(inv_freq_name(l), t);
        }
        save_safetensors_map(&map, path)
    }

    /// `(name, tensor)` pairs in state_dict order; the tensors share storage with the variables.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.names
            .iter()
            .cloned()
            .zip(self.vars.iter().map(|v| v.as_tensor().clone()))
            .collect()
    }

    /// Parameter names in state_dict order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The variables in state_dict order.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// The variable called `name`.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.names.iter().position(|n| n == name).map(|i| &self.vars[i])
    }

    /// Total number of scalar parameters.
    pub fn count(&self) -> u64 {
        self.vars.iter().map(|v| v.elem_count() as u64).sum()
    }

    /// Overwrite every parameter with the values of `other` (same names and shapes).
    pub fn assign_from(&self, other: &HashMap<String, Tensor>, source: &Path) -> Result<()> {
        for (name, var) in self.names.iter().zip(&self.vars) {
            let t = other.get(name).ok_or_else(|| TrainError::MissingTensor {
                path: source.to_path_buf(),
                name: name.clone(),
            })?;
            if t.dims() != var.dims() {
                return Err(TrainError::TensorShape {
                    path: source.to_path_buf(),
                    name: name.clone(),
                    expected: var.dims().to_vec(),
                    got: t.dims().to_vec(),
                });
            }
            let t = t
                .to_dtype(DType::F32)
                .and_then(|t| t.to_device(var.device()))
                .ctx("assigning a parameter")?;
            var.set(&t).ctx("assigning a parameter")?;
        }
        Ok(())
    }
}

/// Read every tensor of a safetensors file.
pub fn load_safetensors_map(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    if !path.is_file() {
        return Err(TrainError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such safetensors file"),
        });
    }
    candle_core::safetensors::load(path, device).ctx(&format!("reading {}", path.display()))
}

/// Write named tensors as a safetensors file (written to a temporary name, then renamed).
pub fn save_safetensors_map(map: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    let tmp = path.with_extension("safetensors.tmp");
    candle_core::safetensors::save(map, &tmp).ctx(&format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}
