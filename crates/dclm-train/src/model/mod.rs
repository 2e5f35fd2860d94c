//! The open_lm decoder-only transformer (DCLM's architecture: gain-only LayerNorm, rotary positions, SwiGLU, no
//! weight tying) in candle: configuration, parameters under open_lm's names with its init, the forward pass, and
//! inference helpers for evaluation.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use dclm_train::model::{ModelConfig, Params, Transformer};
//! let cfg = ModelConfig::new(32, 2, 2, 16, 64);
//! let params = Params::init(&cfg, 124, &Device::Cpu).unwrap();
//! let model = Transformer::from_params(&params, &cfg).unwrap();
//! let ids = Tensor::new(&[[1u32, 2, 3, 4]], &Device::Cpu).unwrap();
//! assert_eq!(model.forward(&ids).unwrap().dims(), &[1, 4, 64]);
//! ```

mod config;
mod infer;
mod params;
mod transformer;

pub use config::{swiglu_hidden_dim, ModelConfig};
pub use infer::{IncrementalLogits, TokenScores};
pub use params::{
    inv_freq_name, load_safetensors_map, param_specs, rope_inv_freq, save_safetensors_map, ParamInit, ParamSpec, Params,
};
pub use transformer::{layer_norm, log_softmax, softmax_last_dim, ComputeDtype, KvCache, Trace, Transformer};
