//! Checkpoint interop against the real tools: PyTorch writes open_lm-style `.pt` files and open_lm's HF
//! wrapper writes an HF folder, which we import with unchanged per-example scores; our `.pt` and HF exports
//! load back in torch / transformers with identical tensors, and open_lm's own model with our exported weights
//! gives our logits. Needs `DCLM_TORCH_PYTHON`: a Python with torch, safetensors, transformers, pyyaml and
//! open_lm (`pip install --no-deps -e ../shared/tools/open_lm`); skipped with a message otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{DType, Device, Tensor};
use dclm_train::checkpoint::{
    export, hf_config, load_any, CheckpointFormat, ConfigSource, ConvertOptions, ExportFormat,
};
use dclm_train::model::{ModelConfig, Params, Transformer};

fn python(test: &str) -> Option<PathBuf> {
    match std::env::var_os("DCLM_TORCH_PYTHON") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIP {test}: set DCLM_TORCH_PYTHON to a Python with torch, transformers and open_lm \
                 (see .ci/run) to run the torch/open_lm interop checks"
            );
            None
        }
    }
}

fn helper(py: &Path, args: &[&Path]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torch_interop/helper.py");
    let out = Command::new(py)
        .arg(&script)
        .args(args)
        .output()
        .expect("running the torch helper");
    assert!(
        out.status.success(),
        "torch helper failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("{}")).expect("helper prints a JSON summary")
}

/// A known model: open_lm's DCLM architecture at a small size with a 512-token vocabulary, seeded weights.
fn known_model(dir: &Path) -> (ModelConfig, PathBuf, PathBuf) {
    let cfg = ModelConfig::new(64, 2, 4, 32, 512);
    let params = Params::init(&cfg, 2024, &Device::Cpu).unwrap();
    let st = dir.join("orig/model.safetensors");
    std::fs::create_dir_all(st.parent().unwrap()).unwrap();
    params.save_safetensors(&cfg, &st).unwrap();
    let json = dir.join("orig/model.json");
    std::fs::write(&json, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    (cfg, st, json)
}

fn sequences() -> Vec<Vec<u32>> {
    (0..6u32)
        .map(|s| (0..(12 + 3 * s)).map(|i| (i * 37 + s * 101 + 5) % 512).collect())
        .collect()
}

/// Per-example mean cross-entropy, what the evaluator ranks choices by.
fn mean_ce(model: &Transformer) -> Vec<f64> {
    model
        .score_batch(&sequences())
        .unwrap()
        .iter()
        .map(|s| s.logprobs.iter().map(|&l| -(l as f64)).sum::<f64>() / s.logprobs.len() as f64)
        .collect()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a.to_dtype(DType::F32).unwrap() - b.to_dtype(DType::F32).unwrap())
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
fn torch_written_checkpoints_import_with_unchanged_scores() {
    let Some(py) = python("torch_written_checkpoints_import_with_unchanged_scores") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cfg, st, json) = known_model(dir.path());
    let torch_dir = dir.path().join("torch");
    std::fs::create_dir_all(&torch_dir).unwrap();
    std::fs::write(
        torch_dir.join("open_lm_model.json"),
        serde_json::to_string(&dclm_train::checkpoint::open_lm_model_json(&cfg).unwrap()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        torch_dir.join("hf_config.json"),
        serde_json::to_string(&hf_config(&cfg)).unwrap(),
    )
    .unwrap();
    let summary = helper(&py, &[Path::new("write"), &st, &torch_dir]);
    eprintln!("torch wrote: {summary}");

    let base = load_any(&st, Some(&json)).unwrap();
    let want = mean_ce(&base.model(&Device::Cpu).unwrap());
    let hf_dir = torch_dir.join("hf");
    assert!(
        hf_dir.join("model.safetensors.index.json").is_file(),
        "transformers wrote a sharded folder"
    );
    for (path, model_json, format) in [
        (
            torch_dir.join("ddp.pt"),
            Some(json.as_path()),
            CheckpointFormat::OpenLmPt,
        ),
        // No model JSON: the shape is inferred from the state dict (RoPE buffers give the heads).
        (torch_dir.join("compiled.pt"), None, CheckpointFormat::OpenLmPt),
        (hf_dir.clone(), None, CheckpointFormat::HfFolder),
    ] {
        let ckpt = load_any(&path, model_json).unwrap();
        assert_eq!(ckpt.format, format);
        if model_json.is_none() && format == CheckpointFormat::OpenLmPt {
            assert_eq!(ckpt.config_source, ConfigSource::Inferred);
        }
        assert_eq!(ckpt.config.n_heads, cfg.n_heads, "{}", path.display());
        if path.ends_with("ddp.pt") {
            assert_eq!(ckpt.epoch, Some(7));
        }
        let got = mean_ce(&ckpt.model(&Device::Cpu).unwrap());
        let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        eprintln!("{}: per-example mean CE max |Δ| = {worst:e}", path.display());
        assert!(worst < 1e-5, "{}: mean CE differs by {worst}", path.display());
    }
}

#[test]
fn our_exports_load_in_torch_and_open_lm_gives_our_logits() {
    let Some(py) = python("our_exports_load_in_torch_and_open_lm_gives_our_logits") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_cfg, st, json) = known_model(dir.path());
    let ckpt = load_any(&st, Some(&json)).unwrap();
    let tokenizer = dclm_core::testdata::shared_dir()
        .map(|d| d.join("data/tokenizers/gpt-neox-20b.tokenizer.json"))
        .filter(|p| p.is_file());
    let opts = ConvertOptions {
        tokenizer,
        max_shard_bytes: 100_000,
        ..ConvertOptions::default()
    };
    let pt = dir.path().join("out/open_lm/ckpt.pt");
    let files = export(&ckpt, ExportFormat::OpenLm, &pt, &opts).unwrap();
    let model_json = files[1].clone();
    let hf = dir.path().join("out/hf");
    export(&ckpt, ExportFormat::Hf, &hf, &opts).unwrap();

    let seqs = sequences();
    let n = seqs[0].len();
    let ids: Vec<Vec<u32>> = seqs.iter().map(|s| s[..n].to_vec()).collect();
    let ids_path = dir.path().join("ids.json");
    std::fs::write(&ids_path, serde_json::to_string(&ids).unwrap()).unwrap();
    let out = dir.path().join("torch_logits.safetensors");
    let report = helper(&py, &[Path::new("check"), &st, &pt, &model_json, &hf, &ids_path, &out]);
    eprintln!("torch read our exports: {report}");
    assert_eq!(report["pt_tensors_equal"], serde_json::json!(21));
    assert_eq!(report["pt_mmap_load"], serde_json::json!(true));
    assert_eq!(report["hf_tensors_equal"], serde_json::json!(21));

    let model = ckpt.model(&Device::Cpu).unwrap();
    let flat: Vec<u32> = ids.concat();
    let ours = model
        .forward(&Tensor::from_vec(flat, (ids.len(), n), &Device::Cpu).unwrap())
        .unwrap();
    let theirs = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
    for key in ["open_lm_logits", "hf_logits"] {
        let d = max_abs_diff(&ours, &theirs[key]);
        eprintln!("{key}: max |Δ| vs our logits = {d:e}");
        assert!(d < 1e-4, "{key} differ by {d}");
    }
}
