//! The [`Tokenizer`] seam (text ↔ token ids) and, with the `hf-tokenizer` feature, [`HfTokenizer`] over a
//! Hugging Face `tokenizer.json` (DCLM uses GPT-NeoX-20B's).

use crate::EvalError;

/// Text ↔ token ids, as LLM-Foundry calls a Hugging Face tokenizer: `encode` never adds special tokens
/// (GPT-NeoX adds none anyway), `decode` skips special tokens and applies HF's `clean_up_tokenization`.
pub trait Tokenizer: Send + Sync {
    /// Token ids of `text`, no special tokens added.
    fn encode(&self, text: &str) -> Result<Vec<u32>, EvalError>;
    /// Text of `ids` (special tokens skipped, invalid UTF-8 replaced by U+FFFD), before clean-up.
    fn decode_raw(&self, ids: &[u32]) -> Result<String, EvalError>;
    /// The end-of-sequence id (GPT-NeoX: 0, `<|endoftext|>`), used as generation stop and pad.
    fn eos_token_id(&self) -> Option<u32>;

    /// `tokenizer.decode(ids, skip_special_tokens=True)` with `clean_up_tokenization_spaces=True`.
    fn decode(&self, ids: &[u32]) -> Result<String, EvalError> {
        Ok(clean_up_tokenization(&self.decode_raw(ids)?))
    }

    /// LLM-Foundry's `tokenizer_needs_prefix_space`: whether `" a"` is a single token (GPT-2/NeoX style), in
    /// which case continuations get a leading space.
    fn needs_prefix_space(&self) -> Result<bool, EvalError> {
        Ok(self.encode(" a")?.len() == 1)
    }
}

impl<T: Tokenizer + ?Sized> Tokenizer for &T {
    fn encode(&self, text: &str) -> Result<Vec<u32>, EvalError> {
        (**self).encode(text)
    }
    fn decode_raw(&self, ids: &[u32]) -> Result<String, EvalError> {
        (**self).decode_raw(ids)
    }
    fn eos_token_id(&self) -> Option<u32> {
        (**self).eos_token_id()
    }
    fn decode(&self, ids: &[u32]) -> Result<String, EvalError> {
        (**self).decode(ids)
    }
    fn needs_prefix_space(&self) -> Result<bool, EvalError> {
        (**self).needs_prefix_space()
    }
}

impl<T: Tokenizer + ?Sized> Tokenizer for Box<T> {
    fn encode(&self, text: &str) -> Result<Vec<u32>, EvalError> {
        (**self).encode(text)
    }
    fn decode_raw(&self, ids: &[u32]) -> Result<String, EvalError> {
        (**self).decode_raw(ids)
    }
    fn eos_token_id(&self) -> Option<u32> {
        (**self).eos_token_id()
    }
    fn decode(&self, ids: &[u32]) -> Result<String, EvalError> {
        (**self).decode(ids)
    }
    fn needs_prefix_space(&self) -> Result<bool, EvalError> {
        (**self).needs_prefix_space()
    }
}

impl<T: Tokenizer + ?Sized> Tokenizer for std::sync::Arc<T> {
    fn encode(&self, text: &str) -> Result<Vec<u32>, EvalError> {
        (**self).encode(text)
    }
    fn decode_raw(&self, ids: &[u32]) -> Result<String, EvalError> {
        (**self).decode_raw(ids)
    }
    fn eos_token_id(&self) -> Option<u32> {
        (**self).eos_token_id()
    }
    fn decode(&self, ids: &[u32]) -> Result<String, EvalError> {
        (**self).decode(ids)
    }
    fn needs_prefix_space(&self) -> Result<bool, EvalError> {
        (**self).needs_prefix_space()
    }
}

/// `transformers`' `clean_up_tokenization`: removes the space before `. ? ! ,` and English contractions.
pub fn clean_up_tokenization(s: &str) -> String {
    s.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

#[cfg(feature = "hf-tokenizer")]
pub use hf::HfTokenizer;

#[cfg(feature = "hf-tokenizer")]
mod hf {
    use super::Tokenizer;
    use crate::EvalError;
    use std::path::Path;

    /// A Hugging Face `tokenizer.json` (e.g. `gpt-neox-20b.tokenizer.json`) through the `tokenizers` crate.
    pub struct HfTokenizer {
        inner: tokenizers::Tokenizer,
        eos: Option<u32>,
    }

    impl HfTokenizer {
        /// Load a `tokenizer.json`. The EOS id is `<|endoftext|>` if the vocabulary has it.
        pub fn from_file(path: impl AsRef<Path>) -> Result<Self, EvalError> {
            let path = path.as_ref();
            let inner = tokenizers::Tokenizer::from_file(path)
                .map_err(|e| EvalError::Tokenizer(format!("{}: {e}", path.display())))?;
            let eos = inner.token_to_id("<|endoftext|>");
            Ok(HfTokenizer { inner, eos })
        }
    }

    impl Tokenizer for HfTokenizer {
        fn encode(&self, text: &str) -> Result<Vec<u32>, EvalError> {
            let enc = self
                .inner
                .encode(text, false)
                .map_err(|e| EvalError::Tokenizer(e.to_string()))?;
            Ok(enc.get_ids().to_vec())
        }
        fn decode_raw(&self, ids: &[u32]) -> Result<String, EvalError> {
            self.inner
                .decode(ids, true)
                .map_err(|e| EvalError::Tokenizer(e.to_string()))
        }
        fn eos_token_id(&self) -> Option<u32> {
            self.eos
        }
    }
}
