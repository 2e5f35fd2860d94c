//! DCLM's three word tokenizers (`split_words` in `core_utils.py`): fastText's ASCII-whitespace reader
//! (each `\n` also yields `</s>`), UAX#29 word segments (`uniseg`), and Python's `str.split()`; plus the
//! `ignore_punctuation` / `ignore_whitespace` filters, which look at a token's first character only.

use dclm_core::pystr::{is_alnum, is_space, split, strip};
use dclm_core::uniseg::uniseg_non_space_segments;
pub use dclm_core::uniseg::{ascii_word_bounds, uniseg_segments};

/// Which tokenizer `split_words` uses (`model` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordModel {
    /// fastText's `Dictionary::readWord`: split on ASCII ` \n\r\t\v\f\0`; every `\n` is also a `</s>` token.
    FastText,
    /// Unicode UAX#29 word-boundary segments (Python `uniseg.wordbreak.words`), whitespace and punctuation
    /// segments included.
    Uniseg,
    /// Python `str.split()`.
    Split,
}

impl WordModel {
    /// The DCLM name (`fasttext`, `uniseg`, `split`).
    pub fn name(self) -> &'static str {
        match self {
            WordModel::FastText => "fasttext",
            WordModel::Uniseg => "uniseg",
            WordModel::Split => "split",
        }
    }

    /// Parse a DCLM name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "fasttext" => Some(WordModel::FastText),
            "uniseg" => Some(WordModel::Uniseg),
            "split" => Some(WordModel::Split),
            _ => None,
        }
    }
}

/// fastText's end-of-sentence token.
pub const EOS: &str = "</s>";

#[inline]
fn is_fasttext_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0B | 0x0C | 0)
}

/// Calls `f` on each token of fastText's reader (`fasttext.FastText.tokenize`), in order.
pub fn fasttext_tokens<'a>(text: &'a str, mut f: impl FnMut(&'a str)) {
    let bytes = text.as_bytes();
    let mut start: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if is_fasttext_space(b) {
            if let Some(s) = start.take() {
                f(&text[s..i]);
            }
            if b == b'\n' {
                f(EOS);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        f(&text[s..]);
    }
}

/// Whether a token survives DCLM's `split_words` filters.
#[inline]
pub fn keep_token(tok: &str, ignore_punctuation: bool, ignore_whitespace: bool) -> bool {
    let first = match tok.chars().next() {
        Some(c) => c,
        None => return false,
    };
    match (ignore_punctuation, ignore_whitespace) {
        (true, true) => is_alnum(first),
        (true, false) => is_alnum(first) || is_space(first),
        (false, true) => !strip(tok).is_empty(),
        (false, false) => true,
    }
}

/// DCLM `split_words(text, model, ignore_punctuation, ignore_whitespace)`.
pub fn split_words(text: &str, model: WordModel, ignore_punctuation: bool, ignore_whitespace: bool) -> Vec<&str> {
    let mut out = Vec::new();
    for_each_word(text, model, ignore_punctuation, ignore_whitespace, |w| out.push(w));
    out
}

/// `len(split_words(...))` without collecting.
pub fn count_words(text: &str, model: WordModel, ignore_punctuation: bool, ignore_whitespace: bool) -> usize {
    if model == WordModel::FastText && ignore_punctuation && ignore_whitespace {
        return count_fasttext_alnum_words(text);
    }
    let mut n = 0;
    for_each_word(text, model, ignore_punctuation, ignore_whitespace, |_| n += 1);
    n
}

/// Calls `f` on each word `split_words` would return.
pub fn for_each_word<'a>(
    text: &'a str,
    model: WordModel,
    ignore_punctuation: bool,
    ignore_whitespace: bool,
    mut f: impl FnMut(&'a str),
) {
    match model {
        WordModel::FastText => fasttext_tokens(text, |t| {
            if keep_token(t, ignore_punctuation, ignore_whitespace) {
                f(t)
            }
        }),
        // Pure ASCII-whitespace segments fail `keep_token` whenever whitespace is ignored.
        WordModel::Uniseg if ignore_whitespace => uniseg_non_space_segments(text, |t| {
            if keep_token(t, ignore_punctuation, ignore_whitespace) {
                f(t)
            }
        }),
        WordModel::Uniseg => uniseg_segments(text, |t| {
            if keep_token(t, ignore_punctuation, ignore_whitespace) {
                f(t)
            }
        }),
        WordModel::Split => {
            for t in split(text) {
                if keep_token(t, ignore_punctuation, ignore_whitespace) {
                    f(t)
                }
            }
        }
    }
}

/// Fast path of the common case (`page_length_filter`, `word_counter_enricher`, `word_removal_ratio_filter`):
/// fastText tokens whose first character is alphanumeric. fastText's separators are all ASCII, so token starts
/// are found eight bytes at a time ([`dclm_core::bytescan`]); a start on an ASCII byte is judged by its byte
/// class, a start on a non-ASCII byte (always the first byte of a character) by decoding that character.
fn count_fasttext_alnum_words(text: &str) -> usize {
    use dclm_core::bytescan::{blocks, eq, in_range, last_flagged, non_ascii, run_starts, tail};
    let bytes = text.as_bytes();
    let mut n = 0;
    let mut prev_space = true;
    for (i, w) in blocks(bytes) {
        let space = in_range(w, 0x09, 0x0D) | eq(w, b' ') | eq(w, 0);
        let starts = run_starts(space, prev_space);
        let alnum = in_range(w, b'0', b'9') | in_range(w, b'A', b'Z') | in_range(w, b'a', b'z');
        n += (starts & alnum).count_ones() as usize;
        let mut wide = starts & non_ascii(w);
        while wide != 0 {
            let j = i + (wide.trailing_zeros() / 8) as usize;
            n += usize::from(text[j..].chars().next().is_some_and(is_alnum));
            wide &= wide - 1;
        }
        prev_space = last_flagged(space);
    }
    for (j, &b) in bytes.iter().enumerate().skip(tail(bytes)) {
        let space = is_fasttext_space(b);
        if prev_space && !space {
            n += usize::from(if b < 0x80 {
                b.is_ascii_alphanumeric()
            } else {
                text[j..].chars().next().is_some_and(is_alnum)
            });
        }
        prev_space = space;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fasttext_reader() {
        let mut toks = Vec::new();
        fasttext_tokens("a b\n\nc\u{A0}d\t\x00e\n", |t| toks.push(t));
        assert_eq!(toks, vec!["a", "b", EOS, EOS, "c\u{A0}d", "e", EOS]);
        assert_eq!(count_words("a b\n\n-c d\u{A0}e", WordModel::FastText, true, true), 3);
        assert_eq!(
            split_words("a b\n\n-c", WordModel::FastText, false, true),
            vec!["a", "b", EOS, EOS, "-c"]
        );
    }

    proptest::proptest! {
        #[test]
        fn fasttext_alnum_count_equals_tokens(s in "[ a1Z\t\n\r\x0b\x0c\x00\x0e\u{a0}é_.\u{2019}日]{0,70}") {
            let mut n = 0;
            fasttext_tokens(&s, |t| n += usize::from(keep_token(t, true, true)));
            proptest::prop_assert_eq!(count_words(&s, WordModel::FastText, true, true), n);
        }

        #[test]
        fn fasttext_alnum_count_equals_tokens_any(s in proptest::prelude::any::<String>()) {
            let mut n = 0;
            fasttext_tokens(&s, |t| n += usize::from(keep_token(t, true, true)));
            proptest::prop_assert_eq!(count_words(&s, WordModel::FastText, true, true), n);
        }
    }

    #[test]
    fn uniseg_words() {
        assert_eq!(
            split_words("Don't stop, 3.5 times!", WordModel::Uniseg, true, true),
            vec!["Don't", "stop", "3.5", "times"]
        );
    }

    #[test]
    fn split_model() {
        assert_eq!(count_words("a\u{A0}b -c", WordModel::Split, true, true), 2);
    }
}
