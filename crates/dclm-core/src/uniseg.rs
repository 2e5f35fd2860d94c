//! UAX#29 word-boundary segments (`unicode_segmentation::split_word_bounds`) computed faster on ASCII text;
//! shared by the heuristic filters (DCLM's `uniseg` words) and BFF dedup (its token stream).

use unicode_segmentation::UnicodeSegmentation;

/// UAX#29 word segments of `text` (as `unicode_segmentation::split_word_bounds`, i.e. `uniseg`'s words),
/// computed faster: the text is cut before and after every ASCII whitespace byte — UAX#29 always breaks
/// there, and no rule looks across such a character into a word — and each pure-ASCII run between cuts is
/// segmented by [`ascii_word_bounds`]; runs with other characters go to `unicode-segmentation`.
/// Equality with `split_word_bounds` is property-tested.
pub fn uniseg_segments<'a>(text: &'a str, f: impl FnMut(&'a str)) {
    segments(text, true, f)
}

/// The segments of [`uniseg_segments`], in order, less some of those made only of ASCII whitespace (the ones the
/// ASCII path cuts; whitespace next to a non-ASCII character may still come), for callers that drop whitespace
/// segments anyway. Property-tested: after such a filter, the same segments as [`uniseg_segments`].
pub fn uniseg_non_space_segments<'a>(text: &'a str, f: impl FnMut(&'a str)) {
    segments(text, false, f)
}

/// [`uniseg_segments`], giving the pure ASCII-whitespace segments only if `spaces`.
#[inline]
fn segments<'a>(text: &'a str, spaces: bool, mut f: impl FnMut(&'a str)) {
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
            if spaces {
                f(&text[start..i]);
            }
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
        use Wb::*;
        // Inside a run of letters and digits (most bytes) WB5, WB8, WB9 and WB10 join; no lookahead needed.
        if matches!(prev, Letter | Numeric) && matches!(cur, Letter | Numeric) {
            prev2 = prev;
            prev = cur;
            continue;
        }
        let next = cls(i + 1);
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

/// [`uniseg_segments`] with each segment's byte offset in `text` (as `split_word_bound_indices`).
pub fn uniseg_segment_indices<'a>(text: &'a str, mut f: impl FnMut(usize, &'a str)) {
    let base = text.as_ptr() as usize;
    uniseg_segments(text, |t| f(t.as_ptr() as usize - base, t));
}

/// [`uniseg_non_space_segments`] with each segment's byte offset in `text`.
pub fn uniseg_non_space_segment_indices<'a>(text: &'a str, mut f: impl FnMut(usize, &'a str)) {
    let base = text.as_ptr() as usize;
    uniseg_non_space_segments(text, |t| f(t.as_ptr() as usize - base, t));
}

#[cfg(test)]
mod tests {
    use super::*;

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

        #[test]
        fn non_space_segments_drop_only_ascii_whitespace(s in "[ -~\t\n\r\x0b\x0c\u{a0}\u{301}\u{2019}\u{200d}\u{85}é日]{0,60}") {
            let mut got = Vec::new();
            uniseg_non_space_segment_indices(&s, |i, w| got.push((i, w)));
            let all: Vec<(usize, &str)> = s.split_word_bound_indices().collect();
            let blank = |w: &str| w.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C));
            // Only segments of the reference, in its order …
            let mut rest = all.iter();
            for g in &got {
                proptest::prop_assert!(rest.any(|a| a == g), "{:?} is not a segment in order", g);
            }
            // … and every one that is not pure ASCII whitespace.
            let keep = |v: &[(usize, &str)]| v.iter().filter(|(_, w)| !blank(w)).map(|&(i, w)| (i, w.to_string())).collect::<Vec<_>>();
            proptest::prop_assert_eq!(keep(&got), keep(&all));
        }
    }

    #[test]
    fn indices_equal_unicode_segmentation() {
        let t = "Don't stop,  3.5 times!\r\n日本語 e\u{301}t\u{e9}";
        let mut got = Vec::new();
        uniseg_segment_indices(t, |i, w| got.push((i, w)));
        assert_eq!(got, t.split_word_bound_indices().collect::<Vec<_>>());
    }
}
