//! LLM-Foundry v0.9.0's metrics (`llmfoundry/eval/metrics/nlp.py`): multiple-choice / schema argmin of mean
//! per-token cross-entropy, language-modeling all-greedy, and generation exact-prefix match with answer
//! normalization.

use crate::model::LogLik;
use dclm_core::pystr::is_space;

/// Result of scoring a multiple-choice (or schema) example.
#[derive(Clone, Debug, PartialEq)]
pub struct ChoiceScore {
    /// Mean per-token cross-entropy of each choice (float32, natural log).
    pub mean_ce: Vec<f32>,
    /// `exp(mean_ce)` in float32 — what upstream compares.
    pub perplexity: Vec<f32>,
    /// Index of the first minimum perplexity.
    pub selected: usize,
}

/// `InContextLearningMultipleChoiceAccuracy`: perplexity = exp(mean CE) per choice, pick the first minimum.
pub fn score_choices(results: &[LogLik]) -> ChoiceScore {
    let mean_ce: Vec<f32> = results.iter().map(LogLik::mean_ce).collect();
    let perplexity: Vec<f32> = mean_ce.iter().map(|&m| m.exp()).collect();
    let mut selected = 0usize;
    for (i, &p) in perplexity.iter().enumerate() {
        // `perplexities.index(min(perplexities))`: Python's min keeps the first of equal values; NaNs never win.
        if p < perplexity[selected] || perplexity[selected].is_nan() && !p.is_nan() {
            selected = i;
        }
    }
    ChoiceScore {
        mean_ce,
        perplexity,
        selected,
    }
}

/// `string.punctuation` plus the four quote-like characters LLM-Foundry adds.
fn is_excluded_punct(c: char) -> bool {
    c.is_ascii_punctuation() || matches!(c, '\u{2018}' | '\u{2019}' | '\u{b4}' | '`')
}

/// Python's `\w` for str patterns (approximately: Unicode alphanumerics and `_`).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `InContextLearningGenerationExactMatchAccuracy.normalize_answer`: `_`→space, lowercase, punctuation→space,
/// drop the words a/an/the, collapse whitespace, strip.
pub fn normalize_answer(s: &str) -> String {
    let lowered = s.replace('_', " ").to_lowercase();
    let depunct: String = lowered
        .chars()
        .map(|c| if is_excluded_punct(c) { ' ' } else { c })
        .collect();
    // re.sub(r'\b(a|an|the)\b', ' ', text): whole word runs equal to an article become a space.
    let mut no_articles = String::with_capacity(depunct.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if matches!(word.as_str(), "a" | "an" | "the") {
            out.push(' ');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in depunct.chars() {
        if is_word_char(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut no_articles);
            no_articles.push(c);
        }
    }
    flush(&mut word, &mut no_articles);
    no_articles
        .split(is_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cut a generation at the first match of the stop strings (a regex alternation, as upstream's
/// `re.split("|".join(stops), text)[0]`); stop strings that are not valid regexes are matched literally.
pub fn cut_at_stop(text: &str, stops: &[String]) -> String {
    if stops.is_empty() {
        return text.to_string();
    }
    match regex::Regex::new(&stops.join("|")) {
        Ok(re) => match re.find(text) {
            Some(m) => text[..m.start()].to_string(),
            None => text.to_string(),
        },
        Err(_) => {
            let cut = stops
                .iter()
                .filter(|s| !s.is_empty())
                .filter_map(|s| text.find(s.as_str()))
                .min();
            text[..cut.unwrap_or(text.len())].to_string()
        }
    }
}

/// Whether a (partial) generation already contains a stop string.
pub fn contains_stop(text: &str, stops: &[String]) -> bool {
    !stops.is_empty() && cut_at_stop(text, stops).len() < text.len()
}

/// Score one generation: cut at stops, keep the text after the last `cot_delimiter`, normalize, and test
/// whether it starts with any normalized alias. Returns `(correct, cleaned_output)`.
pub fn score_generation(
    output: &str,
    aliases: &[String],
    stops: &[String],
    cot_delimiter: &str,
    do_normalization: bool,
) -> (bool, String) {
    let mut answer = cut_at_stop(output, stops);
    if !cot_delimiter.is_empty() {
        answer = answer.rsplit(cot_delimiter).next().unwrap_or("").to_string();
    }
    let (cleaned, labels): (String, Vec<String>) = if do_normalization {
        (
            normalize_answer(&answer),
            aliases.iter().map(|a| normalize_answer(a)).collect(),
        )
    } else {
        (answer, aliases.to_vec())
    };
    let correct = labels.iter().any(|l| cleaned.starts_with(l.as_str()));
    (correct, cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lps: &[f32]) -> LogLik {
        LogLik {
            token_logprobs: lps.to_vec(),
            greedy: false,
        }
    }

    #[test]
    fn mc_argmin_of_mean_ce_first_on_ties() {
        let s = score_choices(&[ll(&[-2.0, -2.0]), ll(&[-1.0, -3.0, -0.5]), ll(&[-1.5])]);
        assert_eq!(s.mean_ce, vec![2.0, 1.5, 1.5]);
        assert_eq!(s.selected, 1);
        let s = score_choices(&[ll(&[f32::NAN]), ll(&[-4.0])]);
        assert_eq!(s.selected, 1);
    }

    #[test]
    fn normalization_matches_llm_foundry() {
        assert_eq!(normalize_answer("The  Answer_is: 42."), "answer is 42");
        assert_eq!(normalize_answer("an apple, a day; theory"), "apple day theory");
        assert_eq!(normalize_answer("‘Quoted’ `x´"), "quoted x");
    }

    #[test]
    fn generation_cuts_stops_and_cot() {
        let stops = vec!["\n\n".to_string(), "Q:".to_string(), "Q: ".to_string()];
        let (ok, clean) = score_generation(" 3 + 4 #### 7\n\nQ: next", &["7".into()], &stops, " #### ", true);
        assert!(ok);
        assert_eq!(clean, "7");
        let (ok, _) = score_generation("Paris is nice", &["Paris".into()], &[], "", true);
        assert!(ok);
        let (ok, _) = score_generation("It is Paris", &["Paris".into()], &[], "", true);
        assert!(!ok);
        assert!(contains_stop("abc Q: d", &stops));
        assert!(!contains_stop("abc Q d", &stops));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn normalization_is_idempotent_and_never_panics(s in "\\PC{0,60}") {
            let once = normalize_answer(&s);
            prop_assert_eq!(normalize_answer(&once), once.clone());
            let stops = vec!["\n\n".to_string(), "Q:".to_string(), "(".to_string()];
            let _ = score_generation(&s, std::slice::from_ref(&s), &stops, " #### ", true);
        }
    }
}
