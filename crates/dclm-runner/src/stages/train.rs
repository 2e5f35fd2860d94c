//! `dclm train`: train an open_lm model (candle) on existing token shards — DCLM's hyperparameters per scale with
//! `training/train.py`'s overrides, DCLM's token-shortfall check, held-out validation every N steps, resumable
//! checkpoints, `run.json` and the run's parameters in open_lm's argument names (`params.json`).

use anyhow::{bail, Context, Result};
use clap::Args;
use dclm_train::data::TokenSource;
use dclm_train::model::ModelConfig;
use dclm_train::train::{manifest_hash, select_device, Preset, RunRecord, TrainOptions, Trainer};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Token shards: a `tokshuf` output folder or its `manifest.jsonl`.
    #[arg(long)]
    pub data: PathBuf,
    /// DCLM scale (`400M-1x`, `1B-1x`, `3B-1x`, `7B-1x`, `7B-2x`) or a small CPU preset (`micro`, `tiny`).
    #[arg(long, default_value = "400M-1x")]
    pub scale: String,
    /// An open_lm model JSON (`hidden_dim`, `n_layers`, `n_heads`, `seq_len`, `vocab_size`, …) replacing the
    /// scale's model; the token budget then follows the scale's Chinchilla multiplier unless `--tokens` is given.
    #[arg(long)]
    pub model_json: Option<PathBuf>,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight decay.
    #[arg(long)]
    pub wd: Option<f64>,
    /// Warmup steps.
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Sequences per optimizer step.
    #[arg(long)]
    pub global_batch: Option<usize>,
    /// Sequences per forward pass (gradient accumulation = global batch / micro batch).
    #[arg(long)]
    pub micro_batch: Option<usize>,
    /// z-loss coefficient.
    #[arg(long)]
    pub z_loss: Option<f64>,
    /// Optimizer steps of the schedule (instead of the scale's token budget).
    #[arg(long, conflicts_with = "tokens")]
    pub steps: Option<u64>,
    /// Token budget of the schedule (steps = tokens / seq_len / global batch).
    #[arg(long)]
    pub tokens: Option<u64>,
    /// Stop after this many steps (the schedule still spans the whole budget).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Seed of the initialization and of the data order (DCLM: 124).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Start from these weights with a fresh optimizer: dclm-rs safetensors, an open_lm `.pt` (e.g. an
    /// `epoch_N.pt` of `launch train`) or an open_lm Hugging Face folder.
    #[arg(long, conflicts_with = "resume")]
    pub init: Option<PathBuf>,
    /// Continue from the latest checkpoint in `--out` (weights, optimizer, data position).
    #[arg(long)]
    pub resume: bool,
    /// Fraction of the budget the data may fall short by (DCLM's `--data-tolerate-error-p`): training stops when
    /// the data ends. A larger shortfall is an error unless `--multiple-data-passes`.
    #[arg(long, default_value_t = 0.09)]
    pub data_tolerate_error_p: f64,
    /// Repeat the data (reshuffled each pass) when the budget needs more tokens than the shards hold.
    #[arg(long)]
    pub multiple_data_passes: bool,
    /// Held-out token shards for validation cross-entropy / perplexity.
    #[arg(long)]
    pub val_data: Option<PathBuf>,
    /// Validate every N steps (and at the end).
    #[arg(long, default_value_t = 0)]
    pub val_every: u64,
    /// Held-out sequences scored per validation.
    #[arg(long, default_value_t = 64)]
    pub val_sequences: usize,
    /// Checkpoints over the run (open_lm's `--epochs`; DCLM: 5).
    #[arg(long, default_value_t = 5)]
    pub checkpoints: u64,
    /// Device: `cpu`, `cuda`, `cuda:N` or `auto` (CUDA needs `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Matrix-product precision: `f32`, or `bf16` autocast (weights and optimizer stay f32).
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// Peak TFLOP/s of the device, for the MFU column of the log.
    #[arg(long)]
    pub peak_tflops: Option<f64>,
    /// Output folder.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

/// The recipe: the scale's preset with the overrides applied (as DCLM's `train.py` applies its flags).
pub fn preset(a: &TrainArgs) -> Result<Preset> {
    let mut p = Preset::by_name(&a.scale)?;
    if let Some(m) = &a.model_json {
        let model = ModelConfig::from_json_file(m)?;
        let mult = p.chinchilla_multiplier.max(1);
        p.model = model;
        p.reference_params = p.model.dclm_reference_params();
        p.tokens = 20 * p.reference_params * mult;
        p.name = format!(
            "{}+{}",
            p.name,
            m.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()
        );
    }
    if let Some(v) = a.lr {
        p.lr = v;
    }
    if let Some(v) = a.wd {
        p.weight_decay = v;
    }
    if let Some(v) = a.warmup {
        p.warmup = v;
    }
    if let Some(v) = a.z_loss {
        p.z_loss = v;
    }
    if let Some(v) = a.seed {
        p.seed = v;
    }
    if let Some(g) = a.global_batch {
        p.global_batch = g;
    }
    if let Some(m) = a.micro_batch {
        if m == 0 || p.global_batch % m != 0 {
            bail!("--micro-batch {m} must divide the global batch {}", p.global_batch);
        }
        p.accum = p.global_batch / m;
    } else if p.accum == 0 || p.global_batch % p.accum != 0 {
        p.accum = 1;
    }
    if let Some(t) = a.tokens {
        p.tokens = t;
    }
    let per_step = p.model.seq_len as u64 * p.global_batch as u64;
    p.steps = match a.steps {
        Some(s) => s,
        None => p.tokens / per_step.max(1),
    };
    p.tokens = p.steps * per_step;
    if p.steps == 0 {
        bail!(
            "the schedule has no steps ({} tokens for {per_step} tokens per step)",
            p.tokens
        );
    }
    if p.warmup >= p.steps {
        bail!(
            "--warmup {} must be below the {} steps of the schedule",
            p.warmup,
            p.steps
        );
    }
    Ok(p)
}

/// DCLM's shortfall rule: sequences the schedule needs vs. what the shards hold.
pub fn check_tokens(needed: u64, available: u64, tolerate_p: f64, multiple_passes: bool) -> Result<bool> {
    if available == 0 {
        bail!("the token shards hold no sequences");
    }
    if needed <= available {
        return Ok(false);
    }
    let short = 1.0 - available as f64 / needed as f64;
    if multiple_passes {
        return Ok(true);
    }
    if short > tolerate_p {
        bail!(
            "the schedule needs {needed} sequences but the data holds {available} ({:.1}% short, more than \
             --data-tolerate-error-p {tolerate_p}); tokenize more data, lower --tokens/--steps, or pass \
             --multiple-data-passes to repeat the data",
            short * 100.0
        );
    }
    eprintln!(
        "train: the data is {:.1}% short of the schedule (within --data-tolerate-error-p {tolerate_p}); training \
         stops when it ends",
        short * 100.0
    );
    Ok(false)
}

/// One line of `val_log.jsonl`.
#[derive(Debug, Serialize)]
struct ValLog {
    step: u64,
    tokens: u64,
    val_ce: f64,
    val_ppl: f64,
}

/// The run's hyperparameters under open_lm's argument names, as a user would pass them to open_lm.
fn open_lm_params(p: &Preset, a: &TrainArgs, data: &Path) -> serde_json::Value {
    serde_json::json!({
        "model": p.dclm_config,
        "dataset-manifest": data.join("manifest.jsonl"),
        "data-key": "json.gz",
        "train-num-samples": p.steps * p.global_batch as u64,
        "global-batch-size": p.global_batch,
        "accum-freq": p.accum,
        "seq-len": p.model.seq_len,
        "lr": p.lr,
        "lr-cooldown-end": p.min_lr,
        "warmup": p.warmup,
        "wd": p.weight_decay,
        "beta2": 0.95,
        "z-loss-coefficient": p.z_loss,
        "grad-clip-norm": p.grad_clip,
        "epochs": a.checkpoints,
        "seed": p.seed,
        "precision": if a.dtype == "bf16" { "amp_bfloat16" } else { "fp32" },
        "data-tolerate-error-p": a.data_tolerate_error_p,
        "multiple-data-passes": a.multiple_data_passes,
        "model_config": p.model,
    })
}

/// Train; returns the run record (also `<out>/run.json`).
pub fn run(a: &TrainArgs) -> Result<RunRecord> {
    let data = if a.data.is_file() {
        a.data.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        a.data.clone()
    };
    let p = preset(a)?;
    let device = select_device(&a.device)?;
    let latest = Trainer::latest_checkpoint(&a.out);
    if latest.is_some() && !a.resume {
        bail!(
            "{} already holds a training run: pass --resume to continue it, or choose another --out",
            a.out.display()
        );
    }
    let mut source = TokenSource::open(&data)
        .with_context(|| format!("reading token shards in {}", data.display()))?
        .with_seed(p.seed)
        .expect_seq_len(p.model.seq_len + 1);
    let needed = p.steps * p.global_batch as u64;
    let cycle = check_tokens(
        needed,
        source.num_sequences(),
        a.data_tolerate_error_p,
        a.multiple_data_passes,
    )?;
    source = source.cycle(cycle);

    let mut opts = TrainOptions::new(&a.out);
    opts.compute_dtype = a.dtype.parse()?;
    opts.peak_flops = a.peak_tflops.map(|t| t * 1e12);
    opts.max_steps = a.max_steps;
    opts.checkpoint_every = (p.steps / a.checkpoints.max(1)).max(1);
    opts.dataset_manifest_hash = Some(manifest_hash(&data.join("manifest.jsonl"))?);
    opts.dataset_name = data.file_name().map(|n| n.to_string_lossy().into_owned());
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    dclm_core::io::write_atomic(
        &a.out.join("params.json"),
        &serde_json::to_vec_pretty(&open_lm_params(&p, a, &data))?,
    )?;
    let mut trainer = match (&latest, &a.init) {
        (Some(ckpt), _) => {
            let t = Trainer::resume(ckpt, opts, &device)?;
            // A resumed run continues its own recipe: other flags now would silently not apply.
            if t.preset() != &p {
                bail!(
                    "{} was started with other settings (scale, model or hyperparameters) than this command gives; \
                     resume it with the same flags, or train into another --out",
                    a.out.display()
                );
            }
            t
        }
        (None, Some(init)) => {
            // Any checkpoint layout (dclm-rs safetensors, an open_lm `.pt`, an HF folder); its shape must be the
            // one this run trains.
            let mut ckpt = dclm_train::checkpoint::load_any(init, a.model_json.as_deref())
                .with_context(|| format!("loading --init {}", init.display()))?;
            // A shape read off the tensors alone cannot know the context length: it is this run's.
            if ckpt.config_source == dclm_train::checkpoint::ConfigSource::Inferred {
                ckpt.config.seq_len = p.model.seq_len;
                ckpt.config.norm_eps = p.model.norm_eps;
            }
            if ckpt.config != p.model {
                bail!(
                    "--init {} has another shape than the model this run trains ({:?} vs {:?}); give the matching \
                     --scale or --model-json",
                    init.display(),
                    ckpt.config,
                    p.model
                );
            }
            let params = ckpt.params(&device)?;
            Trainer::with_params(p.clone(), opts, params)?
        }
        (None, None) => Trainer::new(p.clone(), opts, &device)?,
    };
    let val: Option<Vec<Vec<u32>>> = match &a.val_data {
        Some(v) => {
            let mut s = TokenSource::open(v)
                .with_context(|| format!("reading validation shards in {}", v.display()))?
                .with_seed(0)
                .expect_seq_len(p.model.seq_len + 1);
            let seqs = s.next_batch(a.val_sequences)?.unwrap_or_default();
            if seqs.is_empty() {
                bail!("{}: no validation sequences", v.display());
            }
            Some(seqs)
        }
        None => None,
    };
    let mut val_log = match &val {
        Some(_) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(a.out.join("val_log.jsonl"))?,
        ),
        None => None,
    };
    let mut validate = |trainer: &Trainer| -> Result<()> {
        if let (Some(seqs), Some(log)) = (&val, val_log.as_mut()) {
            let ce = trainer.validation_ce(seqs)?;
            let line = ValLog {
                step: trainer.step(),
                tokens: trainer.step() * (p.global_batch * p.model.seq_len) as u64,
                val_ce: ce,
                val_ppl: ce.exp(),
            };
            eprintln!(
                "train: step {} validation CE {ce:.4} (perplexity {:.2})",
                line.step, line.val_ppl
            );
            writeln!(log, "{}", serde_json::to_string(&line)?)?;
        }
        Ok(())
    };
    // Skip the batches a resumed run has consumed, then step until the limit or the end of the data.
    for _ in 0..trainer.batches_consumed() {
        if source.next_batch(p.global_batch)?.is_none() {
            break;
        }
    }
    let limit = a.max_steps.unwrap_or(p.steps).min(p.steps);
    while trainer.step() < limit {
        let Some(batch) = source.next_batch(p.global_batch)? else {
            eprintln!("train: the data ended at step {}", trainer.step());
            break;
        };
        let log = trainer.train_step(&batch)?;
        if a.val_every > 0 && log.step % a.val_every == 0 {
            validate(&trainer)?;
        }
    }
    if a.val_every == 0 || trainer.step() % a.val_every != 0 {
        validate(&trainer)?;
    }
    Ok(trainer.finish()?)
}

/// `dclm train …`
pub fn main(a: &TrainArgs) -> Result<()> {
    let r = run(a)?;
    eprintln!(
        "train: {} steps, {} tokens, final loss {:?}, {:.0} tokens/s; model {}",
        r.steps,
        r.tokens_seen,
        r.final_loss,
        r.tokens_per_s,
        r.checkpoint_path.display()
    );
    Ok(())
}
