//! open_lm's training loss: mean token cross-entropy plus z-loss `z · mean(logsumexp(logits)²)`
//! (`open_lm/losses.py::CrossEntropyLossWithZLoss`), with no masking of any token.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor, D};
use rayon::prelude::*;

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
    // A 2-D input is used as it is: a reshape node would add a [N, V] gradient accumulation in backward.
    let logits = if logits.rank() == 2 {
        logits.clone()
    } else {
        logits.reshape(((), v)).ctx(cx)?
    };
    let n = logits.dim(0).ctx(cx)?;
    let targets = targets.flatten_all().ctx(cx)?;
    if targets.dim(0).ctx(cx)? != n {
        return Err(TrainError::BadBatch {
            step: 0,
            reason: format!("{} targets for {n} logit rows", targets.dim(0).ctx(cx)?),
        });
    }
    let (ce, z) = if logits.device().is_cpu() && logits.dtype() == candle_core::DType::F32 {
        // One pass over the [n, V] logits forward and one backward instead of ~15 temporaries.
        let targets = targets.to_dtype(candle_core::DType::U32).ctx(cx)?;
        let rows = logits
            .contiguous()
            .and_then(|l| l.apply_op2(&targets, FusedCe))
            .ctx(cx)?; // [n, 2]
        let ce = rows.narrow(1, 0, 1).and_then(|c| c.mean_all()).ctx(cx)?;
        let z = rows
            .narrow(1, 1, 1)
            .and_then(|l| l.sqr())
            .and_then(|s| s.mean_all())
            .and_then(|m| m * z_loss)
            .ctx(cx)?;
        (ce, z)
    } else {
        composed(&logits, &targets, n, z_loss)?
    };
    let total = (&ce + &z).ctx(cx)?;
    Ok(LossOutput {
        ce: ce.to_scalar::<f32>().ctx(cx)?,
        z_term: z.to_scalar::<f32>().ctx(cx)?,
        total,
    })
}

/// Mean CE and z-term from plain candle ops (any device); the CPU path uses [`FusedCe`] instead.
fn composed(logits: &Tensor, targets: &Tensor, n: usize, z_loss: f64) -> Result<(Tensor, Tensor)> {
    let cx = "computing the loss";
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
    Ok((ce, z))
}

/// `exp(x)` in f32 without a libm call, so that loops over it vectorize: Cody–Waite reduction by ln 2 and
/// Cephes' `expf` polynomial (within 2 ulp of `f32::exp` on [-87, 88]; inputs are clamped to that range, so
/// `exp_f32(-inf)` is 1.6e-38 rather than 0, which no sum of a logits row notices).
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5·2^23: adding and subtracting it rounds to the nearest integer
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Largest element of a row, eight lanes at a time.
fn row_max(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    tail.iter()
        .chain(acc.iter())
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// `Σ exp(x − max)` over a row, eight partial sums at a time.
fn row_sum_exp(row: &[f32], max: f32) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += exp_f32(x - max);
        }
    }
    acc.iter().sum::<f32>() + tail.iter().map(|&x| exp_f32(x - max)).sum::<f32>()
}

/// Per-row `(cross-entropy, logsumexp)` of f32 logits `[n, V]` against u32 targets `[n]` on the CPU, with
/// the analytic gradient `softmax·(g_ce + g_lse) − g_ce·onehot`.
struct FusedCe;

fn cpu_err(msg: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("fused cross-entropy: {msg}"))
}

impl CustomOp2 for FusedCe {
    fn name(&self) -> &'static str {
        "fused-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(logits), CpuStorage::U32(targets)) = (s1, s2) else {
            return Err(cpu_err("expects f32 logits and u32 targets"));
        };
        let (Some((a1, b1)), Some((a2, b2))) = (l1.contiguous_offsets(), l2.contiguous_offsets()) else {
            return Err(cpu_err("expects contiguous inputs"));
        };
        let (n, v) = l1.shape().dims2()?;
        let (logits, targets) = (&logits[a1..b1], &targets[a2..b2]);
        if targets.len() != n {
            return Err(cpu_err("target count differs from rows"));
        }
        if targets.iter().any(|&t| t as usize >= v) {
            return Err(cpu_err("target outside the vocabulary"));
        }
        // Rows are independent: computed in parallel, each exactly as serially (same bits for any thread count).
        let mut out = vec![0f32; 2 * n];
        out.par_chunks_mut(2)
            .zip(logits.par_chunks_exact(v))
            .zip(targets.par_iter())
            .for_each(|((o, row), &t)| {
                let max = row_max(row);
                let lse = row_sum_exp(row, max).ln() + max;
                o[0] = lse - row[t as usize];
                o[1] = lse;
            });
        Ok((CpuStorage::F32(out), Shape::from((n, 2))))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (n, v) = logits.dims2()?;
        let x: Vec<f32> = logits.flatten_all()?.to_vec1()?;
        let t: Vec<u32> = targets.flatten_all()?.to_vec1()?;
        let r: Vec<f32> = res.flatten_all()?.to_vec1()?;
        let g: Vec<f32> = grad_res.flatten_all()?.to_vec1()?;
        let mut out = x;
        debug_assert_eq!(out.len(), n * v);
        out.par_chunks_mut(v).enumerate().for_each(|(i, row)| {
            let (gce, glse, lse) = (g[2 * i], g[2 * i + 1], r[2 * i + 1]);
            let scale = gce + glse;
            for e in row.iter_mut() {
                *e = exp_f32(*e - lse) * scale;
            }
            row[t[i] as usize] -= gce;
        });
        Ok((Some(Tensor::from_vec(out, (n, v), logits.device())?), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn exp_f32_is_within_two_ulp_of_libm() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let (a, b) = (exp_f32(x) as f64, x.exp() as f64);
            worst = worst.max((a - b).abs() / b);
            x += 0.001_37;
        }
        assert!(worst < 2.5e-7, "relative error {worst}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NEG_INFINITY) < 1e-37);
    }

    #[test]
    fn row_helpers_match_plain_loops() {
        let row: Vec<f32> = (0..37).map(|i| ((i * 53 % 41) as f32 - 20.0) / 3.0).collect();
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(row_max(&row), max);
        let plain: f32 = row.iter().map(|x| (x - max).exp()).sum();
        assert!((row_sum_exp(&row, max) - plain).abs() < 1e-5 * plain);
    }

    #[test]
    fn fused_and_composed_agree_in_value_and_gradient() {
        let dev = Device::Cpu;
        let data: Vec<f32> = (0..6 * 50).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        let x = Var::from_tensor(&Tensor::from_vec(data, (6, 50), &dev).unwrap()).unwrap();
        let t = Tensor::new(&[3u32, 0, 49, 7, 7, 20], &dev).unwrap();
        let fused = cross_entropy_z_loss(x.as_tensor(), &t, 1e-2).unwrap();
        let g_fused = fused.total.backward().unwrap().get(x.as_tensor()).unwrap().clone();
        let (ce, z) = composed(x.as_tensor(), &t, 6, 1e-2).unwrap();
        let total = (&ce + &z).unwrap();
        let g_comp = total.backward().unwrap().get(x.as_tensor()).unwrap().clone();
        assert!((fused.ce - ce.to_scalar::<f32>().unwrap()).abs() < 1e-5);
        assert!((fused.z_term - z.to_scalar::<f32>().unwrap()).abs() < 1e-6);
        let d: f32 = (g_fused - g_comp)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!(d < 1e-6, "gradients differ by {d}");
    }
}
