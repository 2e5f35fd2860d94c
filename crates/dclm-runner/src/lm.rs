//! The adapter that lets `dclm-eval` score a `dclm-train` model: [`CandleLm`] implements
//! `dclm_eval::LanguageModel` on the open_lm `Transformer`. It lives in the runner so that neither crate depends
//! on the other.

use dclm_eval::{EvalError, GenRequest, LanguageModel, LogLik, LoglikRequest, StopCriterion};
use dclm_train::model::Transformer;

/// Sequences per forward pass (bounds the activations kept alive with long prompts).
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
        // Only the continuation is scored: the output projection and softmax (most of the work with a 50k
        // vocabulary) run on its positions alone; entry k is about continuation token k, predicted from
        // position len(context) - 1 + k. A few sequences per forward pass bound the activations kept alive.
        let from: Vec<usize> = requests.iter().map(|r| r.context.len() - 1).collect();
        let mut scores = Vec::with_capacity(seqs.len());
        for (chunk, starts) in seqs.chunks(SEQS_PER_FORWARD).zip(from.chunks(SEQS_PER_FORWARD)) {
            scores.extend(self.model.score_batch_from(chunk, starts).map_err(model_err)?);
        }
        Ok(scores
            .into_iter()
            .map(|s| LogLik {
                greedy: s.is_greedy.iter().all(|&g| g),
                token_logprobs: s.logprobs,
            })
            .collect())
    }

    fn generate(&self, requests: &[GenRequest], stop: &dyn StopCriterion) -> Result<Vec<Vec<u32>>, EvalError> {
        // KV-cached: each new token runs one position through the model; prefixes past the window recompute.
        let mut decoder = dclm_train::model::IncrementalLogits::new(&self.model, self.max_seq_len);
        dclm_eval::greedy_generate_with(requests, stop, |prefix| decoder.next_logits(prefix).map_err(model_err))
    }
}
