//! DCLM's optimisation recipe: AdamW exactly as `torch.optim.AdamW` (decoupled weight decay on every
//! parameter, bias-corrected moments), global-norm gradient clipping as `clip_grad_norm_`, and open_lm's
//! linear-warmup + cosine learning-rate schedule.

use std::collections::HashMap;
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::{CandleContext, Result, TrainError};
use crate::model::{load_safetensors_map, save_safetensors_map};

/// AdamW hyper-parameters (DCLM: β1 0.9, β2 0.95, ε 1e-8, weight decay per scale).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// ε added to the bias-corrected root second moment.
    pub eps: f64,
    /// Decoupled weight decay, applied to all parameters (open_lm's no-decay group is empty).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.033,
        }
    }
}

/// AdamW over a list of named variables, with state that can be saved and restored.
#[derive(Debug)]
pub struct AdamW {
    cfg: AdamWConfig,
    names: Vec<String>,
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: u64,
}

impl AdamW {
    /// Zero-state optimizer over `(name, var)` pairs.
    pub fn new(named_vars: Vec<(String, Var)>, cfg: AdamWConfig) -> Result<Self> {
        let mut names = Vec::new();
        let mut vars = Vec::new();
        let mut m = Vec::new();
        let mut v = Vec::new();
        for (n, var) in named_vars {
            m.push(var.zeros_like().ctx("creating optimizer state")?);
            v.push(var.zeros_like().ctx("creating optimizer state")?);
            names.push(n);
            vars.push(var);
        }
        Ok(Self {
            cfg,
            names,
            vars,
            m,
            v,
            step: 0,
        })
    }

    /// Number of steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamWConfig {
        &self.cfg
    }

    /// One AdamW step with learning rate `lr` using `grads[i]` for variable `i`. A variable whose gradient
    /// is `None` is left untouched (neither decayed nor moved), as torch does for `grad is None`.
    pub fn step(&mut self, grads: &[Option<Tensor>], lr: f64) -> Result<()> {
        let cx = "AdamW step";
        if grads.len() != self.vars.len() {
            return Err(TrainError::Config(format!(
                "{} gradients for {} parameters",
                grads.len(),
                self.vars.len()
            )));
        }
        self.step += 1;
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.cfg;
        let bc1 = 1.0 - beta1.powi(self.step as i32);
        let bc2_sqrt = (1.0 - beta2.powi(self.step as i32)).sqrt();
        let step_size = lr / bc1;
        for (i, g) in grads.iter().enumerate() {
            let Some(g) = g else { continue };
            let p = self.vars[i].as_tensor();
            // torch: p *= 1 - lr*wd; m = m + (g - m)(1-β1); v = β2 v + (1-β2) g²;
            // p -= step_size * m / (sqrt(v)/sqrt(bc2) + eps)
            let decayed = (p * (1.0 - lr * weight_decay)).ctx(cx)?;
            let m = (&self.m[i] + ((g - &self.m[i]).ctx(cx)? * (1.0 - beta1)).ctx(cx)?).ctx(cx)?;
            let v = ((&self.v[i] * beta2).ctx(cx)? + (g.sqr().ctx(cx)? * (1.0 - beta2)).ctx(cx)?).ctx(cx)?;
            let denom = ((v.sqrt().ctx(cx)? / bc2_sqrt).ctx(cx)? + eps).ctx(cx)?;
            let upd = ((&m / &denom).ctx(cx)? * step_size).ctx(cx)?;
            let new_p = (decayed - upd).ctx(cx)?;
            self.vars[i].set(&new_p).ctx(cx)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// Save the moments (`exp_avg.<name>`, `exp_avg_sq.<name>`) as safetensors; the step count is returned
    /// for the caller's metadata.
    pub fn save_state(&self, path: &Path) -> Result<u64> {
        let mut map = HashMap::new();
        for (i, n) in self.names.iter().enumerate() {
            map.insert(format!("exp_avg.{n}"), self.m[i].clone());
            map.insert(format!("exp_avg_sq.{n}"), self.v[i].clone());
        }
        save_safetensors_map(&map, path)?;
        Ok(self.step)
    }

    /// Restore moments saved by [`save_state`](Self::save_state) and the step count.
    pub fn load_state(&mut self, path: &Path, step: u64) -> Result<()> {
        let device = self
            .vars
            .first()
            .map(|v| v.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        let map = load_safetensors_map(path, &device)?;
        for (i, n) in self.names.iter().enumerate() {
            for (key, slot) in [
                (format!("exp_avg.{n}"), &mut self.m[i]),
                (format!("exp_avg_sq.{n}"), &mut self.v[i]),
            ] {
                let t = map.get(&key).ok_or_else(|| TrainError::MissingTensor {
                    path: path.to_path_buf(),
                    name: key.clone(),
                })?;
                if t.dims() != self.vars[i].dims() {
                    return Err(TrainError::TensorShape {
                        path: path.to_path_buf(),
                        name: key,
                        expected: self.vars[i].dims().to_vec(),
                        got: t.dims().to_vec(),
                    });
                }
                *slot = t.clone();
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Gradients of `vars` from a [`GradStore`], in order (`None` where a variable got no gradient).
pub fn collect_grads(grads: &GradStore, vars: &[Var]) -> Vec<Option<Tensor>> {
    vars.iter().map(|v| grads.get(v.as_tensor()).cloned()).collect()
}

/// Global L2 norm of all gradients (f64 accumulation of per-tensor f32 sums of squares).
pub fn global_grad_norm(grads: &[Option<Tensor>]) -> Result<f64> {
    let mut sq = 0.0f64;
    for g in grads.iter().flatten() {
        let s: f32 = g
            .sqr()
            .and_then(|s| s.sum_all())
            .and_then(|s| s.to_scalar())
            .ctx("gradient norm")?;
        sq += s as f64;
    }
    Ok(sq.sqrt())
}

/// `torch.nn.utils.clip_grad_norm_`: scales every gradient by `min(max_norm / (norm + 1e-6), 1)`.
/// Returns `(norm before clipping, coefficient applied)`.
pub fn clip_grad_norm(grads: &mut [Option<Tensor>], max_norm: f64) -> Result<(f64, f64)> {
    let norm = global_grad_norm(grads)?;
    let coef = (max_norm / (norm + 1e-6)).min(1.0);
    for g in grads.iter_mut().flatten() {
        *g = (&*g * coef).ctx("clipping gradients")?;
    }
    Ok((norm, coef))
}

/// open_lm's `cosine_lr`: linear warmup `base·(step+1)/warmup` for `step < warmup`, then cosine from `base`
/// to `min_lr` at `total_steps` (0-based step, evaluated before each optimizer step).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CosineSchedule {
    /// Peak learning rate.
    pub base_lr: f64,
    /// Warmup steps.
    pub warmup: u64,
    /// Total optimizer steps.
    pub total_steps: u64,
    /// Final learning rate (`lr_cooldown_end`, 3e-5 in DCLM).
    pub min_lr: f64,
}

impl CosineSchedule {
    /// Learning rate for 0-based optimizer step `step`.
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup {
            return self.base_lr * (step + 1) as f64 / self.warmup as f64;
        }
        let es = self.total_steps.saturating_sub(self.warmup);
        if es == 0 {
            return self.min_lr;
        }
        let e = (step - self.warmup) as f64;
        self.min_lr + 0.5 * (1.0 + (std::f64::consts::PI * e / es as f64).cos()) * (self.base_lr - self.min_lr)
    }
}
