//! The [`Task`] trait (an evaluation task turns examples into model requests and scores the responses) and
//! the request / response / score types shared by the built-in ICL tasks and user tasks.

use crate::model::{GenRequest, LogLik, LoglikRequest};
use crate::scoring::ChoiceScore;
use crate::EvalError;

/// What one example asks of the model.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Score these continuations (MC: one per choice; schema: one per context option; LM: one).
    Loglik(Vec<LoglikRequest>),
    /// Greedy-generate from this context.
    Generate(GenRequest),
}

/// The model's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// One [`LogLik`] per [`LoglikRequest`], same order.
    Loglik(Vec<LogLik>),
    /// Generated token ids (no EOS).
    Generated(Vec<u32>),
}

/// How one example was scored.
#[derive(Clone, Debug, PartialEq)]
pub enum ScoreDetail {
    /// Multiple choice / schema.
    Choices(ChoiceScore),
    /// Language modeling: mean CE of the continuation, and whether all tokens were greedy.
    Greedy {
        /// Mean per-token cross-entropy.
        mean_ce: f32,
    },
    /// Generation: decoded output and its normalized answer.
    Generated {
        /// Decoded text (cleaned up as HF decode does).
        output: String,
        /// After stop cut, CoT split and normalization.
        cleaned: String,
    },
    /// A user task's own note.
    Other(String),
}

/// The score of one example.
#[derive(Clone, Debug, PartialEq)]
pub struct ExampleScore {
    /// Counted as correct.
    pub correct: bool,
    /// Details for logs and conformance checks.
    pub detail: ScoreDetail,
}

/// An evaluation task: a fixed list of examples, each turned into one [`Request`] and scored from its
/// [`Response`]. Accuracy is the mean of `correct`, or — when [`group`](Self::group) returns categories — the
/// unweighted mean of the per-category accuracies (as DCLM scores MMLU, Jeopardy and BBQ).
pub trait Task: Send + Sync {
    /// Result key, e.g. `copa`.
    fn name(&self) -> &str;
    /// Number of examples.
    fn num_examples(&self) -> usize;
    /// The model request of example `index`.
    fn request(&self, index: usize) -> Result<Request, EvalError>;
    /// Score example `index` from the model's response.
    fn score(&self, index: usize, response: Response) -> Result<ExampleScore, EvalError>;
    /// The category of example `index`, if the task averages per category.
    fn group(&self, index: usize) -> Option<&str> {
        let _ = index;
        None
    }
    /// During generation: whether example `index` is finished after `generated` (stop strings).
    fn should_stop(&self, index: usize, generated: &[u32]) -> bool {
        let _ = (index, generated);
        false
    }
}

macro_rules! forward_task {
    ($($ty:ty),*) => {$(
        impl<T: Task + ?Sized> Task for $ty {
            fn name(&self) -> &str {
                (**self).name()
            }
            fn num_examples(&self) -> usize {
                (**self).num_examples()
            }
            fn request(&self, index: usize) -> Result<Request, EvalError> {
                (**self).request(index)
            }
            fn score(&self, index: usize, response: Response) -> Result<ExampleScore, EvalError> {
                (**self).score(index, response)
            }
            fn group(&self, index: usize) -> Option<&str> {
                (**self).group(index)
            }
            fn should_stop(&self, index: usize, generated: &[u32]) -> bool {
                (**self).should_stop(index, generated)
            }
        }
    )*};
}
forward_task!(&T, Box<T>, std::sync::Arc<T>);
