//! A user-written [`Task`]: "does the model prefer the true statement?" over in-memory pairs, run with the
//! test-double model. Shows the two required `Task` methods beyond naming: `request` and `score`.

use dclm_eval::testing::{gpt2_bytes, HashLm};
use dclm_eval::{
    run_task, EvalError, ExampleScore, LoglikRequest, Request, Response, RunOptions, ScoreDetail, Task, Tokenizer,
};

/// Each example: a prompt and a (true, false) pair of continuations; correct iff the true one has the higher
/// total log-probability (no length normalisation, unlike LLM-Foundry's MC metric).
struct TrueOrFalse {
    items: Vec<(&'static str, &'static str, &'static str)>,
    tok: dclm_eval::ByteTokenizer,
}

impl Task for TrueOrFalse {
    fn name(&self) -> &str {
        "true_or_false"
    }

    fn num_examples(&self) -> usize {
        self.items.len()
    }

    fn request(&self, index: usize) -> Result<Request, EvalError> {
        let (prompt, yes, no) = self.items[index];
        let context = self.tok.encode(prompt)?;
        Ok(Request::Loglik(vec![
            LoglikRequest {
                context: context.clone(),
                continuation: self.tok.encode(&format!(" {yes}"))?,
            },
            LoglikRequest {
                context,
                continuation: self.tok.encode(&format!(" {no}"))?,
            },
        ]))
    }

    fn score(&self, _index: usize, response: Response) -> Result<ExampleScore, EvalError> {
        let Response::Loglik(r) = response else {
            return Err(EvalError::Model("expected log-likelihoods".into()));
        };
        let total = |i: usize| r[i].token_logprobs.iter().map(|&x| f64::from(x)).sum::<f64>();
        let (t, f) = (total(0), total(1));
        Ok(ExampleScore {
            correct: t > f,
            detail: ScoreDetail::Other(format!("logp true {t:.3} vs false {f:.3}")),
        })
    }
}

fn main() -> Result<(), EvalError> {
    let task = TrueOrFalse {
        items: vec![
            ("The capital of France is", "Paris.", "Berlin."),
            ("Water freezes at", "0 degrees Celsius.", "50 degrees Celsius."),
            ("The sun rises in the", "east.", "west."),
        ],
        tok: gpt2_bytes(),
    };
    let model = HashLm::new(257);
    let opts = RunOptions {
        keep_examples: true,
        ..RunOptions::default()
    };
    let result = run_task(&model, &task, &opts)?;
    for (i, ex) in result.examples.iter().enumerate() {
        println!("example {i}: correct={} {:?}", ex.correct, ex.detail);
    }
    println!(
        "{}: accuracy {:.3} over {} examples",
        result.label, result.accuracy, result.num_examples
    );
    Ok(())
}
