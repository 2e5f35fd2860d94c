//! [`IclTask`]: an LLM-Foundry v0.9.0 in-context-learning task (prompt construction, few-shot sampling,
//! tokenization, left truncation, scoring) implementing [`Task`].

use crate::data::{load_datasets, Dataset, Example};
use crate::model::{GenRequest, LoglikRequest};
use crate::pyrandom::{fewshot_sample_idxs, PyRandom};
use crate::scoring::{contains_stop, score_choices, score_generation};
use crate::task::{ExampleScore, Request, Response, ScoreDetail, Task};
use crate::{EvalError, IclTaskType, TaskConfig, Tokenizer};
use dclm_core::pystr::rstrip;
use std::path::Path;
use std::sync::Arc;

/// Extra answer budget for CoT generation (`_MAX_ANSWER_BUFFER_LENGTH`).
const MAX_ANSWER_BUFFER_LENGTH: usize = 10;

struct Subset {
    ds: Dataset,
    fewshot: Vec<Vec<usize>>,
    /// Generation only: `max_new_tokens` (≥ 1) and the context budget `padding_size`.
    max_answer_len: usize,
    padding_size: usize,
}

/// Everything LLM-Foundry builds for one example, exposed for inspection and conformance tests.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedExample {
    /// Shots in prompt order (dataset indices within the example's category).
    pub fewshot_idxs: Vec<usize>,
    /// `prompt_string` + shots.
    pub preamble: String,
    /// `tok(preamble)` (trailing EOS dropped as upstream).
    pub preamble_ids: Vec<u32>,
    /// Test context(s): MC / LM / generation one string after `rstrip`; schema one per option.
    pub contexts: Vec<String>,
    /// `tok(context)` per context, without the preamble ids.
    pub context_ids: Vec<Vec<u32>>,
    /// Continuations with their leading space: MC one per choice, LM / schema one, generation none.
    pub continuations: Vec<String>,
    /// Tokens dropped from the left of `preamble_ids + context_ids` per model input.
    pub trim_left: Vec<usize>,
    /// The model request.
    pub request: Request,
    /// Gold index (MC / schema).
    pub gold: Option<usize>,
    /// `{answer} ∪ aliases` (generation).
    pub aliases: Vec<String>,
}

/// One ICL task, loaded and ready to produce requests.
pub struct IclTask {
    config: TaskConfig,
    tokenizer: Arc<dyn Tokenizer>,
    prefix_space: bool,
    max_seq_len: usize,
    subsets: Vec<Subset>,
    /// `offsets[s]` = global index of subset `s`'s first example; last entry = total.
    offsets: Vec<usize>,
}

/// LLM-Foundry's `trim_context`: drop tokens from the left of the context so context+continuation fit in
/// `max_len`. Returns the number of tokens dropped. Reproduces Python's `ctx[-0:]` (nothing dropped) when the
/// continuation fills the window exactly.
pub fn trim_left_count(context_len: usize, continuation_len: usize, max_len: usize) -> Option<usize> {
    if context_len + continuation_len <= max_len {
        return Some(0);
    }
    let keep = max_len.checked_sub(continuation_len)?;
    if keep == 0 {
        return Some(0);
    }
    Some(context_len - keep)
}

impl IclTask {
    /// Load `config`'s task file from `path` and precompute the few-shot indices (the RNG runs over the whole
    /// dataset in order, as upstream). `max_seq_len`: the model's window unless the config sets one.
    pub fn load(
        config: TaskConfig,
        path: &Path,
        tokenizer: Arc<dyn Tokenizer>,
        max_seq_len: usize,
    ) -> Result<Self, EvalError> {
        let datasets = load_datasets(path, config.icl_task_type, config.has_categories)?;
        Self::from_datasets(config, datasets, tokenizer, max_seq_len)
    }

    /// Build from already loaded datasets (one per category, or one).
    pub fn from_datasets(
        config: TaskConfig,
        datasets: Vec<Dataset>,
        tokenizer: Arc<dyn Tokenizer>,
        max_seq_len: usize,
    ) -> Result<Self, EvalError> {
        let max_seq_len = config.max_seq_len.unwrap_or(max_seq_len);
        let prefix_space = tokenizer.needs_prefix_space()?;
        let mut subsets = Vec::with_capacity(datasets.len());
        let mut offsets = vec![0];
        for ds in datasets {
            let n = ds.examples.len();
            let mut fewshot = Vec::with_capacity(n);
            if config.num_fewshot > 0 {
                let mut rng = PyRandom::new(config.fewshot_random_seed);
                for i in 0..n {
                    fewshot.push(fewshot_sample_idxs(&mut rng, n, config.num_fewshot, i));
                }
            } else {
                fewshot.resize(n, Vec::new());
            }
            let (mut max_answer_len, mut padding_size) = (0, max_seq_len);
            if config.icl_task_type == IclTaskType::GenerationTaskWithAnswers {
                let mut longest = 0usize;
                for ex in &ds.examples {
                    if let Example::Generation {
                        unstripped: (cot, answers),
                        ..
                    } = ex
                    {
                        for a in answers {
                            let response = if ds.has_cot {
                                format!("{cot}{}{a}", config.cot_delimiter)
                            } else {
                                a.clone()
                            };
                            longest = longest.max(tokenizer.encode(&response)?.len());
                        }
                    }
                }
                let buffer = if config.cot_delimiter.is_empty() {
                    0
                } else {
                    MAX_ANSWER_BUFFER_LENGTH
                };
                max_answer_len = longest + buffer;
                let seq = max_seq_len.max(max_answer_len);
                padding_size = seq - max_answer_len;
            }
            offsets.push(offsets.last().copied().unwrap_or(0) + n);
            subsets.push(Subset {
                ds,
                fewshot,
                max_answer_len,
                padding_size,
            });
        }
        Ok(IclTask {
            config,
            tokenizer,
            prefix_space,
            max_seq_len,
            subsets,
            offsets,
        })
    }

    /// The task's configuration.
    pub fn config(&self) -> &TaskConfig {
        &self.config
    }

    /// `max_new_tokens` of a generation task (per category; the first category's for a summary).
    pub fn max_new_tokens(&self, index: usize) -> usize {
        self.locate(index)
            .map(|(s, _)| self.subsets[s].max_answer_len.max(1))
            .unwrap_or(1)
    }

    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= *self.offsets.last()? {
            return None;
        }
        let s = self.offsets.partition_point(|&o| o <= index) - 1;
        Some((s, index - self.offsets[s]))
    }

    fn example(&self, index: usize) -> Result<(&Subset, usize), EvalError> {
        let (s, i) = self
            .locate(index)
            .ok_or_else(|| EvalError::Model(format!("example {index} out of range")))?;
        Ok((&self.subsets[s], i))
    }

    fn with_prefix_space(&self, s: &str) -> String {
        if self.prefix_space && !s.starts_with(' ') {
            format!(" {s}")
        } else {
            s.to_string()
        }
    }

    /// The shot text of one few-shot example (appended to `preceding`).
    fn shot_text(&self, ex: &Example, preceding: &str, has_cot: bool) -> String {
        let c = &self.config;
        let delim = if preceding.is_empty() {
            ""
        } else {
            c.example_delimiter.as_str()
        };
        let pre = &c.question_prelimiter;
        let cd = &c.continuation_delimiter;
        match ex {
            Example::MultipleChoice { query, choices, gold } => format!("{delim}{pre}{query}{cd}{}", choices[*gold]),
            Example::LanguageModeling { context, continuation } => format!("{delim}{pre}{context}{cd}{continuation}"),
            Example::Generation {
                context,
                answer,
                chain_of_thought,
                ..
            } => {
                let ans = if has_cot {
                    format!("{chain_of_thought}{}{answer}", c.cot_delimiter)
                } else {
                    answer.clone()
                };
                format!("{delim}{pre}{context}{cd}{ans}")
            }
            Example::Schema {
                context_options,
                continuation,
                gold,
            } => {
                format!("{pre}{delim}{}{cd}{continuation}", context_options[*gold])
            }
        }
    }

    fn tokenize_preamble(&self, preamble: &str) -> Result<Vec<u32>, EvalError> {
        let mut ids = self.tokenizer.encode(preamble)?;
        if let Some(eos) = self.tokenizer.eos_token_id() {
            if ids.len() > 1 && ids.last() == Some(&eos) {
                ids.pop();
            }
        }
        Ok(ids)
    }

    /// Build the prompt strings, token ids and model request of example `index` exactly as LLM-Foundry.
    pub fn prepare(&self, index: usize) -> Result<PreparedExample, EvalError> {
        let (sub, i) = self.example(index)?;
        let c = &self.config;
        let ex = &sub.ds.examples[i];
        let fewshot_idxs = sub.fewshot[i].clone();
        let mut preamble = c.prompt_string.clone();
        for &j in &fewshot_idxs {
            let shot = self.shot_text(&sub.ds.examples[j], &preamble, sub.ds.has_cot);
            preamble.push_str(&shot);
        }
        let preamble_ids = self.tokenize_preamble(&preamble)?;
        let delim = if preamble.is_empty() {
            ""
        } else {
            c.example_delimiter.as_str()
        };
        let pre = &c.question_prelimiter;
        let cd = &c.continuation_delimiter;
        let too_long = |len: usize| EvalError::ContinuationTooLong {
            task: c.label.clone(),
            index: i,
            len,
            max_seq_len: self.max_seq_len,
        };
        let build =
            |ctx_ids: &[u32], cont_ids: Vec<u32>, max_len: usize| -> Result<(LoglikRequest, usize), EvalError> {
                let full: Vec<u32> = preamble_ids.iter().chain(ctx_ids).copied().collect();
                let cut =
                    trim_left_count(full.len(), cont_ids.len(), max_len).ok_or_else(|| too_long(cont_ids.len()))?;
                Ok((
                    LoglikRequest {
                        context: full[cut..].to_vec(),
                        continuation: cont_ids,
                    },
                    cut,
                ))
            };
        let mut out = PreparedExample {
            fewshot_idxs,
            preamble: preamble.clone(),
            preamble_ids: preamble_ids.clone(),
            contexts: vec![],
            context_ids: vec![],
            continuations: vec![],
            trim_left: vec![],
            request: Request::Loglik(vec![]),
            gold: None,
            aliases: vec![],
        };
        match ex {
            Example::MultipleChoice { query, choices, gold } => {
                let ctx = rstrip(&format!("{delim}{pre}{query}{cd}")).to_string();
                let ctx_ids = self.tokenizer.encode(&ctx)?;
                let mut reqs = Vec::with_capacity(choices.len());
                for choice in choices {
                    let cont = self.with_prefix_space(choice);
                    let (req, cut) = build(&ctx_ids, self.tokenizer.encode(&cont)?, self.max_seq_len)?;
                    out.continuations.push(cont);
                    out.trim_left.push(cut);
                    reqs.push(req);
                }
                out.contexts.push(ctx);
                out.context_ids.push(ctx_ids);
                out.request = Request::Loglik(reqs);
                out.gold = Some(*gold);
            }
            Example::LanguageModeling { context, continuation } => {
                let ctx = rstrip(&format!("{delim}{pre}{context}{cd}")).to_string();
                let ctx_ids = self.tokenizer.encode(&ctx)?;
                let cont = self.with_prefix_space(continuation);
                let (req, cut) = build(&ctx_ids, self.tokenizer.encode(&cont)?, self.max_seq_len)?;
                out.contexts.push(ctx);
                out.context_ids.push(ctx_ids);
                out.continuations.push(cont);
                out.trim_left.push(cut);
                out.request = Request::Loglik(vec![req]);
            }
            Example::Schema {
                context_options,
                continuation,
                gold,
            } => {
                let cont = self.with_prefix_space(continuation);
                let cont_ids = self.tokenizer.encode(&cont)?;
                let mut reqs = Vec::with_capacity(context_options.len());
                for option in context_options {
                    let ctx = if preamble.is_empty() {
                        format!("{pre}{option}")
                    } else {
                        format!("{pre}{}{option}{}", c.example_delimiter, rstrip(cd))
                    };
                    let ctx_ids = self.tokenizer.encode(&ctx)?;
                    let (req, cut) = build(&ctx_ids, cont_ids.clone(), self.max_seq_len)?;
                    out.contexts.push(ctx);
                    out.context_ids.push(ctx_ids);
                    out.trim_left.push(cut);
                    reqs.push(req);
                }
                out.continuations.push(cont);
                out.request = Request::Loglik(reqs);
                out.gold = Some(*gold);
            }
            Example::Generation { context, aliases, .. } => {
                let ctx = rstrip(&format!("{delim}{pre}{context}{cd}")).to_string();
                let ctx_ids = self.tokenizer.encode(&ctx)?;
                let full: Vec<u32> = preamble_ids.iter().chain(&ctx_ids).copied().collect();
                let cut = trim_left_count(full.len(), 0, sub.padding_size).unwrap_or(0);
                out.contexts.push(ctx);
                out.context_ids.push(ctx_ids);
                out.trim_left.push(cut);
                out.request = Request::Generate(GenRequest {
                    context: full[cut..].to_vec(),
                    max_new_tokens: sub.max_answer_len.max(1),
                    eos_token_id: self.tokenizer.eos_token_id(),
                });
                out.aliases = aliases.clone();
            }
        }
        Ok(out)
    }

    /// The 1-based line of example `index` in its task file.
    pub fn line_of(&self, index: usize) -> Option<usize> {
        self.locate(index).map(|(s, i)| self.subsets[s].ds.lines[i])
    }
}

impl Task for IclTask {
    fn name(&self) -> &str {
        &self.config.label
    }

    fn num_examples(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    fn request(&self, index: usize) -> Result<Request, EvalError> {
        Ok(self.prepare(index)?.request)
    }

    fn score(&self, index: usize, response: Response) -> Result<ExampleScore, EvalError> {
        let (sub, i) = self.example(index)?;
        let mismatch = |what: &str| EvalError::Model(format!("task {}: example {index}: {what}", self.config.label));
        match (&sub.ds.examples[i], response) {
            (
                Example::MultipleChoice {
                    choices: opts, gold, ..
                },
                Response::Loglik(res),
            )
            | (
                Example::Schema {
                    context_options: opts,
                    gold,
                    ..
                },
                Response::Loglik(res),
            ) => {
                if res.len() != opts.len() {
                    return Err(mismatch("number of results differs from number of choices"));
                }
                let s = score_choices(&res);
                Ok(ExampleScore {
                    correct: s.selected == *gold,
                    detail: ScoreDetail::Choices(s),
                })
            }
            (Example::LanguageModeling { .. }, Response::Loglik(res)) => {
                let r = res.first().ok_or_else(|| mismatch("no result"))?;
                Ok(ExampleScore {
                    correct: r.greedy,
                    detail: ScoreDetail::Greedy { mean_ce: r.mean_ce() },
                })
            }
            (Example::Generation { aliases, .. }, Response::Generated(ids)) => {
                let output = self.tokenizer.decode(&ids)?;
                let c = &self.config;
                let (correct, cleaned) = score_generation(
                    &output,
                    aliases,
                    &c.early_stopping_criteria,
                    &c.cot_delimiter,
                    c.do_normalization,
                );
                Ok(ExampleScore {
                    correct,
                    detail: ScoreDetail::Generated { output, cleaned },
                })
            }
            _ => Err(mismatch("response kind does not match the task type")),
        }
    }

    fn group(&self, index: usize) -> Option<&str> {
        let (s, _) = self.locate(index)?;
        self.subsets[s].ds.category.as_deref()
    }

    fn should_stop(&self, _index: usize, generated: &[u32]) -> bool {
        let stops = &self.config.early_stopping_criteria;
        if stops.is_empty() {
            return false;
        }
        match self.tokenizer.decode(generated) {
            Ok(text) => contains_stop(&text, stops),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_matches_python_slicing() {
        assert_eq!(trim_left_count(10, 5, 20), Some(0));
        assert_eq!(trim_left_count(10, 5, 12), Some(3));
        assert_eq!(trim_left_count(10, 12, 12), Some(0)); // ctx[-0:] keeps everything
        assert_eq!(trim_left_count(10, 13, 12), None);
    }
}
