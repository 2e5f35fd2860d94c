//! [`HfTokenizer`]: a Hugging Face `tokenizer.json` through the `tokenizers` crate (Rust core of the Python
//! package).

use crate::{Result, Tokenizer, TokenizerError};
use std::path::Path;

/// A Hugging Face `tokenizer.json` (e.g. `gpt-neox-20b.tokenizer.json`).
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    base_vocab: usize,
    eos: Option<u32>,
    name: String,
}

impl HfTokenizer {
    /// Load a `tokenizer.json`. The EOS id is `<|endoftext|>` if the vocabulary has it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| TokenizerError::Load {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let base_vocab = inner.get_vocab_size(false);
        let eos = inner.token_to_id("<|endoftext|>");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(HfTokenizer {
            inner,
            base_vocab,
            eos,
            name,
        })
    }

    /// The wrapped HF tokenizer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

impl Tokenizer for HfTokenizer {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| TokenizerError::Encode(e.to_string()))?;
        out.extend_from_slice(enc.get_ids());
        Ok(())
    }
    fn decode_raw(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| TokenizerError::Decode(e.to_string()))
    }
    fn eos_token_id(&self) -> Option<u32> {
        self.eos
    }
    fn base_vocab_size(&self) -> usize {
        self.base_vocab
    }
    fn name(&self) -> &str {
        &self.name
    }
}
