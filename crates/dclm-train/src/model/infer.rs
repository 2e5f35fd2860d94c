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
