//! dclm-tokenizer: the one tokenizer path of dclm-rs. Tokenize+shuffle, training, evaluation and
//! decontamination all load a tokenizer through [`TokenizerSpec`] and call it through the [`Tokenizer`] trait,
//! so the ids a model is trained on and the ids it is evaluated with come from the same code.
//!
//! Backends:
//! - [`HfTokenizer`]: a Hugging Face `tokenizer.json` (DCLM's GPT-NeoX-20B) through the `tokenizers` crate,
//!   on Oniguruma as the Python wheel DCLM runs; `add_special_tokens=false` as DCLM's tokshuf and
//!   LLM-Foundry call it.
//! - [`TiktokenBpe`]: tiktoken-format BPE ranks (DCLM's `--use-tiktoken`).
//! - [`ByteTokenizer`]: the byte-level stand-in (id = byte + 1, EOS = 0) for runs without a tokenizer file.
//!
//! The two real backends differ on purpose, as they do in DCLM: the GPT-NeoX `tokenizer.json` splits runs of
//! 2–24 spaces out as added tokens (ids 50254–50276) before BPE, applies NFC normalization and matches the
//! literal `<|endoftext|>` / `<|padding|>` in raw text, while the tiktoken ranks go through the GPT-2 regex
//! alone (a space run before a word leaves its last space to that word, text is not normalized, the special
//! literals are split like ordinary text). On NFC text without such runs or literals the two give the same ids.

mod error;
mod hf;
mod tiktoken;

pub use error::{Result, TokenizerError};
pub use hf::HfTokenizer;
pub use tiktoken::{TiktokenBpe, GPT2_PATTERN};

use std::path::PathBuf;
use std::sync::Arc;

/// Text ↔ token ids. Implementations are shared across threads; encoding never panics and reports a text it
/// cannot encode as an error (callers count it and go on).
pub trait Tokenizer: Send + Sync {
    /// Append the ids of `text` (no special tokens added) to `out`.
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<()>;

    /// Text of `ids` (special tokens skipped, invalid UTF-8 replaced by U+FFFD), before clean-up.
    fn decode_raw(&self, ids: &[u32]) -> Result<String>;

    /// The end-of-sequence id (GPT-NeoX: 0, `<|endoftext|>`), used as generation stop and pad.
    fn eos_token_id(&self) -> Option<u32>;

    /// Size of the base vocabulary without added tokens, as DCLM counts it (50,254 for GPT-NeoX); DCLM's PAD
    /// id is this plus 2.
    fn base_vocab_size(&self) -> usize;

    /// A short name for logs and stats.
    fn name(&self) -> &str;

    /// The ids of `text` as a new vector.
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        self.encode_into(text, &mut out)?;
        Ok(out)
    }

    /// `tokenizer.decode(ids, skip_special_tokens=True)` with `clean_up_tokenization_spaces=True`.
    fn decode(&self, ids: &[u32]) -> Result<String> {
        Ok(clean_up_tokenization(&self.decode_raw(ids)?))
    }

    /// LLM-Foundry's `tokenizer_needs_prefix_space`: whether `" a"` is a single token (GPT-2/NeoX style), in
    /// which case continuations get a leading space.
    fn needs_prefix_space(&self) -> Result<bool> {
        Ok(self.encode(" a")?.len() == 1)
    }
}

macro_rules! forward {
    ($($ptr:ty),*) => {$(
        impl<T: Tokenizer + ?Sized> Tokenizer for $ptr {
            fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
                (**self).encode_into(text, out)
            }
            fn decode_raw(&self, ids: &[u32]) -> Result<String> {
                (**self).decode_raw(ids)
            }
            fn eos_token_id(&self) -> Option<u32> {
                (**self).eos_token_id()
            }
            fn base_vocab_size(&self) -> usize {
                (**self).base_vocab_size()
            }
            fn name(&self) -> &str {
                (**self).name()
            }
            fn encode(&self, text: &str) -> Result<Vec<u32>> {
                (**self).encode(text)
            }
            fn decode(&self, ids: &[u32]) -> Result<String> {
                (**self).decode(ids)
            }
            fn needs_prefix_space(&self) -> Result<bool> {
                (**self).needs_prefix_space()
            }
        }
    )*};
}
forward!(&T, Box<T>, Arc<T>);

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

/// Which tokenizer to load, and from where. Paths always work offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerSpec {
    /// An HF `tokenizer.json` (e.g. `gpt-neox-20b.tokenizer.json`), encoded with `add_special_tokens=false`.
    HfJson(PathBuf),
    /// A tiktoken rank file (`base64-token rank` per line) with the GPT-2 pre-tokenization regex
    /// ([`GPT2_PATTERN`]), as DCLM's `--use-tiktoken`.
    Tiktoken(PathBuf),
    /// The byte-level stand-in ([`ByteTokenizer`]).
    Bytes,
}

impl TokenizerSpec {
    /// Load the tokenizer.
    pub fn load(&self) -> Result<Arc<dyn Tokenizer>> {
        Ok(match self {
            TokenizerSpec::HfJson(p) => Arc::new(HfTokenizer::from_file(p)?),
            TokenizerSpec::Tiktoken(p) => Arc::new(TiktokenBpe::from_file(p)?),
            TokenizerSpec::Bytes => Arc::new(ByteTokenizer::new()),
        })
    }

    /// A path to a `tokenizer.json` / `.tiktoken` file, or an HF hub name (`EleutherAI/gpt-neox-20b`) found in the
    /// local HF cache (`$HF_HOME/hub` or `~/.cache/huggingface/hub`, as `huggingface-cli download` leaves it).
    /// Nothing is downloaded: `tokenizers` is built without its `http` feature, so this works offline.
    pub fn from_name_or_path(name: &str) -> Result<Self> {
        let p = PathBuf::from(name);
        if p.is_file() {
            return Ok(Self::from_path(p));
        }
        let hub = std::env::var_os("HF_HOME")
            .map(|h| PathBuf::from(h).join("hub"))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub")));
        let snapshots = hub.map(|h| h.join(format!("models--{}", name.replace('/', "--"))).join("snapshots"));
        if let Some(Ok(rd)) = snapshots.as_ref().map(std::fs::read_dir) {
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path().join("tokenizer.json"))
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            if let Some(p) = found.pop() {
                return Ok(TokenizerSpec::HfJson(p));
            }
        }
        Err(TokenizerError::Load {
            path: p,
            message: "neither a file nor a model in the local HF cache (downloads are not built in; fetch \
                      tokenizer.json and pass its path)"
                .into(),
        })
    }

    /// Guess the backend from a path: `*.tiktoken` → [`TokenizerSpec::Tiktoken`], anything else →
    /// [`TokenizerSpec::HfJson`].
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if path.extension().is_some_and(|e| e == "tiktoken") {
            TokenizerSpec::Tiktoken(path)
        } else {
            TokenizerSpec::HfJson(path)
        }
    }
}

/// Byte-level stand-in: id = byte + 1, so id 0 stays free for DCLM's EOT (also its EOS). Vocabulary 257
/// (+ PAD at 259 by DCLM's base + 2 rule, so a model needs [`ByteTokenizer::MODEL_VOCAB`] ids).
///
/// By LLM-Foundry's own test `" a"` is two byte tokens, so continuations get no leading space;
/// [`ByteTokenizer::gpt2_style`] declares the GPT-2 convention instead (for tests that mimic GPT-NeoX).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ByteTokenizer {
    prefix_space: bool,
}

impl ByteTokenizer {
    /// Vocabulary size a model needs for byte-level ids plus DCLM's PAD id.
    pub const MODEL_VOCAB: usize = 260;

    /// The stand-in as LLM-Foundry would see it (no prefix space).
    pub const fn new() -> Self {
        ByteTokenizer { prefix_space: false }
    }

    /// The stand-in declaring GPT-2-style prefix spaces (`needs_prefix_space() == true`).
    pub const fn gpt2_style() -> Self {
        ByteTokenizer { prefix_space: true }
    }
}

impl Tokenizer for ByteTokenizer {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        out.extend(text.bytes().map(|b| u32::from(b) + 1));
        Ok(())
    }
    fn decode_raw(&self, ids: &[u32]) -> Result<String> {
        let bytes: Vec<u8> = ids
            .iter()
            .filter(|&&i| (1..=256).contains(&i))
            .map(|&i| (i - 1) as u8)
            .collect();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
    fn eos_token_id(&self) -> Option<u32> {
        Some(0)
    }
    fn base_vocab_size(&self) -> usize {
        257
    }
    fn name(&self) -> &str {
        "byte-level (dclm-rs stand-in)"
    }
    fn needs_prefix_space(&self) -> Result<bool> {
        Ok(self.prefix_space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_tokenizer_round_trips_and_reserves_eot() {
        let t = ByteTokenizer::new();
        let ids = t.encode("héllo").unwrap();
        assert!(ids.iter().all(|i| (1..=256).contains(i)));
        assert_eq!(t.decode_raw(&ids).unwrap(), "héllo");
        assert_eq!(t.decode_raw(&[0, 105, 259]).unwrap(), "h");
        assert!(!t.needs_prefix_space().unwrap());
        assert!(ByteTokenizer::gpt2_style().needs_prefix_space().unwrap());
    }

    #[test]
    fn spec_from_path_picks_backend() {
        assert!(matches!(
            TokenizerSpec::from_path("x.tiktoken"),
            TokenizerSpec::Tiktoken(_)
        ));
        assert!(matches!(TokenizerSpec::from_path("x.json"), TokenizerSpec::HfJson(_)));
    }

    #[test]
    fn name_or_path_resolves_files_and_rejects_unknown_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        std::fs::write(&p, "{}").unwrap();
        assert_eq!(
            TokenizerSpec::from_name_or_path(p.to_str().unwrap()).unwrap(),
            TokenizerSpec::HfJson(p)
        );
        assert!(TokenizerSpec::from_name_or_path("no-such-org/no-such-model-xyz").is_err());
    }

    #[test]
    fn clean_up_matches_transformers() {
        assert_eq!(clean_up_tokenization("Hi , it 's me ."), "Hi, it's me.");
    }
}
