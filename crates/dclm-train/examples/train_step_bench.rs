//! Train-step timing of one preset on synthetic tokens, for the PyTorch comparison
//! (`benches/torch_tiny_step.py`, same batch generator and shapes) and the GPU check (`scripts/gpu_bench.sh`).
//!
//! `cargo run --release -p dclm-train --example train_step_bench -- --preset tiny --warmup 2 --steps 10`
//!
//! Options: `--preset NAME` (default `tiny`), `--rows N` (global batch in sequences; default the preset's),
//! `--accum N` (micro-batches per step; default the preset's), `--seq-len N` (override the context),
//! `--layers N` (override the depth), `--warmup N` untimed steps (default 2), `--steps N` timed steps
//! (default 10), `--device cpu|cuda|cuda:N|auto`, `--dtype f32|bf16` (matmul precision, see
//! [`ComputeDtype`]), `--peak-tflops X` (device peak, for MFU), `--dump DIR` (write the initial weights,
//! the batch and the first two steps' numbers, for the equivalence check of the PyTorch script).
//! Prints one `RESULT …` line: median and mean tokens/s over the timed steps, and MFU when a peak is given.
//! CPU threads: candle reads `RAYON_NUM_THREADS`.

use std::path::PathBuf;
use std::time::Instant;

use dclm_train::train::{select_device, ComputeDtype, Preset, TrainOptions, Trainer};

/// The synthetic batch shared with the PyTorch script: `rows` sequences of `len` tokens from a 64-bit LCG.
fn lcg_batch(rows: usize, len: usize, vocab: u64) -> Vec<Vec<u32>> {
    let mut x: u64 = 12345;
    (0..rows)
        .map(|_| {
            (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((x >> 33) % vocab) as u32
                })
                .collect()
        })
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut preset_name = "tiny".to_string();
    let (mut rows, mut accum, mut seq_len, mut layers) = (None, None, None, None);
    let (mut warmup, mut steps) = (2usize, 10usize);
    let (mut device_spec, mut dtype) = ("cpu".to_string(), ComputeDtype::F32);
    let mut peak_tflops: Option<f64> = None;
    let mut dump: Option<PathBuf> = None;
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).ok_or_else(|| format!("`{}` needs a value", args[i]))?;
        match args[i].as_str() {
            "--preset" => preset_name = val.clone(),
            "--rows" => rows = Some(val.parse::<usize>()?),
            "--accum" => accum = Some(val.parse::<usize>()?),
            "--seq-len" => seq_len = Some(val.parse::<usize>()?),
            "--layers" => layers = Some(val.parse::<usize>()?),
            "--warmup" => warmup = val.parse()?,
            "--steps" => steps = val.parse()?,
            "--device" => device_spec = val.clone(),
            "--dtype" => dtype = val.parse()?,
            "--peak-tflops" => peak_tflops = Some(val.parse()?),
            "--dump" => dump = Some(PathBuf::from(val)),
            other => return Err(format!("unknown option `{other}`").into()),
        }
        i += 2;
    }
    if steps == 0 {
        return Err("--steps must be positive".into());
    }
    let mut preset = Preset::by_name(&preset_name)?;
    if let Some(r) = rows {
        preset.global_batch = r;
    }
    if let Some(a) = accum {
        preset.accum = a;
    }
    if let Some(t) = seq_len {
        preset.model.seq_len = t;
    }
    if let Some(l) = layers {
        preset.model.n_layers = l;
    }
    // Keep the schedule in warmup-then-cosine shape but long enough that the timed steps are all real steps.
    preset.steps = preset.steps.max((warmup + steps) as u64 + 1);
    let device = select_device(&device_spec)?;
    let tmp = std::env::temp_dir().join(format!("dclm-train-step-bench-{}", std::process::id()));
    let mut opts = TrainOptions::new(&tmp);
    opts.log_every = 0;
    opts.compute_dtype = dtype;
    opts.peak_flops = peak_tflops.map(|t| t * 1e12);
    let m = &preset.model;
    println!(
        "preset {} ({} params: d={} layers={} heads={} ffn={} vocab={}), {} x {} tokens per step in {} \
         micro-batches, device {device_spec}, dtype {dtype}, candle threads {}",
        preset.name,
        m.n_params(),
        m.hidden_dim,
        m.n_layers,
        m.n_heads,
        m.ffn_hidden(),
        m.vocab_size,
        preset.global_batch,
        m.seq_len,
        preset.accum,
        candle_core::utils::get_num_threads(),
    );
    let started = Instant::now();
    let mut trainer = Trainer::new(preset.clone(), opts, &device)?;
    println!("init {:.2}s", started.elapsed().as_secs_f64());
    let batch = lcg_batch(
        preset.global_batch,
        preset.model.seq_len + 1,
        preset.model.vocab_size as u64,
    );
    if let Some(dir) = &dump {
        std::fs::create_dir_all(dir)?;
        trainer
            .params()
            .save_safetensors(&preset.model, &dir.join("init.safetensors"))?;
    }
    let mut per_step = Vec::with_capacity(steps);
    let mut first = Vec::new();
    let mut mfu = Vec::new();
    for s in 0..warmup + steps {
        let t0 = Instant::now();
        let log = trainer.train_step(&batch)?;
        // A host read of the loss inside train_step synchronises the device, so the wall time is complete.
        let dt = t0.elapsed().as_secs_f64();
        if s < 2 {
            first.push(log.clone());
        }
        println!(
            "step {:3} {} loss {:.6} ce {:.6} |g| {:.6} lr {:.3e} {:.3}s {:.0} tok/s{}",
            log.step,
            if s < warmup { "warmup" } else { "timed " },
            log.loss,
            log.ce,
            log.grad_norm,
            log.lr,
            dt,
            log.tokens_per_s,
            log.mfu.map_or(String::new(), |m| format!(" mfu {:.4}", m)),
        );
        if s >= warmup {
            per_step.push(log.tokens_per_s);
            mfu.extend(log.mfu);
        }
    }
    if let Some(dir) = &dump {
        let rec: Vec<serde_json::Value> = first
            .iter()
            .map(|l| serde_json::json!({"step": l.step, "loss": l.loss, "ce": l.ce, "z_loss": l.z_loss, "grad_norm": l.grad_norm, "lr": l.lr}))
            .collect();
        let out = serde_json::json!({
            "preset": preset.name, "rows": preset.global_batch, "accum": preset.accum,
            "seq_len": preset.model.seq_len, "n_params": preset.model.n_params(),
            "batch": batch, "steps": rec,
        });
        std::fs::write(dir.join("reference.json"), serde_json::to_string(&out)?)?;
        println!("dumped init.safetensors and reference.json into {}", dir.display());
    }
    let mean = per_step.iter().sum::<f64>() / per_step.len() as f64;
    println!(
        "RESULT impl=candle preset={} device={device_spec} dtype={dtype} threads={} rows={} accum={} seq_len={} \
         steps={} tokens_per_s_median={:.1} tokens_per_s_mean={:.1}{}",
        preset.name,
        candle_core::utils::get_num_threads(),
        preset.global_batch,
        preset.accum,
        preset.model.seq_len,
        steps,
        median(&per_step),
        mean,
        if mfu.is_empty() {
            String::new()
        } else {
            format!(" mfu_median={:.4}", median(&mfu))
        },
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
