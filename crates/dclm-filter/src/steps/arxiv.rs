//! DCLM's arXiv LaTeX cleaners (from RedPajama-v1's `arxiv_cleaner.py`, in DCLM's `modifiers.py`):
//! `arxiv_appendix_modifier`, `arxiv_comment_modifier`, `arxiv_macro_modifier` and
//! `arxiv_section_strip_modifier`. DCLM writes them as Python regexes; each is matched here by hand with the same
//! leftmost, non-overlapping, lazy/greedy semantics, including the quirks noted per step.

use crate::error::Result;
use crate::pipeline::Mapper;
use crate::registry::{BuildContext, Params};
use dclm_core::pystr::{is_space, is_word};
use dclm_core::{Document, TextRef, Verdict};
use memchr::memmem;

fn finish(doc: &mut Document, out: Option<String>) -> Verdict {
    if let Some(o) = out {
        doc.text = o;
    }
    Verdict::keep_if(!doc.text.is_empty(), "empty")
}

/// `arxiv_appendix_modifier`: cut the text at the first `\appendix`, `\begin{references}`,
/// `\begin{REFERENCES}`, `\begin{thebibliography}`, or `\bibliography{` that has a `}` anywhere after it (DCLM:
/// `\bibliography\{.*?\}.*$` with DOTALL). Empty → drop.
#[derive(Debug, Default)]
pub struct ArxivAppendixModifier;

/// Byte offset where the appendix-like tail starts, if any.
pub fn appendix_start(t: &str) -> Option<usize> {
    const PLAIN: [&str; 4] = [
        "\\appendix",
        "\\begin{references}",
        "\\begin{REFERENCES}",
        "\\begin{thebibliography}",
    ];
    let last_brace = t.rfind('}');
    memchr::memchr_iter(b'\\', t.as_bytes()).find(|&i| {
        let rest = &t[i..];
        PLAIN.iter().any(|p| rest.starts_with(p))
            || (rest.starts_with("\\bibliography{") && last_brace.is_some_and(|b| b >= i + "\\bibliography{".len()))
    })
}

impl Mapper for ArxivAppendixModifier {
    fn name(&self) -> &str {
        "arxiv_appendix_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let out = appendix_start(&doc.text).map(|at| doc.text[..at].to_string());
        finish(doc, out)
    }
}

pub(crate) fn appendix(p: &Params<'_>, _: &BuildContext) -> Result<ArxivAppendixModifier> {
    p.allow_only(&[])?;
    Ok(ArxivAppendixModifier)
}

/// `arxiv_comment_modifier`: remove every line that starts with `%` (with its newline), then every in-line
/// comment `[^\\]%.+$` — the character before the `%` goes too, as in DCLM, and a `%` at the end of a line
/// stays; with `remove_multiline` also every `\begin{comment}…\end{comment}`. Empty → drop.
#[derive(Debug)]
pub struct ArxivCommentModifier {
    remove_multiline: bool,
}

/// The comment removal of [`ArxivCommentModifier`] on one text.
pub fn remove_comments(t: &str, remove_multiline: bool) -> String {
    // `(?m)^%.*\n?`
    let mut s = String::with_capacity(t.len());
    for line in t.split_inclusive('\n') {
        if !line.starts_with('%') {
            s.push_str(line);
        }
    }
    // `[^\\]%.+$` (MULTILINE): a non-backslash character, `%`, at least one more character on the line.
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or('\0');
        let pct = i + c.len_utf8();
        if c != '\\' && b.get(pct) == Some(&b'%') && b.get(pct + 1).is_some_and(|&n| n != b'\n') {
            let eol = memchr::memchr(b'\n', &b[pct..]).map_or(s.len(), |k| pct + k);
            out.push_str(&s[copied..i]);
            copied = eol;
            i = eol;
        } else {
            i = pct;
        }
    }
    out.push_str(&s[copied..]);
    if !remove_multiline {
        return out;
    }
    // `\\begin{comment}.*?\\end{comment}` (DOTALL).
    let (open, close) = ("\\begin{comment}", "\\end{comment}");
    let mut res = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(a) = memmem::find(rest.as_bytes(), open.as_bytes()) {
        let Some(z) = memmem::find(&rest.as_bytes()[a + open.len()..], close.as_bytes()) else {
            break;
        };
        res.push_str(&rest[..a]);
        rest = &rest[a + open.len() + z + close.len()..];
    }
    res.push_str(rest);
    res
}

impl Mapper for ArxivCommentModifier {
    fn name(&self) -> &str {
        "arxiv_comment_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let out = remove_comments(&doc.text, self.remove_multiline);
        finish(doc, Some(out))
    }
}

pub(crate) fn comment(p: &Params<'_>, _: &BuildContext) -> Result<ArxivCommentModifier> {
    p.allow_only(&["remove_multiline"])?;
    Ok(ArxivCommentModifier {
        remove_multiline: p.bool_or("remove_multiline", false)?,
    })
}

/// End of the line containing byte `from` (index of the next `\n`, or the text's end).
fn line_end(t: &str, from: usize) -> usize {
    memchr::memchr(b'\n', &t.as_bytes()[from..]).map_or(t.len(), |k| from + k)
}

/// `\{(.*?)\}$` from `open` (the `{`): the body up to a `}` that ends its line.
fn body_to_eol(t: &str, open: usize) -> Option<(usize, usize)> {
    if t.as_bytes().get(open) != Some(&b'{') {
        return None;
    }
    let start = open + 1;
    let eol = line_end(t, start);
    (eol > start && t.as_bytes()[eol - 1] == b'}').then_some((start, eol - 1))
}

/// `\\[a-zA-Z0-9]+` at `at`: the end of the name.
fn macro_name_end(t: &str, at: usize) -> Option<usize> {
    let b = t.as_bytes();
    if b.get(at) != Some(&b'\\') {
        return None;
    }
    let n = b[at + 1..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    (n > 0).then_some(at + 1 + n)
}

/// Macro definitions without arguments, as DCLM collects them: `(name, value)` of
/// `\\\bnewcommand\b\*?\{(\\[a-zA-Z0-9]+?)\}\{(.*?)\}$` or `\\def\s*(\\[a-zA-Z0-9]+?)\s*\{(.*?)\}$`.
fn find_defs(t: &str, newcommand: bool) -> Vec<(&str, &str)> {
    let lit = if newcommand { "\\newcommand" } else { "\\def" };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = memmem::find(&t.as_bytes()[from..], lit.as_bytes()) {
        let p = from + k;
        let m = if newcommand {
            let mut q = p + lit.len();
            if t.as_bytes().get(q) == Some(&b'*') {
                q += 1;
            }
            (t.as_bytes().get(q) == Some(&b'{'))
                .then(|| macro_name_end(t, q + 1))
                .flatten()
                .filter(|&e| t.as_bytes().get(e) == Some(&b'}'))
                .and_then(|e| body_to_eol(t, e + 1).map(|(bs, be)| (&t[q + 1..e], &t[bs..be], be + 1)))
        } else {
            let q = p + lit.len();
            let q = q + t[q..]
                .chars()
                .take_while(|&c| is_space(c))
                .map(char::len_utf8)
                .sum::<usize>();
            macro_name_end(t, q).and_then(|e| {
                let o = e + t[e..]
                    .chars()
                    .take_while(|&c| is_space(c))
                    .map(char::len_utf8)
                    .sum::<usize>();
                body_to_eol(t, o).map(|(bs, be)| (&t[q..e], &t[bs..be], be + 1))
            })
        };
        match m {
            Some((name, value, end)) => {
                out.push((name, value));
                from = end;
            }
            None => from = p + 1,
        }
    }
    out
}

/// `arxiv_macro_modifier`: expand argument-less macros defined by `\newcommand{\x}{…}` / `\def\x{…}` (the
/// definition's `}` ending its line). Each `\x` followed by a non-alphanumeric character is replaced, that
/// character kept; matches do not overlap, so in `\x\x.` only the first is expanded, and the definitions
/// themselves are rewritten too (both as in DCLM). Macros are applied in order of first definition (`\newcommand`
/// ones first), a later definition's value winning. DCLM passes the value through `unicode-escape` into a regex
/// replacement, which raises for a value holding a non-ASCII or control character other than tab and
/// carriage return: such a page is dropped with `error:bad_macro_value`. A page without `text` reads as `''`
/// (dropped as empty). Empty → drop.
#[derive(Debug, Default)]
pub struct ArxivMacroModifier;

/// The expansion of [`ArxivMacroModifier`] on one text; `Err` for a value DCLM's `re.sub` rejects.
pub fn expand_macros(t: &str) -> std::result::Result<String, &'static str> {
    let mut macros: Vec<(String, String)> = Vec::new();
    for newcommand in [true, false] {
        for (name, value) in find_defs(t, newcommand) {
            match macros.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value.to_string(),
                None => macros.push((name.to_string(), value.to_string())),
            }
        }
    }
    if macros
        .iter()
        .any(|(_, v)| v.chars().any(|c| !((' '..='~').contains(&c) || c == '\t' || c == '\r')))
    {
        return Err("error:bad_macro_value");
    }
    let mut content = t.to_string();
    for (name, value) in &macros {
        let b = content.as_bytes();
        let mut out = String::with_capacity(content.len());
        let mut copied = 0;
        let mut from = 0;
        while let Some(k) = memmem::find(&b[from..], name.as_bytes()) {
            let at = from + k;
            let after = at + name.len();
            match content[after..].chars().next() {
                Some(c) if !c.is_ascii_alphanumeric() => {
                    out.push_str(&content[copied..at]);
                    out.push_str(value);
                    out.push(c);
                    copied = after + c.len_utf8();
                    from = copied;
                }
                _ => from = at + 1,
            }
        }
        out.push_str(&content[copied..]);
        content = out;
    }
    Ok(content)
}

impl Mapper for ArxivMacroModifier {
    fn name(&self) -> &str {
        "arxiv_macro_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        match doc.text_ref() {
            TextRef::Str(_) => {}
            TextRef::Absent => return Verdict::Drop("empty"),
            TextRef::Other(_) => return Verdict::Drop("error:text_not_string"),
        }
        match expand_macros(&doc.text) {
            Ok(out) => finish(doc, Some(out)),
            Err(reason) => Verdict::Drop(reason),
        }
    }
}

pub(crate) fn macros(p: &Params<'_>, _: &BuildContext) -> Result<ArxivMacroModifier> {
    p.allow_only(&[])?;
    Ok(ArxivMacroModifier)
}

/// Every end offset `\\\bNAME\b\*?(?:\[(.*?)\])?\{(.*?)\}` can reach from `at` (DOTALL; the lazy groups may
/// stretch when what follows fails), in the order the regex engine tries them.
fn command_ends(t: &str, at: usize, name: &str, mut found: impl FnMut(usize) -> bool) -> bool {
    let b = t.as_bytes();
    if b.get(at) != Some(&b'\\') || !t[at + 1..].starts_with(name) {
        return false;
    }
    let mut q = at + 1 + name.len();
    if t[q..].chars().next().is_some_and(is_word) {
        return false;
    }
    if b.get(q) == Some(&b'*') {
        q += 1;
    }
    let braces_from = |open: usize, found: &mut dyn FnMut(usize) -> bool| -> bool {
        if b.get(open) != Some(&b'{') {
            return false;
        }
        memchr::memchr_iter(b'}', &b[open + 1..]).any(|k| found(open + 1 + k + 1))
    };
    match b.get(q) {
        Some(b'[') => memchr::memchr_iter(b']', &b[q + 1..]).any(|k| braces_from(q + 1 + k + 1, &mut found)),
        _ => braces_from(q, &mut found),
    }
}

/// Offset of the first section-like command DCLM's pattern accepts, if any.
pub fn section_start(t: &str) -> Option<usize> {
    const SIMPLE: [&str; 5] = ["chapter", "part", "section", "subsection", "subsubsection"];
    memchr::memchr_iter(b'\\', t.as_bytes()).find(|&h| {
        SIMPLE.iter().any(|n| command_ends(t, h, n, |_| true))
            // DCLM's pattern lacks a `|` between its last two alternatives: `\paragraph{…}` must be followed
            // directly by `\subparagraph{…}`.
            || command_ends(t, h, "paragraph", |e| command_ends(t, e, "subparagraph", |_| true))
    })
}

/// `arxiv_section_strip_modifier`: drop everything before the first `\chapter`, `\part`, `\section`,
/// `\subsection`, `\subsubsection` (optional `*` and `[…]`, then `{…}`), or `\paragraph{…}\subparagraph{…}`
/// (DCLM's pattern joins those two without a `|`); a page with none is dropped.
#[derive(Debug, Default)]
pub struct ArxivSectionStripModifier;

impl Mapper for ArxivSectionStripModifier {
    fn name(&self) -> &str {
        "arxiv_section_strip_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let Some(at) = section_start(&doc.text) else {
            return Verdict::Drop("no_section");
        };
        let out = (at > 0).then(|| doc.text[at..].to_string());
        finish(doc, out)
    }
}

pub(crate) fn section_strip(p: &Params<'_>, _: &BuildContext) -> Result<ArxivSectionStripModifier> {
    p.allow_only(&[])?;
    Ok(ArxivSectionStripModifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_cuts_at_the_first_marker() {
        assert_eq!(appendix_start("body \\appendix more"), Some(5));
        assert_eq!(appendix_start("a \\begin{thebibliography} b \\appendix"), Some(2));
        assert_eq!(appendix_start("x \\bibliography{refs}"), Some(2));
        // `\bibliography\{.*?\}` needs a closing brace somewhere after.
        assert_eq!(appendix_start("x \\bibliography{refs"), None);
        assert_eq!(appendix_start("x \\bibliography{ \\appendix"), Some(17));
        assert_eq!(
            appendix_start("\\begin{References}"),
            None,
            "case-sensitive but for REFERENCES"
        );
        let mut d = Document::new("\\appendix all");
        assert_eq!(ArxivAppendixModifier.apply(&mut d), Verdict::Drop("empty"));
        let mut d = Document::new("Intro.\n\\begin{references}\n[1] x");
        assert!(ArxivAppendixModifier.apply(&mut d).is_keep());
        assert_eq!(d.text, "Intro.\n");
    }

    #[test]
    fn comments_line_inline_and_block() {
        assert_eq!(remove_comments("%c\na\n%d\nb", false), "a\nb");
        // The character before an in-line `%` goes with the comment; an escaped `\%` stays.
        assert_eq!(
            remove_comments("x = 5 % five\n50\\% off\n", false),
            "x = 5\n50\\% off\n"
        );
        // `%` at the end of a line is not matched (`.+` needs a character).
        assert_eq!(remove_comments("end%\nz", false), "end%\nz");
        assert_eq!(remove_comments("ab%%c", false), "a");
        let block = "a\\begin{comment}x\n%y\\end{comment}b\\begin{comment}open";
        assert_eq!(remove_comments(block, false), "a\\begin{comment}x\n");
        assert_eq!(remove_comments("a\\begin{comment}x\\end{comment}b", true), "ab");
        assert_eq!(
            remove_comments("a\\begin{comment}x\\end{comment}b\\begin{comment}open", true),
            "ab\\begin{comment}open"
        );
        let m = ArxivCommentModifier {
            remove_multiline: false,
        };
        assert_eq!(m.apply(&mut Document::new("%only\n")), Verdict::Drop("empty"));
    }

    #[test]
    fn macros_expand_like_dclm() {
        let t = "\\newcommand{\\R}{\\mathbb{R}}\n\\def\\eps {\\varepsilon}\nx in \\R, \\eps.\n\\Rx \\R\\R.";
        assert_eq!(
            expand_macros(t).unwrap(),
            // The definition line is rewritten too; `\Rx` is another name; `\R\R.`: only the first expands.
            "\\newcommand{\\mathbb{R}}{\\mathbb{R}}\n\\def\\varepsilon {\\varepsilon}\nx in \\mathbb{R}, \\varepsilon.\n\\Rx \\mathbb{R}\\R."
        );
        // The body must end its line.
        assert_eq!(
            expand_macros("\\newcommand{\\a}{b} % c\n\\a.").unwrap(),
            "\\newcommand{\\a}{b} % c\n\\a."
        );
        // `\def` may put whitespace (and newlines) before the name and the brace.
        assert_eq!(expand_macros("\\def\n\\a\n{B}\n\\a!").unwrap(), "\\def\nB\n{B}\nB!");
        // A later definition wins; a macro at the very end (no following character) is not expanded.
        assert_eq!(
            expand_macros("\\def\\a{1}\n\\def\\a{2}\n\\a \\a").unwrap(),
            "\\def2{1}\n\\def2{2}\n2 \\a"
        );
        assert_eq!(expand_macros("\\def\\a{é}\n\\a "), Err("error:bad_macro_value"));
        assert_eq!(
            ArxivMacroModifier.apply(&mut Document::without_text(Default::default())),
            Verdict::Drop("empty")
        );
    }

    #[test]
    fn section_strip_finds_the_first_header() {
        assert_eq!(section_start("pre\\section{Intro} x"), Some(3));
        assert_eq!(section_start("\\documentclass{a}\\subsection*[s]{S}"), Some(17));
        assert_eq!(section_start("\\sectionx{A}"), None, "word boundary");
        assert_eq!(section_start("\\section{unclosed"), None);
        assert_eq!(
            section_start("\\section[a]b]{c}"),
            Some(0),
            "the bracket group stretches"
        );
        assert_eq!(
            section_start("\\paragraph{P} text"),
            None,
            "needs \\subparagraph right after"
        );
        assert_eq!(section_start("a\\paragraph{P}\\subparagraph{Q}"), Some(1));
        assert_eq!(
            section_start("a\\paragraph{P}x}\\subparagraph{Q}"),
            Some(1),
            "lazy body stretches"
        );
        let mut d = Document::new("preamble\n\\chapter{One}\nText");
        assert!(ArxivSectionStripModifier.apply(&mut d).is_keep());
        assert_eq!(d.text, "\\chapter{One}\nText");
        assert_eq!(
            ArxivSectionStripModifier.apply(&mut Document::new("no headers")),
            Verdict::Drop("no_section")
        );
    }
}
