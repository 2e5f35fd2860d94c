//! open_lm's training loss: mean token cross-entropy plus z-loss `z · mean(logsumexp(logits)²)`
//! (`open_lm/losses.py::CrossEntropyLossWithZLoss`), with no masking of any token.

use candle_core::{Tensor, D};

use crate::error::{CandleContext, Result, TrainError};

/// The loss of one batch as tensors (`total` is differentiable) plus its parts as numbers.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// CE + z-loss, a scalar tensor in the graph.
    pub total: Tensor,
    /// Mean cross-entropy (nats/token).
    pub ce: f32,
    /// The z-loss term `z · mean(lse²)`.
    pub z_term: f32,
}

/// Cross-entropy + z-loss of `logits` `[B, T, V]` (or `[N, V]`) against `targets` `[B, T]` (or `[N]`, u32).
pub fn cross_entropy_z_loss(logits: &Tensor, targets: &Tensor, z_loss: f64) -> Result<LossOutput> {
    let cx = "computing the loss";
    let v = logits.dim(D::Minus1).ctx(cx)?;
    let logits = logits.reshape(((), v)).ctx(cx)?;
    let n = logits.dim(0).ctx(cx)?;
    let targets = targets.flatten_all().ctx(cx)?;
    if targets.dim(0).ctx(cx)? != n {
        return Err(TrainError::BadBatch {
            step: 0,
            reason: format!("{} targets for {n} logit rows", targets.dim(0).ctx(cx)?),
        });
    }
    let max = logits.max_keepdim(1).ctx(cx)?.detach();
    let lse = (logits
        .broadcast_sub(&max)
        .and_then(|s| s.exp())
        .and_then(|e| e.sum_keepdim(1))
        .and_then(|s| s.log()))
    .and_then(|l| l + &max)
    .ctx(cx)?; // [n, 1]
    let picked = logits.gather(&targets.reshape((n, 1)).ctx(cx)?, 1).ctx(cx)?; // [n, 1]
    let ce = (&lse - &picked).and_then(|c| c.mean_all()).ctx(cx)?;
    let z = lse.sqr().and_then(|s| s.mean_all()).and_then(|m| m * z_loss).ctx(cx)?;
    let total = (&ce + &z).ctx(cx)?;
    Ok(LossOutput {
        ce: ce.to_scalar::<f32>().ctx(cx)?,
        z_term: z.to_scalar::<f32>().ctx(cx)?,
        total,
    })
}
