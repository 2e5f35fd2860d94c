//! open_lm's Hugging Face layout (`open_lm.hf.OpenLMForCausalLM`, as in `apple/DCLM-7B`): a flat
//! `config.json` with open_lm's `Params` field names (`dim`, `n_layers`, `apply_qk_norm`, `norm_type`, …),
//! weights under `model.`-prefixed open_lm names in `model.safetensors` or shards listed by
//! `model.safetensors.index.json` (or the `pytorch_model*.bin` equivalents), plus tokenizer files.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde_json::{json, Value};

use super::torch_pt;
use crate::error::{CandleContext, Result, TrainError};
use crate::model::ModelConfig;

/// Prefix of every weight name in the HF layout (`OpenLMForCausalLM.model`).
pub const HF_PREFIX: &str = "model.";

fn ckpt_err(path: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| TrainError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// A [`ModelConfig`] from open_lm's HF `config.json` (keys of open_lm's `Params`). `norm_type`, when absent,
/// is left unset: the weights then decide (a LayerNorm with a bias is refused when the tensors are checked).
pub fn config_from_hf(value: &Value, path: &Path) -> Result<ModelConfig> {
    let bad = |m: String| ckpt_err(path, m);
    let num = |k: &str| value.get(k).and_then(Value::as_u64).map(|v| v as usize);
    let req = |k: &str| num(k).ok_or_else(|| bad(format!("config.json lacks the integer `{k}`")));
    let flag = |k: &str| value.get(k).and_then(Value::as_bool);
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(t) = text("model_type") {
        if t != "openlm" {
            return Err(bad(format!("model_type `{t}` is not open_lm's `openlm`")));
        }
    }
    if let Some(n) = value.get("moe_freq").and_then(Value::as_u64) {
        if n != 0 {
            return Err(bad(format!("moe_freq {n}: mixture-of-experts models are unsupported")));
        }
    }
    let mut cfg = ModelConfig::new(
        req("dim")?,
        req("n_layers")?,
        req("n_heads")?,
        num("seq_len").unwrap_or(2048),
        req("vocab_size")?,
    );
    cfg.qk_norm = flag("apply_qk_norm").or_else(|| flag("qk_norm")).unwrap_or(false);
    if let Some(eps) = value.get("norm_eps").and_then(Value::as_f64) {
        cfg.norm_eps = eps;
    }
    cfg.model_norm = text("norm_type").or_else(|| text("model_norm"));
    cfg.ffn_type = Some(text("ffn_type").unwrap_or_else(|| "swiglu".into()));
    cfg.positional_embedding_type = Some(text("positional_embedding_type").unwrap_or_else(|| "rotary".into()));
    cfg.weight_tying = flag("weight_tying").unwrap_or(false);
    cfg.post_embed_norm = flag("post_embed_norm").unwrap_or(false);
    cfg.validate().map_err(|e| bad(e.to_string()))?;
    Ok(cfg)
}

/// open_lm's HF `config.json` for `cfg` (the keys `OpenLMForCausalLM` reads, as in DCLM's released models).
pub fn hf_config(cfg: &ModelConfig) -> Value {
    json!({
        "architectures": ["OpenLMForCausalLM"],
        "model_type": "openlm",
        "dim": cfg.hidden_dim,
        "n_layers": cfg.n_layers,
        "n_heads": cfg.n_heads,
        "seq_len": cfg.seq_len,
        "vocab_size": cfg.vocab_size,
        "norm_eps": cfg.norm_eps,
        "norm_type": cfg.model_norm.clone().unwrap_or_else(|| "gain_only_lp_layer_norm".into()),
        "apply_qk_norm": cfg.qk_norm,
        "qk_norm": cfg.qk_norm,
        "attn_name": "torch_attn",
        "ffn_type": cfg.ffn_type.clone().unwrap_or_else(|| "swiglu_torch".into()),
        "positional_embedding_type": "rotary",
        "post_embed_norm": false,
        "weight_tying": false,
        "moe_freq": 0,
        "torch_dtype": "float32",
    })
}

/// The weight files of an HF folder: the shards of an index (`model.safetensors.index.json`,
/// `pytorch_model.bin.index.json`) or the single `model.safetensors` / `pytorch_model.bin`.
pub(crate) fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    for index in ["model.safetensors.index.json", "pytorch_model.bin.index.json"] {
        let p = dir.join(index);
        if p.is_file() {
            let v = read_json(&p)?;
            let map = v
                .get("weight_map")
                .and_then(Value::as_object)
                .ok_or_else(|| ckpt_err(&p, "no `weight_map` object"))?;
            let mut files: Vec<PathBuf> = Vec::new();
            for f in map.values() {
                let f = f
                    .as_str()
                    .ok_or_else(|| ckpt_err(&p, "a weight_map value is not a file name"))?;
                let f = dir.join(f);
                if !files.contains(&f) {
                    files.push(f);
                }
            }
            files.sort();
            for f in &files {
                if !f.is_file() {
                    return Err(ckpt_err(&p, format!("shard {} is missing", f.display())));
                }
            }
            return Ok(files);
        }
    }
    for single in ["model.safetensors", "pytorch_model.bin"] {
        let p = dir.join(single);
        if p.is_file() {
            return Ok(vec![p]);
        }
    }
    Err(ckpt_err(
        dir,
        "no weights: expected model.safetensors, a model.safetensors.index.json with its shards, or pytorch_model.bin",
    ))
}

/// Every tensor of an HF folder (names as stored, `model.` prefix included), each with the file it came from.
pub(crate) fn read_weights(dir: &Path, device: &Device) -> Result<HashMap<String, (Tensor, PathBuf)>> {
    let mut out = HashMap::new();
    for f in weight_files(dir)? {
        let tensors = if f.extension().is_some_and(|e| e == "safetensors") {
            candle_core::safetensors::load(&f, device).ctx(&format!("reading {}", f.display()))?
        } else {
            torch_pt::read_pt(&f)?.0
        };
        for (name, t) in tensors {
            if let Some((_, first)) = out.insert(name.clone(), (t, f.clone())) {
                return Err(ckpt_err(
                    &f,
                    format!("tensor `{name}` also in {} (shards overlap)", first.display()),
                ));
            }
        }
    }
    Ok(out)
}

/// Write weights as safetensors with `{"format": "pt"}` metadata (what `transformers` checks), split into
/// `model-0000i-of-0000n.safetensors` shards of at most `max_shard_bytes` plus `model.safetensors.index.json`
/// when they do not fit in one file. Returns the files written.
pub(crate) fn write_weights(dir: &Path, tensors: &[(String, Tensor)], max_shard_bytes: u64) -> Result<Vec<PathBuf>> {
    let mut shards: Vec<Vec<&(String, Tensor)>> = vec![Vec::new()];
    let mut size = 0u64;
    let mut total = 0u64;
    for entry in tensors {
        let bytes = (entry.1.elem_count() * entry.1.dtype().size_in_bytes()) as u64;
        if size > 0 && size + bytes > max_shard_bytes {
            shards.push(Vec::new());
            size = 0;
        }
        size += bytes;
        total += bytes;
        shards.last_mut().expect("one shard at least").push(entry);
    }
    let n = shards.len();
    let mut files = Vec::new();
    let mut weight_map = BTreeMap::new();
    for (i, shard) in shards.iter().enumerate() {
        let name = if n == 1 {
            "model.safetensors".to_string()
        } else {
            format!("model-{:05}-of-{n:05}.safetensors", i + 1)
        };
        let path = dir.join(&name);
        let tmp = dir.join(format!("{name}.tmp"));
        let data: Vec<(&str, &Tensor)> = shard.iter().map(|(k, t)| (k.as_str(), t)).collect();
        let meta: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
        safetensors::serialize_to_file(data, Some(meta), &tmp)
            .map_err(|e| ckpt_err(&path, format!("writing safetensors: {e}")))?;
        std::fs::rename(&tmp, &path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        for (k, _) in shard {
            weight_map.insert(k.clone(), name.clone());
        }
        files.push(path);
    }
    if n > 1 {
        let index = json!({"metadata": {"total_size": total}, "weight_map": weight_map});
        let path = dir.join("model.safetensors.index.json");
        write_json(&index, &path)?;
        files.push(path);
    }
    Ok(files)
}

pub(crate) fn write_json(value: &Value, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|source| TrainError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, text + "\n").map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Tokenizer files copied into an HF folder when found beside the given tokenizer.
pub(crate) const TOKENIZER_FILES: [&str; 5] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
];

/// Copy a tokenizer into `dir`: `tokenizer` is a `tokenizer.json` file (any name) or a folder holding HF
/// tokenizer files. Without a `tokenizer_config.json` next to it, one naming `PreTrainedTokenizerFast` is
/// written so that `AutoTokenizer.from_pretrained(dir)` loads it.
pub(crate) fn write_tokenizer(dir: &Path, tokenizer: &Path, model_max_length: usize) -> Result<Vec<PathBuf>> {
    let copy = |from: &Path, name: &str| -> Result<PathBuf> {
        let to = dir.join(name);
        std::fs::copy(from, &to).map_err(|source| TrainError::Io {
            path: from.to_path_buf(),
            source,
        })?;
        Ok(to)
    };
    let mut out = Vec::new();
    if tokenizer.is_dir() {
        for name in TOKENIZER_FILES {
            let p = tokenizer.join(name);
            if p.is_file() {
                out.push(copy(&p, name)?);
            }
        }
        if !tokenizer.join("tokenizer.json").is_file() {
            return Err(ckpt_err(tokenizer, "tokenizer folder has no tokenizer.json"));
        }
    } else if tokenizer.is_file() {
        out.push(copy(tokenizer, "tokenizer.json")?);
    } else {
        return Err(TrainError::Io {
            path: tokenizer.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such tokenizer file or folder"),
        });
    }
    let cfg_path = dir.join("tokenizer_config.json");
    if !cfg_path.is_file() {
        let cfg = json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": model_max_length,
        });
        write_json(&cfg, &cfg_path)?;
        out.push(cfg_path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trip_and_dclm_7b_keys() {
        let cfg = ModelConfig::new(256, 3, 4, 128, 1000);
        let v = hf_config(&cfg);
        let back = config_from_hf(&v, Path::new("config.json")).unwrap();
        assert_eq!(back.hidden_dim, 256);
        assert_eq!(back.n_layers, 3);
        assert_eq!(back.n_heads, 4);
        assert_eq!(back.seq_len, 128);
        assert_eq!(back.vocab_size, 1000);
        assert!(back.qk_norm);
        // DCLM-7B's released config.json (open_lm Params keys).
        let dclm7b: Value = serde_json::from_str(
            r#"{"apply_qk_norm": true, "architectures": ["OpenLMForCausalLM"], "attn_activation": null,
            "attn_name": "torch_attn", "attn_seq_scalar": null, "attn_seq_scalar_alpha": null, "dim": 4096,
            "ffn_type": "swiglu_torch", "model_type": "openlm", "moe_capacity_factor": 1.25,
            "moe_expert_model_parallelism": false, "moe_freq": 0, "moe_loss_weight": 0.1, "moe_num_experts": null,
            "moe_top_k": 2, "moe_weight_parallelism": false, "n_heads": 32, "n_layers": 32, "norm_eps": 1e-05,
            "norm_type": "gain_only_lp_layer_norm", "positional_embedding_type": "rotary", "post_embed_norm": false,
            "qk_norm": true, "seq_len": 2048, "torch_dtype": "float32", "vocab_size": 50432, "weight_tying": false}"#,
        )
        .unwrap();
        let c = config_from_hf(&dclm7b, Path::new("config.json")).unwrap();
        assert_eq!(
            (c.hidden_dim, c.n_layers, c.n_heads, c.vocab_size),
            (4096, 32, 32, 50432)
        );
        assert_eq!(c.ffn_hidden(), 11008);
        let mut moe = dclm7b.clone();
        moe["moe_freq"] = json!(2);
        let e = config_from_hf(&moe, Path::new("/x/config.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/x/config.json") && e.contains("moe_freq"), "{e}");
        let mut other = dclm7b;
        other["model_type"] = json!("llama");
        assert!(config_from_hf(&other, Path::new("c"))
            .unwrap_err()
            .to_string()
            .contains("llama"));
    }

    #[test]
    fn sharded_write_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let dev = Device::Cpu;
        let tensors: Vec<(String, Tensor)> = (0..5)
            .map(|i| {
                let t = Tensor::full(i as f32, (10, 10), &dev).unwrap();
                (format!("model.t{i}"), t)
            })
            .collect();
        // 400 bytes per tensor, 1000-byte shards: 2 + 2 + 1.
        let files = write_weights(dir.path(), &tensors, 1000).unwrap();
        assert_eq!(files.len(), 4);
        assert!(dir.path().join("model-00003-of-00003.safetensors").is_file());
        let back = read_weights(dir.path(), &dev).unwrap();
        assert_eq!(back.len(), 5);
        for (name, t) in &tensors {
            let (got, _) = &back[name];
            assert_eq!(got.to_vec2::<f32>().unwrap(), t.to_vec2::<f32>().unwrap());
        }
        // The same weights as `pytorch_model*.bin` torch shards with their index (older HF exports).
        let bin = tempfile::tempdir().unwrap();
        let mut weight_map = serde_json::Map::new();
        for (i, chunk) in tensors.chunks(3).enumerate() {
            let name = format!("pytorch_model-0000{}-of-00002.bin", i + 1);
            torch_pt::write_pt(&bin.path().join(&name), chunk, 0).unwrap();
            for (k, _) in chunk {
                weight_map.insert(k.clone(), json!(name));
            }
        }
        write_json(
            &json!({"metadata": {}, "weight_map": weight_map}),
            &bin.path().join("pytorch_model.bin.index.json"),
        )
        .unwrap();
        let from_bin = read_weights(bin.path(), &dev).unwrap();
        assert_eq!(from_bin.len(), 5);
        assert_eq!(
            from_bin["model.t4"].0.to_vec2::<f32>().unwrap(),
            tensors[4].1.to_vec2::<f32>().unwrap()
        );
        // A shard the index names but that is gone is reported by name.
        std::fs::remove_file(dir.path().join("model-00002-of-00003.safetensors")).unwrap();
        let e = read_weights(dir.path(), &dev).unwrap_err().to_string();
        assert!(e.contains("model-00002-of-00003.safetensors"), "{e}");
    }
}
