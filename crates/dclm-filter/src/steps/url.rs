//! URL steps: `move_url_modifier`, `url_substring_filter` (banlists: substring, `\b`-word and exact-domain
//! modes) and `url_removal_modifier` (TLD- and IPv4-based URL stripping from the text), with DCLM's quirks.

use crate::error::Result;
use crate::matcher::CharTrie;
use crate::pipeline::{Filter, Mapper};
use crate::registry::{BuildContext, Params};
use dclm_core::pystr::{is_space, is_word_boundary, lower};
use dclm_core::{keys, Document, Verdict};
use rustc_hash::FxHashSet;
use serde_json::Value;

/// `move_url_modifier`: `url := metadata["WARC-Target-URI"]` (any JSON value, as DCLM copies it).
/// A page without that header is dropped as an error, as DCLM's `KeyError` does.
#[derive(Debug, Default)]
pub struct MoveUrlModifier;

impl Mapper for MoveUrlModifier {
    fn name(&self) -> &str {
        "move_url_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let v = doc.metadata().and_then(|m| m.get(keys::WARC_TARGET_URI)).cloned();
        match v {
            Some(v) => {
                doc.set(keys::URL, v);
                Verdict::Keep
            }
            None => Verdict::Drop("error:missing_warc_target_uri"),
        }
    }
    fn modifies_text(&self) -> bool {
        false
    }
}

pub(crate) fn move_url(p: &Params<'_>, _: &BuildContext) -> Result<MoveUrlModifier> {
    p.allow_only(&[])?;
    Ok(MoveUrlModifier)
}

/// Read a banlist file as Python's `file.read().splitlines()` does.
pub(crate) fn read_lines(p: &Params<'_>, ctx: &BuildContext, fname: &str, what: &'static str) -> Result<Vec<String>> {
    let path = ctx.resolve(fname);
    let text = std::fs::read_to_string(&path).map_err(|e| crate::FilterError::Asset {
        loc: p.loc().clone(),
        what,
        path: path.clone(),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "{e}. DCLM downloads some banlists at setup (e.g. refinedweb_banned_domains_curated.txt); \
                 provide the file, or skip this step explicitly (LoadOptions::skip_steps / --skip-step {})",
                p.loc().index
            )
        } else {
            e.to_string()
        },
    })?;
    Ok(dclm_core::pystr::splitlines(&text)
        .into_iter()
        .map(str::to_string)
        .collect())
}

enum UrlMode {
    Exact(FxHashSet<String>),
    Pattern { trie: CharTrie, word_boundary: bool },
}

/// `url_substring_filter`. Faithful by default, including the `ignore_chars: ['www']` quirk of exact-domain
/// mode (`www.x.com` → `.x.com`, `awwwards.com` → `aards.com`). The extension parameter `fix_www: true`
/// gives the corrected matching instead: the host (no userinfo/port) with one leading `www.` removed.
pub struct UrlSubstringFilter {
    mode: UrlMode,
    ignore_chars: Vec<String>,
    num_banned_substrs: usize,
    case_sensitive: bool,
    fix_www: bool,
}

impl Filter for UrlSubstringFilter {
    fn name(&self) -> &str {
        "url_substring_filter"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn check(&self, doc: &Document) -> Verdict {
        let url = match doc.get(keys::URL) {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Verdict::Drop("error:url_not_string"),
            None => return Verdict::Drop("error:missing_url"),
        };
        match &self.mode {
            UrlMode::Exact(set) => {
                let netloc = match urlparse_netloc(url) {
                    Ok(n) => n,
                    Err(reason) => return Verdict::Drop(reason),
                };
                let mut host = if self.case_sensitive {
                    netloc.clone()
                } else {
                    lower(&netloc).into_owned()
                };
                if self.fix_www {
                    host = hostname_of(&host).to_string();
                    if let Some(rest) = host.strip_prefix("www.") {
                        host = rest.to_string();
                    }
                } else {
                    for c in &self.ignore_chars {
                        if host.contains(c.as_str()) {
                            host = host.replace(c.as_str(), "");
                        }
                    }
                }
                Verdict::keep_if(!set.contains(&host), "banned_domain")
            }
            UrlMode::Pattern { trie, word_boundary } => {
                let mut u = if self.case_sensitive {
                    std::borrow::Cow::Borrowed(url)
                } else {
                    lower(url)
                };
                for c in &self.ignore_chars {
                    if u.contains(c.as_str()) {
                        u = std::borrow::Cow::Owned(u.replace(c.as_str(), ""));
                    }
                }
                let mut seen: Vec<&str> = Vec::new();
                let need = self.num_banned_substrs;
                trie.find_all(&u, *word_boundary, |s, e| {
                    let m = &u[s..e];
                    if !seen.contains(&m) {
                        seen.push(m);
                    }
                    seen.len() < need
                });
                Verdict::keep_if(seen.len() < need, "banned_url_word")
            }
        }
    }
}

pub(crate) fn url_substring(p: &Params<'_>, ctx: &BuildContext) -> Result<UrlSubstringFilter> {
    p.allow_only(&[
        "banlist",
        "banlist_from_fname",
        "ignore_chars",
        "num_banned_substrs",
        "exact_domain_match",
        "match_substrings",
        "case_sensitive",
        "fix_www",
    ])?;
    let case_sensitive = p.bool_or("case_sensitive", false)?;
    let exact = p.bool_or("exact_domain_match", false)?;
    let match_substrings = p.bool_or("match_substrings", true)?;
    let num = p.usize_or("num_banned_substrs", 1)?;
    let fix_www = p.bool_or("fix_www", false)?;
    if fix_www && !exact {
        return Err(p.err("fix_www", "only applies with exact_domain_match: True"));
    }
    let ignore_chars = p.str_list_opt("ignore_chars")?.unwrap_or_default();
    if ignore_chars.iter().any(String::is_empty) {
        return Err(p.err("ignore_chars", "empty strings are not accepted"));
    }
    let mut banlist = if let Some(f) = p.str_opt("banlist_from_fname")? {
        if f.ends_with(".pkl") || f.ends_with(".pickle") {
            return Err(p.err(
                "banlist_from_fname",
                "pickled regex banlists are not supported; give a text file with one entry per line",
            ));
        }
        read_lines(p, ctx, f, "banlist")?
    } else if let Some(b) = p.str_list_opt("banlist")? {
        b
    } else {
        return Err(p.err("banlist", "one of `banlist` or `banlist_from_fname` is required"));
    };
    if !case_sensitive {
        banlist = banlist.iter().map(|b| lower(b).into_owned()).collect();
    }
    let mode = if exact {
        UrlMode::Exact(banlist.into_iter().collect())
    } else {
        if let Some(i) = banlist.iter().position(String::is_empty) {
            return Err(p.err(
                "banlist",
                format!("entry {} is empty; DCLM would then ban every URL", i + 1),
            ));
        }
        if num == 0 {
            return Err(p.err("num_banned_substrs", "must be at least 1"));
        }
        UrlMode::Pattern {
            trie: CharTrie::new(banlist.iter().map(String::as_str), !case_sensitive),
            word_boundary: !match_substrings,
        }
    };
    Ok(UrlSubstringFilter {
        mode,
        ignore_chars,
        num_banned_substrs: num,
        case_sensitive,
        fix_www,
    })
}

/// `urllib.parse.urlparse(url).netloc` as Python 3.11 computes it, including its `ValueError`s for bad
/// brackets (returned as `Err(reason)`; DCLM drops such a page as an error).
pub fn urlparse_netloc(url: &str) -> std::result::Result<String, &'static str> {
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let cleaned: String;
    let url = if url.contains(['\t', '\r', '\n']) {
        cleaned = url.chars().filter(|c| !matches!(c, '\t' | '\r' | '\n')).collect();
        cleaned.as_str()
    } else {
        url
    };
    let mut rest = url;
    if let Some(i) = url.find(':') {
        let first = url.chars().next().unwrap_or(' ');
        if i > 0
            && first.is_ascii_alphabetic()
            && url[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            rest = &url[i + 1..];
        }
    }
    let Some(after) = rest.strip_prefix("//") else {
        return Ok(String::new());
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let netloc = &after[..end];
    let open = netloc.contains('[');
    let close = netloc.contains(']');
    if open != close {
        return Err("error:invalid_ipv6_url");
    }
    if open {
        let host_port = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
        if let Some((before, bracketed)) = host_port.split_once('[') {
            if !before.is_empty() {
                return Err("error:invalid_ipv6_url");
            }
            let (host, port) = bracketed.split_once(']').unwrap_or((bracketed, ""));
            if !port.is_empty() && !port.starts_with(':') {
                return Err("error:invalid_ipv6_url");
            }
            if let Some(v) = host.strip_prefix('v') {
                let ok = v.split_once('.').is_some_and(|(hex, tail)| {
                    !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) && !tail.is_empty()
                });
                if !ok {
                    return Err("error:invalid_ipvfuture_url");
                }
            } else {
                let addr = host.split_once('%').map_or(host, |(a, _)| a);
                if addr.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err("error:invalid_ipv6_url");
                }
            }
        }
    }
    Ok(netloc.to_string())
}

/// The host part of a netloc (no userinfo, no port, no brackets).
fn hostname_of(netloc: &str) -> &str {
    let h = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    if let Some(b) = h.strip_prefix('[') {
        return b.split_once(']').map_or(b, |(a, _)| a);
    }
    h.split_once(':').map_or(h, |(a, _)| a)
}

/// `url_removal_modifier`: see the crate docs (step 6) for the exact rules and the `re.match` gate quirk.
/// The extension parameter `gate: search` runs URL removal whenever a TLD occurs anywhere (the corrected
/// behaviour), instead of DCLM's `match` (text must *start* with a TLD string, case-insensitively).
pub struct UrlRemovalModifier {
    gate: CharTrie,
    tlds: CharTrie,
    gate_anywhere: bool,
}

/// Python 3.7+ `re.escape` (what DCLM applies to each TLD before retrie escapes it again, so TLDs containing
/// `-` only match text that contains the backslashes).
fn py_re_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0B\x0C".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Mapper for UrlRemovalModifier {
    fn name(&self) -> &str {
        "url_removal_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let gate_open = if self.gate_anywhere {
            doc.text
                .char_indices()
                .any(|(i, _)| self.gate.matches_prefix(&doc.text[i..]))
        } else {
            self.gate.matches_prefix(&doc.text)
        };
        if gate_open {
            if let Some(t) = remove_matches(&doc.text, |s, from| self.find_url(s, from)) {
                doc.text = t;
            }
        }
        if let Some(t) = remove_matches(&doc.text, find_ipv4) {
            doc.text = t;
        }
        Verdict::keep_if(!doc.text.is_empty(), "empty_after_url_removal")
    }
}

/// `re.sub(pattern, "", text)` given a leftmost-match finder; `None` when nothing matched.
fn remove_matches(text: &str, find: impl Fn(&str, usize) -> Option<(usize, usize)>) -> Option<String> {
    let mut out: Option<String> = None;
    let mut last = 0;
    let mut from = 0;
    while let Some((s, e)) = find(text, from) {
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[last..s]);
        last = e;
        from = if e > s { e } else { e + 1 };
        if from > text.len() {
            break;
        }
    }
    out.map(|mut o| {
        o.push_str(&text[last..]);
        o
    })
}

#[inline]
fn is_url_char(b: u8) -> bool {
    // [-a-zA-Z0-9@:%._\+~#=]
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'@' | b':' | b'%' | b'.' | b'_' | b'+' | b'~' | b'#' | b'=')
}

#[inline]
fn is_path_char(b: u8) -> bool {
    // [-a-zA-Z0-9()@:%_\+.~#?&//=]
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'(' | b')' | b'@' | b':' | b'%' | b'_' | b'+' | b'.' | b'~' | b'#' | b'?' | b'&' | b'/' | b'='
        )
}

/// `\s{0,10}` at `s`: the end of the whitespace run, or `None` when the run is longer than 10 (no match can
/// start here then).
fn skip_ws(text: &str, s: usize) -> Option<usize> {
    let mut q = s;
    let mut k = 0;
    for c in text[s..].chars() {
        if !is_space(c) {
            break;
        }
        k += 1;
        if k > 10 {
            return None;
        }
        q += c.len_utf8();
    }
    Some(q)
}

/// Start offsets after the optional `(https?|ftp)://`, in backtracking order.
fn scheme_options(text: &str, q: usize) -> ([usize; 2], usize) {
    let t = &text.as_bytes()[q..];
    for pre in [&b"https://"[..], b"http://", b"ftp://"] {
        if t.starts_with(pre) {
            return ([q + pre.len(), q], 2);
        }
    }
    ([q, q], 1)
}

fn path_run_end(text: &str, from: usize) -> usize {
    let b = text.as_bytes();
    let mut e = from;
    while e < b.len() && is_path_char(b[e]) {
        e += 1;
    }
    e
}

impl UrlRemovalModifier {
    /// True when a `.` at byte `d` is followed by a TLD and a word boundary: every URL match contains one.
    fn valid_dot(&self, text: &str, d: usize, ends: &mut Vec<usize>) -> bool {
        self.tlds.ends_at(text, d + 1, ends);
        ends.iter().any(|&e| is_word_boundary(text, e))
    }

    /// Leftmost match of DCLM's TLD URL regex at or after `from`. Start positions are only tried within
    /// `MAX_SPAN` bytes before a dot that a TLD follows (10 whitespace characters of up to 3 bytes, an
    /// 8-byte scheme and a 256-byte host run bound the distance), which skips the positions that cannot match.
    fn find_url(&self, text: &str, from: usize) -> Option<(usize, usize)> {
        const MAX_SPAN: usize = 300;
        let bytes = text.as_bytes();
        let mut ends = Vec::new();
        let mut s = from;
        let mut search = from;
        while let Some(off) = memchr::memchr(b'.', &bytes[search..]) {
            let d = search + off;
            search = d + 1;
            if !self.valid_dot(text, d, &mut ends) {
                continue;
            }
            let mut lo = d.saturating_sub(MAX_SPAN).max(s);
            while !text.is_char_boundary(lo) {
                lo += 1;
            }
            s = lo;
            while s <= d {
                if let Some(e) = self.url_at(text, s, &mut ends) {
                    return Some((s, e));
                }
                s += text[s..].chars().next().map_or(1, char::len_utf8);
            }
        }
        None
    }

    fn url_at(&self, text: &str, s: usize, ends: &mut Vec<usize>) -> Option<usize> {
        let bytes = text.as_bytes();
        let q = skip_ws(text, s)?;
        let (opts, n) = scheme_options(text, q);
        for &q2 in &opts[..n] {
            let mut run = 0;
            while run < 256 && q2 + run < bytes.len() && is_url_char(bytes[q2 + run]) {
                run += 1;
            }
            for m in (1..=run).rev() {
                if bytes.get(q2 + m) != Some(&b'.') {
                    continue;
                }
                let tld_start = q2 + m + 1;
                self.tlds.ends_at(text, tld_start, ends);
                for &te in ends.iter().rev() {
                    if is_word_boundary(text, te) {
                        return Some(path_run_end(text, te));
                    }
                }
            }
        }
        None
    }
}

/// `(?:[0-2]?[0-9]{1,2}\.){3}[0-2]?[0-9]{1,2}` at `pos`, with backtracking.
fn octets(b: &[u8], pos: usize, left: usize) -> bool {
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let mut lens: [usize; 4] = [0; 4];
    let mut n = 0;
    if b.get(pos).is_some_and(|c| (b'0'..=b'2').contains(c)) {
        if d(pos + 1) && d(pos + 2) {
            lens[n] = 3;
            n += 1;
        }
        if d(pos + 1) {
            lens[n] = 2;
            n += 1;
        }
    }
    if d(pos) && d(pos + 1) {
        lens[n] = 2;
        n += 1;
    }
    if d(pos) {
        lens[n] = 1;
        n += 1;
    }
    if left == 0 {
        return n > 0;
    }
    lens[..n]
        .iter()
        .any(|&l| b.get(pos + l) == Some(&b'.') && octets(b, pos + l + 1, left - 1))
}

/// Leftmost match of DCLM's IPv4 regex at or after `from`.
fn find_ipv4(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    // Every match contains a dotted quad; find the first place one could start (a digit starting
    // `octets`), and begin trying positions up to 30 bytes (10 whitespace characters) plus a scheme before it.
    let first = (from..bytes.len()).find(|&i| bytes[i].is_ascii_digit() && octets(bytes, i, 3))?;
    let mut s = first.saturating_sub(40).max(from);
    while !text.is_char_boundary(s) {
        s += 1;
    }
    while s < text.len() {
        if let Some(q) = skip_ws(text, s) {
            if q < bytes.len() && is_word_boundary(text, q) {
                let (opts, n) = scheme_options(text, q);
                for &q2 in &opts[..n] {
                    if octets(bytes, q2, 3) {
                        return Some((s, path_run_end(text, q2)));
                    }
                }
            }
        }
        s += text[s..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

pub(crate) fn url_removal(p: &Params<'_>, ctx: &BuildContext) -> Result<UrlRemovalModifier> {
    p.allow_only(&["tlds_filepath", "gate"])?;
    let path = p.str_opt("tlds_filepath")?.unwrap_or("baselines/mappers/iana_tlds.txt");
    let tlds: Vec<String> = read_lines(p, ctx, path, "TLD list")?
        .iter()
        .map(|t| py_re_escape(t))
        .collect();
    if tlds.iter().any(String::is_empty) || tlds.is_empty() {
        return Err(p.err("tlds_filepath", "the TLD list is empty or has an empty line"));
    }
    let gate = p.choice("gate", "match", &["match", "search"])?;
    Ok(UrlRemovalModifier {
        gate: CharTrie::new(tlds.iter().map(String::as_str), true),
        tlds: CharTrie::new(tlds.iter().map(String::as_str), false),
        gate_anywhere: gate == "search",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remover() -> UrlRemovalModifier {
        let tlds = ["com", "org", "th", "in", "co", "uk", "py", "it"];
        UrlRemovalModifier {
            gate: CharTrie::new(tlds, true),
            tlds: CharTrie::new(tlds, false),
            gate_anywhere: false,
        }
    }

    fn run(t: &str) -> String {
        let mut d = Document::new(t);
        remover().apply(&mut d);
        d.text
    }

    #[test]
    fn url_removal_gate_and_patterns() {
        assert_eq!(run("The site  www.example.com/a?b=1 is good"), "The site is good");
        // gate closed: text does not start with a TLD string
        assert_eq!(run("Visit www.example.com now"), "Visit www.example.com now");
        assert_eq!(run("In file.py, end.it"), "In,");
        assert_eq!(run("Visit 192.168.0.1:80/x now"), "Visit now");
        assert_eq!(run("Version 1.2.3 stays"), "Version 1.2.3 stays");
        assert_eq!(run("In example.COM"), "In example.COM");
    }

    #[test]
    fn gate_search_variant_and_www_fix() {
        let mut r = remover();
        r.gate_anywhere = true;
        let mut d = Document::new("Visit www.example.com now");
        r.apply(&mut d);
        assert_eq!(d.text, "Visit now");

        let map = serde_json::json!({"banlist": ["example.com"], "exact_domain_match": true, "ignore_chars": ["www"]});
        let loc = crate::StepLoc {
            index: 1,
            func: "url_substring_filter".into(),
            line: None,
        };
        let ctx = BuildContext::default();
        let faithful = url_substring(&Params::new(loc.clone(), map.as_object().unwrap()), &ctx).unwrap();
        let mut fixed_map = map.as_object().unwrap().clone();
        fixed_map.insert("fix_www".into(), true.into());
        let fixed = url_substring(&Params::new(loc, &fixed_map), &ctx).unwrap();
        let doc = Document::with_url("t", "https://www.example.com:443/x");
        assert!(faithful.check(&doc).is_keep()); // `.example.com:443` is not in the list
        assert!(!fixed.check(&doc).is_keep());
        assert!(!faithful
            .check(&Document::with_url("t", "http://example.com/"))
            .is_keep());
    }

    #[test]
    fn netloc_like_python() {
        assert_eq!(urlparse_netloc("http://www.x.com:80/a").unwrap(), "www.x.com:80");
        assert_eq!(urlparse_netloc("<http://x.com/>").unwrap(), "");
        assert_eq!(urlparse_netloc("//x.com/a").unwrap(), "x.com");
        assert!(urlparse_netloc("http://[::1/").is_err());
        assert_eq!(urlparse_netloc("http://[::1]:8/").unwrap(), "[::1]:8");
        assert_eq!(hostname_of("u@www.x.com:80"), "www.x.com");
    }

    #[test]
    fn splitlines() {
        assert_eq!(dclm_core::pystr::splitlines("a\r\nb\rc\n"), vec!["a", "b", "c"]);
        assert_eq!(dclm_core::pystr::splitlines("a\n\nb"), vec!["a", "", "b"]);
    }
}
