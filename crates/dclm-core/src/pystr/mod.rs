//! Python's `str` semantics in Rust, the one home for every crate: `isalnum`/`isalpha`/`isdigit`/`isdecimal`/
//! `isspace`/`isupper` per character, `str.split()`, `str.strip()`/`rstrip()`, `str.splitlines()`, `len()` in code points, the `re` module's `\w`/`\s`/`\b`, and the
//! case-insensitive literal comparison of `re.IGNORECASE`.
//!
//! Rust's `char::is_alphabetic`, `is_numeric` and `is_whitespace` differ from Python's (Alphabetic includes
//! combining vowel signs and Nl; `is_whitespace` lacks U+001C..U+001F; Python's `isdigit` covers superscripts),
//! so every heuristic goes through these tables, generated from Python 3.11's Unicode 14.0 database.

mod tables;

use tables as t;

#[inline]
fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let cp = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Python `c.isalnum()`.
#[inline]
pub fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        in_table(&t::ALNUM, c)
    }
}

/// Python `c.isalpha()` (general categories Lu, Ll, Lt, Lm, Lo).
#[inline]
pub fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_table(&t::ALPHA, c)
    }
}

/// Python `c.isdigit()` (Numeric_Type Digit or Decimal: includes `²`, `①`).
#[inline]
pub fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_table(&t::DIGIT, c)
    }
}

/// Python `c.isdecimal()` (general category Nd); also what `\d` matches in a `str` regex.
#[inline]
pub fn is_decimal(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_table(&t::DECIMAL, c)
    }
}

/// Python `c.isspace()`; also `\s` in a `str` regex. Includes U+001C..U+001F, unlike `char::is_whitespace`.
#[inline]
pub fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, '\t' | '\n' | '\x0B' | '\x0C' | '\r' | '\x1C'..='\x1F' | ' ')
    } else {
        in_table(&t::SPACE, c)
    }
}

/// Python `c.isupper()` for one character.
#[inline]
pub fn is_upper(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_uppercase()
    } else {
        in_table(&t::UPPER, c)
    }
}

/// `\w` of Python's `re` on `str` patterns: `isalnum()` or `_`.
#[inline]
pub fn is_word(c: char) -> bool {
    c == '_' || is_alnum(c)
}

/// `\b` of Python's `re` at byte offset `i` of `s` (which must be a char boundary).
pub fn is_word_boundary(s: &str, i: usize) -> bool {
    let before = s[..i].chars().next_back().is_some_and(is_word);
    let after = s[i..].chars().next().is_some_and(is_word);
    before != after
}

/// Python `len(s)`: number of code points.
#[inline]
pub fn py_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Python `s.strip()` (Python whitespace on both ends).
#[inline]
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Python `s.rstrip()`.
#[inline]
pub fn rstrip(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// A line boundary of Python's `str.splitlines` (`\r\n` counts as one boundary): `\n`, `\r`, `\v`, `\f`,
/// `\x1c`–`\x1e`, `\x85`, `\u2028`, `\u2029`.
#[inline]
pub fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Python's `str.splitlines()` (no ends kept); a final line ending adds no empty line.
pub fn splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if !is_line_break(c) {
            continue;
        }
        out.push(&s[start..i]);
        let mut end = i + c.len_utf8();
        if c == '\r' && it.peek().is_some_and(|&(_, n)| n == '\n') {
            it.next();
            end += 1;
        }
        start = end;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Python `s.isspace()`: non-empty and all whitespace.
pub fn is_all_space(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_space)
}

/// Python `s.split()`: runs of Python whitespace separate words; no empty words.
pub fn split(s: &str) -> PySplit<'_> {
    PySplit { s, i: 0 }
}

/// The words of [`split`], found byte by byte as [`split_count`] does (only the first bytes of characters that
/// can be Python whitespace are decoded).
#[derive(Debug, Clone)]
pub struct PySplit<'a> {
    s: &'a str,
    i: usize,
}

impl PySplit<'_> {
    /// The length of the Python whitespace character starting at byte `i` (a non-ASCII byte), if it is one.
    #[inline]
    fn wide_space_at(&self, i: usize) -> Option<usize> {
        if !may_lead_wide_space(self.s.as_bytes()[i]) {
            return None;
        }
        let ch = self.s[i..].chars().next()?;
        is_space(ch).then(|| ch.len_utf8())
    }
}

impl<'a> Iterator for PySplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let n = b.len();
        let mut i = self.i;
        while i < n {
            let c = b[i];
            if c < 0x80 {
                if !ASCII_SPACE[c as usize] {
                    break;
                }
                i += 1;
            } else {
                match self.wide_space_at(i) {
                    Some(w) => i += w,
                    None => break,
                }
            }
        }
        if i >= n {
            self.i = n;
            return None;
        }
        let start = i;
        // Non-space bytes are stepped one at a time: a space character always starts at a lead byte.
        i += 1;
        while i < n {
            let c = b[i];
            let space = if c < 0x80 {
                ASCII_SPACE[c as usize]
            } else {
                self.wide_space_at(i).is_some()
            };
            if space {
                break;
            }
            i += 1;
        }
        self.i = i;
        Some(&self.s[start..i])
    }
}

/// `len(s.split())` without allocating (see [`split_stats`]).
pub fn split_count(s: &str) -> usize {
    split_stats(s).words
}

/// What [`split_stats`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SplitStats {
    /// `len(s.split())`.
    pub words: usize,
    /// `sum(len(w) for w in s.split())`: the code points that are not Python whitespace.
    pub chars: usize,
}

/// The words of `s.split()` and their code points, without allocating. Runs of eight ASCII bytes are classified
/// at once ([`crate::bytescan`]); elsewhere the scan goes one byte at a time: UTF-8 continuation bytes keep the
/// state of their character's first byte, and only first bytes of characters that can be Python whitespace
/// (`\u{85}`, `\u{a0}`, `\u{1680}`, `\u{2000}`–`\u{3000}`: leads `0xC2`, `0xE1`, `0xE2`, `0xE3`) decode the
/// character.
pub fn split_stats(s: &str) -> SplitStats {
    split_stats_until(s, usize::MAX)
}

/// [`split_stats`], stopping after the eight-byte block (or byte) in which the word count passes `limit`.
#[inline]
fn split_stats_until(s: &str, limit: usize) -> SplitStats {
    use crate::bytescan::{blocks, last_flagged, non_ascii, run_starts, tail};
    let b = s.as_bytes();
    let mut st = SplitStats::default();
    let mut prev_space = true;
    for (i, w) in blocks(b) {
        if non_ascii(w) == 0 {
            let space = ascii_space_flags(w);
            st.words += run_starts(space, prev_space).count_ones() as usize;
            st.chars += 8 - space.count_ones() as usize;
            prev_space = last_flagged(space);
        } else {
            split_stats_bytes(s, i..i + 8, &mut st, &mut prev_space);
        }
        if st.words > limit {
            return st;
        }
    }
    split_stats_bytes(s, tail(b)..b.len(), &mut st, &mut prev_space);
    st
}

/// [`crate::bytescan`] flags of Python's ASCII whitespace in a block of ASCII bytes: `\t \n \v \f \r`, then
/// `0x1c`–`0x1f` and the space.
#[inline]
fn ascii_space_flags(w: u64) -> u64 {
    use crate::bytescan::in_range;
    in_range(w, 0x09, 0x0D) | in_range(w, 0x1C, 0x20)
}

/// [`split_stats`] one byte at a time over `range` of `s` (a character starting in it may end after it).
fn split_stats_bytes(s: &str, range: std::ops::Range<usize>, st: &mut SplitStats, prev_space: &mut bool) {
    let b = s.as_bytes();
    for i in range {
        let c = b[i];
        let sp = if c < 0x80 {
            ASCII_SPACE[c as usize]
        } else if c < 0xC0 {
            continue;
        } else {
            may_lead_wide_space(c) && s[i..].chars().next().is_some_and(is_space)
        };
        // Counted without a branch on the data: word starts are too irregular to predict.
        st.words += usize::from(*prev_space & !sp);
        st.chars += usize::from(!sp);
        *prev_space = sp;
    }
}

/// `(len(s.split()), number of those words with an `isalpha` character)`, without allocating. Runs of eight
/// ASCII bytes are classified at once ([`crate::bytescan`]): a word's first letter is a letter reached from the
/// word's start (or the text's) through non-letters only, which is a carry through the "other" bytes, found
/// with one addition; elsewhere one character at a time.
pub fn split_alpha_words(s: &str) -> (usize, usize) {
    use crate::bytescan::{blocks, in_range, last_flagged, non_ascii, pack, run_starts, tail};
    let b = s.as_bytes();
    let (mut words, mut alpha_words) = (0usize, 0usize);
    let mut prev_space = true;
    // Whether the next letter would be its word's first (no letter since the last space or the text start).
    let mut fresh = true;
    for (i, w) in blocks(b) {
        if non_ascii(w) == 0 {
            let space = ascii_space_flags(w);
            let letter = in_range(w, b'A', b'Z') | in_range(w, b'a', b'z');
            words += run_starts(space, prev_space).count_ones() as usize;
            let (g, a) = (u16::from(pack(space)), u16::from(pack(letter)));
            let other = !(g | a) & 0xFF;
            // A space generates a carry, another byte passes it on, a letter absorbs it: the carry reaching a
            // letter marks the first letter of a word.
            let t = g + (g | other) + u16::from(fresh);
            alpha_words += (t & a).count_ones() as usize;
            fresh = t & 0x100 != 0;
            prev_space = last_flagged(space);
        } else {
            split_alpha_chars(s, i..i + 8, &mut words, &mut alpha_words, &mut prev_space, &mut fresh);
        }
    }
    split_alpha_chars(
        s,
        tail(b)..b.len(),
        &mut words,
        &mut alpha_words,
        &mut prev_space,
        &mut fresh,
    );
    (words, alpha_words)
}

/// [`split_alpha_words`] one character at a time over the characters starting in `range` of `s`.
fn split_alpha_chars(
    s: &str,
    range: std::ops::Range<usize>,
    words: &mut usize,
    alpha_words: &mut usize,
    prev_space: &mut bool,
    fresh: &mut bool,
) {
    let b = s.as_bytes();
    for i in range {
        let c = b[i];
        let ch = if c < 0x80 {
            c as char
        } else if c < 0xC0 {
            continue;
        } else {
            s[i..].chars().next().expect("a character starts here")
        };
        if is_space(ch) {
            *prev_space = true;
            *fresh = true;
            continue;
        }
        *words += usize::from(*prev_space);
        *prev_space = false;
        if is_alpha(ch) {
            *alpha_words += usize::from(*fresh);
            *fresh = false;
        }
    }
}

/// `min(len(s.split()), limit)`, reading only as far as the `limit`-th word: what a step needs when it only
/// compares a line's word count with a bound.
pub fn split_count_at_most(s: &str, limit: usize) -> usize {
    // The count only grows, so stopping once it passes `limit` and capping gives the same answer.
    split_stats_until(s, limit).words.min(limit)
}

/// The word-count cap that decides `min <= len(s.split()) <= max` exactly through [`split_count_at_most`]:
/// one more than `max` when it is finite, else enough to reach `min`.
pub fn word_bound_cap(min: f64, max: f64) -> usize {
    if max.is_finite() {
        (max.max(0.0).floor() as usize).saturating_add(1)
    } else if min.is_finite() {
        min.max(0.0).ceil() as usize
    } else {
        usize::MAX
    }
}

/// Whether a non-ASCII byte can start a Python whitespace character (`\u{85}`, `\u{a0}`, `\u{1680}`,
/// `\u{2000}`–`\u{3000}`); only those are decoded when splitting.
#[inline]
fn may_lead_wide_space(b: u8) -> bool {
    matches!(b, 0xC2 | 0xE1 | 0xE2 | 0xE3)
}

/// Python whitespace among ASCII bytes.
const ASCII_SPACE: [bool; 128] = {
    let mut t = [false; 128];
    let mut c = 0;
    while c < 128 {
        t[c] = matches!(c as u8, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | 0x1C..=0x1F | b' ');
        c += 1;
    }
    t
};

/// The character a text character is compared as under `re.IGNORECASE` against an ASCII-lowercase pattern:
/// its simple lowercase mapping, plus `sre`'s extra equivalences (`ı` ~ `i`, `ſ` ~ `s`).
#[inline]
pub fn ignorecase_fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    match c {
        '\u{130}' | '\u{131}' => 'i',
        '\u{17F}' => 's',
        '\u{212A}' => 'k',
        _ => {
            let mut it = c.to_lowercase();
            match (it.next(), it.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        }
    }
}

/// Python `s.lower()` (full Unicode lowercase mapping; ASCII fast path).
pub fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(s.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    } else {
        std::borrow::Cow::Owned(s.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\nb\r\nc\rd\u{2028}e\n"), vec!["a", "b", "c", "d", "e"]);
        assert_eq!(splitlines("\n"), vec![""]);
        assert_eq!(splitlines("x\n\ny"), vec!["x", "", "y"]);
        assert_eq!(splitlines("\u{c}\u{1c}"), vec!["", ""]);
    }

    use super::*;

    #[test]
    fn predicates_match_python() {
        // Values checked against CPython 3.11.
        assert!(is_space('\x1F') && is_space('\u{85}') && is_space('\u{A0}') && is_space('\u{3000}'));
        assert!(!is_space('\u{200B}'));
        assert!(is_digit('²') && !is_decimal('²') && is_alnum('²'));
        assert!(!is_alpha('\u{93E}')); // Devanagari vowel sign AA: Mc, Alphabetic in Rust, not isalpha
        assert!('\u{93E}'.is_alphabetic());
        assert!(is_alpha('é') && is_upper('É') && !is_upper('é'));
        assert!(is_alnum('一') && is_word('_') && !is_word('-'));
    }

    #[test]
    fn split_count_decodes_every_whitespace_lead_byte() {
        for c in (0x80..=0x10FFFu32).filter_map(char::from_u32).filter(|&c| is_space(c)) {
            let mut buf = [0u8; 4];
            let lead = c.encode_utf8(&mut buf).as_bytes()[0];
            assert!(matches!(lead, 0xC2 | 0xE1 | 0xE2 | 0xE3), "{c:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn split_count_equals_split(s in "[ a\t\n\x1c\u{85}\u{a0}\u{1680}\u{2000}\u{2019}\u{3000}é日]{0,40}") {
            proptest::prop_assert_eq!(split_count(&s), split(&s).count());
        }

        #[test]
        fn split_count_equals_split_any(s in proptest::prelude::any::<String>()) {
            proptest::prop_assert_eq!(split_count(&s), split(&s).count());
        }

        #[test]
        fn split_stats_equal_split_words(s in "[ a\t\n\r\x0b\x1c\x1f\x20\x7f\u{85}\u{a0}\u{2000}\u{2019}\u{3000}é日]{0,70}") {
            let words: Vec<&str> = split(&s).collect();
            let want = SplitStats { words: words.len(), chars: words.iter().map(|w| py_len(w)).sum() };
            proptest::prop_assert_eq!(split_stats(&s), want);
        }

        #[test]
        fn split_alpha_words_equal_split_words(s in "[ aZ1'_\t\n\x1c\x1f\x7f\u{85}\u{a0}\u{2000}\u{2019}\u{3000}éß日²]{0,70}") {
            let words: Vec<&str> = split(&s).collect();
            let alpha = words.iter().filter(|w| w.chars().any(is_alpha)).count();
            proptest::prop_assert_eq!(split_alpha_words(&s), (words.len(), alpha));
        }

        #[test]
        fn split_alpha_words_equal_split_words_any(s in proptest::prelude::any::<String>()) {
            let words: Vec<&str> = split(&s).collect();
            let alpha = words.iter().filter(|w| w.chars().any(is_alpha)).count();
            proptest::prop_assert_eq!(split_alpha_words(&s), (words.len(), alpha));
        }

        #[test]
        fn split_stats_equal_split_words_any(s in proptest::prelude::any::<String>()) {
            let words: Vec<&str> = split(&s).collect();
            let want = SplitStats { words: words.len(), chars: words.iter().map(|w| py_len(w)).sum() };
            proptest::prop_assert_eq!(split_stats(&s), want);
        }

        #[test]
        fn split_equals_std_split_on_python_whitespace(s in proptest::prelude::any::<String>()) {
            let std: Vec<&str> = s.split(is_space).filter(|w| !w.is_empty()).collect();
            proptest::prop_assert_eq!(split(&s).collect::<Vec<_>>(), std);
        }

        #[test]
        fn split_equals_std_split_mixed(s in "[ a\t\n\x1c\u{85}\u{a0}\u{1680}\u{2000}\u{2019}\u{3000}\u{e9}\u{65e5}]{0,40}") {
            let std: Vec<&str> = s.split(is_space).filter(|w| !w.is_empty()).collect();
            proptest::prop_assert_eq!(split(&s).collect::<Vec<_>>(), std);
        }

        #[test]
        fn split_count_at_most_caps_the_count(s in "[ a\t\n\u{a0}\u{3000}é]{0,70}", limit in 0usize..8) {
            proptest::prop_assert_eq!(split_count_at_most(&s, limit), split(&s).count().min(limit));
        }

        #[test]
        fn word_bound_cap_decides_bounds(s in "[ ab\n]{0,30}", min in -1.0f64..6.0, max in proptest::option::of(-1.0f64..8.0)) {
            let max = max.unwrap_or(f64::INFINITY);
            let n = split(&s).count() as f64;
            let capped = split_count_at_most(&s, word_bound_cap(min, max)) as f64;
            proptest::prop_assert_eq!(min <= capped && capped <= max, min <= n && n <= max);
        }
    }

    #[test]
    fn split_and_strip() {
        let s = "a\u{A0}b\x1Fc  d\u{200B}e ";
        assert_eq!(split(s).collect::<Vec<_>>(), vec!["a", "b", "c", "d\u{200B}e"]);
        assert_eq!(split_count(s), 4);
        assert_eq!(split_count("a b\tc\n"), 3);
        assert_eq!(split_count("\u{3000}x\u{2009}y\u{85}\u{1680}z\u{2019}w é"), 4);
        assert_eq!(strip("\u{3000} x \x1C"), "x");
        assert_eq!(py_len("héllo"), 5);
        assert!(is_all_space(" \t") && !is_all_space(""));
    }

    #[test]
    fn word_boundary() {
        assert!(is_word_boundary("ab cd", 2));
        assert!(!is_word_boundary("ab", 1));
        assert!(is_word_boundary("ab", 0) && is_word_boundary("ab", 2));
        assert!(!is_word_boundary("a²", 1));
    }
}
