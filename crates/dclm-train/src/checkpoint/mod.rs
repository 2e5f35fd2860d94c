//! Checkpoints in and out of the three layouts a DCLM user meets, all holding the same open_lm model:
//!
//! - **dclm-rs safetensors** (`model.safetensors`, open_lm `state_dict()` names; shape from `run.json`,
//!   a checkpoint's `state.json`, or a model JSON beside it),
//! - **open_lm `.pt`** (`torch.save({"state_dict": …, "epoch": …})`, names possibly prefixed by `module.`
//!   (DDP) or containing `_orig_mod.` (`torch.compile`); shape from open_lm's model JSON),
//! - **open_lm Hugging Face folder** (`config.json`, `model.`-prefixed names, one or sharded safetensors files
//!   with `model.safetensors.index.json`, tokenizer files), the layout of `apple/DCLM-7B`.
//!
//! [`load_any`] reads any of them into a [`Checkpoint`] (open_lm names, the [`ModelConfig`] and where it came
//! from); [`Checkpoint::model`] builds the [`Transformer`]; [`export`] / [`convert`] write any layout.
//!
//! ```no_run
//! use dclm_train::checkpoint::{convert, load_any, ConvertOptions, ExportFormat};
//! use std::path::Path;
//! let ckpt = load_any(Path::new("logs/run/checkpoints/epoch_5.pt"), Some(Path::new("open_lm_1b.json")))?;
//! let model = ckpt.model(&candle_core::Device::Cpu)?;
//! convert(Path::new("out/model.safetensors"), None, ExportFormat::Hf, Path::new("out/hf"), &ConvertOptions::default())?;
//! # Ok::<(), dclm_train::TrainError>(())
//! ```

mod hf;
mod torch_pt;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::{json, Value};

pub use hf::{config_from_hf, hf_config, HF_PREFIX};
pub use torch_pt::{read_pt, write_pt, PtMeta};

use crate::error::{CandleContext, Result, TrainError};
use crate::model::{inv_freq_name, param_specs, rope_inv_freq, swiglu_hidden_dim, ModelConfig, Params, Transformer};

/// The on-disk layout of a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// One safetensors file with open_lm names (dclm-rs's own).
    Safetensors,
    /// open_lm's torch zip pickle.
    OpenLmPt,
    /// open_lm's Hugging Face folder.
    HfFolder,
}

/// Where a checkpoint's [`ModelConfig`] came from.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigSource {
    /// A JSON file: open_lm model JSON, HF `config.json`, dclm-rs `run.json` or checkpoint `state.json`.
    File(PathBuf),
    /// Derived from the tensors (widths, layers and vocabulary from shapes, heads from the RoPE `inv_freq`
    /// length); `seq_len` then defaults to 2048 and `norm_eps` to 1e-5, which no tensor records.
    Inferred,
}

/// A loaded checkpoint: tensors under open_lm's `state_dict()` names (prefixes removed, dtype as stored).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The model shape.
    pub config: ModelConfig,
    /// Where [`config`](Self::config) came from.
    pub config_source: ConfigSource,
    /// Tensors by open_lm name, with the file each came from (shards differ).
    pub tensors: HashMap<String, (Tensor, PathBuf)>,
    /// The layout read.
    pub format: CheckpointFormat,
    /// The file or folder read.
    pub source: PathBuf,
    /// open_lm's `epoch` when the source recorded one.
    pub epoch: Option<i64>,
}

fn ckpt_err(path: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The open_lm name of a stored tensor name: `module.` (DDP/FSDP) and `model.` (HF wrapper) prefixes
/// removed, `_orig_mod.` (`torch.compile`) removed anywhere.
pub fn open_lm_name(stored: &str) -> &str {
    let mut n = stored;
    loop {
        if let Some(r) = n.strip_prefix("module.") {
            n = r;
        } else if let Some(r) = n.strip_prefix("_orig_mod.") {
            n = r;
        } else if let Some(r) = n.strip_prefix(HF_PREFIX) {
            n = r;
        } else {
            return n;
        }
    }
}

fn normalize_names(stored: HashMap<String, (Tensor, PathBuf)>) -> Result<HashMap<String, (Tensor, PathBuf)>> {
    let mut out: HashMap<String, (Tensor, PathBuf)> = HashMap::with_capacity(stored.len());
    let mut origin: HashMap<String, String> = HashMap::new();
    for (name, (t, file)) in stored {
        let clean = open_lm_name(&name).replace("._orig_mod.", ".");
        if let Some(first) = origin.insert(clean.clone(), name.clone()) {
            return Err(ckpt_err(
                &file,
                format!("tensors `{first}` and `{name}` both map to open_lm name `{clean}`"),
            ));
        }
        out.insert(clean, (t, file));
    }
    Ok(out)
}

/// open_lm's `state_dict()` order for `cfg`: parameters with the RoPE `inv_freq` buffer of each layer after
/// its `out_proj` (open_lm saves it, and `load_state_dict(strict=True)` requires it).
pub fn state_dict_names(cfg: &ModelConfig) -> Vec<String> {
    let mut out = Vec::new();
    for spec in param_specs(cfg) {
        let inv = spec
            .name
            .strip_suffix(".attention.out_proj.weight")
            .and_then(|p| p.strip_prefix("layers."))
            .and_then(|l| l.parse::<usize>().ok());
        out.push(spec.name);
        if let Some(l) = inv {
            out.push(inv_freq_name(l));
        }
    }
    out
}

/// Detect the layout of `path`: a folder with `config.json` (HF), `.pt`/`.pth`/`.bin` (torch), `.safetensors`.
/// A dclm-rs run or checkpoint folder resolves to its `model.safetensors`.
pub fn detect_format(path: &Path) -> Result<(CheckpointFormat, PathBuf)> {
    if path.is_dir() {
        if path.join("config.json").is_file() {
            return Ok((CheckpointFormat::HfFolder, path.to_path_buf()));
        }
        let st = path.join("model.safetensors");
        if st.is_file() {
            return Ok((CheckpointFormat::Safetensors, st));
        }
        return Err(ckpt_err(
            path,
            "folder is neither an HF model (config.json) nor a dclm-rs run (model.safetensors)",
        ));
    }
    if !path.is_file() {
        return Err(TrainError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such checkpoint"),
        });
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("safetensors") => Ok((CheckpointFormat::Safetensors, path.to_path_buf())),
        Some("pt" | "pth" | "bin") => Ok((CheckpointFormat::OpenLmPt, path.to_path_buf())),
        _ => Err(ckpt_err(
            path,
            "unknown checkpoint extension (expected .safetensors, .pt, .pth or .bin)",
        )),
    }
}

/// Read a model shape from any JSON that records one: an open_lm model JSON (`hidden_dim`, …), an HF
/// `config.json` (`dim`, …), a dclm-rs `run.json` (`hyperparameters.model`) or a checkpoint `state.json`
/// (`preset.model`).
pub fn read_model_config(path: &Path) -> Result<ModelConfig> {
    let v = hf::read_json(path)?;
    let open_lm = |v: &Value| -> Result<ModelConfig> {
        let cfg: ModelConfig = serde_json::from_value(v.clone()).map_err(|source| TrainError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        cfg.validate().map_err(|e| ckpt_err(path, e.to_string()))?;
        Ok(cfg)
    };
    if v.get("hidden_dim").is_some() {
        open_lm(&v)
    } else if v.get("dim").is_some() {
        config_from_hf(&v, path)
    } else if let Some(m) = v
        .pointer("/hyperparameters/model")
        .or_else(|| v.pointer("/preset/model"))
    {
        open_lm(m)
    } else {
        Err(ckpt_err(
            path,
            "no model shape: expected an open_lm model JSON (hidden_dim…), an HF config.json (dim…), \
             a dclm-rs run.json or state.json",
        ))
    }
}

/// The JSON describing a checkpoint file's shape when none is given: `<stem>.json`, then `model.json`,
/// `run.json`, `state.json`, `params.json` and `config.json` (a weights file inside an HF folder) beside it,
/// then `run.json` two folders up (a dclm-rs `checkpoints/step_N/`).
fn sidecar_config(file: &Path) -> Option<PathBuf> {
    let dir = file.parent()?;
    let mut candidates = vec![file.with_extension("json")];
    for n in ["model.json", "run.json", "state.json", "params.json", "config.json"] {
        candidates.push(dir.join(n));
    }
    if let Some(run) = dir.parent().and_then(Path::parent) {
        candidates.push(run.join("run.json"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file() && read_model_config(p).is_ok())
}

/// A [`ModelConfig`] from tensor shapes (see [`ConfigSource::Inferred`]).
pub fn infer_config(tensors: &HashMap<String, (Tensor, PathBuf)>, source: &Path) -> Result<ModelConfig> {
    let shape = |n: &str| tensors.get(n).map(|(t, _)| t.dims().to_vec());
    let need = |n: &str| {
        shape(n).ok_or_else(|| {
            ckpt_err(
                source,
                format!("cannot infer the model shape without tensor `{n}`; pass the model JSON"),
            )
        })
    };
    let emb = need("tok_embeddings.weight")?;
    let &[v, d] = emb.as_slice() else {
        return Err(ckpt_err(source, format!("tok_embeddings.weight has shape {emb:?}")));
    };
    let mut n_layers = 0;
    while tensors.contains_key(&format!("layers.{n_layers}.attention.in_proj.weight")) {
        n_layers += 1;
    }
    if n_layers == 0 {
        return Err(ckpt_err(
            source,
            "no `layers.0.attention.in_proj.weight`: not an open_lm model",
        ));
    }
    let inv = need(&inv_freq_name(0)).map_err(|_| {
        ckpt_err(
            source,
            "cannot infer the number of heads (no RoPE inv_freq buffer); pass the model JSON",
        )
    })?;
    let head_dim = 2 * inv.first().copied().unwrap_or(0);
    if head_dim == 0 || d % head_dim != 0 {
        return Err(ckpt_err(
            source,
            format!("inv_freq length {inv:?} does not divide width {d}"),
        ));
    }
    let mut cfg = ModelConfig::new(d, n_layers, d / head_dim, 2048, v);
    cfg.qk_norm = tensors.contains_key("layers.0.attention.q_norm.weight");
    if let Some(w12) = shape("layers.0.feed_forward.w12.weight") {
        let h = w12[0] / 2;
        if h != swiglu_hidden_dim(d) {
            cfg.ffn_hidden_dim = Some(h);
        }
    }
    cfg.validate().map_err(|e| ckpt_err(source, e.to_string()))?;
    Ok(cfg)
}

/// Load a checkpoint of any layout. `model_json` (open_lm model JSON, HF `config.json`, `run.json`…) gives
/// the shape; without it the layout's own record is used (HF `config.json`, a JSON beside the file, see
/// [`read_model_config`]), and as a last resort the shape is inferred from the tensors.
pub fn load_any(path: &Path, model_json: Option<&Path>) -> Result<Checkpoint> {
    let (format, file) = detect_format(path)?;
    let cpu = Device::Cpu;
    let (stored, epoch): (HashMap<String, (Tensor, PathBuf)>, Option<i64>) = match format {
        CheckpointFormat::Safetensors => {
            let map = candle_core::safetensors::load(&file, &cpu).ctx(&format!("reading {}", file.display()))?;
            (map.into_iter().map(|(k, t)| (k, (t, file.clone()))).collect(), None)
        }
        CheckpointFormat::OpenLmPt => {
            let (map, meta) = read_pt(&file)?;
            (
                map.into_iter().map(|(k, t)| (k, (t, file.clone()))).collect(),
                meta.epoch,
            )
        }
        CheckpointFormat::HfFolder => (hf::read_weights(&file, &cpu)?, None),
    };
    let tensors = normalize_names(stored)?;
    let config_file = match (model_json, format) {
        (Some(p), _) => Some(p.to_path_buf()),
        (None, CheckpointFormat::HfFolder) => Some(file.join("config.json")),
        (None, _) => sidecar_config(&file),
    };
    let (config, config_source) = match config_file {
        Some(p) => (read_model_config(&p)?, ConfigSource::File(p)),
        None => (infer_config(&tensors, &file)?, ConfigSource::Inferred),
    };
    let ckpt = Checkpoint {
        config,
        config_source,
        tensors,
        format,
        source: file,
        epoch,
    };
    ckpt.check()?;
    Ok(ckpt)
}

/// Load any checkpoint straight into a model on `device` (see [`load_any`]).
pub fn load_model(path: &Path, model_json: Option<&Path>, device: &Device) -> Result<Transformer> {
    load_any(path, model_json)?.model(device)
}

impl Checkpoint {
    /// Check the tensors against the config: every parameter present with its shape, nothing this port
    /// does not implement (a norm bias, an unknown weight), RoPE buffers equal to the config's.
    pub fn check(&self) -> Result<()> {
        let expected: HashSet<String> = state_dict_names(&self.config).into_iter().collect();
        let mut names: Vec<&String> = self.tensors.keys().collect();
        names.sort();
        for name in names {
            if !expected.contains(name) {
                let (_, file) = &self.tensors[name];
                return Err(ckpt_err(
                    file,
                    format!(
                        "unexpected tensor `{name}` for this config ({} layers, qk_norm {}): this port implements \
                         DCLM's open_lm architecture only (gain-only norms, no biases)",
                        self.config.n_layers, self.config.qk_norm
                    ),
                ));
            }
        }
        for spec in param_specs(&self.config) {
            let (t, file) = self.tensors.get(&spec.name).ok_or_else(|| TrainError::MissingTensor {
                path: self.source.clone(),
                name: spec.name.clone(),
            })?;
            if t.dims() != spec.shape.as_slice() {
                return Err(TrainError::TensorShape {
                    path: file.clone(),
                    name: spec.name,
                    expected: spec.shape,
                    got: t.dims().to_vec(),
                });
            }
        }
        let want = rope_inv_freq(&self.config);
        for l in 0..self.config.n_layers {
            let name = inv_freq_name(l);
            if let Some((t, file)) = self.tensors.get(&name) {
                let got: Vec<f32> = t
                    .to_dtype(DType::F32)
                    .and_then(|t| t.flatten_all())
                    .and_then(|t| t.to_vec1())
                    .ctx("reading inv_freq")?;
                let close = got.len() == want.len()
                    && got
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| (a - b).abs() <= 1e-6 * b.abs().max(1e-30));
                if !close {
                    return Err(ckpt_err(
                        file,
                        format!(
                            "`{name}` differs from RoPE base {} with head_dim {} (wrong n_heads or rope_base in the config?)",
                            self.config.rope_base,
                            self.config.head_dim()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The parameters (f32) on `device`.
    pub fn params(&self, device: &Device) -> Result<Params> {
        let map: HashMap<String, Tensor> = self.tensors.iter().map(|(k, (t, _))| (k.clone(), t.clone())).collect();
        Params::from_tensors(&self.config, &map, &self.source, device)
    }

    /// The model on `device` (weights in f32).
    pub fn model(&self, device: &Device) -> Result<Transformer> {
        Transformer::from_params(&self.params(device)?, &self.config)
    }

    /// open_lm's `state_dict()`: every parameter and RoPE buffer in open_lm's order, f32, contiguous on the CPU
    /// (RoPE buffers recomputed from the config when the source had none).
    pub fn state_dict(&self) -> Result<Vec<(String, Tensor)>> {
        let inv = rope_inv_freq(&self.config);
        let mut out = Vec::new();
        for name in state_dict_names(&self.config) {
            let t = match self.tensors.get(&name) {
                Some((t, _)) => t.clone(),
                None if name.ends_with(".inv_freq") => {
                    Tensor::from_slice(&inv, inv.len(), &Device::Cpu).ctx("building inv_freq")?
                }
                None => {
                    return Err(TrainError::MissingTensor {
                        path: self.source.clone(),
                        name,
                    })
                }
            };
            let t = t
                .to_dtype(DType::F32)
                .and_then(|t| t.to_device(&Device::Cpu))
                .and_then(|t| t.contiguous())
                .ctx("collecting the state dict")?;
            out.push((name, t));
        }
        Ok(out)
    }
}

/// A target layout for [`export`] / [`convert`] (`--to open-lm|hf|safetensors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// open_lm `.pt` + model JSON.
    OpenLm,
    /// open_lm Hugging Face folder.
    Hf,
    /// dclm-rs safetensors + model JSON.
    Safetensors,
}

impl std::str::FromStr for ExportFormat {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "open-lm" | "open_lm" | "openlm" | "pt" => Ok(ExportFormat::OpenLm),
            "hf" | "huggingface" => Ok(ExportFormat::Hf),
            "safetensors" | "dclm-rs" => Ok(ExportFormat::Safetensors),
            _ => Err(TrainError::Config(format!(
                "unknown checkpoint format `{s}` (allowed: open-lm, hf, safetensors)"
            ))),
        }
    }
}

/// Options of [`export`].
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// `epoch` recorded in an open_lm `.pt` (default: the source's, else 0).
    pub epoch: Option<i64>,
    /// HF: a `tokenizer.json` or a folder of HF tokenizer files to copy into the folder.
    pub tokenizer: Option<PathBuf>,
    /// HF: largest safetensors shard in bytes (default 5 GB, `transformers`' `max_shard_size` default).
    pub max_shard_bytes: u64,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            epoch: None,
            tokenizer: None,
            max_shard_bytes: 5_000_000_000,
        }
    }
}

/// open_lm's model JSON for `cfg` (the file passed as `--model`: the keys `create_params` reads).
/// Refuses a config open_lm cannot express (it hard-codes `norm_eps` 1e-5, RoPE base 10000 and the SwiGLU
/// hidden-size rule).
pub fn open_lm_model_json(cfg: &ModelConfig) -> Result<Value> {
    if cfg.norm_eps != 1e-5 || cfg.rope_base != 10_000.0 {
        return Err(TrainError::Config(format!(
            "open_lm fixes norm_eps 1e-5 and RoPE base 10000; this model has {} and {}",
            cfg.norm_eps, cfg.rope_base
        )));
    }
    if cfg.ffn_hidden() != swiglu_hidden_dim(cfg.hidden_dim) {
        return Err(TrainError::Config(format!(
            "open_lm derives the SwiGLU width {} from hidden_dim {}; this model has {}",
            swiglu_hidden_dim(cfg.hidden_dim),
            cfg.hidden_dim,
            cfg.ffn_hidden()
        )));
    }
    Ok(json!({
        "hidden_dim": cfg.hidden_dim,
        "n_layers": cfg.n_layers,
        "n_heads": cfg.n_heads,
        "seq_len": cfg.seq_len,
        "vocab_size": cfg.vocab_size,
        "post_embed_norm": false,
        "weight_tying": false,
        "model_norm": cfg.model_norm.clone().unwrap_or_else(|| "gain_only_lp_layer_norm".into()),
        "qk_norm": cfg.qk_norm,
        "positional_embedding_type": "rotary",
        "ffn_type": cfg.ffn_type.clone().unwrap_or_else(|| "swiglu_torch".into()),
    }))
}

/// `(file, model JSON)` paths for a single-file export: `out` itself when it has `ext`, else `out/model.<ext>`;
/// the JSON shares the file's stem.
fn file_and_json(out: &Path, ext: &str) -> Result<(PathBuf, PathBuf)> {
    let file = if out.extension().is_some_and(|e| e == ext) {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        out.to_path_buf()
    } else {
        std::fs::create_dir_all(out).map_err(|source| TrainError::Io {
            path: out.to_path_buf(),
            source,
        })?;
        out.join(format!("model.{ext}"))
    };
    let json = file.with_extension("json");
    Ok((file, json))
}

/// Write `ckpt` in layout `to` under `out` and return the files written:
/// - `OpenLm`: `out` (a `.pt` path, or a folder receiving `model.pt`) + the model JSON with the same stem;
/// - `Hf`: the folder `out` with `config.json`, `model.`-prefixed safetensors (sharded past
///   [`ConvertOptions::max_shard_bytes`]) and the tokenizer files when [`ConvertOptions::tokenizer`] is set;
/// - `Safetensors`: `out` (a `.safetensors` path, or a folder receiving `model.safetensors`) + the model JSON.
pub fn export(ckpt: &Checkpoint, to: ExportFormat, out: &Path, opts: &ConvertOptions) -> Result<Vec<PathBuf>> {
    let sd = ckpt.state_dict()?;
    let cfg = &ckpt.config;
    match to {
        ExportFormat::OpenLm => {
            let model_json = open_lm_model_json(cfg)?;
            let (file, json_path) = file_and_json(out, "pt")?;
            write_pt(&file, &sd, opts.epoch.or(ckpt.epoch).unwrap_or(0))?;
            hf::write_json(&model_json, &json_path)?;
            Ok(vec![file, json_path])
        }
        ExportFormat::Safetensors => {
            let (file, json_path) = file_and_json(out, "safetensors")?;
            let map: HashMap<String, Tensor> = sd.into_iter().collect();
            crate::model::save_safetensors_map(&map, &file)?;
            let v = serde_json::to_value(cfg).map_err(|source| TrainError::Json {
                path: json_path.clone(),
                source,
            })?;
            hf::write_json(&v, &json_path)?;
            Ok(vec![file, json_path])
        }
        ExportFormat::Hf => {
            open_lm_model_json(cfg)?;
            std::fs::create_dir_all(out).map_err(|source| TrainError::Io {
                path: out.to_path_buf(),
                source,
            })?;
            let prefixed: Vec<(String, Tensor)> = sd.into_iter().map(|(k, t)| (format!("{HF_PREFIX}{k}"), t)).collect();
            let mut files = hf::write_weights(out, &prefixed, opts.max_shard_bytes)?;
            let config_path = out.join("config.json");
            hf::write_json(&hf_config(cfg), &config_path)?;
            files.push(config_path);
            if let Some(tok) = &opts.tokenizer {
                files.extend(hf::write_tokenizer(out, tok, cfg.seq_len)?);
            }
            Ok(files)
        }
    }
}

/// [`load_any`] then [`export`]: `dclm convert CKPT --to open-lm|hf|safetensors -o OUT`.
pub fn convert(
    src: &Path,
    model_json: Option<&Path>,
    to: ExportFormat,
    out: &Path,
    opts: &ConvertOptions,
) -> Result<Vec<PathBuf>> {
    export(&load_any(src, model_json)?, to, out, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> (ModelConfig, Params) {
        let cfg = ModelConfig::new(32, 2, 4, 16, 64);
        let params = Params::init(&cfg, 7, &Device::Cpu).unwrap();
        (cfg, params)
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn names_lose_wrapper_prefixes() {
        assert_eq!(
            open_lm_name("module.layers.0.ffn_norm.weight"),
            "layers.0.ffn_norm.weight"
        );
        assert_eq!(open_lm_name("_orig_mod.norm.weight"), "norm.weight");
        assert_eq!(open_lm_name("module._orig_mod.output.weight"), "output.weight");
        assert_eq!(open_lm_name("model.tok_embeddings.weight"), "tok_embeddings.weight");
        assert_eq!(open_lm_name("norm.weight"), "norm.weight");
    }

    #[test]
    fn state_dict_order_matches_open_lm() {
        let cfg = ModelConfig::new(64, 2, 4, 32, 512);
        let names = state_dict_names(&cfg);
        assert_eq!(names.len(), 21);
        assert_eq!(names[1], "layers.0.attention.in_proj.weight");
        assert_eq!(names[3], "layers.0.attention.pos_embed.inv_freq");
        assert_eq!(names[20], "output.weight");
    }

    #[test]
    fn every_format_round_trips_to_identical_weights_and_logits() {
        let (cfg, params) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("run").join("model.safetensors");
        std::fs::create_dir_all(src.parent().unwrap()).unwrap();
        params.save_safetensors(&cfg, &src).unwrap();
        // The shape of a bare safetensors file is inferred from its tensors when no JSON is beside it.
        let base = load_any(&src, None).unwrap();
        assert_eq!(base.config_source, ConfigSource::Inferred);
        assert_eq!(base.config.n_heads, 4);
        let ids = Tensor::new(&[[1u32, 5, 9, 3, 60, 2]], &Device::Cpu).unwrap();
        let want = base.model(&Device::Cpu).unwrap().forward(&ids).unwrap();
        let opts = ConvertOptions {
            max_shard_bytes: 20_000,
            ..ConvertOptions::default()
        };
        for (to, out) in [
            (ExportFormat::OpenLm, dir.path().join("ol/ckpt.pt")),
            (ExportFormat::Hf, dir.path().join("hf")),
            (ExportFormat::Safetensors, dir.path().join("st")),
        ] {
            let files = convert(&src, None, to, &out, &opts).unwrap();
            assert!(files.iter().all(|f| f.is_file()), "{files:?}");
            let back = load_any(&out, None).unwrap();
            assert!(matches!(back.config_source, ConfigSource::File(_)), "{to:?}");
            assert_eq!(back.config.hidden_dim, cfg.hidden_dim);
            for (name, t) in params.named_tensors() {
                assert_eq!(max_diff(&back.tensors[&name].0, &t), 0.0, "{to:?}: {name}");
            }
            let got = back.model(&Device::Cpu).unwrap().forward(&ids).unwrap();
            assert_eq!(max_diff(&got, &want), 0.0, "{to:?}");
        }
        // The HF export was split into several shards with an index.
        assert!(dir.path().join("hf/model.safetensors.index.json").is_file());
        // The weights file of an unsharded HF folder, given alone, takes its shape from the config.json beside it.
        let single = dir.path().join("hf1");
        export(&base, ExportFormat::Hf, &single, &ConvertOptions::default()).unwrap();
        let back = load_any(&single.join("model.safetensors"), None).unwrap();
        assert_eq!(back.config_source, ConfigSource::File(single.join("config.json")));
        assert_eq!(back.format, CheckpointFormat::Safetensors);
        // A `.pt` written as a folder export has its model JSON beside it.
        assert!(dir.path().join("ol/ckpt.json").is_file());
    }

    #[test]
    fn prefixed_pt_checkpoints_load() {
        let (cfg, params) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("epoch_3.pt");
        let sd: Vec<(String, Tensor)> = params
            .named_tensors()
            .into_iter()
            .map(|(k, t)| (format!("module._orig_mod.{k}"), t))
            .collect();
        write_pt(&path, &sd, 3).unwrap();
        let json = dir.path().join("model.json");
        std::fs::write(
            &json,
            serde_json::to_string(&open_lm_model_json(&cfg).unwrap()).unwrap(),
        )
        .unwrap();
        let ckpt = load_any(&path, Some(&json)).unwrap();
        assert_eq!(ckpt.epoch, Some(3));
        assert_eq!(ckpt.format, CheckpointFormat::OpenLmPt);
        // Without inv_freq buffers the heads cannot be inferred, but the sidecar model.json is found.
        let ckpt2 = load_any(&path, None).unwrap();
        assert_eq!(ckpt2.config_source, ConfigSource::File(json));
        for (name, t) in params.named_tensors() {
            assert_eq!(max_diff(&ckpt.tensors[&name].0, &t), 0.0, "{name}");
        }
    }

    #[test]
    fn bad_checkpoints_name_file_and_tensor() {
        let (cfg, params) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("model.json");
        std::fs::write(&json, serde_json::to_string(&cfg).unwrap()).unwrap();
        let path = dir.path().join("ckpt.pt");
        // Missing tensor.
        let sd: Vec<(String, Tensor)> = params
            .named_tensors()
            .into_iter()
            .filter(|(k, _)| k != "layers.1.feed_forward.w3.weight")
            .collect();
        write_pt(&path, &sd, 0).unwrap();
        let e = load_any(&path, Some(&json)).unwrap_err().to_string();
        assert!(
            e.contains("ckpt.pt") && e.contains("layers.1.feed_forward.w3.weight"),
            "{e}"
        );
        // Wrong shape.
        let mut sd = params.named_tensors();
        sd[0].1 = Tensor::zeros((64, 16), DType::F32, &Device::Cpu).unwrap();
        write_pt(&path, &sd, 0).unwrap();
        let e = load_any(&path, Some(&json)).unwrap_err().to_string();
        assert!(
            e.contains("ckpt.pt") && e.contains("tok_embeddings.weight") && e.contains("[64, 16]"),
            "{e}"
        );
        // A tensor of another architecture (LayerNorm bias).
        let mut sd = params.named_tensors();
        sd.push(("norm.bias".into(), Tensor::zeros(32, DType::F32, &Device::Cpu).unwrap()));
        write_pt(&path, &sd, 0).unwrap();
        let e = load_any(&path, Some(&json)).unwrap_err().to_string();
        assert!(e.contains("ckpt.pt") && e.contains("norm.bias"), "{e}");
        // A config with other heads than the RoPE buffers say.
        let mut wrong = cfg.clone();
        wrong.n_heads = 2;
        std::fs::write(&json, serde_json::to_string(&wrong).unwrap()).unwrap();
        let st = dir.path().join("w.safetensors");
        params.save_safetensors(&cfg, &st).unwrap();
        let e = load_any(&st, Some(&json)).unwrap_err().to_string();
        assert!(e.contains("inv_freq") && e.contains("w.safetensors"), "{e}");
        // Garbage bytes.
        std::fs::write(&path, b"\x80\x02garbage").unwrap();
        let e = load_any(&path, Some(&json)).unwrap_err().to_string();
        assert!(e.contains("ckpt.pt"), "{e}");
    }

    #[test]
    fn export_refuses_what_open_lm_cannot_express() {
        let mut cfg = ModelConfig::new(32, 2, 4, 16, 64);
        cfg.rope_base = 500_000.0;
        assert!(open_lm_model_json(&cfg).unwrap_err().to_string().contains("RoPE"));
        let mut cfg = ModelConfig::new(32, 2, 4, 16, 64);
        cfg.ffn_hidden_dim = Some(96);
        assert!(open_lm_model_json(&cfg).unwrap_err().to_string().contains("SwiGLU"));
        assert!("bogus".parse::<ExportFormat>().is_err());
        assert_eq!("open-lm".parse::<ExportFormat>().unwrap(), ExportFormat::OpenLm);
    }
}
