//! The model seam: [`LanguageModel`] (batched continuation log-likelihoods, greedy generation) and its
//! request/response types. `dclm-eval` never sees candle; an adapter elsewhere implements this trait.

use crate::EvalError;

/// Score `continuation` given `context` (both token ids; the model sees `context ++ continuation`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoglikRequest {
    /// Tokens before the continuation (already left-truncated to fit the model's window).
    pub context: Vec<u32>,
    /// Tokens to score; never empty for the built-in tasks.
    pub continuation: Vec<u32>,
}

/// The model's answer to one [`LoglikRequest`].
#[derive(Clone, Debug, PartialEq)]
pub struct LogLik {
    /// `log p(continuation[t] | context, continuation[..t])` per continuation token, natural log, as float32
    /// (`-F.cross_entropy` of the logits at that position).
    pub token_logprobs: Vec<f32>,
    /// Whether the argmax of the logits equals the target at **every** continuation position.
    pub greedy: bool,
}

impl LogLik {
    /// Mean per-token cross-entropy, computed as `F.cross_entropy(..., reduction="mean")` in float32 would.
    pub fn mean_ce(&self) -> f32 {
        if self.token_logprobs.is_empty() {
            return f32::NAN;
        }
        let sum: f64 = self.token_logprobs.iter().map(|&lp| -(lp as f64)).sum();
        (sum / self.token_logprobs.len() as f64) as f32
    }
}

/// Greedy generation from `context`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenRequest {
    /// Prompt token ids (already left-truncated).
    pub context: Vec<u32>,
    /// Upper bound on generated tokens.
    pub max_new_tokens: usize,
    /// Stop (and drop) when this token is produced.
    pub eos_token_id: Option<u32>,
}

/// Decides, after each generated token, whether a request is finished (stop strings). Implementations
/// decode the tokens themselves; the model only calls this.
pub trait StopCriterion: Sync {
    /// `request` is the index into the batch given to [`LanguageModel::generate`]; `generated` excludes EOS.
    fn should_stop(&self, request: usize, generated: &[u32]) -> bool;
}

/// Never stops early (only EOS / `max_new_tokens`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStop;

impl StopCriterion for NoStop {
    fn should_stop(&self, _request: usize, _generated: &[u32]) -> bool {
        false
    }
}

/// A causal language model as the ICL evaluator needs it.
///
/// Required: [`loglikelihood`](Self::loglikelihood). Generation tasks also need
/// [`generate`](Self::generate); by default it returns [`EvalError::Unsupported`] and those tasks are
/// reported as skipped. Implementations may run the batch in parallel and with any padding: the result
/// must equal running each sequence alone, unpadded.
pub trait LanguageModel: Send + Sync {
    /// A name for reports.
    fn name(&self) -> &str {
        "model"
    }

    /// The model's context window; prompts are left-truncated to it (DCLM: 2048).
    fn max_seq_len(&self) -> usize {
        2048
    }

    /// Score every request (same order, same length as `requests`).
    fn loglikelihood(&self, requests: &[LoglikRequest]) -> Result<Vec<LogLik>, EvalError>;

    /// Greedy-decode every request: the generated ids (without EOS), stopping at EOS, at `max_new_tokens`,
    /// or as soon as `stop.should_stop(i, &generated)` is true (the token that triggered it is kept).
    fn generate(&self, requests: &[GenRequest], stop: &dyn StopCriterion) -> Result<Vec<Vec<u32>>, EvalError> {
        let _ = (requests, stop);
        Err(EvalError::Unsupported("generation"))
    }
}

macro_rules! forward_lm {
    ($($ty:ty),*) => {$(
        impl<T: LanguageModel + ?Sized> LanguageModel for $ty {
            fn name(&self) -> &str {
                (**self).name()
            }
            fn max_seq_len(&self) -> usize {
                (**self).max_seq_len()
            }
            fn loglikelihood(&self, requests: &[LoglikRequest]) -> Result<Vec<LogLik>, EvalError> {
                (**self).loglikelihood(requests)
            }
            fn generate(&self, requests: &[GenRequest], stop: &dyn StopCriterion) -> Result<Vec<Vec<u32>>, EvalError> {
                (**self).generate(requests, stop)
            }
        }
    )*};
}
forward_lm!(&T, Box<T>, std::sync::Arc<T>);

/// Greedy decoding on top of a "next-token logits" function, for adapters without a KV cache and for
/// test doubles: `next_logits(prefix)` returns the logits after `prefix`.
pub fn greedy_generate_with(
    requests: &[GenRequest],
    stop: &dyn StopCriterion,
    mut next_logits: impl FnMut(&[u32]) -> Result<Vec<f32>, EvalError>,
) -> Result<Vec<Vec<u32>>, EvalError> {
    let mut out = Vec::with_capacity(requests.len());
    for (i, req) in requests.iter().enumerate() {
        let mut seq = req.context.clone();
        let mut generated = Vec::new();
        for _ in 0..req.max_new_tokens {
            let logits = next_logits(&seq)?;
            let tok = argmax(&logits).ok_or_else(|| EvalError::Model("empty logits".into()))? as u32;
            if Some(tok) == req.eos_token_id {
                break;
            }
            generated.push(tok);
            seq.push(tok);
            if stop.should_stop(i, &generated) {
                break;
            }
        }
        out.push(generated);
    }
    Ok(out)
}

/// Index of the first maximum (torch's `argmax` picks the first on ties); `None` if empty.
pub fn argmax(xs: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &x) in xs.iter().enumerate() {
        let better = match best {
            None => true,
            Some((_, b)) => x > b,
        };
        if better {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
}

/// `log_softmax(logits)[target]` computed in float64 from float32 logits, returned as float32.
pub fn log_softmax_at(logits: &[f32], target: usize) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = logits.iter().map(|&l| ((l as f64) - max).exp()).sum::<f64>().ln() + max;
    (logits.get(target).copied().unwrap_or(f32::NEG_INFINITY) as f64 - lse) as f32
}
