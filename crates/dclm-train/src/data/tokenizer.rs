//! Tokenizer backends: HF `tokenizers` from a `tokenizer.json` (DCLM's default) and tiktoken-format BPE ranks
//! (DCLM's `--use-tiktoken`), behind the small [`TextEncoder`] trait.
//!
//! The two backends differ on purpose, as they do in DCLM: the GPT-NeoX `tokenizer.json` splits runs of 2–24
//! spaces out as added tokens (ids 50254–50276) before BPE, applies NFC normalization and matches the literal
//! `<|endoftext|>` / `<|padding|>` in raw text, while the tiktoken ranks (50,254 byte strings; some space-run
//! strings carry the added ids, 50254, 50255, 50261, 50263, 50271 and 50273 are absent) go through the GPT-2
//! regex alone: a space run before a word leaves its last space to that word and is BPE-merged, text is not
//! normalized, and the special literals are split like ordinary text. On NFC text without such runs or
//! literals the two give the same ids (`tests/data_tokenize.rs` checks this on the conformance set).

use crate::error::{Result, TrainError};
use base64::Engine as _;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Turns text into token ids. Implementations are shared across threads; `encode_into` never panics and
/// reports a document it cannot encode as `Err(message)` (the caller counts it and goes on).
pub trait TextEncoder: Send + Sync {
    /// Append the ids of `text` (no special tokens added) to `out`.
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> std::result::Result<(), String>;

    /// Size of the base vocabulary without added tokens, as DCLM counts it (50,254 for GPT-NeoX); DCLM's PAD
    /// id is this plus 2.
    fn base_vocab_size(&self) -> usize;

    /// A short name for logs and stats.
    fn name(&self) -> &str;

    /// The ids of `text` as a new vector.
    fn encode(&self, text: &str) -> std::result::Result<Vec<u32>, String> {
        let mut out = Vec::new();
        self.encode_into(text, &mut out)?;
        Ok(out)
    }
}

impl<T: TextEncoder + ?Sized> TextEncoder for &T {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> std::result::Result<(), String> {
        (**self).encode_into(text, out)
    }
    fn base_vocab_size(&self) -> usize {
        (**self).base_vocab_size()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}

impl<T: TextEncoder + ?Sized> TextEncoder for Box<T> {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> std::result::Result<(), String> {
        (**self).encode_into(text, out)
    }
    fn base_vocab_size(&self) -> usize {
        (**self).base_vocab_size()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}

impl<T: TextEncoder + ?Sized> TextEncoder for Arc<T> {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> std::result::Result<(), String> {
        (**self).encode_into(text, out)
    }
    fn base_vocab_size(&self) -> usize {
        (**self).base_vocab_size()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}

/// Which tokenizer to load, and from where. Paths always work offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerSpec {
    /// An HF `tokenizer.json` (e.g. `gpt-neox-20b.tokenizer.json`), encoded with `add_special_tokens=false`.
    HfJson(PathBuf),
    /// A tiktoken rank file (`base64-token rank` per line) with the GPT-2 pre-tokenization regex
    /// ([`GPT2_PATTERN`]), as DCLM's `--use-tiktoken`.
    Tiktoken(PathBuf),
}

impl TokenizerSpec {
    /// Load the tokenizer.
    pub fn load(&self) -> Result<Arc<dyn TextEncoder>> {
        Ok(match self {
            TokenizerSpec::HfJson(p) => Arc::new(HfTokenizer::from_file(p)?),
            TokenizerSpec::Tiktoken(p) => Arc::new(TiktokenBpe::from_file(p)?),
        })
    }

    /// A path to a `tokenizer.json` / `.tiktoken` file, or an HF hub name (`EleutherAI/gpt-neox-20b`) found in the
    /// local HF cache (`$HF_HOME/hub` or `~/.cache/huggingface/hub`, as `huggingface-cli download` leaves it).
    /// Nothing is downloaded: this crate is built without `tokenizers`' `http` feature, so it works offline.
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
        Err(TrainError::Tokenizer {
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

/// HF `tokenizers` (Rust core of the Python package) loaded from a `tokenizer.json`.
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    base_vocab: usize,
    name: String,
}

impl HfTokenizer {
    /// Load a `tokenizer.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| TrainError::Tokenizer {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let base_vocab = inner.get_vocab_size(false);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(HfTokenizer {
            inner,
            base_vocab,
            name,
        })
    }

    /// The wrapped HF tokenizer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

impl TextEncoder for HfTokenizer {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> std::result::Result<(), String> {
        let enc = self.inner.encode_fast(text, false).map_err(|e| e.to_string())?;
        out.extend_from_slice(enc.get_ids());
        Ok(())
    }
    fn base_vocab_size(&self) -> usize {
        self.base_vocab
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// GPT-2 pre-tokenization regex, the one DCLM's tokshuf uses with the GPT-NeoX tiktoken ranks.
pub const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// Byte-pair encoding over tiktoken ranks (token id = rank), tiktoken's merge rule (repeatedly merge the
/// adjacent pair whose concatenation has the lowest rank, leftmost first), with no special tokens — DCLM's
/// `--use-tiktoken` path (`CoreBPE::encode_with_special_tokens` with an empty special-token table).
///
/// Pre-tokenization uses `fancy-regex` (the engine tiktoken-rs uses) because the pattern needs a look-ahead.
/// Merging uses a heap, O(n log n) per piece, so a 1 MB run of one symbol does not take quadratic time.
pub struct TiktokenBpe {
    ranks: HashMap<Vec<u8>, u32, BuildHasherDefault<FxHasher>>,
    tokens: Vec<Option<Vec<u8>>>,
    regex: fancy_regex::Regex,
    vocab: usize,
    name: String,
}

impl TiktokenBpe {
    /// Load a rank file with the GPT-2 pattern.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_file_with_pattern(path, GPT2_PATTERN)
    }

    /// Load a rank file with another pre-tokenization pattern (e.g. Llama-3's).
    pub fn from_file_with_pattern(path: impl AsRef<Path>, pattern: &str) -> Result<Self> {
        let path = path.as_ref();
        let bad = |message: String| TrainError::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut ranks: HashMap<Vec<u8>, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(tok), Some(rank), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad(format!("line {}: expected `base64 rank`", i + 1)));
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(tok)
                .map_err(|e| bad(format!("line {}: bad base64: {e}", i + 1)))?;
            let rank: u32 = rank
                .parse()
                .map_err(|e| bad(format!("line {}: bad rank: {e}", i + 1)))?;
            ranks.insert(bytes, rank);
        }
        if ranks.is_empty() {
            return Err(bad("no ranks in file".into()));
        }
        let regex = fancy_regex::Regex::new(pattern).map_err(|e| bad(format!("bad pattern: {e}")))?;
        let vocab = ranks.len();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let max = ranks.values().copied().max().unwrap_or(0) as usize;
        if max > 16 * vocab + 1024 {
            return Err(bad(format!("rank {max} is far beyond the {vocab} tokens")));
        }
        let mut tokens = vec![None; max + 1];
        for (bytes, &r) in &ranks {
            tokens[r as usize] = Some(bytes.clone());
        }
        Ok(TiktokenBpe {
            ranks,
            tokens,
            regex,
            vocab,
            name,
        })
    }

    /// The bytes of a sequence of ids (`None` if an id has no rank). Concatenating them gives back the
    /// encoded text exactly.
    pub fn decode_bytes(&self, ids: &[u32]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for &i in ids {
            out.extend_from_slice(self.tokens.get(i as usize)?.as_deref()?);
        }
        Some(out)
    }

    fn bpe(&self, piece: &[u8], out: &mut Vec<u32>) -> std::result::Result<(), String> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let n = piece.len();
        // Parts are linked by start offset; `next[i]` is the start of the part after the one starting at `i`
        // (n = end). `alive[i]` says whether a part still starts at `i`.
        let mut next: Vec<usize> = (1..=n).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
        let mut alive = vec![true; n];
        let mut heap = BinaryHeap::new();
        let rank_of = |a: usize, end: usize| self.ranks.get(&piece[a..end]).copied();
        for i in 0..n.saturating_sub(1) {
            if let Some(r) = rank_of(i, i + 2) {
                heap.push(Reverse((r, i, i + 2)));
            }
        }
        while let Some(Reverse((_, i, end))) = heap.pop() {
            // Valid only if a part starts at i, the next part exists and ends at `end`.
            if !alive[i] || next[i] >= n {
                continue;
            }
            let j = next[i];
            if next[j] != end {
                continue;
            }
            alive[j] = false;
            next[i] = end;
            if end < n {
                prev[end] = i;
            }
            if prev[i] != usize::MAX {
                let p = prev[i];
                if let Some(r) = rank_of(p, end) {
                    heap.push(Reverse((r, p, end)));
                }
            }
            if end < n {
                if let Some(r) = rank_of(i, next[end]) {
                    heap.push(Reverse((r, i, next[end])));
                }
            }
        }
        let mut i = 0;
        while i < n {
            match rank_of(i, next[i]) {
                Some(r) => out.push(r),
                None => return Err(format!("byte sequence {:?} has no rank", &piece[i..next[i]])),
            }
            i = next[i];
        }
        Ok(())
    }
}

impl TextEncoder for TiktokenBpe {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> std::result::Result<(), String> {
        for m in self.regex.find_iter(text) {
            let piece = m.map_err(|e| format!("pre-tokenizer regex: {e}"))?.as_str().as_bytes();
            match self.ranks.get(piece) {
                Some(&r) => out.push(r),
                None => self.bpe(piece, out)?,
            }
        }
        Ok(())
    }
    fn base_vocab_size(&self) -> usize {
        self.vocab
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// FxHash (rustc's hasher): fast for short byte keys; the rank table is not exposed to adversarial keys
/// from outside beyond lookups, and lookups cannot grow it.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(26) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(26) ^ b as u64).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(26) ^ i as u64).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_bpe() -> (tempfile::TempDir, TiktokenBpe) {
        // Ranks: all single bytes 0..256 by byte value + 256 "ab", 257 "abc", 258 "aa".
        let dir = tempfile::tempdir().unwrap();
        let mut s = String::new();
        let b64 = base64::engine::general_purpose::STANDARD;
        for b in 0u32..256 {
            s.push_str(&format!("{} {}\n", b64.encode([b as u8]), b));
        }
        s.push_str(&format!(
            "{} 256\n{} 257\n{} 258\n",
            b64.encode("ab"),
            b64.encode("abc"),
            b64.encode("aa")
        ));
        let p = dir.path().join("t.tiktoken");
        std::fs::write(&p, s).unwrap();
        let bpe = TiktokenBpe::from_file(&p).unwrap();
        (dir, bpe)
    }

    #[test]
    fn merges_lowest_rank_first() {
        let (_d, bpe) = tiny_bpe();
        assert_eq!(bpe.encode("abc").unwrap(), vec![257]);
        assert_eq!(bpe.encode("abd").unwrap(), vec![256, b'd' as u32]);
        // "aab": "aa"(258) vs "ab"(256): "ab" ranks lower, so a + ab.
        assert_eq!(bpe.encode("aab").unwrap(), vec![b'a' as u32, 256]);
        // "aaaa": leftmost first on ties → aa aa.
        assert_eq!(bpe.encode("aaaa").unwrap(), vec![258, 258]);
        assert_eq!(bpe.encode("").unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn long_runs_are_not_quadratic() {
        let (_d, bpe) = tiny_bpe();
        let s = "a".repeat(200_001);
        let ids = bpe.encode(&s).unwrap();
        assert_eq!(ids.len(), 100_001);
        assert_eq!(ids[..100_000], vec![258; 100_000][..]);
    }

    proptest::proptest! {
        #[test]
        fn encode_never_fails_and_round_trips(s in "\\PC*", t in "[ a\t\n'é0-9]{0,40}") {
            let (_d, bpe) = tiny_bpe();
            for text in [s.as_str(), t.as_str()] {
                let ids = bpe.encode(text).unwrap();
                proptest::prop_assert_eq!(bpe.decode_bytes(&ids).unwrap(), text.as_bytes().to_vec());
            }
        }
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
    fn bad_rank_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.tiktoken");
        std::fs::write(&p, "!!! notanumber\n").unwrap();
        assert!(TiktokenBpe::from_file(&p).is_err());
        assert!(TiktokenBpe::from_file(dir.path().join("missing")).is_err());
    }
}
