//! DCLM's three word tokenizers (`split_words` in `core_utils.py`): fastText's ASCII-whitespace reader
//! (each `\n` also yields `</s>`), UAX#29 word segments (`uniseg`), and Python's `str.split()`; plus the
//! `ignore_punctuation` / `ignore_whitespace` filters, which look at a token's first character only.

use dclm_core::pystr::{is_alnum, is_space, split, strip};
use unicode_segmentation::UnicodeSegmentation;

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

/// UAX#29 word segments of `text` (as `unicode_segmentation::split_word_bounds`, i.e. `uniseg`'s words),
/// computed faster: the text is cut before and after every ASCII whitespace byte — UAX#29 always breaks
/// there, and no rule looks across such a character into a word — and each pure-ASCII run between cuts is
/// segmented by [`ascii_word_bounds`]; runs with other characters go to `unicode-segmentation`.
/// Equality with `split_word_bounds` is property-tested.
pub fn uniseg_segments<'a>(text: &'a str, mut f: impl FnMut(&'a str)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    let n = bytes.len();
    while i < n {
        if is_ascii_ws(bytes[i]) {
            // Whitespace segments: `\r\n` stays together, runs of spaces stay together (WB3, WB3d); a space
            // followed by Extend/Format characters is left to the general path below.
            let start = i;
            let b = bytes[i];
            i += 1;
            if b == b'\r' && i < n && bytes[i] == b'\n' {
                i += 1;
            } else if b == b' ' {
                while i < n && bytes[i] == b' ' {
                    i += 1;
                }
            }
            if i < n && bytes[i] >= 0x80 && !matches!(b, b'\r' | b'\n' | 0x0B | 0x0C) {
                // Possible WB4 attachment of Extend/Format/ZWJ to this whitespace: segment the whitespace
                // together with the following run.
                let mut j = i;
                while j < n && !is_ascii_ws(bytes[j]) {
                    j += 1;
                }
                for t in text[start..j].split_word_bounds() {
                    f(t);
                }
                i = j;
                continue;
            }
            f(&text[start..i]);
            continue;
        }
        let start = i;
        let mut ascii = true;
        while i < n && !is_ascii_ws(bytes[i]) {
            ascii &= bytes[i] < 0x80;
            i += 1;
        }
        let run = &text[start..i];
        if ascii {
            ascii_word_bounds(run, &mut f);
        } else {
            for t in run.split_word_bounds() {
                f(t);
            }
        }
    }
}

#[inline]
fn is_ascii_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wb {
    Letter,
    Numeric,
    MidLetter,
    MidNumLet,
    SingleQuote,
    MidNum,
    ExtendNumLet,
    Other,
}

#[inline]
fn wb_class(b: u8) -> Wb {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => Wb::Letter,
        b'0'..=b'9' => Wb::Numeric,
        b':' => Wb::MidLetter,
        b'.' => Wb::MidNumLet,
        b'\'' => Wb::SingleQuote,
        b',' | b';' => Wb::MidNum,
        b'_' => Wb::ExtendNumLet,
        _ => Wb::Other,
    }
}

/// UAX#29 word segments of an ASCII string without whitespace (rules WB5–WB13b; the others cannot apply).
pub fn ascii_word_bounds<'a>(run: &'a str, f: &mut impl FnMut(&'a str)) {
    let b = run.as_bytes();
    let n = b.len();
    if n == 0 {
        return;
    }
    let cls = |i: usize| if i < n { wb_class(b[i]) } else { Wb::Other };
    let mid_l = |c: Wb| matches!(c, Wb::MidLetter | Wb::MidNumLet | Wb::SingleQuote);
    let mid_n = |c: Wb| matches!(c, Wb::MidNum | Wb::MidNumLet | Wb::SingleQuote);
    let mut start = 0;
    let mut prev2 = Wb::Other;
    let mut prev = cls(0);
    for i in 1..n {
        let cur = cls(i);
        let next = cls(i + 1);
        use Wb::*;
        let join = matches!(
            (prev, cur),
            (Letter, Letter) | (Numeric, Numeric) | (Letter, Numeric) | (Numeric, Letter)
        ) || (prev == Letter && mid_l(cur) && next == Letter)
            || (prev2 == Letter && mid_l(prev) && cur == Letter)
            || (prev2 == Numeric && mid_n(prev) && cur == Numeric)
            || (prev == Numeric && mid_n(cur) && next == Numeric)
            || (matches!(prev, Letter | Numeric | ExtendNumLet) && cur == ExtendNumLet)
            || (prev == ExtendNumLet && matches!(cur, Letter | Numeric));
        if !join {
            f(&run[start..i]);
            start = i;
        }
        prev2 = prev;
        prev = cur;
    }
    f(&run[start..]);
}

/// Fast path of the common case (steps 10, 18, 26): fastText tokens whose first character is alphanumeric.
fn count_fasttext_alnum_words(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut n = 0;
    let mut i = 0;
    let len = bytes.len();
    while i < len {
        let b = bytes[i];
        if is_fasttext_space(b) {
            i += 1;
            continue;
        }
        // Start of a token: judge its first character, then skip to its end.
        let first_ok = if b < 0x80 {
            b.is_ascii_alphanumeric()
        } else {
            text[i..].chars().next().is_some_and(is_alnum)
        };
        if first_ok {
            n += 1;
        }
        while i < len && !is_fasttext_space(bytes[i]) {
            i += 1;
        }
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

    #[test]
    fn uniseg_words() {
        assert_eq!(
            split_words("Don't stop, 3.5 times!", WordModel::Uniseg, true, true),
            vec!["Don't", "stop", "3.5", "times"]
        );
    }

    fn reference(t: &str) -> Vec<&str> {
        t.split_word_bounds().collect()
    }

    fn fast(t: &str) -> Vec<&str> {
        let mut v = Vec::new();
        uniseg_segments(t, |w| v.push(w));
        v
    }

    #[test]
    fn fast_uniseg_equals_unicode_segmentation() {
        for t in [
            "Don't stop, 3.5 times! a.b.c a..b 1,000.5 x_1 _a_ a:b 'q' \"x\" ",
            "  \r\n\n\t x\x0b\x0cy  z",
            " \u{301}abc e\u{301}t\u{e9} \u{2019}s can\u{2019}t \u{1f1fa}\u{1f1f8} 日本語 ",
            "a\u{200d}\u{1f600} \u{85}x\u{2028}y\u{3000}z",
            "",
        ] {
            assert_eq!(fast(t), reference(t), "{t:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_uniseg_prop(s in "[ -~\t\n\r\x0b\x0c\u{a0}\u{301}\u{2019}\u{200d}\u{85}é日]{0,60}") {
            proptest::prop_assert_eq!(fast(&s), reference(&s));
        }

        #[test]
        fn fast_uniseg_prop_any(s in proptest::prelude::any::<String>()) {
            proptest::prop_assert_eq!(fast(&s), reference(&s));
        }
    }

    #[test]
    fn split_model() {
        assert_eq!(count_words("a\u{A0}b -c", WordModel::Split, true, true), 2);
    }
}
