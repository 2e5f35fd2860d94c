//! Line modifiers from DCLM's `modifiers.py`: newline collapsing, uppercase/numeric ratio lines, counter lines
//! (`12 likes`), short lines, and banned substrings in short lines (`items in cart`, `Read more...`,
//! `Sign-in`). Each rewrites `text` only when something changed and drops the page when the text becomes empty.

use crate::error::Result;
use crate::pipeline::Mapper;
use crate::registry::{BuildContext, Params};
use dclm_core::pystr::{
    ignorecase_fold, is_all_space, is_decimal, is_digit, is_space, is_upper, is_word, lower, split_count_at_most,
    strip, word_bound_cap,
};
use dclm_core::{Document, Verdict};

/// `newline_removal_modifier`: every run of more than `max_consecutive` `\n` becomes exactly
/// `max_consecutive` `\n`.
#[derive(Debug)]
pub struct NewlineRemovalModifier {
    max: usize,
    /// Finds `max + 1` newlines: the start of a run to cut.
    runs: memchr::memmem::Finder<'static>,
}

impl NewlineRemovalModifier {
    fn new(max: usize) -> Self {
        NewlineRemovalModifier {
            max,
            runs: memchr::memmem::Finder::new(&vec![b'\n'; max + 1]).into_owned(),
        }
    }
}

impl Mapper for NewlineRemovalModifier {
    fn name(&self) -> &str {
        "newline_removal_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        if let Some(out) = collapse_newlines(&doc.text, self.max, &self.runs) {
            doc.text = out;
        }
        Verdict::Keep
    }
}

/// `text` with every run of more than `max` `\n` cut to `max`, or `None` when no run is that long. Runs are
/// found with `finder`, a `memmem` search for `max + 1` newlines (always at the start of a run: the search resumes
/// after the previous run), and the text between them is copied as is.
fn collapse_newlines(text: &str, max: usize, finder: &memchr::memmem::Finder<'_>) -> Option<String> {
    let b = text.as_bytes();
    let mut run = finder.find(b)?;
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    loop {
        // `\n` is one byte, so every cut here is on a character boundary.
        out.push_str(&text[from..run + max]);
        from = run + max;
        while from < b.len() && b[from] == b'\n' {
            from += 1;
        }
        match finder.find(&b[from..]) {
            Some(p) => run = from + p,
            None => break,
        }
    }
    out.push_str(&text[from..]);
    Some(out)
}

pub(crate) fn newline_removal(p: &Params<'_>, _: &BuildContext) -> Result<NewlineRemovalModifier> {
    p.allow_only(&["max_consecutive"])?;
    Ok(NewlineRemovalModifier::new(p.usize_or("max_consecutive", 2)?))
}

fn finish(doc: &mut Document, out: Option<String>, strip_doc: bool, reason: &'static str) -> Verdict {
    match out {
        Some(o) => {
            let s = if strip_doc { strip(&o) } else { o.as_str() };
            if s.is_empty() {
                return Verdict::Drop(reason);
            }
            doc.text = if s.len() == o.len() { o } else { s.to_string() };
        }
        None => {
            if strip_doc {
                let s = strip(&doc.text);
                if s.len() != doc.text.len() {
                    doc.text = s.to_string();
                }
            }
            if doc.text.is_empty() {
                return Verdict::Drop(reason);
            }
        }
    }
    Verdict::Keep
}

/// `uppercase_ratio_line_modifier`: remove non-empty lines whose share of `isupper` characters exceeds
/// `max_ratio`; strip the document.
#[derive(Debug)]
pub struct UppercaseRatioLineModifier {
    max: f64,
}

impl Mapper for UppercaseRatioLineModifier {
    fn name(&self) -> &str {
        "uppercase_ratio_line_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let max = self.max;
        filter_lines_exact(doc, true, "empty_after_uppercase_lines", |l| {
            if l.is_empty() {
                return true;
            }
            let (n, up) = count_chars(l, is_upper, (b'A', b'Z'));
            up as f64 / n as f64 <= max
        })
    }
}

/// `numeric_ratio_line_modifier`: remove non-empty lines whose share of `isdigit` characters exceeds
/// `max_ratio`; strip the document.
#[derive(Debug)]
pub struct NumericRatioLineModifier {
    max: f64,
}

impl Mapper for NumericRatioLineModifier {
    fn name(&self) -> &str {
        "numeric_ratio_line_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let max = self.max;
        filter_lines_exact(doc, true, "empty_after_numeric_lines", |l| {
            if l.is_empty() {
                return true;
            }
            let (n, d) = count_chars(l, is_digit, (b'0', b'9'));
            d as f64 / n as f64 <= max
        })
    }
}

/// `(characters, characters with the property)` of a line. Runs of eight ASCII bytes are counted at once
/// ([`dclm_core::bytescan`]) with the ASCII characters that have the property, `ascii` (`lo..=hi`), which must
/// be exactly those `prop` accepts below `0x80`; other characters are decoded and tested with `prop`.
#[inline]
fn count_chars(l: &str, prop: impl Fn(char) -> bool, ascii: (u8, u8)) -> (usize, usize) {
    use dclm_core::bytescan::{blocks, in_range, non_ascii, tail};
    let b = l.as_bytes();
    let (lo, hi) = ascii;
    let (mut n, mut k) = (0usize, 0usize);
    let one = |i: usize, n: &mut usize, k: &mut usize| {
        let c = b[i];
        if c < 0x80 {
            *n += 1;
            *k += usize::from((lo..=hi).contains(&c));
        } else if c >= 0xC0 {
            *n += 1;
            *k += usize::from(l[i..].chars().next().is_some_and(&prop));
        }
    };
    for (i, w) in blocks(b) {
        if non_ascii(w) == 0 {
            n += 8;
            k += in_range(w, lo, hi).count_ones() as usize;
        } else {
            for j in i..i + 8 {
                one(j, &mut n, &mut k);
            }
        }
    }
    for j in tail(b)..b.len() {
        one(j, &mut n, &mut k);
    }
    (n, k)
}

/// Keep the lines for which `keep` holds, rejoin with `\n`, optionally strip, empty → drop. (The simple and
/// exact form used by every line modifier; `text` is reassigned only when it changes.)
fn filter_lines_exact(
    doc: &mut Document,
    strip_doc: bool,
    reason: &'static str,
    keep: impl FnMut(&str) -> bool,
) -> Verdict {
    let out = filter_lines(&doc.text, keep);
    finish(doc, out, strip_doc, reason)
}

/// `"\n".join(l for l in text.split("\n") if keep(l))`, or `None` when every line is kept.
fn filter_lines(text: &str, mut keep: impl FnMut(&str) -> bool) -> Option<String> {
    edit_lines(text, |l| if keep(l) { LineEdit::Keep } else { LineEdit::Drop })
}

/// What happens to one line in [`edit_lines`].
enum LineEdit {
    Keep,
    Drop,
    Replace(String),
}

/// The lines of `text.split("\n")`, each kept, dropped or replaced by `edit`, joined with `\n`; `None` when
/// every line is kept. Nothing is allocated until the first change: the output then starts as the text before
/// that line.
fn edit_lines(text: &str, mut edit: impl FnMut(&str) -> LineEdit) -> Option<String> {
    let mut out: Option<String> = None;
    // Lines in the output so far (a separator goes before every output line but the first).
    let mut kept = 0usize;
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
    for end in ends {
        let line = &text[start..end];
        let e = edit(line);
        if out.is_none() && matches!(e, LineEdit::Keep) {
            kept += 1;
        } else {
            // Until the first change every line was kept as is: the output starts as the text up to the newline
            // before this line.
            let o = out.get_or_insert_with(|| {
                let mut o = String::with_capacity(text.len());
                o.push_str(&text[..start.saturating_sub(1)]);
                o
            });
            let piece = match &e {
                LineEdit::Drop => None,
                LineEdit::Keep => Some(line),
                LineEdit::Replace(r) => Some(r.as_str()),
            };
            if let Some(p) = piece {
                if kept > 0 {
                    o.push('\n');
                }
                o.push_str(p);
                kept += 1;
            }
        }
        start = end + 1;
    }
    out
}

const COUNTER_WORDS: [&str; 12] = [
    "likes",
    "shares",
    "comments",
    "retweets",
    "reposts",
    "quotes",
    "bookmarks",
    "upvotes",
    "downvotes",
    "downloads",
    "views",
    "followers",
];

/// DCLM's counter regex on an already lowercased line:
/// `^\W*\d(?:,|\.|\d)*(?:K|k|M|m|B|b)?\s+(?:likes|…|followers)\W*$`.
pub fn is_counter_line(l: &str) -> bool {
    counter_match(l, false)
}

/// [`is_counter_line`] of `l.lower()` for an ASCII line, without building the lowercased copy: only the counter
/// word can differ in case (the rest of the pattern treats both cases alike), so it is compared ignoring ASCII
/// case.
fn is_counter_line_ascii(l: &str) -> bool {
    debug_assert!(l.is_ascii());
    counter_match(l, true)
}

fn counter_match(l: &str, fold_ascii: bool) -> bool {
    let mut it = l.char_indices().peekable();
    // \W*
    while let Some(&(_, c)) = it.peek() {
        if is_word(c) {
            break;
        }
        it.next();
    }
    // \d
    match it.next() {
        Some((_, c)) if is_decimal(c) => {}
        _ => return false,
    }
    // (?:,|\.|\d)*
    while let Some(&(_, c)) = it.peek() {
        if c == ',' || c == '.' || is_decimal(c) {
            it.next();
        } else {
            break;
        }
    }
    // (?:K|k|M|m|B|b)?
    if let Some(&(_, c)) = it.peek() {
        if matches!(c, 'K' | 'k' | 'M' | 'm' | 'B' | 'b') {
            it.next();
        }
    }
    // \s+
    let mut spaces = 0;
    while let Some(&(_, c)) = it.peek() {
        if is_space(c) {
            spaces += 1;
            it.next();
        } else {
            break;
        }
    }
    if spaces == 0 {
        return false;
    }
    let Some(&(pos, _)) = it.peek() else {
        return false;
    };
    let rest = &l[pos..];
    COUNTER_WORDS.iter().any(|w| {
        let head = rest.get(..w.len());
        let same = if fold_ascii {
            head.is_some_and(|h| h.eq_ignore_ascii_case(w))
        } else {
            head == Some(*w)
        };
        same && rest[w.len()..].chars().all(|c| !is_word(c))
    })
}

/// `counter_line_modifier`: remove lines like `12 likes`, `1.2K views` (matched on the lowercased line);
/// strip the document.
#[derive(Debug, Default)]
pub struct CounterLineModifier;

impl Mapper for CounterLineModifier {
    fn name(&self) -> &str {
        "counter_line_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        filter_lines_exact(doc, true, "empty_after_counter_lines", |l| {
            // Cheap reject: a counter line has a decimal digit (`lower()` never creates one).
            if !l.chars().any(is_decimal) {
                return true;
            }
            if l.is_ascii() {
                !is_counter_line_ascii(l)
            } else {
                !is_counter_line(&lower(l))
            }
        })
    }
}

/// `line_length_modifier`: keep a line iff it is empty or has `min_length..=max_length` `str.split()` words
/// (so whitespace-only lines go); the document is **not** stripped.
#[derive(Debug)]
pub struct LineLengthModifier {
    min: f64,
    max: f64,
}

impl Mapper for LineLengthModifier {
    fn name(&self) -> &str {
        "line_length_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let (min, max) = (self.min, self.max);
        let cap = word_bound_cap(min, max);
        filter_lines_exact(doc, false, "empty_after_short_lines", |l| {
            let n = split_count_at_most(l, cap) as f64;
            l.is_empty() || (min <= n && n <= max)
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Location {
    Any,
    Prefix,
    Suffix,
}

/// One banlist entry as a pattern: literal characters, with `.` matching any character but `\n` (DCLM does
/// not escape the banlist, so `Read more...` ends in three wildcards).
#[derive(Debug, Clone)]
struct Literal {
    chars: Vec<Option<char>>,
}

impl Literal {
    /// Match at byte `pos`; returns the end offset.
    fn match_at(&self, s: &str, pos: usize, ignore_case: bool) -> Option<usize> {
        let mut it = s[pos..].char_indices();
        let mut end = pos;
        for p in &self.chars {
            let (off, c) = it.next()?;
            let ok = match p {
                None => c != '\n',
                Some(pc) => {
                    if ignore_case {
                        ignorecase_fold(c) == *pc
                    } else {
                        c == *pc
                    }
                }
            };
            if !ok {
                return None;
            }
            end = pos + off + c.len_utf8();
        }
        Some(end)
    }
}

/// `substring_line_modifier`: in lines of at most `max_length` words, remove (or, with
/// `remove_substring_only: False`, drop the line on) every match of `\s?(?:banlist)` (location `any`),
/// `^(?:banlist)\s?` (`prefix`) or `\s?(?:banlist)$` (`suffix`); with `remove_substring_only`, every
/// eligible non-empty line that is empty or blank afterwards is removed (DCLM quirk: blank lines go even
/// when nothing matched). Rejoin, strip, empty → drop. Banlist entries are literal except for `.` (a regex wildcard in DCLM);
/// entries with other regex metacharacters are rejected when the step is built.
#[derive(Debug)]
pub struct SubstringLineModifier {
    pats: Vec<Literal>,
    location: Location,
    ignore_case: bool,
    max_length: Option<f64>,
    remove_substring_only: bool,
}

impl SubstringLineModifier {
    /// The end of a match starting at byte `s`, if one does.
    fn try_at(&self, line: &str, s: usize) -> Option<usize> {
        match self.location {
            Location::Prefix => {
                if s != 0 {
                    return None;
                }
                for p in &self.pats {
                    if let Some(e) = p.match_at(line, s, self.ignore_case) {
                        let e2 = line[e..]
                            .chars()
                            .next()
                            .filter(|c| is_space(*c))
                            .map_or(e, |c| e + c.len_utf8());
                        return Some(e2);
                    }
                }
                None
            }
            Location::Any | Location::Suffix => {
                let at_end = |e: usize| self.location == Location::Any || e == line.len();
                if let Some(c) = line[s..].chars().next().filter(|c| is_space(*c)) {
                    let s2 = s + c.len_utf8();
                    for p in &self.pats {
                        if let Some(e) = p.match_at(line, s2, self.ignore_case) {
                            if at_end(e) {
                                return Some(e);
                            }
                        }
                    }
                }
                for p in &self.pats {
                    if let Some(e) = p.match_at(line, s, self.ignore_case) {
                        if at_end(e) {
                            return Some(e);
                        }
                    }
                }
                None
            }
        }
    }

    /// Leftmost match at or after `from`, trying every character position in turn: `(start, end)`.
    fn scan(&self, line: &str, from: usize) -> Option<(usize, usize)> {
        let mut s = from;
        loop {
            if let Some(e) = self.try_at(line, s) {
                return Some((s, e));
            }
            if s >= line.len() || self.location == Location::Prefix {
                return None;
            }
            s += line[s..].chars().next().map_or(1, char::len_utf8);
        }
    }

    /// Leftmost match at or after `from`: `(start, end)`.
    fn find(&self, line: &str, from: usize) -> Option<(usize, usize)> {
        let try_at = |s: usize| self.try_at(line, s);
        match self.location {
            Location::Prefix => try_at(from).map(|e| (from, e)),
            Location::Suffix => {
                // A match ends at the end of the line and every pattern element is one character, so it
                // starts within the last `k + 1` characters (with the leading `\s`) for the longest pattern's `k`.
                let span = self.pats.iter().map(|p| p.chars.len()).max().unwrap_or(0) + 1;
                let tail = line
                    .char_indices()
                    .rev()
                    .take(span)
                    .last()
                    .map_or(line.len(), |(i, _)| i);
                self.scan(line, from.max(tail))
            }
            Location::Any => {
                // A match starts at a whitespace character or at one the first element of a pattern accepts.
                let first_ok = |c: char| {
                    is_space(c)
                        || self.pats.iter().any(|p| match p.chars.first() {
                            Some(None) => c != '\n',
                            Some(Some(pc)) => *pc == if self.ignore_case { ignorecase_fold(c) } else { c },
                            None => true,
                        })
                };
                line[from..]
                    .char_indices()
                    .filter(|&(_, c)| first_ok(c))
                    .find_map(|(i, _)| try_at(from + i).map(|e| (from + i, e)))
                    .or_else(|| try_at(line.len()).map(|e| (line.len(), e)))
            }
        }
    }

    fn sub(&self, line: &str) -> Option<String> {
        let mut out: Option<String> = None;
        let mut last = 0;
        let mut from = 0;
        while from <= line.len() {
            let Some((s, e)) = self.find(line, from) else { break };
            let o = out.get_or_insert_with(String::new);
            o.push_str(&line[last..s]);
            last = e;
            from = if e > s {
                e
            } else {
                e + line[e..].chars().next().map_or(1, char::len_utf8)
            };
            if self.location == Location::Prefix {
                break;
            }
        }
        out.map(|mut o| {
            o.push_str(&line[last..]);
            o
        })
    }
}

impl Mapper for SubstringLineModifier {
    fn name(&self) -> &str {
        "substring_line_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let cap = self.max_length.map(|m| (m, word_bound_cap(f64::NEG_INFINITY, m)));
        // Only an eligible line (at most `max_length` words) changes. A prefix or suffix pattern is tried in a
        // window at one end of the line, cheaper than counting its words, so there the count is made only for a
        // line that would otherwise change; a pattern found anywhere is looked for only in eligible lines.
        let eligible = |line: &str| cap.is_none_or(|(m, cap)| split_count_at_most(line, cap) as f64 <= m);
        let count_first = self.location == Location::Any;
        let out = edit_lines(&doc.text, |line| {
            if count_first && !eligible(line) {
                return LineEdit::Keep;
            }
            if self.remove_substring_only {
                // DCLM removes any eligible non-empty line that is empty or blank after substitution,
                // including blank lines where nothing matched.
                let modified = self.sub(line);
                let after = modified.as_deref().unwrap_or(line);
                let blank_after = !line.is_empty() && (after.is_empty() || is_all_space(after));
                if (!blank_after && modified.is_none()) || (!count_first && !eligible(line)) {
                    return LineEdit::Keep;
                }
                match modified {
                    _ if blank_after => LineEdit::Drop,
                    Some(m) => LineEdit::Replace(m),
                    None => LineEdit::Keep,
                }
            } else if self.find(line, 0).is_some() && (count_first || eligible(line)) {
                LineEdit::Drop
            } else {
                LineEdit::Keep
            }
        });
        finish(doc, out, true, "empty_after_substring_lines")
    }
}

pub(crate) fn substring_line(p: &Params<'_>, _: &BuildContext) -> Result<SubstringLineModifier> {
    p.allow_only(&[
        "banlist",
        "case_sensitive",
        "location",
        "max_length",
        "remove_substring_only",
    ])?;
    let case_sensitive = p.bool_or("case_sensitive", false)?;
    let banlist = p
        .str_list_opt("banlist")?
        .ok_or_else(|| p.err("banlist", "required parameter is missing"))?;
    if banlist.is_empty() {
        return Err(p.err("banlist", "must not be empty"));
    }
    let mut pats = Vec::new();
    for b in &banlist {
        if let Some(c) = b.chars().find(|c| "\\^$*+?{}[]|()".contains(*c)) {
            return Err(p.err(
                "banlist",
                format!("entry `{b}` contains the regex metacharacter `{c}`; only literal text and `.` (any character) are supported"),
            ));
        }
        if b.is_empty() {
            return Err(p.err("banlist", "empty entries are not accepted"));
        }
        let b = if case_sensitive {
            b.clone()
        } else {
            lower(b).into_owned()
        };
        pats.push(Literal {
            chars: b
                .chars()
                .map(|c| {
                    if c == '.' {
                        None
                    } else if case_sensitive {
                        Some(c)
                    } else {
                        Some(ignorecase_fold(c))
                    }
                })
                .collect(),
        });
    }
    let location = match p.choice("location", "any", &["any", "prefix", "suffix"])? {
        "prefix" => Location::Prefix,
        "suffix" => Location::Suffix,
        _ => Location::Any,
    };
    Ok(SubstringLineModifier {
        pats,
        location,
        ignore_case: !case_sensitive,
        max_length: p.f64_opt("max_length")?,
        remove_substring_only: p.bool_or("remove_substring_only", false)?,
    })
}

pub(crate) fn uppercase_ratio(p: &Params<'_>, _: &BuildContext) -> Result<UppercaseRatioLineModifier> {
    p.allow_only(&["max_ratio"])?;
    Ok(UppercaseRatioLineModifier {
        max: p.f64_or("max_ratio", 0.5)?,
    })
}

pub(crate) fn numeric_ratio(p: &Params<'_>, _: &BuildContext) -> Result<NumericRatioLineModifier> {
    p.allow_only(&["max_ratio"])?;
    Ok(NumericRatioLineModifier {
        max: p.f64_or("max_ratio", 1.0)?,
    })
}

pub(crate) fn counter_line(p: &Params<'_>, _: &BuildContext) -> Result<CounterLineModifier> {
    p.allow_only(&[])?;
    Ok(CounterLineModifier)
}

pub(crate) fn line_length(p: &Params<'_>, _: &BuildContext) -> Result<LineLengthModifier> {
    p.allow_only(&["min_length", "max_length"])?;
    Ok(LineLengthModifier {
        min: p.f64_or("min_length", 0.0)?,
        max: p.f64_or("max_length", f64::INFINITY)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slm(banlist: &str, location: Location) -> SubstringLineModifier {
        SubstringLineModifier {
            pats: vec![Literal {
                chars: banlist.chars().map(|c| if c == '.' { None } else { Some(c) }).collect(),
            }],
            location,
            ignore_case: true,
            max_length: Some(10.0),
            remove_substring_only: true,
        }
    }

    fn apply(m: &dyn Mapper, t: &str) -> Option<String> {
        let mut d = Document::new(t);
        m.apply(&mut d).is_keep().then_some(d.text)
    }

    fn filter_lines_direct(text: &str, keep: impl Fn(&str) -> bool) -> Option<String> {
        let lines: Vec<&str> = text.split('\n').collect();
        let kept: Vec<&str> = lines.iter().copied().filter(|l| keep(l)).collect();
        (kept.len() != lines.len()).then(|| kept.join("\n"))
    }

    fn collapse_direct(text: &str, max: usize) -> String {
        let mut out = String::new();
        let mut run = 0;
        for c in text.chars() {
            if c == '\n' {
                run += 1;
                if run <= max {
                    out.push(c);
                }
            } else {
                run = 0;
                out.push(c);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn count_chars_equals_char_by_char(l in "[aZ09 .\u{2019}éÉ²٣Ⅻ]{0,40}") {
            let direct = |p: fn(char) -> bool| (l.chars().count(), l.chars().filter(|&c| p(c)).count());
            proptest::prop_assert_eq!(count_chars(&l, is_upper, (b'A', b'Z')), direct(is_upper));
            proptest::prop_assert_eq!(count_chars(&l, is_digit, (b'0', b'9')), direct(is_digit));
        }

        #[test]
        fn ascii_counter_match_equals_lowercased(l in "[ 1.,kKmMbB!-]{0,6}(likes|LIKES|Views|vIeWs|followers|x)?[ !.a]{0,3}") {
            proptest::prop_assert_eq!(is_counter_line_ascii(&l), is_counter_line(&lower(&l)));
        }

        #[test]
        fn edit_lines_equals_split_map_join(text in "[ab\n é]{0,30}", drop in "[ab ]", grow in "[ab ]") {
            let edit = |l: &str| {
                if l.starts_with(drop.as_str()) {
                    LineEdit::Drop
                } else if l.starts_with(grow.as_str()) {
                    LineEdit::Replace(format!("<{l}>"))
                } else {
                    LineEdit::Keep
                }
            };
            let lines: Vec<&str> = text.split('\n').collect();
            let mut changed = false;
            let mut want = Vec::new();
            for l in &lines {
                match edit(l) {
                    LineEdit::Keep => want.push(l.to_string()),
                    LineEdit::Drop => changed = true,
                    LineEdit::Replace(r) => {
                        changed = true;
                        want.push(r);
                    }
                }
            }
            proptest::prop_assert_eq!(edit_lines(&text, edit), changed.then(|| want.join("\n")));
        }

        #[test]
        fn filter_lines_equals_split_filter_join(text in "[ab\n é]{0,30}", drop in "[ab ]") {
            let keep = |l: &str| !l.starts_with(drop.as_str());
            proptest::prop_assert_eq!(filter_lines(&text, keep), filter_lines_direct(&text, keep));
        }

        #[test]
        fn collapse_newlines_equals_run_counting(text in "[a\né]{0,30}", max in 0usize..4) {
            let want = collapse_direct(&text, max);
            let got = collapse_newlines(&text, max, &NewlineRemovalModifier::new(max).runs).unwrap_or_else(|| text.clone());
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn find_equals_scan(
            line in "[ab. \u{a0}\u{212a}K\n]{0,16}",
            pats in proptest::collection::vec("[ab.k]{1,4}", 1..3),
            loc in 0usize..3,
            from in 0usize..6,
        ) {
            let location = [Location::Any, Location::Prefix, Location::Suffix][loc].clone();
            let mut m = slm("a", location);
            m.pats = pats
                .iter()
                .map(|p| Literal { chars: p.chars().map(|c| if c == '.' { None } else { Some(c) }).collect() })
                .collect();
            let from = line.char_indices().map(|(i, _)| i).chain([line.len()]).nth(from).unwrap_or(line.len());
            proptest::prop_assert_eq!(m.find(&line, from), m.scan(&line, from));
        }
    }

    #[test]
    fn ascii_counts_agree_with_python_predicates() {
        for b in 0u8..128 {
            assert_eq!(is_upper(b as char), b.is_ascii_uppercase(), "{b}");
            assert_eq!(is_digit(b as char), b.is_ascii_digit(), "{b}");
        }
        assert_eq!(count_chars("AbC1", is_upper, (b'A', b'Z')), (4, 2));
        assert_eq!(count_chars("\u{c0}bC1", is_upper, (b'A', b'Z')), (4, 2));
    }

    #[test]
    fn substring_lines() {
        let m = slm("items in cart", Location::Any);
        assert_eq!(apply(&m, "a\n0 Items in Cart\nb").unwrap(), "a\n0\nb");
        assert_eq!(apply(&m, "a\nitems in cart\nb").unwrap(), "a\nb");
        let r = slm("read more...", Location::Suffix);
        assert_eq!(apply(&r, "Intro text Read moreXYZ").unwrap(), "Intro text");
        assert_eq!(apply(&r, "Read more... now").unwrap(), "Read more... now");
        // DCLM quirk: blank eligible lines go even when nothing matched.
        assert_eq!(apply(&m, "a\n   \n\t\nb").unwrap(), "a\nb");
        let s = slm("sign-in", Location::Prefix);
        assert_eq!(apply(&s, "Sign-In here\nx").unwrap(), "here\nx");
        assert_eq!(apply(&s, "Sign-in"), None);
        // Lines over `max_length` words stay whatever matches, for every location; blank lines go for every one.
        let words = "one two three four five six seven eight nine ten eleven";
        for (modifier, line) in [
            (&m, format!("items in cart {words}")),
            (&r, format!("{words} Read more...")),
            (&s, format!("Sign-in {words}")),
        ] {
            assert_eq!(apply(modifier, &line).unwrap(), line);
            assert_eq!(apply(modifier, &format!("{line}\n \nz")).unwrap(), format!("{line}\nz"));
        }
        // Whole-line removal (remove_substring_only = false): only eligible lines with a match go.
        let whole = SubstringLineModifier {
            remove_substring_only: false,
            ..slm("sign-in", Location::Prefix)
        };
        assert_eq!(apply(&whole, "Sign-in now\nstay").unwrap(), "stay");
        let long = format!("Sign-in {words}\nstay");
        assert_eq!(apply(&whole, &long).unwrap(), long);
    }

    #[test]
    fn counters() {
        for l in ["12 likes", "1.2k views", "-- 3,400 followers!!", "5  comments"] {
            assert!(is_counter_line(l), "{l}");
        }
        for l in ["likes 12", "12 likes it", "12likes", "x 12 likes"] {
            assert!(!is_counter_line(l), "{l}");
        }
    }

    #[test]
    fn line_modifiers() {
        let u = UppercaseRatioLineModifier { max: 0.5 };
        assert_eq!(apply(&u, "ABC\nabc\n").unwrap(), "abc");
        let n = NumericRatioLineModifier { max: 0.999999 };
        assert_eq!(apply(&n, " 123\n456\nx1").unwrap(), "123\nx1");
        let l = LineLengthModifier {
            min: 2.0,
            max: f64::INFINITY,
        };
        assert_eq!(apply(&l, "one\n\ntwo words\n  \n").unwrap(), "\ntwo words\n");
        let nl = NewlineRemovalModifier::new(2);
        assert_eq!(apply(&nl, "a\n\n\n\nb\n\nc").unwrap(), "a\n\nb\n\nc");
    }
}
