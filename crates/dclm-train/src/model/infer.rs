//! Inference helpers for evaluation: logits and per-token log-likelihoods for a batch of token sequences,
//! and greedy generation with a KV cache.

use candle_core::{DType, IndexOp, Tensor, D};

use super::transformer::{log_softmax, KvCache, Transformer};
use crate::error::{CandleContext, Result, TrainError};

/// Per-token scores of one sequence: entry `i` is about token `i+1` given tokens `0..=i`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenScores {
    /// log p(token[i+1] | tokens[..=i]) (natural log).
    pub logprobs: Vec<f32>,
    /// Whether token[i+1] is the argmax prediction (greedy match).
    pub is_greedy: Vec<bool>,
}

impl Transformer {
    /// Logits for sequences of different lengths: each sequence is right-padded with token 0 to the longest
    /// (a causal model's logits at real positions do not depend on later padding), and its `[len, V]` logits
    /// are returned. Sequences longer than `seq_len` are accepted (RoPE extends), empty ones are rejected.
    pub fn logits_batch(&self, seqs: &[Vec<u32>]) -> Result<Vec<Tensor>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let max_len = seqs.iter().map(Vec::len).max().unwrap_or(0);
        if let Some(i) = seqs.iter().position(Vec::is_empty) {
            return Err(TrainError::BadBatch {
                step: 0,
                reason: format!("sequence {i} is empty"),
            });
        }
        let mut flat = Vec::with_capacity(seqs.len() * max_len);
        for s in seqs {
            flat.extend_from_slice(s);
            flat.resize(flat.len() + max_len - s.len(), 0);
        }
        let ids = Tensor::from_vec(flat, (seqs.len(), max_len), self.device()).ctx("building a batch")?;
        let logits = self.forward(&ids)?;
        seqs.iter()
            .enumerate()
            .map(|(i, s)| logits.i(i).and_then(|l| l.narrow(0, 0, s.len())).ctx("slicing logits"))
            .collect()
    }

    /// Per-token log-likelihoods and greedy matches for each sequence (see [`TokenScores`]); what an
    /// evaluation adapter needs to score continuations (sum the entries over the continuation's positions).
    pub fn score_batch(&self, seqs: &[Vec<u32>]) -> Result<Vec<TokenScores>> {
        let logits = self.logits_batch(seqs)?;
        let mut out = Vec::with_capacity(seqs.len());
        for (s, l) in seqs.iter().zip(logits) {
            if s.len() < 2 {
                out.push(TokenScores {
                    logprobs: Vec::new(),
                    is_greedy: Vec::new(),
                });
                continue;
            }
            let l = l.narrow(0, 0, s.len() - 1).ctx("scoring")?;
            let lp = log_softmax(&l).ctx("scoring")?;
            let targets = Tensor::from_slice(&s[1..], (s.len() - 1, 1), l.device()).ctx("scoring")?;
            let logprobs: Vec<f32> = lp
                .gather(&targets, 1)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1())
                .ctx("scoring")?;
            let argmax: Vec<u32> = l.argmax(D::Minus1).and_then(|t| t.to_vec1()).ctx("scoring")?;
            let is_greedy = argmax.iter().zip(&s[1..]).map(|(a, b)| a == b).collect();
            out.push(TokenScores { logprobs, is_greedy });
        }
        Ok(out)
    }

    /// Scores of the last tokens of each sequence: for sequence `i`, the tokens after position `from[i]`
    /// (entry `k` is about token `from[i] + 1 + k`, given the tokens before it), i.e. the tail of
    /// [`score_batch`](Self::score_batch)'s entries from `from[i]` on. The output projection, softmax and argmax
    /// run only on those positions — with a large vocabulary they are most of the work of scoring a short
    /// continuation after a long prompt. Needs `from[i] + 1 < len(seqs[i])`.
    pub fn score_batch_from(&self, seqs: &[Vec<u32>], from: &[usize]) -> Result<Vec<TokenScores>> {
        if seqs.len() != from.len() {
            return Err(TrainError::BadBatch {
                step: 0,
                reason: format!("{} sequences, {} start positions", seqs.len(), from.len()),
            });
        }
        if let Some(i) = (0..seqs.len()).find(|&i| from[i] + 1 >= seqs[i].len()) {
            return Err(TrainError::BadBatch {
                step: 0,
                reason: format!(
                    "sequence {i}: nothing to score after position {} of {}",
                    from[i],
                    seqs[i].len()
                ),
            });
        }
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let max_len = seqs.iter().map(Vec::len).max().unwrap_or(0);
        let mut flat = Vec::with_capacity(seqs.len() * max_len);
        for s in seqs {
            flat.extend_from_slice(s);
            flat.resize(flat.len() + max_len - s.len(), 0);
        }
        let ids = Tensor::from_vec(flat, (seqs.len(), max_len), self.device()).ctx("building a batch")?;
        let hidden = self.hidden_flat(&ids)?;
        // The rows of the positions to score, and the tokens they predict, all sequences together.
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        for (i, (s, &f)) in seqs.iter().zip(from).enumerate() {
            rows.extend((f..s.len() - 1).map(|p| (i * max_len + p) as u32));
            targets.extend_from_slice(&s[f + 1..]);
        }
        let n = rows.len();
        let rows = Tensor::from_vec(rows, n, self.device()).ctx("scoring")?;
        let logits = self.project(&hidden.index_select(&rows, 0).ctx("scoring")?)?;
        let lp = log_softmax(&logits).ctx("scoring")?;
        let target_t = Tensor::from_slice(&targets, (n, 1), logits.device()).ctx("scoring")?;
        let logprobs: Vec<f32> = lp
            .gather(&target_t, 1)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1())
            .ctx("scoring")?;
        let argmax: Vec<u32> = logits.argmax(D::Minus1).and_then(|t| t.to_vec1()).ctx("scoring")?;
        let mut out = Vec::with_capacity(seqs.len());
        let mut at = 0;
        for (s, &f) in seqs.iter().zip(from) {
            let m = s.len() - 1 - f;
            out.push(TokenScores {
                logprobs: logprobs[at..at + m].to_vec(),
                is_greedy: argmax[at..at + m]
                    .iter()
                    .zip(&targets[at..at + m])
                    .map(|(a, b)| a == b)
                    .collect(),
            });
            at += m;
        }
        Ok(out)
    }

    /// Greedy decoding: appends up to `max_new_tokens` argmax tokens to `prompt`, stopping early after a token
    /// in `stop_tokens` (which is included). Returns only the new tokens.
    pub fn generate_greedy(&self, prompt: &[u32], max_new_tokens: usize, stop_tokens: &[u32]) -> Result<Vec<u32>> {
        if prompt.is_empty() {
            return Err(TrainError::BadBatch {
                step: 0,
                reason: "empty prompt".into(),
            });
        }
        let mut cache = KvCache::new();
        let mut out = Vec::new();
        let mut input = prompt.to_vec();
        while out.len() < max_new_tokens {
            let ids = Tensor::from_slice(&input, (1, input.len()), self.device()).ctx("generation")?;
            let logits = self.forward_cached(&ids, &mut cache)?;
            let last = logits.i((0, input.len() - 1)).ctx("generation")?;
            let next = last
                .to_dtype(DType::F32)
                .and_then(|t| t.argmax(0))
                .and_then(|t| t.to_scalar::<u32>())
                .ctx("generation")?;
            out.push(next);
            if stop_tokens.contains(&next) {
                break;
            }
            input = vec![next];
        }
        Ok(out)
    }
}

/// Next-token logits for a sequence that grows one token at a time (greedy decoding), reusing the KV cache:
/// when the prefix asked for extends the previous one, only the new tokens run through the model. A prefix
/// longer than `window` is cut to its last `window` tokens and recomputed from scratch (positions restart at 0
/// for the window, exactly as a plain forward over the window), so the logits equal
/// `logits_batch(&[window])`'s last row up to float rounding.
#[derive(Debug)]
pub struct IncrementalLogits<'m> {
    model: &'m Transformer,
    window: usize,
    cache: KvCache,
    tokens: Vec<u32>,
}

impl<'m> IncrementalLogits<'m> {
    /// A decoder over `model` with a context window of `window` tokens (at least 1).
    pub fn new(model: &'m Transformer, window: usize) -> Self {
        IncrementalLogits {
            model,
            window: window.max(1),
            cache: KvCache::new(),
            tokens: Vec::new(),
        }
    }

    /// Logits (f32, length vocab) of the token after `prefix`.
    pub fn next_logits(&mut self, prefix: &[u32]) -> Result<Vec<f32>> {
        if prefix.is_empty() {
            return Err(TrainError::BadBatch {
                step: 0,
                reason: "empty prefix".into(),
            });
        }
        let start = prefix.len().saturating_sub(self.window);
        let extends = start == 0
            && !self.tokens.is_empty()
            && prefix.len() > self.tokens.len()
            && prefix.starts_with(&self.tokens);
        let new = if extends {
            &prefix[self.tokens.len()..]
        } else {
            self.cache = KvCache::new();
            self.tokens.clear();
            &prefix[start..]
        };
        let ids = Tensor::from_slice(new, (1, new.len()), self.model.device()).ctx("incremental decoding")?;
        let logits = self.model.forward_cached(&ids, &mut self.cache)?;
        if start == 0 {
            self.tokens.extend_from_slice(new);
        } else {
            // A sliding window shifts every position: the cache cannot be reused for the next step.
            self.cache = KvCache::new();
        }
        logits
            .i((0, new.len() - 1))
            .and_then(|t| t.to_dtype(DType::F32))
            .and_then(|t| t.to_vec1::<f32>())
            .ctx("incremental decoding")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelConfig, Params};
    use candle_core::Device;

    fn model() -> Transformer {
        let cfg = ModelConfig::new(32, 2, 4, 64, 50);
        let params = Params::init(&cfg, 11, &Device::Cpu).unwrap();
        Transformer::from_params(&params, &cfg).unwrap()
    }

    fn argmax(xs: &[f32]) -> u32 {
        let mut best = 0;
        for (i, &x) in xs.iter().enumerate() {
            if x > xs[best] {
                best = i;
            }
        }
        best as u32
    }

    /// Greedy decoding the way the evaluation adapter did it before the cache: a full forward over the
    /// (windowed) prefix per new token.
    fn greedy_no_cache(m: &Transformer, prompt: &[u32], n: usize, window: usize) -> (Vec<u32>, Vec<Vec<f32>>) {
        let mut seq = prompt.to_vec();
        let (mut out, mut all) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let w = seq[seq.len().saturating_sub(window)..].to_vec();
            let l = m.logits_batch(&[w]).unwrap();
            let last: Vec<f32> = l[0].get(l[0].dims()[0] - 1).unwrap().to_vec1().unwrap();
            let t = argmax(&last);
            all.push(last);
            out.push(t);
            seq.push(t);
        }
        (out, all)
    }

    #[test]
    fn cached_greedy_decoding_equals_full_recompute() {
        let m = model();
        for (prompt, window) in [
            (vec![3u32, 17, 4, 9, 22, 1], 64),
            (vec![7u32; 1], 64),
            // Prompt near the window: generation slides past it and falls back to recomputation.
            ((0..30).map(|i| (i * 7 % 50) as u32).collect(), 34),
        ] {
            let (want, want_logits) = greedy_no_cache(&m, &prompt, 12, window);
            let mut inc = IncrementalLogits::new(&m, window);
            let mut seq = prompt.clone();
            let mut got = Vec::new();
            for (step, want_step) in want_logits.iter().enumerate() {
                let l = inc.next_logits(&seq).unwrap();
                let worst = l.iter().zip(want_step).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                assert!(worst < 1e-4, "step {step}: logits differ by {worst}");
                let t = argmax(&l);
                got.push(t);
                seq.push(t);
            }
            assert_eq!(got, want, "prompt {prompt:?}");
            // The model's own cached generator agrees too.
            if window == 64 {
                assert_eq!(m.generate_greedy(&prompt, 12, &[]).unwrap(), want);
            }
        }
    }

    #[test]
    fn long_prompt_generation_agrees_and_reports_the_speedup() {
        let cfg = ModelConfig::new(128, 4, 4, 512, 512);
        let params = Params::init(&cfg, 5, &Device::Cpu).unwrap();
        let m = Transformer::from_params(&params, &cfg).unwrap();
        let prompt: Vec<u32> = (0..240).map(|i| (i * 31 % 512) as u32).collect();
        let t0 = std::time::Instant::now();
        let (want, _) = greedy_no_cache(&m, &prompt, 32, 512);
        let full = t0.elapsed().as_secs_f64();
        let t1 = std::time::Instant::now();
        let mut inc = IncrementalLogits::new(&m, 512);
        let mut seq = prompt.clone();
        for _ in 0..32 {
            let t = argmax(&inc.next_logits(&seq).unwrap());
            seq.push(t);
        }
        let cached = t1.elapsed().as_secs_f64();
        assert_eq!(&seq[prompt.len()..], want.as_slice());
        eprintln!(
            "240-token prompt, 32 new tokens: full recompute {full:.3} s, KV cache {cached:.3} s ({:.1}x)",
            full / cached
        );
    }

    #[test]
    fn a_new_prompt_resets_the_cache() {
        let m = model();
        let mut inc = IncrementalLogits::new(&m, 64);
        let a = inc.next_logits(&[1, 2, 3]).unwrap();
        let _ = inc.next_logits(&[1, 2, 3, 4]).unwrap();
        // Unrelated prefix, then the first one again: same logits as the first call.
        let _ = inc.next_logits(&[9, 9]).unwrap();
        let again = inc.next_logits(&[1, 2, 3]).unwrap();
        assert_eq!(a, again);
        assert!(inc.next_logits(&[]).is_err());
    }
}
