//! Deterministic test doubles: [`gpt2_bytes`] (the byte-level tokenizer declaring GPT-2-style prefix spaces) and
//! [`HashLm`] (a bigram "model" whose logits are a hash of the previous token), for unit tests, examples
//! and benchmarks without a real network.

use crate::model::{
    argmax, greedy_generate_with, log_softmax_at, GenRequest, LanguageModel, LogLik, LoglikRequest, StopCriterion,
};
use crate::{ByteTokenizer, EvalError};
use rayon::prelude::*;

/// `dclm-tokenizer`'s byte-level tokenizer (id = byte + 1, EOS 0) declaring GPT-2-style prefix spaces, so
/// continuations get a leading space as with GPT-NeoX.
pub const fn gpt2_bytes() -> ByteTokenizer {
    ByteTokenizer::gpt2_style()
}

/// A bigram model: `logits[v] = h(prev, v)` in [-4, 4], with `prev` the last context token (0 at the start).
/// Deterministic, so its scores can be recomputed independently in tests.
#[derive(Clone, Debug)]
pub struct HashLm {
    /// Vocabulary size (logits per position).
    pub vocab_size: usize,
    /// Context window.
    pub max_seq_len: usize,
}

impl HashLm {
    /// A model over `vocab_size` tokens with a 2048-token window.
    pub fn new(vocab_size: usize) -> Self {
        HashLm {
            vocab_size,
            max_seq_len: 2048,
        }
    }

    /// The logits after `prev`.
    pub fn logits(&self, prev: u32) -> Vec<f32> {
        (0..self.vocab_size as u64)
            .map(|v| {
                let mut x = (u64::from(prev) << 32 | v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                x ^= x >> 29;
                x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                x ^= x >> 32;
                ((x % 8001) as f32) / 1000.0 - 4.0
            })
            .collect()
    }

    fn score_one(&self, req: &LoglikRequest) -> LogLik {
        let mut prev = req.context.last().copied().unwrap_or(0);
        let mut token_logprobs = Vec::with_capacity(req.continuation.len());
        let mut greedy = true;
        for &t in &req.continuation {
            let logits = self.logits(prev);
            token_logprobs.push(log_softmax_at(&logits, t as usize));
            greedy &= argmax(&logits) == Some(t as usize);
            prev = t;
        }
        LogLik { token_logprobs, greedy }
    }
}

impl LanguageModel for HashLm {
    fn name(&self) -> &str {
        "hash-bigram"
    }
    fn max_seq_len(&self) -> usize {
        self.max_seq_len
    }
    fn loglikelihood(&self, requests: &[LoglikRequest]) -> Result<Vec<LogLik>, EvalError> {
        Ok(requests.par_iter().map(|r| self.score_one(r)).collect())
    }
    fn generate(&self, requests: &[GenRequest], stop: &dyn StopCriterion) -> Result<Vec<Vec<u32>>, EvalError> {
        greedy_generate_with(requests, stop, |seq| Ok(self.logits(seq.last().copied().unwrap_or(0))))
    }
}
