//! `alphabetic_characters_to_tokens_filter` from DCLM's `content_filters.py` (RedPajama-v1's GitHub rule): the
//! number of Python-`isalpha` characters per token of a Hugging Face tokenizer must be at least 1.5.
//!
//! DCLM loads `AutoTokenizer.from_pretrained(tokenizer_name)` from the Hub (default
//! `EleutherAI/pythia-6.9b-deduped`) and counts `tokenizer.tokenize(text)`, i.e. the tokens of an encoding without
//! special tokens. Nothing is downloaded here: `tokenizer_name` is a `tokenizer.json` (or a folder holding one)
//! relative to the assets folder, and the Pythia / GPT-NeoX-20B names, which share the GPT-NeoX-20B tokenizer,
//! resolve to `tokenizers/gpt-neox-20b.tokenizer.json` in the assets folder or beside it (where
//! `cargo xtask assets fetch` and the shared data put it).

use crate::error::{FilterError, Result};
use crate::pipeline::Filter;
use crate::registry::{BuildContext, Params};
use dclm_core::pystr::is_alpha;
use dclm_core::{Document, Verdict};
use std::path::PathBuf;

/// DCLM's default `tokenizer_name`.
pub const DEFAULT_TOKENIZER: &str = "EleutherAI/pythia-6.9b-deduped";

/// The local `tokenizer.json` for a DCLM `tokenizer_name`, and the places looked at.
fn resolve_tokenizer(name: &str, ctx: &BuildContext) -> std::result::Result<PathBuf, Vec<PathBuf>> {
    let direct = ctx.resolve(name);
    let mut candidates = vec![direct.clone(), direct.join("tokenizer.json")];
    let neox = name.starts_with("EleutherAI/pythia-") || name == "EleutherAI/gpt-neox-20b";
    if neox {
        let rel = "tokenizers/gpt-neox-20b.tokenizer.json";
        candidates.push(ctx.assets_dir.join(rel));
        if let Some(parent) = ctx.assets_dir.parent() {
            candidates.push(parent.join(rel));
        }
    }
    match candidates.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(candidates),
    }
}

/// `alphabetic_characters_to_tokens_filter`: drop an empty page, and a page with fewer than 1.5 alphabetic
/// characters per token (DCLM's fixed `max_ratio`, a minimum despite its name).
pub struct AlphabeticCharactersToTokensFilter {
    tokenizer: dclm_tokenizer::HfTokenizer,
    min_ratio: f64,
}

impl std::fmt::Debug for AlphabeticCharactersToTokensFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlphabeticCharactersToTokensFilter")
            .field("min_ratio", &self.min_ratio)
            .finish_non_exhaustive()
    }
}

impl AlphabeticCharactersToTokensFilter {
    /// Number of tokens of `text` without special tokens (`tokenizer.tokenize(text)`); `None` when the
    /// tokenizer fails.
    pub fn count_tokens(&self, text: &str) -> Option<usize> {
        use dclm_tokenizer::Tokenizer as _;
        self.tokenizer.encode(text).ok().map(|ids| ids.len())
    }
}

impl Filter for AlphabeticCharactersToTokensFilter {
    fn name(&self) -> &str {
        "alphabetic_characters_to_tokens_filter"
    }
    fn check(&self, doc: &Document) -> Verdict {
        if doc.text.is_empty() {
            return Verdict::Drop("empty");
        }
        let Some(tokens) = self.count_tokens(&doc.text) else {
            return Verdict::Drop("error:tokenizer");
        };
        if tokens == 0 {
            // Python's division by zero.
            return Verdict::Drop("error:no_tokens");
        }
        let alpha = doc.text.chars().filter(|&c| is_alpha(c)).count();
        Verdict::keep_if(alpha as f64 / tokens as f64 >= self.min_ratio, "few_letters_per_token")
    }
}

pub(crate) fn alpha_to_tokens(p: &Params<'_>, ctx: &BuildContext) -> Result<AlphabeticCharactersToTokensFilter> {
    p.allow_only(&["tokenizer_name"])?;
    let name = p.str_opt("tokenizer_name")?.unwrap_or(DEFAULT_TOKENIZER);
    let path = resolve_tokenizer(name, ctx).map_err(|tried| FilterError::Asset {
        loc: p.loc().clone(),
        what: "tokenizer",
        path: tried[0].clone(),
        message: format!(
            "`{name}` is a Hugging Face Hub name and nothing is downloaded: give a tokenizer.json (or its folder) \
             relative to the assets folder; looked at {}",
            tried
                .iter()
                .map(|t| t.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    let tokenizer = dclm_tokenizer::HfTokenizer::from_file(&path).map_err(|e| FilterError::Model {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(AlphabeticCharactersToTokensFilter {
        tokenizer,
        min_ratio: 1.5,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(assets: &std::path::Path, yaml_params: &str) -> Result<crate::Pipeline> {
        let yaml = format!("- source: cc\n  steps:\n    - func: alphabetic_characters_to_tokens_filter\n{yaml_params}");
        let c = crate::PipelineConfig::parse(&yaml, "x.yaml")?;
        Ok(c.build(
            &crate::Registry::dclm(),
            &BuildContext::new(assets),
            &crate::LoadOptions::default(),
        )?
        .pipeline)
    }

    #[test]
    fn letters_per_token_with_the_pythia_tokenizer() {
        let Some(tok) = dclm_core::testdata::shared(
            "data/tokenizers/gpt-neox-20b.tokenizer.json",
            "letters_per_token_with_the_pythia_tokenizer",
        ) else {
            return;
        };
        // The shared layout: `dclm-assets/` beside `tokenizers/`; the default Pythia name finds it.
        let assets = tok.parent().unwrap().parent().unwrap().join("dclm-assets");
        let p = build(&assets, "").unwrap();
        assert!(p
            .run(Document::new("The quick brown fox jumps over the lazy dog."))
            .is_some());
        // Code-like text: few letters per token.
        assert!(p
            .run(Document::new("x[0] = {1, 2}; y = x[0] + 3; z = (y * 4) / 5;"))
            .is_none());
        assert!(p.run(Document::new("")).is_none());
        // The exact count: "Hello world" is two GPT-NeoX tokens ("Hello", "Ġworld"), 10 letters → 5 per token;
        // "ab1;" has 2 letters and at least 2 tokens → at most 1 per token.
        let f = AlphabeticCharactersToTokensFilter {
            tokenizer: dclm_tokenizer::HfTokenizer::from_file(&tok).unwrap(),
            min_ratio: 1.5,
        };
        assert_eq!(f.count_tokens("Hello world"), Some(2));
        assert!(f.check(&Document::new("Hello world")).is_keep());
        assert_eq!(f.check(&Document::new("ab1;")), Verdict::Drop("few_letters_per_token"));
        // A path relative to the assets folder works too; an unknown Hub name says what to do.
        let rel = format!("../tokenizers/{}", tok.file_name().unwrap().to_string_lossy());
        assert!(build(&assets, &format!("      tokenizer_name: {rel}\n")).is_ok());
        let e = build(&assets, "      tokenizer_name: bigcode/starcoder\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nothing is downloaded") && e.contains("bigcode/starcoder"),
            "{e}"
        );
    }
}
