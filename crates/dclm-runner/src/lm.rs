//! The adapter that lets `dclm-eval` score a `dclm-train` model: [`CandleLm`] implements
//! `dclm_eval::LanguageModel` on the open_lm `Transformer`. It lives in the runner so that neither crate depends
//! on the other.

use dclm_eval::{EvalError, GenRequest, LanguageModel, LogLik, LoglikRequest, StopCriterion};
use dclm_train::model::Transformer;

/// Sequences scored per forward pass (bounds memory with large vocabularies).
const SEQS_PER_FORWARD: usize = 4;

/// A trained open_lm model as an evaluator's language model.
pub struct CandleLm {
    model: Transformer,
    name: String,
    max_seq_len: usize,
}

impl CandleLm {
    /// Wrap a model; `max_seq_len` is the context window prompts are truncated to.
    pub fn new(model: Transformer, name: impl Into<String>, max_seq_len: usize) -> Self {
        CandleLm {
            model,
            name: name.into(),
            max_seq_len,
        }
    }
}

fn model_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Model(e.to_string())
}

impl LanguageModel for CandleLm {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_seq_len(&self) -> usize {
        self.max_seq_len
    }

    fn loglikelihood(&self, requests: &[LoglikRequest]) -> Result<Vec<LogLik>, EvalError> {
        let seqs: Vec<Vec<u32>> = requests
            .iter()
            .map(|r| {
                let mut s = r.context.clone();
                s.extend_from_slice(&r.continuation);
                s
            })
            .collect();
        if let Some(i) = requests
            .iter()
            .position(|r| r.context.is_empty() || r.continuation.is_empty())
        {
            return Err(EvalError::Model(format!(
                "request {i} has an empty context or continuation"
            )));
        }
        // A few sequences per forward pass: logits are [seq, vocab] floats each (25 MB at 128 × 50,432), and the
        // forward keeps its intermediates alive until the batch is scored.
        let mut scores = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(SEQS_PER_FORWARD) {
            scores.extend(self.model.score_batch(chunk).map_err(model_err)?);
        }
        Ok(requests
            .iter()
            .zip(scores)
            .map(|(r, s)| {
                // Entry i of the scores is about token i+1; the continuation starts at token len(context).
                let from = r.context.len() - 1;
                let to = from + r.continuation.len();
                LogLik {
                    token_logprobs: s.logprobs[from..to].to_vec(),
                    greedy: s.is_greedy[from..to].iter().all(|&g| g),
                }
            })
            .collect())
    }

    fn generate(&self, requests: &[GenRequest], stop: &dyn StopCriterion) -> Result<Vec<Vec<u32>>, EvalError> {
        // KV-cached: each new token runs one position through the model; prefixes past the window recompute.
        let mut decoder = dclm_train::model::IncrementalLogits::new(&self.model, self.max_seq_len);
        dclm_eval::greedy_generate_with(requests, stop, |prefix| decoder.next_logits(prefix).map_err(model_err))
    }
}
