//! `dclm launch train --engine open-lm`: per scale, the generated open_lm run has DCLM's hyperparameters (checked
//! against the table of `../shared/dclm-spec.md`), and the generated scripts parse (`bash -n`) with every path quoted.

use std::path::{Path, PathBuf};
use std::process::Command;

const DCLM: &str = env!("CARGO_BIN_EXE_dclm");

/// A minimal token folder written by `dclm tokshuf` (byte-level tiktoken ranks, 17-token contexts).
fn tokens(dir: &Path) -> std::path::PathBuf {
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let lines: String = (0..40)
        .map(|i| format!("{{\"text\":\"document {i} {}\"}}\n", "word ".repeat(i)))
        .collect();
    std::fs::write(docs.join("a.jsonl"), lines).unwrap();
    let ranks: String = (0u32..256).map(|b| format!("{} {b}\n", base64_byte(b as u8))).collect();
    std::fs::write(dir.join("bytes.tiktoken"), ranks).unwrap();
    let out = dir.join("my_dataset");
    let o = Command::new(DCLM)
        .args(["tokshuf", "-i"])
        .arg(&docs)
        .arg("-o")
        .arg(&out)
        .arg("--tokenizer")
        .arg(dir.join("bytes.tiktoken"))
        .args(["--seqlen", "17"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn base64_byte(b: u8) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let c0 = T[(b >> 2) as usize] as char;
    let c1 = T[((b & 3) << 4) as usize] as char;
    format!("{c0}{c1}==")
}

fn launch(data: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let o = Command::new(DCLM)
        .args(["launch", "train", "--engine", "open-lm", "--data"])
        .arg(data)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(out.join("launch.json")).unwrap()).unwrap()
}

fn arg<'a>(argv: &'a [serde_json::Value], flag: &str) -> &'a str {
    let i = argv
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("{flag} missing"));
    argv[i + 1].as_str().unwrap()
}

fn num(s: &str) -> f64 {
    s.replace(',', "")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

#[test]
fn generated_hyperparameters_equal_dclms_table_for_every_scale() {
    let Some(spec) = dclm_core::testdata::shared("dclm-spec.md", "launch train hyperparameters") else {
        return;
    };
    let spec = std::fs::read_to_string(spec).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tokens(tmp.path());
    let mut checked = 0;
    for scale in ["400M-1x", "1B-1x", "3B-1x", "7B-1x", "7B-2x"] {
        // | Scale | Config | Model cfg | Params | Layers | d_model | Heads (head dim) | SwiGLU | Train tokens |
        // Global batch | Steps | Warmup | Peak LR | WD | z-loss | Acc | …
        let row: Vec<&str> = spec
            .lines()
            .find(|l| l.starts_with(&format!("| {scale} |")))
            .unwrap_or_else(|| panic!("no row for {scale} in dclm-spec.md"))
            .split('|')
            .map(str::trim)
            .collect();
        let out = tmp.path().join(scale);
        let l = launch(&data, &out, &["--scale", scale]);
        let argv = l["plan"]["open_lm_args"].as_array().unwrap();
        let config = row[2].trim_matches('`');
        // 7B-2x reuses 7B-1x's model with `chinchilla_multiplier` 2.
        let train_tokens = num(row[9].split_whitespace().next().unwrap());
        assert_eq!(l["hyperparameters"]["config"], config, "{scale}");
        assert_eq!(
            num(arg(argv, "--global-batch-size")),
            num(row[10].split_whitespace().next().unwrap()),
            "{scale}"
        );
        assert_eq!(num(arg(argv, "--warmup")), num(row[12]), "{scale}");
        assert_eq!(num(arg(argv, "--lr")), num(row[13]), "{scale}");
        assert_eq!(num(arg(argv, "--wd")), num(row[14]), "{scale}");
        assert_eq!(num(arg(argv, "--z-loss")), num(row[15]), "{scale}");
        assert_eq!(num(arg(argv, "--accum-freq")), num(row[16]), "{scale}");
        assert_eq!(l["plan"]["tokens"].as_f64().unwrap(), train_tokens, "{scale}");
        assert_eq!(
            num(arg(argv, "--train-num-samples")),
            (train_tokens as u64 / 5) as f64,
            "{scale}"
        );
        assert_eq!(arg(argv, "--data-key"), "json.gz");
        assert_eq!(arg(argv, "--resume"), "latest");
        assert_eq!(num(arg(argv, "--lr-cooldown-end")), 3e-5);
        let steps = train_tokens / 2048.0 / num(arg(argv, "--global-batch-size"));
        assert_eq!(steps.floor(), num(row[11]), "{scale}: steps");
        let model: serde_json::Value = serde_json::from_slice(&std::fs::read(arg(argv, "--model")).unwrap()).unwrap();
        assert_eq!(model["n_layers"].as_f64().unwrap(), num(row[5]), "{scale}");
        assert_eq!(model["hidden_dim"].as_f64().unwrap(), num(row[6]), "{scale}");
        assert_eq!(
            model["n_heads"].as_f64().unwrap(),
            num(row[7].split_whitespace().next().unwrap()),
            "{scale}"
        );
        let fsdp: Vec<&str> = argv
            .iter()
            .filter_map(|a| a.as_str())
            .filter(|a| a.starts_with("--fsdp"))
            .collect();
        let pure = fsdp.contains(&"--fsdp-pure-bf16");
        assert_eq!(
            pure,
            !scale.starts_with("400M") && !scale.starts_with("1B"),
            "{scale}: {fsdp:?}"
        );
        assert_eq!(fsdp.contains(&"--fsdp-amp"), !pure, "{scale}: {fsdp:?}");
        checked += 1;
    }
    assert_eq!(checked, 5);
}

#[test]
fn generated_scripts_parse_and_quote_every_path() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tokens(tmp.path());
    let out = tmp.path().join("run dir 'quoted'");
    let l = launch(
        &data,
        &out,
        &[
            "--scale",
            "400M-1x",
            "--nodes",
            "2",
            "--gpus-per-node",
            "8",
            "--slurm",
            "--partition",
            "gpu",
        ],
    );
    let sbatch = std::fs::read_to_string(out.join("train.sbatch")).unwrap();
    assert!(
        sbatch.contains("#SBATCH --nodes=2") && sbatch.contains("#SBATCH --requeue"),
        "{sbatch}"
    );
    assert!(
        sbatch.contains("--rdzv-backend=c10d") && sbatch.contains("--nproc-per-node=8"),
        "{sbatch}"
    );
    let o = Command::new("bash")
        .arg("-n")
        .arg(out.join("train.sbatch"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let name = l["plan"]["name"].as_str().unwrap();
    assert!(
        name.starts_with(
            "my_dataset-d=1024_l=24_h=8-warm=2000-lr=0p003-wd=0p033-cd=3e-05-bs=512-mult=1-seed=124-tokens="
        ),
        "{name}"
    );
    // The torchrun variant, and the run folder with a quote in its name reaches open_lm intact.
    launch(&data, &out, &["--scale", "400M-1x", "--gpus-per-node", "1"]);
    let sh = out.join("train.sh");
    let o = Command::new("bash").arg("-n").arg(&sh).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The arguments open_lm gets: the --logs value (under the quoted folder) comes back exactly.
    let args: Vec<String> = serde_json::from_slice(&std::fs::read(out.join("open_lm_args.json")).unwrap()).unwrap();
    let logs = &args[args.iter().position(|a| a == "--logs").unwrap() + 1];
    assert_eq!(Path::new(logs), std::path::absolute(&out).unwrap().join("logs"));
    assert!(std::fs::read_to_string(&sh).unwrap().contains("open_lm_entry.py"));
    // Status before any log: the name and no checkpoints.
    let o = Command::new(DCLM)
        .args(["launch", "train", "status", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["checkpoints"].as_array().unwrap().len(), 0);
}

/// A Python with torch, open_lm and open_lm's data-loader packages, or None after printing why the test skips.
fn open_lm_python(test: &str) -> Option<std::ffi::OsString> {
    let Some(python) = std::env::var_os("DCLM_TORCH_PYTHON") else {
        eprintln!("SKIP {test}: set DCLM_TORCH_PYTHON to a Python with torch and open_lm (.ci/run does)");
        return None;
    };
    let o = Command::new(&python)
        .args(["-c", "import braceexpand, webdataset, pandas, safetensors, open_lm"])
        .output()
        .unwrap();
    if !o.status.success() {
        eprintln!("SKIP {test}: open_lm's data-loader dependencies are missing in {python:?}");
        return None;
    }
    Some(python)
}

/// GPT-NeoX token shards of 129-token sequences written by `dclm tokshuf` from the first `docs` documents of the
/// shared tokenize set, with their sequence count.
fn neox_tokens(dir: &Path, test: &str, docs: usize) -> Option<(PathBuf, u64)> {
    let tok = dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test)?;
    let set = dclm_core::testdata::shared("conformance/tokenize/tokenize.jsonl", test)?;
    let input = dir.join("docs.jsonl");
    let text = std::fs::read_to_string(&set).unwrap();
    std::fs::write(&input, text.lines().take(docs).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let data = dir.join("tokens");
    let o = Command::new(DCLM)
        .args(["tokshuf", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&data)
        .arg("--tokenizer")
        .arg(&tok)
        .args(["--seqlen", "129", "--wds-chunk-size", "64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest = std::fs::read_to_string(data.join("manifest.jsonl")).unwrap();
    let sequences: u64 = manifest
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["num_sequences"]
                .as_u64()
                .unwrap()
        })
        .sum();
    Some((data, sequences))
}

/// open_lm's model JSON of a tiny model (GPT-NeoX vocabulary, 128-token context).
fn tiny_model(dir: &Path) -> PathBuf {
    let model = dir.join("tiny.json");
    std::fs::write(
        &model,
        r#"{"hidden_dim": 64, "n_layers": 2, "n_heads": 4, "seq_len": 128, "vocab_size": 50432,
            "post_embed_norm": false, "weight_tying": false, "ffn_type": "swiglu_torch"}"#,
    )
    .unwrap();
    model
}

/// `launch train` flags that scale the generated run down to one CPU process of the tiny model, with a budget of
/// `sequences` 128-token sequences in batches of `batch`, each accumulated over `acc` micro-batches.
fn tiny_run_flags(model: &Path, python: &std::ffi::OsStr, sequences: u64, batch: u64, acc: u64) -> Vec<String> {
    [
        "--scale",
        "400M-1x",
        "--model-json",
        model.to_str().unwrap(),
        "--gpus-per-node",
        "1",
        "--dist-backend",
        "gloo",
        "--precision",
        "fp32",
        "--tokens",
        &(sequences * 128).to_string(),
        "--num-checkpoints",
        "1",
        "--global-bs",
        &batch.to_string(),
        "--acc",
        &acc.to_string(),
        "--warmup",
        "1",
        "--workers",
        "1",
        "--attn-name",
        "torch_attn",
        "--python",
        python.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Run the generated torchrun script.
fn run_train_sh(out: &Path) {
    let o = Command::new("bash").arg(out.join("train.sh")).output().unwrap();
    assert!(
        o.status.success(),
        "open_lm failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `logs/<name>` of a launched run.
fn run_logs(out: &Path) -> PathBuf {
    let l: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("launch.json")).unwrap()).unwrap();
    out.join("logs").join(l["plan"]["name"].as_str().unwrap())
}

fn max_abs_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
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

/// The generated torchrun run, scaled down (a tiny model JSON, one CPU process, gloo), trains with the real
/// open_lm on `dclm tokshuf` shards: open_lm's loader reads every sequence of the manifest, writes its checkpoint,
/// and `launch train status` reads its log back. The checkpoint comes back: the loader `dclm eval` uses gives the
/// logits open_lm's own model gives with its own checkpoint loader, and `launch train report` evaluates it
/// (once) and draws the loss curve.
#[test]
fn real_open_lm_trains_on_tokshuf_shards() {
    let test = "real_open_lm_trains_on_tokshuf_shards";
    let Some(python) = open_lm_python(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some((data, sequences)) = neox_tokens(tmp.path(), test, 60) else {
        return;
    };
    let Some(shared) = dclm_core::testdata::shared_dir() else {
        return;
    };
    let model = tiny_model(tmp.path());
    // A budget of exactly the data: one pass over every sequence, with a batch that divides it (open_lm's loader
    // drops a last partial batch).
    let batch = (1..=8u64).rev().find(|b| sequences % b == 0).unwrap();
    let out = tmp.path().join("run");
    let flags = tiny_run_flags(&model, &python, sequences, batch, 1);
    let l = launch(&data, &out, &flags.iter().map(String::as_str).collect::<Vec<_>>());
    let argv = l["plan"]["open_lm_args"].as_array().unwrap();
    assert!(!argv.iter().any(|a| a == "--fsdp"), "one process trains unsharded");
    run_train_sh(&out);
    let o = Command::new(DCLM)
        .args(["launch", "train", "status", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["checkpoints"], serde_json::json!(["epoch_1.pt"]), "{s}");
    assert!(s["loss"].as_f64().unwrap() > 0.0, "{s}");
    // open_lm's loader went through the whole manifest: the last logged count is every sequence.
    let (seen, total) = (s["samples"][0].as_u64().unwrap(), s["samples"][1].as_u64().unwrap());
    assert_eq!(total, sequences, "{s}");
    assert_eq!(seen, sequences, "{s}");
    assert_eq!(s["step"], serde_json::json!(sequences / batch), "{s}");
    assert_eq!(s["tokens_left"], serde_json::json!(0), "{s}");
    assert_eq!(s["checkpoints_left"], serde_json::json!(0), "{s}");

    // open_lm's checkpoint in dclm-rs: same logits as open_lm's model with open_lm's checkpoint loader.
    let ckpt = run_logs(&out).join("checkpoints").join("epoch_1.pt");
    let model_json = PathBuf::from(l["plan"]["model_json"].as_str().unwrap());
    let ids: Vec<Vec<u32>> = (0..2u32)
        .map(|r| (0..96u32).map(|i| (i * 7919 + r * 104_729) % 50_277).collect())
        .collect();
    let ids_path = tmp.path().join("ids.json");
    std::fs::write(&ids_path, serde_json::to_string(&ids).unwrap()).unwrap();
    let logits_path = tmp.path().join("open_lm_logits.safetensors");
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/open_lm_side.py");
    let o = Command::new(&python)
        .arg(&helper)
        .arg("logits")
        .arg(&out)
        .arg(&ckpt)
        .arg(&ids_path)
        .arg(&logits_path)
        .env("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cpu = candle_core::Device::Cpu;
    let ours = dclm_train::checkpoint::load_model(&ckpt, Some(&model_json), &cpu)
        .unwrap()
        .forward(&candle_core::Tensor::from_vec(ids.concat(), (2, 96), &cpu).unwrap())
        .unwrap();
    let theirs = candle_core::safetensors::load(&logits_path, &cpu).unwrap();
    let d = max_abs_diff(&ours, &theirs["logits"]);
    eprintln!("{test}: open_lm's epoch_1.pt, max |Δ logits| dclm-rs vs open_lm = {d:e}");
    assert!(d < 1e-4, "logits differ by {d}");

    // The run report: the loss curve from open_lm's log and the checkpoint's eval table, evaluated once.
    let tasks = tmp.path().join("copa.yaml");
    std::fs::write(
        &tasks,
        "icl_tasks:\n-\n  label: copa\n  dataset_uri: local_data/commonsense_reasoning/copa.jsonl\n  \
         num_fewshot: [0]\n  icl_task_type: multiple_choice\n",
    )
    .unwrap();
    let report = |expect_eval: bool| {
        let o = Command::new(DCLM)
            .args(["launch", "train", "report", "-o"])
            .arg(&out)
            .arg("--tasks")
            .arg(&tasks)
            .args(["--limit", "6", "--eval-dir"])
            .arg(shared.join("data/dclm-assets/eval"))
            .arg("--data-dir")
            .arg(shared.join("data/eval"))
            .arg("--tokenizer")
            .arg(shared.join("data/tokenizers/gpt-neox-20b.tokenizer.json"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert_eq!(err.contains("evaluating"), expect_eval, "{err}");
    };
    report(true);
    report(false);
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let points = r["loss_curve"]["points"].as_array().unwrap();
    assert!(!points.is_empty(), "{r}");
    assert_eq!(points.last().unwrap()["step"], serde_json::json!(sequences / batch));
    assert_eq!(r["eval"]["rows"][0]["task"], "copa", "{r}");
    assert_eq!(r["eval"]["rows"][0]["n"], serde_json::json!(6), "{r}");
    assert!(out.join("report.html").is_file());
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("eval/epoch_1.json")).unwrap()).unwrap();
    assert!(results["eval_metrics"]["icl"]["copa"].is_number(), "{results}");
}

/// A checkpoint trained by `dclm train`, given to `launch train --init`, continues training in the real open_lm:
/// open_lm's first step (on the same sequences) has the loss dclm-rs had at the step after that checkpoint.
#[test]
fn dclm_trained_checkpoint_continues_in_open_lm() {
    let test = "dclm_trained_checkpoint_continues_in_open_lm";
    let Some(python) = open_lm_python(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some((data, sequences)) = neox_tokens(tmp.path(), test, 15) else {
        return;
    };
    let model = tiny_model(tmp.path());
    // Every step is one batch of all sequences: the mean loss does not depend on the two loaders' orders. Both
    // accumulate it over micro-batches of at most 8 sequences (the logits of all at once would take gigabytes).
    let micro = (1..=8u64).rev().find(|b| sequences % b == 0).unwrap();
    let ours = tmp.path().join("dclm-train");
    let o = Command::new(DCLM)
        .args(["train", "--data"])
        .arg(&data)
        .arg("--model-json")
        .arg(&model)
        .args(["--scale", "400M-1x", "--global-batch", &sequences.to_string()])
        .args(["--micro-batch", &micro.to_string(), "--steps", "2", "--warmup", "1"])
        .args(["--lr", "3e-3", "--checkpoints", "2", "--multiple-data-passes", "-o"])
        .arg(&ours)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(ours.join("train_log.jsonl")).unwrap();
    let step2: serde_json::Value = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["step"] == 2)
        .unwrap();
    let ckpt = ours.join("checkpoints/step_00000001/model.safetensors");
    assert!(ckpt.is_file(), "no step-1 checkpoint in {}", ours.display());

    let out = tmp.path().join("open_lm-run");
    let mut flags = tiny_run_flags(&model, &python, sequences, sequences, sequences / micro);
    flags.extend(["--init".to_string(), ckpt.display().to_string()]);
    // One step: without warm-up (open_lm's cosine schedule divides by the steps after the warm-up).
    let w = flags.iter().position(|f| f == "--warmup").unwrap();
    flags[w + 1] = "0".into();
    let l = launch(&data, &out, &flags.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        arg(l["plan"]["open_lm_args"].as_array().unwrap(), "--pretrained"),
        out.join("init/init.pt").to_str().unwrap()
    );
    run_train_sh(&out);
    let scalars = std::fs::read_to_string(run_logs(&out).join("tensorboard/scalars.jsonl")).unwrap();
    let first: serde_json::Value = scalars
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["name"] == "train/loss")
        .unwrap();
    assert_eq!(first["step"], 1, "{first}");
    let (theirs, ours) = (first["value"].as_f64().unwrap(), step2["loss"].as_f64().unwrap());
    eprintln!("{test}: loss at dclm-rs step 2 {ours:.7}, open_lm's first step from the step-1 checkpoint {theirs:.7}");
    assert!((theirs - ours).abs() < 1e-4, "open_lm {theirs} vs dclm-rs {ours}");
}
