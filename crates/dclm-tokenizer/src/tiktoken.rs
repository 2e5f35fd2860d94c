//! [`TiktokenBpe`]: byte-pair encoding over tiktoken-format ranks (DCLM's `--use-tiktoken`), with the GPT-2
//! pre-tokenization regex.

use crate::{Result, Tokenizer, TokenizerError};
use base64::Engine as _;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

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
        let bad = |message: String| TokenizerError::Load {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::Io {
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

    fn bpe(&self, piece: &[u8], out: &mut Vec<u32>) -> Result<()> {
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
                None => {
                    return Err(TokenizerError::Encode(format!(
                        "byte sequence {:?} has no rank",
                        &piece[i..next[i]]
                    )))
                }
            }
            i = next[i];
        }
        Ok(())
    }
}

impl Tokenizer for TiktokenBpe {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        for m in self.regex.find_iter(text) {
            let piece = m
                .map_err(|e| TokenizerError::Encode(format!("pre-tokenizer regex: {e}")))?
                .as_str()
                .as_bytes();
            match self.ranks.get(piece) {
                Some(&r) => out.push(r),
                None => self.bpe(piece, out)?,
            }
        }
        Ok(())
    }
    fn decode_raw(&self, ids: &[u32]) -> Result<String> {
        let bytes = self
            .decode_bytes(ids)
            .ok_or_else(|| TokenizerError::Decode("an id has no rank".into()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
    fn eos_token_id(&self) -> Option<u32> {
        self.ranks.get(b"<|endoftext|>".as_slice()).copied()
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
struct FxHasher(u64);

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
    fn bad_rank_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.tiktoken");
        std::fs::write(&p, "!!! notanumber\n").unwrap();
        assert!(TiktokenBpe::from_file(&p).is_err());
        assert!(TiktokenBpe::from_file(dir.path().join("missing")).is_err());
    }
}
