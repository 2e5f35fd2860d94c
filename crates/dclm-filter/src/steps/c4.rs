//! The steps DCLM's `c4.yaml` (the C4 reproduction) needs beyond the RefinedWeb chain, from DCLM's
//! `modifiers.py`, `content_filters.py` and `core_utils.py`: `key_name_modifier`, `word_length_modifier`,
//! `citation_removal_modifier`, `punctuation_line_modifier`, `substring_filter` (lorem ipsum, `{`, and the
//! LDNOOBW bad words via `banlist_from_fname` + `exact_word`), `within_page_dedup`, `split_lines_modifier` /
//! `join_lines_modifier`, and `exact_dedup`.
//!
//! `split_lines_modifier` turns `text` into a JSON list of lines as in DCLM; `exact_dedup` on `text` and
//! `join_lines_modifier` read that list (and a string's `\n`-separated lines). Other text steps drop a page
//! whose `text` is a list with `error:text_not_string` (see `crate::pipeline`).
//!
//! Deviations, all on purpose and documented per step:
//! * `exact_dedup` is a *global* function in DCLM (its processor stops at it; a separate Ray job dedups the
//!   corpus). Here it is a stateful step shared by every document of one run: the **first document seen**
//!   keeps a URL / line (DCLM's `selection_key`/`selection_normalize` choice of which copy survives is accepted
//!   but not reproduced), so with several worker threads which copy survives depends on scheduling.
//! * Banlist entries are literal text (DCLM joins them into an unescaped regex); empty entries are rejected.

use crate::error::{FilterError, Result};
use crate::pipeline::{Filter, Mapper};
use crate::registry::{BuildContext, Params};
use crate::tokenize::{for_each_word, WordModel};
use dclm_core::pystr::{is_decimal, is_space, is_word, lower, strip};
use dclm_core::{Document, TextRef, Verdict};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Mutex;

fn finish(doc: &mut Document, out: Option<String>, reason: &'static str) -> Verdict {
    if let Some(o) = out {
        doc.text = o;
    }
    if doc.text.is_empty() {
        Verdict::Drop(reason)
    } else {
        Verdict::Keep
    }
}

/// Keep the `\n`-separated lines for which `keep` holds; `Some(new)` only when a line went.
fn keep_lines(text: &str, mut keep: impl FnMut(&str) -> bool) -> Option<String> {
    let mut kept: Vec<&str> = Vec::new();
    let mut dropped = false;
    for l in text.split('\n') {
        if keep(l) {
            kept.push(l);
        } else {
            dropped = true;
        }
    }
    dropped.then(|| kept.join("\n"))
}

/// `key_name_modifier`: rename `old_key` (default `content`) to `new_key` (default `text`). A no-op when
/// `old_key` is absent; when `new_key` already exists it is only overwritten with `allow_overwrite` (DCLM warns
/// and keeps the page otherwise). Either key may be `text`, whose value may be of any JSON type (DCLM's page
/// is a plain dict); text steps later drop a page whose `text` is not a string.
#[derive(Debug)]
pub struct KeyNameModifier {
    old: String,
    new: String,
    overwrite: bool,
}

fn has_key(doc: &Document, key: &str) -> bool {
    if key == dclm_core::keys::TEXT {
        doc.has_text_key()
    } else {
        doc.fields.contains_key(key)
    }
}

impl Mapper for KeyNameModifier {
    fn name(&self) -> &str {
        "key_name_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        if self.old == self.new || !has_key(doc, &self.old) {
            return Verdict::Keep;
        }
        if has_key(doc, &self.new) && !self.overwrite {
            return Verdict::Keep;
        }
        let v = if self.old == dclm_core::keys::TEXT {
            doc.take_text_value().unwrap_or(Value::Null)
        } else {
            doc.fields.shift_remove(&self.old).unwrap_or(Value::Null)
        };
        if self.new == dclm_core::keys::TEXT {
            doc.set_text_value(v);
        } else {
            doc.fields.insert(self.new.clone(), v);
        }
        Verdict::Keep
    }
}

pub(crate) fn key_name(p: &Params<'_>, _: &BuildContext) -> Result<KeyNameModifier> {
    p.allow_only(&["old_key", "new_key", "allow_overwrite"])?;
    Ok(KeyNameModifier {
        old: p.str_opt("old_key")?.unwrap_or("content").to_string(),
        new: p.str_opt("new_key")?.unwrap_or("text").to_string(),
        overwrite: p.bool_or("allow_overwrite", false)?,
    })
}

/// `word_length_modifier`: remove lines holding a word (DCLM `split_words`, `model` default `fasttext`) of
/// more than `max_length` code points; rejoin with `\n` (no strip); empty → drop.
#[derive(Debug)]
pub struct WordLengthModifier {
    max: usize,
    model: WordModel,
    ignore_punctuation: bool,
    ignore_whitespace: bool,
}

impl Mapper for WordLengthModifier {
    fn name(&self) -> &str {
        "word_length_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let out = keep_lines(&doc.text, |l| {
            // Cheap accept: a line no longer than max code points cannot hold a longer word.
            if l.len() <= self.max {
                return true;
            }
            let mut ok = true;
            for_each_word(l, self.model, self.ignore_punctuation, self.ignore_whitespace, |w| {
                if ok && w.chars().count() > self.max {
                    ok = false;
                }
            });
            ok
        });
        finish(doc, out, "empty_after_long_words")
    }
}

pub(crate) fn word_length_mod(p: &Params<'_>, _: &BuildContext) -> Result<WordLengthModifier> {
    p.allow_only(&["max_length", "model", "ignore_punctuation", "ignore_whitespace"])?;
    let model = p.choice("model", "fasttext", &["fasttext", "uniseg", "split"])?;
    Ok(WordLengthModifier {
        max: p.usize_or("max_length", 1000)?,
        model: WordModel::from_name(model).unwrap_or(WordModel::FastText),
        ignore_punctuation: p.bool_or("ignore_punctuation", false)?,
        ignore_whitespace: p.bool_or("ignore_whitespace", true)?,
    })
}

/// Byte length of a citation marker at the start of `s`: `\[\d*\]|\[edit\]|\[citation needed\]`.
fn citation_at(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('[')?;
    for lit in ["edit]", "citation needed]"] {
        if rest.starts_with(lit) {
            return Some(1 + lit.len());
        }
    }
    let mut n = 1;
    for c in rest.chars() {
        if c == ']' {
            return Some(n + 1);
        }
        if !is_decimal(c) {
            return None;
        }
        n += c.len_utf8();
    }
    None
}

/// `citation_removal_modifier`: delete every `[12]`, `[]`, `[edit]`, `[citation needed]` (`\d` is any Unicode
/// decimal, as in Python); empty → drop.
#[derive(Debug, Default)]
pub struct CitationRemovalModifier;

impl Mapper for CitationRemovalModifier {
    fn name(&self) -> &str {
        "citation_removal_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let t = &doc.text;
        if !t.contains('[') {
            return finish(doc, None, "empty_after_citations");
        }
        let mut out = String::with_capacity(t.len());
        let mut i = 0;
        let mut changed = false;
        while let Some(off) = t[i..].find('[') {
            let at = i + off;
            out.push_str(&t[i..at]);
            match citation_at(&t[at..]) {
                Some(n) => {
                    changed = true;
                    i = at + n;
                }
                None => {
                    out.push('[');
                    i = at + 1;
                }
            }
        }
        out.push_str(&t[i..]);
        finish(doc, changed.then_some(out), "empty_after_citations")
    }
}

pub(crate) fn citation_removal(p: &Params<'_>, _: &BuildContext) -> Result<CitationRemovalModifier> {
    p.allow_only(&[])?;
    Ok(CitationRemovalModifier)
}

/// The line without trailing Python whitespace (`\s*$`).
fn rstrip_space(l: &str) -> &str {
    l.trim_end_matches(is_space)
}

/// `[.!?"\u2026]\s*$`
pub fn ends_in_terminal_punct(l: &str) -> bool {
    matches!(
        rstrip_space(l).chars().next_back(),
        Some('.' | '!' | '?' | '"' | '\u{2026}')
    )
}

/// `(?:\.\.\.|\u2026)\s*$`
pub fn ends_in_ellipsis(l: &str) -> bool {
    let r = rstrip_space(l);
    r.ends_with("...") || r.ends_with('\u{2026}')
}

/// `punctuation_line_modifier` (C4's "lines must end in terminal punctuation"): keep empty lines and lines
/// ending in `.`, `!`, `?`, `"` or `…` (trailing whitespace allowed); with `remove_ellipses` (C4/TFDS
/// behaviour) also remove lines ending in `...` or `…`. Rejoin with `\n` (no strip); empty → drop.
#[derive(Debug)]
pub struct PunctuationLineModifier {
    remove_ellipses: bool,
}

impl Mapper for PunctuationLineModifier {
    fn name(&self) -> &str {
        "punctuation_line_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let out = keep_lines(&doc.text, |l| {
            (l.is_empty() || ends_in_terminal_punct(l)) && !(self.remove_ellipses && ends_in_ellipsis(l))
        });
        finish(doc, out, "empty_after_punctuation_lines")
    }
}

pub(crate) fn punctuation_line(p: &Params<'_>, _: &BuildContext) -> Result<PunctuationLineModifier> {
    p.allow_only(&["remove_ellipses"])?;
    Ok(PunctuationLineModifier {
        remove_ellipses: p.bool_or("remove_ellipses", false)?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Loc {
    Any,
    Prefix,
    Suffix,
}

/// Where C4's bad-words list comes from, for the error a missing `banlist_from_fname` gives.
pub const LDNOOBW_HINT: &str = "C4's LDNOOBW bad-words list is neither in the shared data nor in DCLM's repository: \
DCLM's c4.yaml reads it from baselines/mappers/banlists/ldnoobw.txt, the English list `en` of \
https://github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words (the list TFDS C4 uses); \
save it at that path under the assets folder, or give its absolute path";

/// `substring_filter`: drop the page when any banlist entry occurs in the (lowercased unless
/// `case_sensitive`) text; `exact_word` requires a Python `\b` on both sides; `location` `prefix`/`suffix`
/// anchor at the start / end (`$` also matches before a final `\n`). `banlist_from_fname` (one entry a line,
/// resolved against the assets folder) wins over `banlist`; C4 uses it for the LDNOOBW English list, which is
/// not in the shared data: pass its path.
#[derive(Debug)]
pub struct SubstringFilter {
    entries: Vec<String>,
    location: Loc,
    case_sensitive: bool,
    exact_word: bool,
}

impl SubstringFilter {
    fn matches(&self, text: &str) -> bool {
        let end_ok = |e: usize| e == text.len() || (e + 1 == text.len() && text.ends_with('\n'));
        for w in &self.entries {
            let starts: Box<dyn Iterator<Item = usize>> = match self.location {
                Loc::Prefix => Box::new(text.starts_with(w.as_str()).then_some(0).into_iter()),
                _ => Box::new(memchr::memmem::find_iter(text.as_bytes(), w.as_bytes())),
            };
            for s in starts {
                let e = s + w.len();
                if self.location == Loc::Suffix && !end_ok(e) {
                    continue;
                }
                if self.exact_word {
                    let bound = |i: usize| {
                        let before = text[..i].chars().next_back().is_some_and(is_word);
                        let after = text[i..].chars().next().is_some_and(is_word);
                        before != after
                    };
                    if !(bound(s) && bound(e)) {
                        continue;
                    }
                }
                return true;
            }
        }
        false
    }
}

impl Filter for SubstringFilter {
    fn name(&self) -> &str {
        "substring_filter"
    }
    fn check(&self, doc: &Document) -> Verdict {
        let text = if self.case_sensitive {
            std::borrow::Cow::Borrowed(doc.text.as_str())
        } else {
            lower(&doc.text)
        };
        Verdict::keep_if(!self.matches(&text), "banned_substring")
    }
}

pub(crate) fn substring(p: &Params<'_>, ctx: &BuildContext) -> Result<SubstringFilter> {
    p.allow_only(&[
        "banlist",
        "banlist_from_fname",
        "location",
        "case_sensitive",
        "exact_word",
    ])?;
    let case_sensitive = p.bool_or("case_sensitive", false)?;
    let entries = if let Some(f) = p.str_opt("banlist_from_fname")? {
        let path = ctx.resolve(f);
        let text = std::fs::read_to_string(&path).map_err(|e| FilterError::Asset {
            loc: p.loc().clone(),
            what: "substring_filter banlist",
            path: path.clone(),
            message: format!("{e} ({LDNOOBW_HINT})"),
        })?;
        // Python `splitlines()`.
        text.lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect::<Vec<_>>()
    } else {
        p.str_list_opt("banlist")?
            .ok_or_else(|| p.err("banlist", "required (or banlist_from_fname)"))?
    };
    if entries.is_empty() {
        return Err(p.err("banlist", "must not be empty"));
    }
    if entries.iter().any(String::is_empty) {
        return Err(p.err(
            "banlist",
            "empty entries are not accepted (in DCLM they match every page)",
        ));
    }
    let entries = entries
        .into_iter()
        .map(|e| if case_sensitive { e } else { lower(&e).into_owned() })
        .collect();
    let location = match p.choice("location", "any", &["any", "prefix", "suffix"])? {
        "prefix" => Loc::Prefix,
        "suffix" => Loc::Suffix,
        _ => Loc::Any,
    };
    Ok(SubstringFilter {
        entries,
        location,
        case_sensitive,
        exact_word: p.bool_or("exact_word", false)?,
    })
}

/// `within_page_dedup`: keep the first occurrence of each line (`granularity: line`, split on `\n`) or
/// paragraph (`paragraph`, `\n\n`), compared after `strip().lower()` when `normalize` (default); empty units are
/// always kept. Never drops the page (DCLM returns it even when empty).
#[derive(Debug)]
pub struct WithinPageDedup {
    sep: &'static str,
    normalize: bool,
}

impl Mapper for WithinPageDedup {
    fn name(&self) -> &str {
        "within_page_dedup"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let mut seen: HashSet<std::borrow::Cow<'_, str>> = HashSet::new();
        let mut kept: Vec<&str> = Vec::new();
        let mut dropped = false;
        for u in doc.text.split(self.sep) {
            let key = if self.normalize {
                lower(strip(u))
            } else {
                std::borrow::Cow::Borrowed(u)
            };
            if key.is_empty() || seen.insert(key) {
                kept.push(u);
            } else {
                dropped = true;
            }
        }
        if dropped {
            doc.text = kept.join(self.sep);
        }
        Verdict::Keep
    }
}

pub(crate) fn within_page_dedup(p: &Params<'_>, _: &BuildContext) -> Result<WithinPageDedup> {
    p.allow_only(&["granularity", "normalize"])?;
    let sep = match p.choice("granularity", "line", &["line", "paragraph"])? {
        "paragraph" => "\n\n",
        _ => "\n",
    };
    Ok(WithinPageDedup {
        sep,
        normalize: p.bool_or("normalize", true)?,
    })
}

fn delimiter(p: &Params<'_>) -> Result<String> {
    p.allow_only(&["delimiter"])?;
    let d = p.str_opt("delimiter")?.unwrap_or("\n");
    if d.is_empty() {
        // Python's `str.split('')` raises ValueError on every page.
        return Err(p.err("delimiter", "must not be empty"));
    }
    Ok(d.to_string())
}

fn text_error(doc: &Document) -> Verdict {
    Verdict::Drop(match doc.text_problem() {
        Some("missing_text") => "error:missing_text",
        _ => "error:text_not_string",
    })
}

/// `split_lines_modifier`: a string `text` becomes the list of its `delimiter`-separated parts (default `\n`,
/// Python `str.split`); an empty string drops the page; a list is left as it is; any other value is DCLM's
/// `TypeError` (`error:text_not_string`).
#[derive(Debug)]
pub struct SplitLinesModifier {
    delimiter: String,
}

impl Mapper for SplitLinesModifier {
    fn name(&self) -> &str {
        "split_lines_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        match doc.text_ref() {
            TextRef::Str("") => Verdict::Drop("empty"),
            TextRef::Str(t) => {
                let lines = t
                    .split(self.delimiter.as_str())
                    .map(|l| Value::String(l.to_string()))
                    .collect();
                doc.set_text_value(Value::Array(lines));
                Verdict::Keep
            }
            TextRef::Other(Value::Array(_)) => Verdict::Keep,
            _ => text_error(doc),
        }
    }
}

pub(crate) fn split_lines(p: &Params<'_>, _: &BuildContext) -> Result<SplitLinesModifier> {
    Ok(SplitLinesModifier {
        delimiter: delimiter(p)?,
    })
}

/// `join_lines_modifier`: a list `text` is joined with `delimiter` (default `\n`); an empty list drops the page;
/// a string is left as it is; a non-string element or any other value is DCLM's `TypeError`.
#[derive(Debug)]
pub struct JoinLinesModifier {
    delimiter: String,
}

impl Mapper for JoinLinesModifier {
    fn name(&self) -> &str {
        "join_lines_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let joined = match doc.text_ref() {
            TextRef::Str(_) => return Verdict::Keep,
            TextRef::Other(Value::Array(a)) if a.is_empty() => return Verdict::Drop("empty"),
            TextRef::Other(Value::Array(a)) => {
                let mut out = String::new();
                for (i, v) in a.iter().enumerate() {
                    let Value::String(l) = v else {
                        return Verdict::Drop("error:line_not_string");
                    };
                    if i > 0 {
                        out.push_str(&self.delimiter);
                    }
                    out.push_str(l);
                }
                out
            }
            _ => return text_error(doc),
        };
        doc.set_text(joined);
        Verdict::Keep
    }
}

pub(crate) fn join_lines(p: &Params<'_>, _: &BuildContext) -> Result<JoinLinesModifier> {
    Ok(JoinLinesModifier {
        delimiter: delimiter(p)?,
    })
}

/// DCLM `normalize_url` (TFDS C4): drop `https?://(www.)?` anywhere, cut at `?utm_`/`?ref`/`?feed`, strip
/// trailing `/`.
pub fn normalize_url(url: &str) -> String {
    let mut s = String::with_capacity(url.len());
    let mut i = 0;
    while i < url.len() {
        let rest = &url[i..];
        let scheme = ["https://", "http://"].into_iter().find(|p| rest.starts_with(p));
        if let Some(p) = scheme {
            i += p.len();
            if url[i..].starts_with("www.") {
                i += 4;
            }
            continue;
        }
        let c = rest.chars().next().unwrap_or('\0');
        s.push(c);
        i += c.len_utf8().max(1);
    }
    for q in ["?utm_", "?ref", "?feed"] {
        if let Some(at) = s.find(q) {
            s.truncate(at);
        }
    }
    s.trim_end_matches('/').to_string()
}

#[derive(Debug, Clone, Copy)]
enum DedupKey {
    Url,
    Lines { normalize: bool },
}

/// `exact_dedup` as a run-wide stateful step: `content_key: url` drops a page whose (normalized) URL was
/// already seen; `content_key: text` (a list of lines after `split_lines_modifier`, or a string's `\n` lines)
/// removes lines whose
/// `normalize_whitespace_and_lowercase` form was already seen on any page; blank lines are never deduped;
/// a page left empty is dropped. First seen wins (see the module notes).
#[derive(Debug)]
pub struct ExactDedup {
    key: DedupKey,
    seen: Mutex<HashSet<String>>,
}

impl Mapper for ExactDedup {
    fn name(&self) -> &str {
        "exact_dedup"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match self.key {
            DedupKey::Url => {
                let Some(u) = doc.url() else {
                    return Verdict::Drop("error:missing_url");
                };
                Verdict::keep_if(seen.insert(normalize_url(u)), "duplicate_url")
            }
            DedupKey::Lines { normalize } if !doc.has_string_text() => {
                let Some(Value::Array(lines)) = doc.text_other_mut() else {
                    return text_error(doc);
                };
                if lines.iter().any(|l| !l.is_string()) {
                    return Verdict::Drop("error:line_not_string");
                }
                lines.retain(|l| {
                    let l = l.as_str().unwrap_or_default();
                    let k = if normalize { lower(strip(l)) } else { l.into() };
                    k.is_empty() || seen.insert(k.into_owned())
                });
                let empty = lines.iter().all(|l| strip(l.as_str().unwrap_or_default()).is_empty());
                Verdict::keep_if(!empty, "all_lines_duplicate")
            }
            DedupKey::Lines { normalize } => {
                let out = keep_lines(&doc.text, |l| {
                    let k = if normalize { lower(strip(l)) } else { l.into() };
                    k.is_empty() || seen.insert(k.into_owned())
                });
                let empty = out
                    .as_deref()
                    .is_some_and(|o| o.split('\n').all(|l| strip(l).is_empty()));
                if let Some(o) = out {
                    doc.text = o;
                }
                Verdict::keep_if(!empty && !doc.text.is_empty(), "all_lines_duplicate")
            }
        }
    }
}

pub(crate) fn exact_dedup(p: &Params<'_>, _: &BuildContext) -> Result<ExactDedup> {
    p.allow_only(&["content_key", "normalize", "selection_key", "selection_normalize"])?;
    let ck = p.choice("content_key", "text", &["url", "text"])?;
    let norm = p.str_opt("normalize")?;
    let key = match (ck, norm) {
        ("url", None | Some("normalize_url")) => DedupKey::Url,
        ("text", None) => DedupKey::Lines { normalize: false },
        ("text", Some("normalize_whitespace_and_lowercase")) => DedupKey::Lines { normalize: true },
        (_, Some(n)) => {
            return Err(p.err(
                "normalize",
                format!("`{n}` is not supported for content_key {ck}; accepted: normalize_url (url), normalize_whitespace_and_lowercase (text)"),
            ))
        }
        _ => return Err(p.err("content_key", "accepted values: url, text")),
    };
    if let Some(s) = p.str_opt("selection_normalize")? {
        if s != "hash_text" {
            return Err(p.err("selection_normalize", "accepted values: hash_text"));
        }
    }
    p.str_opt("selection_key")?;
    Ok(ExactDedup {
        key,
        seen: Mutex::new(HashSet::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(m: &dyn Mapper, t: &str) -> Option<String> {
        let mut d = Document::new(t);
        m.apply(&mut d).is_keep().then_some(d.text)
    }

    #[test]
    fn punctuation_lines() {
        let m = PunctuationLineModifier { remove_ellipses: true };
        assert_eq!(
            apply(
                &m,
                "Keep me.\nno end\n\nQ? \nsaid \"hi\"\nwait...\nwait\u{2026}  \nbang!"
            )
            .unwrap(),
            "Keep me.\n\nQ? \nsaid \"hi\"\nbang!"
        );
        assert_eq!(apply(&m, "menu\nhome"), None);
        let keep_ell = PunctuationLineModifier { remove_ellipses: false };
        assert_eq!(apply(&keep_ell, "wait...\nx").unwrap(), "wait...");
        // Empty lines survive; a page of only empty lines is not empty.
        assert_eq!(apply(&m, "\n").unwrap(), "\n");
        assert!(ends_in_terminal_punct("a.\u{3000}"));
        assert!(!ends_in_terminal_punct("a,"));
    }

    #[test]
    fn citations() {
        let m = CitationRemovalModifier;
        assert_eq!(
            apply(&m, "Fact[1] and[23][edit] more[citation needed] [] [x] [1a] [\u{0663}]").unwrap(),
            "Fact and more  [x] [1a] "
        );
        assert_eq!(apply(&m, "[12][edit]"), None);
        assert_eq!(apply(&m, "unterminated [12").unwrap(), "unterminated [12");
    }

    #[test]
    fn word_length_lines() {
        let m = WordLengthModifier {
            max: 5,
            model: WordModel::Split,
            ignore_punctuation: false,
            ignore_whitespace: true,
        };
        assert_eq!(
            apply(&m, "short words ok\na toolongword here\nfine").unwrap(),
            "short words ok\nfine"
        );
        // Code points, not bytes: five é are five characters.
        assert_eq!(apply(&m, "ééééé  é").unwrap(), "ééééé  é");
        assert_eq!(apply(&m, "abcdefgh"), None);
    }

    fn sf(words: &[&str], location: Loc, exact_word: bool) -> SubstringFilter {
        SubstringFilter {
            entries: words.iter().map(|w| w.to_lowercase()).collect(),
            location,
            case_sensitive: false,
            exact_word,
        }
    }

    fn keeps(f: &SubstringFilter, t: &str) -> bool {
        f.check(&Document::new(t)).is_keep()
    }

    #[test]
    fn substring_filter_semantics() {
        let lorem = sf(&["lorem ipsum"], Loc::Any, false);
        assert!(!keeps(&lorem, "Some LOREM Ipsum dolor"));
        assert!(keeps(&lorem, "lorem, ipsum"));
        let brace = sf(&["{"], Loc::Any, false);
        assert!(!keeps(&brace, "function() { x }"));
        // A small LDNOOBW-style list with whole-word matching.
        let bad = sf(&["ass", "xx"], Loc::Any, true);
        assert!(keeps(&bad, "A classic class assignment."));
        assert!(!keeps(&bad, "What an Ass!"));
        assert!(!keeps(&bad, "ass"));
        assert!(keeps(&bad, "xxx"));
        assert!(!keeps(&bad, "x xx_ xx"));
        let pre = sf(&["hello"], Loc::Prefix, false);
        assert!(!keeps(&pre, "Hello world"));
        assert!(keeps(&pre, " hello"));
        let suf = sf(&["end"], Loc::Suffix, false);
        assert!(!keeps(&suf, "the end"));
        assert!(!keeps(&suf, "the end\n"));
        assert!(keeps(&suf, "the end.\n"));
    }

    #[test]
    fn within_page() {
        let m = WithinPageDedup {
            sep: "\n",
            normalize: true,
        };
        assert_eq!(
            apply(&m, "A line\n\n a LINE \nother\n\nA line").unwrap(),
            "A line\n\nother\n"
        );
        let raw = WithinPageDedup {
            sep: "\n",
            normalize: false,
        };
        assert_eq!(apply(&raw, "x\nX\nx").unwrap(), "x\nX");
        assert_eq!(apply(&m, "").unwrap(), "");
    }

    #[test]
    fn urls_normalize_like_tfds() {
        assert_eq!(normalize_url("https://www.x.com/a/?utm_source=z"), "x.com/a");
        assert_eq!(normalize_url("http://x.com/a///"), "x.com/a");
        assert_eq!(normalize_url("http://x.com/a?ref=1"), "x.com/a");
        assert_eq!(normalize_url("http://x.com/a?id=1"), "x.com/a?id=1");
    }

    #[test]
    fn exact_dedup_first_seen_wins() {
        let urls = ExactDedup {
            key: DedupKey::Url,
            seen: Mutex::new(HashSet::new()),
        };
        let mut a = Document::with_url("a", "https://www.x.com/p/");
        let mut b = Document::with_url("b", "http://x.com/p");
        let mut c = Document::new("no url");
        assert!(urls.apply(&mut a).is_keep());
        assert_eq!(urls.apply(&mut b), Verdict::Drop("duplicate_url"));
        assert_eq!(urls.apply(&mut c), Verdict::Drop("error:missing_url"));
        let lines = ExactDedup {
            key: DedupKey::Lines { normalize: true },
            seen: Mutex::new(HashSet::new()),
        };
        assert_eq!(
            apply(&lines, "Shared line.\n\nOwn one.").unwrap(),
            "Shared line.\n\nOwn one."
        );
        assert_eq!(apply(&lines, " shared LINE.\n\nNew.").unwrap(), "\nNew.");
        assert_eq!(apply(&lines, "own one.\n\n"), None);
        // The list form split_lines_modifier produces.
        let mut d = Document::new("");
        d.set_text_value(serde_json::json!(["NEW.", "fresh", ""]));
        assert!(lines.apply(&mut d).is_keep());
        assert_eq!(d.text_value(), Some(serde_json::json!(["fresh", ""])));
        d.set_text_value(serde_json::json!(["fresh"]));
        assert_eq!(lines.apply(&mut d), Verdict::Drop("all_lines_duplicate"));
    }

    #[test]
    fn key_rename() {
        let m = KeyNameModifier {
            old: "content".into(),
            new: "text".into(),
            overwrite: false,
        };
        let mut d = Document::without_text(Default::default());
        d.set("content", Value::String("moved".into()));
        assert!(m.apply(&mut d).is_keep());
        assert_eq!(d.text, "moved");
        assert!(d.get("content").is_none());
        let mut d = Document::new("already");
        d.set("content", Value::String("other".into()));
        assert!(m.apply(&mut d).is_keep());
        assert_eq!(d.text, "already");
        // DCLM's page is a dict: any value moves, and an empty `text` still counts as present.
        let mut d = Document::without_text(Default::default());
        d.set("content", Value::from(3));
        assert!(m.apply(&mut d).is_keep());
        assert_eq!(d.to_json_line(), r#"{"text":3}"#);
        let mut d = Document::new("");
        d.set("content", Value::String("c".into()));
        assert!(m.apply(&mut d).is_keep());
        assert_eq!(d.text, "");
        let back = KeyNameModifier {
            old: "text".into(),
            new: "raw".into(),
            overwrite: false,
        };
        let mut d = Document::new("t");
        assert!(back.apply(&mut d).is_keep());
        assert_eq!(d.to_json_line(), r#"{"raw":"t"}"#);
    }

    #[test]
    fn split_and_join_lines_like_dclm() {
        let split = SplitLinesModifier { delimiter: "\n".into() };
        let join = JoinLinesModifier { delimiter: "\n".into() };
        let mut d = Document::new("a\n\nb");
        assert!(split.apply(&mut d).is_keep());
        assert_eq!(d.text_value(), Some(serde_json::json!(["a", "", "b"])));
        // Already a list: left alone; then joined back.
        assert!(split.apply(&mut d).is_keep());
        assert!(join.apply(&mut d).is_keep());
        assert_eq!(d.text, "a\n\nb");
        assert!(join.apply(&mut d).is_keep());
        assert_eq!(split.apply(&mut Document::new("")), Verdict::Drop("empty"));
        let mut d = Document::new("");
        d.set_text_value(serde_json::json!([]));
        assert_eq!(join.apply(&mut d), Verdict::Drop("empty"));
        d.set_text_value(serde_json::json!(["a", 1]));
        assert_eq!(join.apply(&mut d), Verdict::Drop("error:line_not_string"));
        d.set_text_value(serde_json::json!(7));
        assert_eq!(split.apply(&mut d), Verdict::Drop("error:text_not_string"));
        assert_eq!(join.apply(&mut d), Verdict::Drop("error:text_not_string"));
        let mut none = Document::without_text(Default::default());
        assert_eq!(split.apply(&mut none), Verdict::Drop("error:missing_text"));
        let tab = SplitLinesModifier { delimiter: "\t".into() };
        let mut d = Document::new("x\ty");
        assert!(tab.apply(&mut d).is_keep());
        assert_eq!(d.text_value(), Some(serde_json::json!(["x", "y"])));
    }

    fn build(yaml_steps: &str, ctx: &BuildContext) -> crate::Result<crate::Pipeline> {
        let yaml = format!("- source: cc\n  steps:\n{yaml_steps}");
        let c = crate::PipelineConfig::parse(&yaml, "x.yaml")?;
        Ok(c.build(&crate::Registry::dclm(), ctx, &crate::LoadOptions::default())?
            .pipeline)
    }

    #[test]
    fn banlist_from_file_like_ldnoobw() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lists")).unwrap();
        std::fs::write(dir.path().join("lists/bad.txt"), "darn\nheck it\n").unwrap();
        let ctx = BuildContext::new(dir.path());
        let p = build(
            "    - func: substring_filter\n      banlist_from_fname: lists/bad.txt\n      exact_word: True\n",
            &ctx,
        )
        .unwrap();
        assert!(p.run(Document::new("Darn, that was close.")).is_none());
        assert!(p.run(Document::new("Oh HECK IT all")).is_none());
        assert!(p.run(Document::new("darned heck its")).is_some());
        // A missing list names the file and says where C4's LDNOOBW list comes from.
        let e = build(
            "    - func: substring_filter\n      banlist_from_fname: lists/ldnoobw.txt\n",
            &ctx,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("ldnoobw.txt") && e.contains("github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene"),
            "{e}"
        );
    }

    #[test]
    fn bad_params_are_rejected_up_front() {
        let ctx = BuildContext::default();
        for (steps, needle) in [
            (
                "    - func: split_lines_modifier\n      delimiter: \"\"\n",
                "must not be empty",
            ),
            (
                "    - func: exact_dedup\n      content_key: url\n      normalize: hash_text\n",
                "not supported",
            ),
            (
                "    - func: exact_dedup\n      content_key: id\n",
                "accepted values: url, text",
            ),
            ("    - func: substring_filter\n", "required"),
            (
                "    - func: substring_filter\n      banlist: ['a', '']\n",
                "empty entries",
            ),
            (
                "    - func: within_page_dedup\n      granularity: sentence\n",
                "accepted values: line, paragraph",
            ),
            (
                "    - func: punctuation_line_modifier\n      remove_ellipses: maybe\n",
                "expected true or false",
            ),
            (
                "    - func: detect_lang_whole_page_enricher\n      model: langdetect\n",
                "with_langdetect",
            ),
            (
                "    - func: page_length_filter\n      length_type: sentence\n      tokenizer: spacy\n",
                "nltk",
            ),
        ] {
            let e = build(steps, &ctx).unwrap_err().to_string();
            assert!(e.contains(needle), "{steps}: {e}");
        }
    }
}
