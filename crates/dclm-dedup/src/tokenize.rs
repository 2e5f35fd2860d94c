//! BFF's word tokens and the seeded 64-bit hashes of tokens and n-grams built from them.
//!
//! BFF tokenizes with `unicode_segmentation::UnicodeSegmentation::split_word_bounds` (UAX #29 word
//! boundaries) and drops every segment made only of whitespace (`char::is_whitespace`). Punctuation
//! segments (`.`, `,`, `"`) are tokens; `can't`, `3.14` and `e.g` stay whole per UAX #29. This crate pins
//! unicode-segmentation 1.11.0, the version in BFF's `Cargo.lock`, so the tables are the same.

use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64_with_seed};

/// True when `w` holds a character that is not whitespace (BFF's `not_whitespace`).
#[inline]
pub fn not_whitespace(w: &str) -> bool {
    w.chars().any(|c| !c.is_whitespace())
}

/// BFF's tokens of `s`: UAX #29 word-bound segments that are not all whitespace.
pub fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split_word_bounds().filter(|w| not_whitespace(w))
}

/// BFF's tokens of `s` with their byte offsets.
pub fn token_indices(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split_word_bound_indices().filter(|(_, w)| not_whitespace(w))
}

/// The two 64-bit values from which a Bloom filter derives its bit positions for one item
/// (Kirsch–Mitzenmacher double hashing: position i = h1 + i·h2 mod bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ItemHash {
    /// First hash.
    pub h1: u64,
    /// Second hash (step).
    pub h2: u64,
}

/// Seeded hashing of tokens, n-grams and whole texts. The seeds are stored in the Bloom filter file,
/// so a saved filter is read back with the same hashes on any machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hasher {
    /// Seed of the per-token hash.
    pub token_seed: u64,
    /// Seed of the n-gram (sequence) hash.
    pub ngram_seed: u64,
}

impl Hasher {
    /// A hasher with the given seeds.
    pub fn new(token_seed: u64, ngram_seed: u64) -> Self {
        Hasher { token_seed, ngram_seed }
    }

    /// The hash of one token.
    #[inline]
    pub fn token(&self, tok: &str) -> u64 {
        xxh3_64_with_seed(tok.as_bytes(), self.token_seed)
    }

    /// The item hash of an n-gram given the hashes of its tokens in order. The length is part of
    /// the hashed bytes, so a short whole-paragraph n-gram never equals a full-size one.
    #[inline]
    pub fn ngram(&self, token_hashes: &[u64]) -> ItemHash {
        // The bytes are laid out on the stack; the buffer is sized to the n-gram (BFF's default 13 fits the
        // small one) so that each call clears only a little memory.
        let h = if token_hashes.len() <= 15 {
            self.ngram_in(&mut [0u8; 8 * 16], token_hashes)
        } else if token_hashes.len() <= 63 {
            self.ngram_in(&mut [0u8; 8 * 64], token_hashes)
        } else {
            let mut v = Vec::with_capacity(8 * (token_hashes.len() + 1));
            v.extend_from_slice(&(token_hashes.len() as u64).to_le_bytes());
            for t in token_hashes {
                v.extend_from_slice(&t.to_le_bytes());
            }
            xxh3_128_with_seed(&v, self.ngram_seed)
        };
        split128(h)
    }

    /// `xxh3_128(len ‖ hashes)` with the n-gram seed, the bytes written into `buf` (which must hold them).
    #[inline]
    fn ngram_in(&self, buf: &mut [u8], token_hashes: &[u64]) -> u128 {
        buf[..8].copy_from_slice(&(token_hashes.len() as u64).to_le_bytes());
        for (i, t) in token_hashes.iter().enumerate() {
            buf[8 + 8 * i..16 + 8 * i].copy_from_slice(&t.to_le_bytes());
        }
        xxh3_128_with_seed(&buf[..8 + 8 * token_hashes.len()], self.ngram_seed)
    }

    /// The item hash of a whole text (BFF's `exact` mode: the text is one item).
    pub fn text(&self, text: &str) -> ItemHash {
        split128(xxh3_128_with_seed(
            text.as_bytes(),
            self.ngram_seed ^ 0x5445_5854_5445_5854,
        ))
    }
}

#[inline]
fn split128(h: u128) -> ItemHash {
    ItemHash {
        h1: h as u64,
        h2: (h >> 64) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_is_kept_whitespace_dropped() {
        let t: Vec<&str> = tokens("Hello, world!  It's 3.14 e.g. ok\r\n").collect();
        assert_eq!(t, ["Hello", ",", "world", "!", "It's", "3.14", "e.g", ".", "ok"]);
    }

    #[test]
    fn cjk_is_one_token_per_ideograph() {
        assert_eq!(tokens("漢字テスト").count(), 3);
    }

    #[test]
    fn ngram_hash_depends_on_order_and_length() {
        let h = Hasher::new(1, 2);
        let a = [h.token("a"), h.token("b")];
        let b = [h.token("b"), h.token("a")];
        assert_ne!(h.ngram(&a), h.ngram(&b));
        assert_ne!(h.ngram(&a[..1]), h.ngram(&a));
        assert_eq!(h.ngram(&a), Hasher::new(1, 2).ngram(&a));
        assert_ne!(h.ngram(&a), Hasher::new(1, 3).ngram(&a));
        let long: Vec<u64> = (0..100).collect();
        assert_ne!(h.ngram(&long), h.ngram(&long[..99]));
    }

    #[test]
    fn ngram_hash_is_xxh3_of_length_and_hashes_for_every_size() {
        let h = Hasher::new(7, 9);
        let hashes: Vec<u64> = (0..100u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        for n in 0..=hashes.len() {
            let mut bytes = (n as u64).to_le_bytes().to_vec();
            for t in &hashes[..n] {
                bytes.extend_from_slice(&t.to_le_bytes());
            }
            assert_eq!(
                h.ngram(&hashes[..n]),
                split128(xxh3_128_with_seed(&bytes, 9)),
                "n = {n}"
            );
        }
    }
}
