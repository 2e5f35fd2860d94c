//! The training loop: global batches of token sequences in, AdamW steps with gradient accumulation and
//! clipping out; a JSONL log (loss, lr, grad norm, tokens/s, MFU), checkpoints (model + optimizer + data
//! position) with exact resume, and a run record JSON like DCLM's `exp_data/models/*.json`.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::loss::cross_entropy_z_loss;
use super::optim::{clip_grad_norm, collect_grads, AdamW};
use super::presets::Preset;
use crate::error::{CandleContext, Result, TrainError};
use crate::model::{load_safetensors_map, ComputeDtype, Params, Transformer};

/// Options of a training run besides the recipe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Output folder: `train_log.jsonl`, `checkpoints/`, `run.json`, `model.safetensors`.
    pub out_dir: PathBuf,
    /// Stop after this many optimizer steps (the schedule still spans `preset.steps`); `None` = `preset.steps`.
    pub max_steps: Option<u64>,
    /// Save a checkpoint every this many steps (0 = only at the end).
    pub checkpoint_every: u64,
    /// Write a log line every this many steps (the last step is always logged).
    pub log_every: u64,
    /// Peak FLOP/s of the device, for MFU in the log (`None`: MFU is not reported).
    pub peak_flops: Option<f64>,
    /// Identifier of the training data (e.g. [`manifest_hash`] of the tokenized manifest).
    pub dataset_manifest_hash: Option<String>,
    /// Name of the dataset, recorded in `run.json`.
    pub dataset_name: Option<String>,
    /// Precision of the matrix products (`bf16`: DCLM's `amp_bfloat16`, f32 master weights and optimizer).
    #[serde(default)]
    pub compute_dtype: ComputeDtype,
}

impl TrainOptions {
    /// Defaults: checkpoint only at the end, log every step.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        Self {
            out_dir: out_dir.into(),
            max_steps: None,
            checkpoint_every: 0,
            log_every: 1,
            peak_flops: None,
            dataset_manifest_hash: None,
            dataset_name: None,
            compute_dtype: ComputeDtype::F32,
        }
    }
}

/// One line of `train_log.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// Optimizer steps done (1-based after the step).
    pub step: u64,
    /// Total loss (CE + z-loss), mean over the global batch.
    pub loss: f32,
    /// Cross-entropy part.
    pub ce: f32,
    /// z-loss part.
    pub z_loss: f32,
    /// Learning rate used for this step.
    pub lr: f64,
    /// Gradient global norm before clipping.
    pub grad_norm: f64,
    /// Tokens (predicted positions) trained on so far.
    pub tokens: u64,
    /// Tokens per second of this step (wall clock).
    pub tokens_per_s: f64,
    /// Model FLOP utilisation of this step, when the device peak is known.
    pub mfu: Option<f64>,
}

/// Training state saved next to each checkpoint (`state.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Optimizer steps done.
    pub step: u64,
    /// Global batches consumed from the data stream (the data position to resume from).
    pub batches_consumed: u64,
    /// Tokens trained on.
    pub tokens_seen: u64,
    /// The recipe.
    pub preset: Preset,
    /// Loss of the last step.
    pub last_loss: Option<f32>,
}

/// DCLM-style record of a finished run (`run.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run name: `<dataset>-<scale>-seed=<seed>`.
    pub name: String,
    /// Scale / preset name.
    pub scale: String,
    /// DCLM config name.
    pub dclm_config: String,
    /// Parameters of the model as built.
    pub params: u64,
    /// The recipe.
    pub hyperparameters: Preset,
    /// Dataset name.
    pub dataset_name: Option<String>,
    /// Hash of the tokenized dataset's manifest.
    pub dataset_manifest_hash: Option<String>,
    /// Optimizer steps done.
    pub steps: u64,
    /// Tokens trained on.
    pub tokens_seen: u64,
    /// Loss (CE + z) of the last step.
    pub final_loss: Option<f32>,
    /// Cross-entropy of the last step.
    pub final_ce: Option<f32>,
    /// Path of the final weights (open_lm names, safetensors).
    pub checkpoint_path: PathBuf,
    /// Wall-clock seconds of this process's training.
    pub wall_seconds: f64,
    /// Mean tokens/s over the run.
    pub tokens_per_s: f64,
}

/// `sha256:<hex>` of a file's bytes (e.g. a tokenized dataset's `manifest.jsonl`).
pub fn manifest_hash(path: &Path) -> Result<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let digest = sha2::Sha256::digest(&bytes);
    Ok(format!(
        "sha256:{}",
        digest.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Trains an open_lm model with DCLM's recipe.
#[derive(Debug)]
pub struct Trainer {
    preset: Preset,
    opts: TrainOptions,
    params: Params,
    model: Transformer,
    opt: AdamW,
    step: u64,
    batches_consumed: u64,
    tokens_seen: u64,
    history: Vec<StepLog>,
    log: Option<BufWriter<File>>,
    wall: f64,
    tokens_run: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_json<T: Serialize>(value: &T, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|source| TrainError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

impl Trainer {
    /// A fresh run: weights drawn with open_lm's init from `preset.seed`, zero optimizer state.
    pub fn new(preset: Preset, opts: TrainOptions, device: &Device) -> Result<Self> {
        let params = Params::init(&preset.model, preset.seed, device)?;
        Self::with_params(preset, opts, params)
    }

    /// A fresh run from given weights (e.g. loaded from an open_lm checkpoint), zero optimizer state.
    pub fn with_params(preset: Preset, opts: TrainOptions, params: Params) -> Result<Self> {
        if preset.accum == 0 || preset.global_batch == 0 {
            return Err(TrainError::Config("global_batch and accum must be positive".into()));
        }
        let model = Transformer::from_params(&params, &preset.model)?.with_compute_dtype(opts.compute_dtype);
        let opt = AdamW::new(
            params
                .names()
                .iter()
                .cloned()
                .zip(params.vars().iter().cloned())
                .collect(),
            preset.adamw(),
        )?;
        Ok(Self {
            preset,
            opts,
            params,
            model,
            opt,
            step: 0,
            batches_consumed: 0,
            tokens_seen: 0,
            history: Vec::new(),
            log: None,
            wall: 0.0,
            tokens_run: 0,
        })
    }

    /// Resume from a checkpoint folder written by [`save_checkpoint`](Self::save_checkpoint): weights,
    /// optimizer moments, step and data position. `opts.out_dir` may differ from the original run's.
    pub fn resume(checkpoint: &Path, opts: TrainOptions, device: &Device) -> Result<Self> {
        let state_path = checkpoint.join("state.json");
        let text = std::fs::read_to_string(&state_path).map_err(io_err(&state_path))?;
        let state: CheckpointState = serde_json::from_str(&text).map_err(|source| TrainError::Json {
            path: state_path.clone(),
            source,
        })?;
        let params = Params::load_safetensors(&state.preset.model, &checkpoint.join("model.safetensors"), device)?;
        let mut t = Self::with_params(state.preset, opts, params)?;
        t.opt
            .load_state(&checkpoint.join("optimizer.safetensors"), state.step)?;
        t.step = state.step;
        t.batches_consumed = state.batches_consumed;
        t.tokens_seen = state.tokens_seen;
        truncate_log(&t.opts.out_dir.join("train_log.jsonl"), state.step)?;
        Ok(t)
    }

    /// The most recent checkpoint folder under `out_dir/checkpoints`, if any.
    pub fn latest_checkpoint(out_dir: &Path) -> Option<PathBuf> {
        let dir = out_dir.join("checkpoints");
        let mut best: Option<(u64, PathBuf)> = None;
        for e in std::fs::read_dir(&dir).ok()?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = name.strip_prefix("step_").and_then(|s| s.parse::<u64>().ok()) {
                if e.path().join("state.json").is_file() && best.as_ref().is_none_or(|(b, _)| n > *b) {
                    best = Some((n, e.path()));
                }
            }
        }
        best.map(|(_, p)| p)
    }

    /// The model (shares weights with the trainer).
    pub fn model(&self) -> &Transformer {
        &self.model
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The recipe.
    pub fn preset(&self) -> &Preset {
        &self.preset
    }

    /// Optimizer steps done.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Global batches consumed so far (the data position).
    pub fn batches_consumed(&self) -> u64 {
        self.batches_consumed
    }

    /// The log lines of the steps run by this process.
    pub fn history(&self) -> &[StepLog] {
        &self.history
    }

    fn step_limit(&self) -> u64 {
        self.opts
            .max_steps
            .unwrap_or(self.preset.steps)
            .min(self.preset.steps.max(1))
    }

    /// One optimizer step on a global batch of token sequences (each `T+1` tokens: inputs `0..T`, targets
    /// `1..=T`, all the same length). The batch is split into `preset.accum` micro-batches whose gradients
    /// are summed with weights proportional to their token counts, i.e. the gradient of the mean loss over
    /// the whole batch.
    pub fn train_step(&mut self, batch: &[Vec<u32>]) -> Result<StepLog> {
        let started = Instant::now();
        let step = self.step;
        let bad = |reason: String| TrainError::BadBatch { step, reason };
        let len = batch.first().map(Vec::len).ok_or_else(|| bad("empty batch".into()))?;
        if len < 2 {
            return Err(bad(format!("sequences need at least 2 tokens, got {len}")));
        }
        if let Some(i) = batch.iter().position(|s| s.len() != len) {
            return Err(bad(format!(
                "sequence {i} has {} tokens, sequence 0 has {len}",
                batch[i].len()
            )));
        }
        let vocab = self.preset.model.vocab_size;
        if let Some((i, &t)) = batch.iter().flatten().enumerate().find(|(_, t)| **t as usize >= vocab) {
            return Err(bad(format!(
                "token {t} at flat position {i} is outside the vocabulary of {vocab}"
            )));
        }
        let t = len - 1;
        let device = self.model.device().clone();
        let chunk = batch.len().div_ceil(self.preset.accum.max(1));
        let total_rows = batch.len() as f64;
        let vars = self.params.vars().to_vec();
        let mut grads: Vec<Option<Tensor>> = vec![None; vars.len()];
        let (mut loss_sum, mut ce_sum, mut z_sum) = (0.0f64, 0.0f64, 0.0f64);
        let cx = "training step";
        for micro in batch.chunks(chunk) {
            let rows = micro.len();
            let mut inputs = Vec::with_capacity(rows * t);
            let mut targets = Vec::with_capacity(rows * t);
            for s in micro {
                inputs.extend_from_slice(&s[..t]);
                targets.extend_from_slice(&s[1..]);
            }
            let inputs = Tensor::from_vec(inputs, (rows, t), &device).ctx(cx)?;
            let targets = Tensor::from_vec(targets, (rows, t), &device).ctx(cx)?;
            let logits = self.model.forward_flat(&inputs)?;
            let out = cross_entropy_z_loss(&logits, &targets, self.preset.z_loss)?;
            let w = rows as f64 / total_rows;
            loss_sum += w * (out.ce + out.z_term) as f64;
            ce_sum += w * out.ce as f64;
            z_sum += w * out.z_term as f64;
            let scaled = (out.total * w).ctx(cx)?;
            let store = scaled.backward().ctx("backward pass")?;
            for (slot, g) in grads.iter_mut().zip(collect_grads(&store, &vars)) {
                *slot = match (slot.take(), g) {
                    (Some(a), Some(b)) => Some((a + b).ctx(cx)?),
                    (a, b) => a.or(b),
                };
            }
        }
        if !loss_sum.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                step,
                loss: loss_sum as f32,
            });
        }
        let (grad_norm, _) = clip_grad_norm(&mut grads, self.preset.grad_clip)?;
        let lr = self.preset.schedule().lr(step);
        self.opt.step(&grads, lr)?;
        self.step += 1;
        self.batches_consumed += 1;
        let tokens = (batch.len() * t) as u64;
        self.tokens_seen += tokens;
        self.tokens_run += tokens;
        let secs = started.elapsed().as_secs_f64();
        self.wall += secs;
        let tokens_per_s = tokens as f64 / secs.max(1e-9);
        let mfu = self
            .opts
            .peak_flops
            .map(|peak| tokens_per_s * self.preset.model.train_flops_per_token() / peak);
        let log = StepLog {
            step: self.step,
            loss: loss_sum as f32,
            ce: ce_sum as f32,
            z_loss: z_sum as f32,
            lr,
            grad_norm,
            tokens: self.tokens_seen,
            tokens_per_s,
            mfu,
        };
        self.history.push(log.clone());
        let limit = self.step_limit();
        if self.opts.log_every > 0 && (self.step % self.opts.log_every == 0 || self.step >= limit) {
            self.write_log(&log)?;
        }
        if self.opts.checkpoint_every > 0 && self.step % self.opts.checkpoint_every == 0 && self.step < limit {
            self.save_checkpoint()?;
        }
        Ok(log)
    }

    fn write_log(&mut self, log: &StepLog) -> Result<()> {
        let path = self.opts.out_dir.join("train_log.jsonl");
        if self.log.is_none() {
            std::fs::create_dir_all(&self.opts.out_dir).map_err(io_err(&self.opts.out_dir))?;
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            self.log = Some(BufWriter::new(f));
        }
        let line = serde_json::to_string(log).map_err(|source| TrainError::Json {
            path: path.clone(),
            source,
        })?;
        let w = self.log.as_mut().expect("log writer opened above");
        writeln!(w, "{line}").and_then(|_| w.flush()).map_err(io_err(&path))
    }

    /// Write `out_dir/checkpoints/step_<N>/` with `model.safetensors` (open_lm names), `optimizer.safetensors`
    /// and `state.json`. Returns the folder.
    pub fn save_checkpoint(&self) -> Result<PathBuf> {
        let dir = self
            .opts
            .out_dir
            .join("checkpoints")
            .join(format!("step_{:08}", self.step));
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        self.params
            .save_safetensors(&self.preset.model, &dir.join("model.safetensors"))?;
        let step = self.opt.save_state(&dir.join("optimizer.safetensors"))?;
        let state = CheckpointState {
            step,
            batches_consumed: self.batches_consumed,
            tokens_seen: self.tokens_seen,
            preset: self.preset.clone(),
            last_loss: self.history.last().map(|h| h.loss),
        };
        // state.json last: a folder without it is incomplete and ignored by `latest_checkpoint`.
        write_json(&state, &dir.join("state.json"))?;
        Ok(dir)
    }

    /// Train on a stream of global batches until `max_steps` (or the preset's steps) or the end of the stream.
    /// Pass the stream from its start: a resumed trainer skips the batches it had already consumed. Writes the
    /// final checkpoint, `model.safetensors` and `run.json` into `out_dir`.
    pub fn fit<I>(&mut self, batches: I) -> Result<RunRecord>
    where
        I: IntoIterator<Item = Vec<Vec<u32>>>,
    {
        self.fit_fallible(batches.into_iter().map(Ok))
    }

    /// Like [`fit`](Self::fit) for a stream whose reads can fail (a data reader's errors are returned as is).
    pub fn fit_fallible<I>(&mut self, batches: I) -> Result<RunRecord>
    where
        I: IntoIterator<Item = Result<Vec<Vec<u32>>>>,
    {
        let limit = self.step_limit();
        let mut iter = batches.into_iter().skip(self.batches_consumed as usize);
        while self.step < limit {
            let Some(batch) = iter.next() else { break };
            self.train_step(&batch?)?;
        }
        self.finish()
    }

    /// Mean cross-entropy (nats per target token, no z-loss, no gradients) of the current model on held-out
    /// sequences of `T+1` tokens, scored `preset.global_batch / preset.accum` sequences per forward pass.
    pub fn validation_ce(&self, seqs: &[Vec<u32>]) -> Result<f64> {
        let step = self.step;
        let bad = |reason: String| TrainError::BadBatch { step, reason };
        let len = seqs
            .first()
            .map(Vec::len)
            .ok_or_else(|| bad("empty validation set".into()))?;
        if len < 2 || seqs.iter().any(|s| s.len() != len) {
            return Err(bad(format!(
                "validation sequences must all have the same length ≥ 2 (first: {len})"
            )));
        }
        let vocab = self.preset.model.vocab_size;
        if let Some(&t) = seqs.iter().flatten().find(|t| **t as usize >= vocab) {
            return Err(bad(format!(
                "validation token {t} is outside the vocabulary of {vocab}"
            )));
        }
        let t = len - 1;
        let device = self.model.device().clone();
        let per = (self.preset.global_batch / self.preset.accum.max(1)).max(1);
        let cx = "validation";
        let mut weighted = 0.0f64;
        for chunk in seqs.chunks(per) {
            let rows = chunk.len();
            let mut inputs = Vec::with_capacity(rows * t);
            let mut targets = Vec::with_capacity(rows * t);
            for s in chunk {
                inputs.extend_from_slice(&s[..t]);
                targets.extend_from_slice(&s[1..]);
            }
            let inputs = Tensor::from_vec(inputs, (rows, t), &device).ctx(cx)?;
            let targets = Tensor::from_vec(targets, (rows, t), &device).ctx(cx)?;
            let logits = self.model.forward_flat(&inputs)?;
            let out = cross_entropy_z_loss(&logits, &targets, 0.0)?;
            weighted += out.ce as f64 * rows as f64;
        }
        Ok(weighted / seqs.len() as f64)
    }

    /// Write the final checkpoint, `out_dir/model.safetensors` and `out_dir/run.json`.
    pub fn finish(&mut self) -> Result<RunRecord> {
        std::fs::create_dir_all(&self.opts.out_dir).map_err(io_err(&self.opts.out_dir))?;
        self.save_checkpoint()?;
        let model_path = self.opts.out_dir.join("model.safetensors");
        self.params.save_safetensors(&self.preset.model, &model_path)?;
        let last = self.history.last();
        let record = RunRecord {
            name: format!(
                "{}-{}-seed={}",
                self.opts.dataset_name.as_deref().unwrap_or("data"),
                self.preset.name,
                self.preset.seed
            ),
            scale: self.preset.name.clone(),
            dclm_config: self.preset.dclm_config.clone(),
            params: self.params.count(),
            hyperparameters: self.preset.clone(),
            dataset_name: self.opts.dataset_name.clone(),
            dataset_manifest_hash: self.opts.dataset_manifest_hash.clone(),
            steps: self.step,
            tokens_seen: self.tokens_seen,
            final_loss: last.map(|h| h.loss),
            final_ce: last.map(|h| h.ce),
            checkpoint_path: model_path,
            wall_seconds: self.wall,
            tokens_per_s: self.tokens_run as f64 / self.wall.max(1e-9),
        };
        write_json(&record, &self.opts.out_dir.join("run.json"))?;
        Ok(record)
    }
}

/// Load the final weights of a run folder (or any open_lm safetensors) as a model for inference.
pub fn load_model(preset: &Preset, weights: &Path, device: &Device) -> Result<Transformer> {
    let map = load_safetensors_map(weights, device)?;
    let params = Params::from_tensors(&preset.model, &map, weights, device)?;
    Transformer::from_params(&params, &preset.model)
}

/// The train stage in one call, for the runner (`cargo xtask train`): trains preset `scale` on `batches`
/// (global batches of `global_batch` sequences of `seq_len + 1` tokens, from the start of the data), writing
/// into `opts.out_dir`; resumes from the latest checkpoint there when one exists.
pub fn run<I>(scale: &str, opts: TrainOptions, batches: I, device: &Device) -> Result<RunRecord>
where
    I: IntoIterator<Item = Result<Vec<Vec<u32>>>>,
{
    let preset = Preset::by_name(scale)?;
    let mut trainer = match Trainer::latest_checkpoint(&opts.out_dir) {
        Some(ckpt) => {
            let t = Trainer::resume(&ckpt, opts, device)?;
            if t.preset().name != preset.name {
                return Err(TrainError::Checkpoint {
                    path: ckpt,
                    reason: format!("belongs to scale {}, not {}", t.preset().name, preset.name),
                });
            }
            t
        }
        None => Trainer::new(preset, opts, device)?,
    };
    trainer.fit_fallible(batches)
}

/// Keep only the log lines of steps up to `step` (the resumed checkpoint): the steps after it are trained
/// again and would otherwise appear twice in the loss curve. A torn last line is dropped too.
fn truncate_log(path: &Path, step: u64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let mut kept = String::with_capacity(text.len());
    for line in text.lines() {
        match serde_json::from_str::<StepLog>(line) {
            Ok(l) if l.step <= step => {
                kept.push_str(line);
                kept.push('\n');
            }
            _ => {}
        }
    }
    if kept.len() != text.len() {
        dclm_core::io::write_atomic(path, kept.as_bytes()).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_drops_the_log_lines_after_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("train_log.jsonl");
        let line = |step: u64| {
            serde_json::to_string(&StepLog {
                step,
                loss: 1.0,
                ce: 1.0,
                z_loss: 0.0,
                lr: 1e-3,
                grad_norm: 1.0,
                tokens: step * 10,
                tokens_per_s: 1.0,
                mfu: None,
            })
            .unwrap()
        };
        let mut text: String = (1..=7).map(|s| line(s) + "\n").collect();
        text.push_str("{\"step\": 8, \"lo"); // torn by a kill
        std::fs::write(&p, text).unwrap();
        truncate_log(&p, 5).unwrap();
        let kept: Vec<u64> = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<StepLog>(l).unwrap().step)
            .collect();
        assert_eq!(kept, [1, 2, 3, 4, 5]);
    }
}
