//! Normalized word tokens and n-gram hashes shared by the eval index and the document scan.
//!
//! Tokens are BFF's UAX #29 word tokens ([`dclm_dedup::tokenize::token_indices`]), lower-cased, with
//! every character that is not alphanumeric removed; tokens left empty (pure punctuation) are dropped.
//! So `"The Cat's hat."` and `"the cats  hat"` give the same tokens, and casing, punctuation and
//! whitespace perturbations do not hide an eval n-gram.

use dclm_dedup::tokenize::{token_indices, Hasher, ItemHash};

/// One normalized token: byte span in the original text and its seeded hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormToken {
    /// Byte offset of the token's start in the text.
    pub start: usize,
    /// Byte offset just past the token's end.
    pub end: usize,
    /// Seeded hash of the normalized token string.
    pub hash: u64,
}

/// The normalized form of one token (lower case, alphanumeric characters only).
pub fn normalize_token(tok: &str, out: &mut String) {
    out.clear();
    for c in tok.chars().filter(|c| c.is_alphanumeric()) {
        out.extend(c.to_lowercase());
    }
}

/// Normalized tokens of `text`, hashed with `hasher`. Never panics.
pub fn normalized_tokens(text: &str, hasher: &Hasher) -> Vec<NormToken> {
    let mut buf = String::new();
    let mut out = Vec::new();
    for (start, tok) in token_indices(text) {
        normalize_token(tok, &mut buf);
        if !buf.is_empty() {
            out.push(NormToken {
                start,
                end: start + tok.len(),
                hash: hasher.token(&buf),
            });
        }
    }
    out
}

/// The item hashes of every window of `n` consecutive tokens (none when there are fewer than `n`).
pub fn ngram_hashes<'a>(tokens: &'a [NormToken], n: usize, hasher: &'a Hasher) -> impl Iterator<Item = ItemHash> + 'a {
    let mut window: Vec<u64> = Vec::with_capacity(n);
    let count = if n == 0 {
        0
    } else {
        (tokens.len() + 1).saturating_sub(n)
    };
    (0..count).map(move |i| {
        window.clear();
        window.extend(tokens[i..i + n].iter().map(|t| t.hash));
        hasher.ngram(&window)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_punctuation_do_not_matter() {
        let h = Hasher::new(1, 2);
        let a: Vec<u64> = normalized_tokens("The Cat's hat, (really) big!", &h)
            .iter()
            .map(|t| t.hash)
            .collect();
        let b: Vec<u64> = normalized_tokens("the cats   hat really BIG", &h)
            .iter()
            .map(|t| t.hash)
            .collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 5);
    }

    #[test]
    fn spans_point_into_the_text_and_windows_count() {
        let h = Hasher::new(1, 2);
        let text = "α, beta — Gamma. delta";
        let t = normalized_tokens(text, &h);
        assert_eq!(&text[t[0].start..t[0].end], "α");
        assert_eq!(&text[t[3].start..t[3].end], "delta");
        assert_eq!(ngram_hashes(&t, 2, &h).count(), 3);
        assert_eq!(ngram_hashes(&t, 5, &h).count(), 0);
        assert_eq!(ngram_hashes(&t, 0, &h).count(), 0);
    }
}
