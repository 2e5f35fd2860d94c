//! A purpose-built HTML5 tokenizer and a simplified HTML5 tree builder producing a [`Dom`].
//!
//! It follows the WHATWG parsing rules that decide *where text ends up*, because that is what
//! text extraction observes: implied `<html>/<head>/<body>`, head-only elements before the body,
//! raw-text and RCDATA elements (`script`, `style`, `textarea`, `title`, …), character references
//! (all 2,231 named ones, numeric ones with the Windows-1252 remapping), implied end tags (`p`, `li`,
//! `dd`/`dt`, `option`, headings, table parts), element scopes, implicit `tbody`/`tr`, foster
//! parenting of stray content in tables, "in select", and foreign (SVG/MathML) content with
//! element namespaces and integration points (`foreignObject`, `desc`, `title`, `mi`, …,
//! `annotation-xml`). It keeps the list of active formatting elements: formatting elements (`<a>`,
//! `<b>`, `<i>`, …) closed by a block boundary are re-opened before the next text or inline
//! element, and misnested end tags go through the adoption agency algorithm (as lexbor runs it).
//! Elements created that way are capped per document (half the input length plus a constant), so
//! the tree stays linear in the input.
//!
//! The tokenizer works on bytes (UTF-8 in, UTF-8 out), never recurses and never panics; scope
//! searches are capped at [`MAX_SCOPE_SEARCH`] open elements so hostile nesting stays linear.

use super::dom::{Attr, Dom, Kind, NodeId, Tag, NONE};
use super::entities::{ENTITIES, MAX_ENTITY_LEN};
use memchr::{memchr, memchr2, memchr3};

/// How far down the stack of open elements a scope search looks before giving up.
pub const MAX_SCOPE_SEARCH: usize = 2048;

/// Largest text node copied to merge with non-contiguous adjacent text (bounds the work on
/// adversarial input; longer nodes stay separate siblings).
const MERGE_COPY_LIMIT: usize = 4096;

/// Parse a UTF-8 (or any ASCII-compatible) HTML document.
pub fn parse(html: &[u8]) -> Dom {
    let mut b = Builder::new(html.len());
    Tokenizer {
        src: html,
        pos: 0,
        other_name: 0,
    }
    .run(&mut b);
    b.finish()
}

// ------------------------------------------------------------------------------------------------
// Tokenizer
// ------------------------------------------------------------------------------------------------

struct Tokenizer<'a> {
    src: &'a [u8],
    pos: usize,
    /// Hash of the last tag name read when it is not a known [`Tag`] (0 otherwise).
    other_name: u32,
}

/// Attribute as produced by the tokenizer: ranges into the builder's text buffer.
struct TagToken {
    name: Tag,
    /// For [`Tag::Other`]: a hash of the lower-case name, so that end tags match by name.
    other_name: u32,
    self_closing: bool,
    attrs_start: usize,
    /// Length of the builder's text buffer before this tag's attributes were stored.
    text_start: usize,
}

#[inline]
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

impl<'a> Tokenizer<'a> {
    fn run(&mut self, b: &mut Builder) {
        let src = self.src;
        while self.pos < src.len() {
            // Text up to the next '<' (entities decoded on the way).
            let rest = &src[self.pos..];
            let lt = memchr(b'<', rest).map(|i| self.pos + i).unwrap_or(src.len());
            if lt > self.pos {
                b.text(&src[self.pos..lt], true);
                self.pos = lt;
                continue;
            }
            // At '<'.
            let next = src.get(self.pos + 1).copied();
            match next {
                Some(c) if c.is_ascii_alphabetic() => {
                    if let Some(tok) = self.start_tag(b) {
                        let raw = b.start_tag(&tok);
                        if let Some(mode) = raw {
                            self.raw_text(b, tok.name, mode);
                        }
                    }
                }
                Some(b'/') => {
                    match src.get(self.pos + 2).copied() {
                        Some(c) if c.is_ascii_alphabetic() => {
                            self.pos += 2;
                            let name = self.tag_name();
                            b.end_other_name = self.other_name;
                            // Attributes on end tags are parsed and dropped.
                            let mark = b.attrs.len();
                            let tmp = b.text_buf.len();
                            b.attr_mark = mark;
                            let complete = self.attributes(b).is_some();
                            b.attrs.truncate(mark);
                            b.text_buf.truncate(tmp);
                            // An end tag cut off by the end of input is dropped.
                            if complete {
                                b.end_tag(name);
                            }
                        }
                        Some(b'>') => self.pos += 3,
                        None => {
                            b.text(b"</", false);
                            self.pos = src.len();
                        }
                        _ => {
                            // Bogus comment up to '>'.
                            self.pos += 2;
                            self.bogus_comment(b);
                        }
                    }
                }
                Some(b'!') => {
                    self.pos += 2;
                    self.markup_declaration(b);
                }
                Some(b'?') => {
                    self.pos += 1;
                    self.bogus_comment(b);
                }
                _ => {
                    b.text(b"<", false);
                    self.pos += 1;
                }
            }
        }
    }

    /// Lower-cased tag name starting at `pos`, ending at whitespace, '/' or '>'.
    fn tag_name(&mut self) -> Tag {
        let src = self.src;
        let start = self.pos;
        while self.pos < src.len() && !is_ws(src[self.pos]) && src[self.pos] != b'/' && src[self.pos] != b'>' {
            self.pos += 1;
        }
        let raw = &src[start..self.pos];
        self.other_name = 0;
        let tag = if raw.len() > 16 {
            Tag::Other
        } else {
            let mut lower = [0u8; 16];
            for (d, s) in lower.iter_mut().zip(raw) {
                *d = s.to_ascii_lowercase();
            }
            Tag::from_lower(&lower[..raw.len()])
        };
        if tag == Tag::Other {
            self.other_name = name_hash(raw);
        }
        tag
    }

    fn start_tag(&mut self, b: &mut Builder) -> Option<TagToken> {
        self.pos += 1;
        let name = self.tag_name();
        let other_name = self.other_name;
        let attrs_start = b.attrs.len();
        let text_start = b.text_buf.len();
        b.attr_mark = attrs_start;
        let Some(self_closing) = self.attributes(b) else {
            // A start tag cut off by the end of input is dropped (WHATWG "EOF in tag").
            b.attrs.truncate(attrs_start);
            b.text_buf.truncate(text_start);
            return None;
        };
        Some(TagToken {
            name,
            other_name,
            self_closing,
            attrs_start,
            text_start,
        })
    }

    /// Parse attributes until '>' (consumed); returns the self-closing flag, or `None` when the input
    /// ends before the tag does.
    fn attributes(&mut self, b: &mut Builder) -> Option<bool> {
        let src = self.src;
        let mut self_closing = false;
        loop {
            while self.pos < src.len() && is_ws(src[self.pos]) {
                self.pos += 1;
            }
            if self.pos >= src.len() {
                return None;
            }
            match src[self.pos] {
                b'>' => {
                    self.pos += 1;
                    return Some(self_closing);
                }
                b'/' => {
                    self.pos += 1;
                    self_closing = src.get(self.pos) == Some(&b'>');
                    continue;
                }
                _ => {}
            }
            self_closing = false;
            // Attribute name: first char may be '=' (spec quirk).
            let start = self.pos;
            self.pos += 1;
            while self.pos < src.len() && !is_ws(src[self.pos]) && !matches!(src[self.pos], b'/' | b'>' | b'=') {
                self.pos += 1;
            }
            let name_start = b.text_buf.len();
            b.text_buf
                .extend(src[start..self.pos].iter().map(|c| c.to_ascii_lowercase()));
            let name_end = b.text_buf.len();
            while self.pos < src.len() && is_ws(src[self.pos]) {
                self.pos += 1;
            }
            let (vs, ve);
            if src.get(self.pos) == Some(&b'=') {
                self.pos += 1;
                while self.pos < src.len() && is_ws(src[self.pos]) {
                    self.pos += 1;
                }
                vs = b.text_buf.len();
                match src.get(self.pos).copied() {
                    Some(q @ (b'"' | b'\'')) => {
                        self.pos += 1;
                        let end = memchr(q, &src[self.pos..]).map(|i| self.pos + i).unwrap_or(src.len());
                        decode_into(&src[self.pos..end], &mut b.text_buf, true);
                        self.pos = (end + 1).min(src.len());
                    }
                    _ => {
                        let s = self.pos;
                        while self.pos < src.len() && !is_ws(src[self.pos]) && src[self.pos] != b'>' {
                            self.pos += 1;
                        }
                        decode_into(&src[s..self.pos], &mut b.text_buf, true);
                    }
                }
                ve = b.text_buf.len();
            } else {
                vs = b.text_buf.len();
                ve = vs;
            }
            let name = &b.text_buf[name_start..name_end];
            let dup = b.attrs[b.attr_mark..]
                .iter()
                .any(|a| b.text_buf[a.name.start as usize..a.name.end as usize] == *name);
            if !dup {
                b.attrs.push(Attr {
                    name: name_start as u32..name_end as u32,
                    value: vs as u32..ve as u32,
                });
            }
        }
    }

    fn markup_declaration(&mut self, b: &mut Builder) {
        let src = self.src;
        let rest = &src[self.pos..];
        if rest.starts_with(b"--") {
            self.pos += 2;
            let rest = &src[self.pos..];
            // "<!-->" and "<!--->" are empty comments.
            if rest.starts_with(b">") {
                self.pos += 1;
            } else if rest.starts_with(b"->") {
                self.pos += 2;
            } else {
                let mut i = self.pos;
                loop {
                    match memchr(b'-', &src[i..]) {
                        None => {
                            self.pos = src.len();
                            break;
                        }
                        Some(j) => {
                            let k = i + j;
                            if src[k..].starts_with(b"-->") {
                                self.pos = k + 3;
                                break;
                            }
                            if src[k..].starts_with(b"--!>") {
                                self.pos = k + 4;
                                break;
                            }
                            i = k + 1;
                        }
                    }
                }
            }
            b.comment();
        } else if rest.starts_with(b"[CDATA[") && b.in_foreign() && b.ns_of(b.current()) != NS_HTML {
            // A CDATA section in SVG/MathML content is text up to `]]>`; in HTML it is a bogus comment.
            let start = self.pos + 7;
            let end = memchr::memmem::find(&src[start..], b"]]>").map_or(src.len(), |i| start + i);
            if end > start {
                b.text(&src[start..end], false);
            }
            self.pos = (end + 3).min(src.len());
        } else if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"doctype") {
            let end = memchr(b'>', rest).map(|i| self.pos + i).unwrap_or(src.len());
            b.doctype(&src[self.pos + 7..end]);
            self.pos = (end + 1).min(src.len());
        } else {
            self.bogus_comment(b);
        }
    }

    fn bogus_comment(&mut self, b: &mut Builder) {
        let end = memchr(b'>', &self.src[self.pos..])
            .map(|i| self.pos + i + 1)
            .unwrap_or(self.src.len());
        self.pos = end;
        b.comment();
    }

    /// Content of a raw-text / RCDATA / plaintext element up to its end tag.
    fn raw_text(&mut self, b: &mut Builder, tag: Tag, mode: RawMode) {
        let src = self.src;
        if mode == RawMode::Plaintext {
            b.text(&src[self.pos..], false);
            self.pos = src.len();
            return;
        }
        let name: &[u8] = tag_name_bytes(tag);
        let end = if tag == Tag::Script {
            script_end(src, self.pos)
        } else {
            let mut i = self.pos;
            loop {
                match memchr(b'<', &src[i..]) {
                    None => break src.len(),
                    Some(j) => {
                        let k = i + j;
                        if is_end_tag_of(src, k, name) {
                            break k;
                        }
                        i = k + 1;
                    }
                }
            }
        };
        if end > self.pos {
            b.text(&src[self.pos..end], mode == RawMode::Rcdata);
        }
        self.pos = end;
        if end < src.len() {
            self.pos = end + 2 + name.len();
            let mark = b.attrs.len();
            let tmp = b.text_buf.len();
            b.attr_mark = mark;
            self.attributes(b);
            b.attrs.truncate(mark);
            b.text_buf.truncate(tmp);
            b.end_tag(tag);
        }
    }
}

/// Whether `src[k..]` starts with `</name` followed by white space, `/`, `>` or the end of input
/// (an "appropriate end tag" for the raw-text element `name`).
fn is_end_tag_of(src: &[u8], k: usize, name: &[u8]) -> bool {
    let after = k + 2 + name.len();
    src.get(k + 1) == Some(&b'/')
        && after <= src.len()
        && src[k + 2..after].eq_ignore_ascii_case(name)
        && (after == src.len() || is_ws(src[after]) || matches!(src[after], b'/' | b'>'))
}

/// Where the `<script>` content starting at `start` ends: the `<` of its end tag, or the end of input.
///
/// Follows the WHATWG script-data states: after `<!--` the content is "escaped", and inside that a
/// `<script` start tag switches to "double escaped", where `</script>` only returns to "escaped";
/// `-->` leaves either escaped state. So `<!-- <script></script> -->` inside a script is content.
fn script_end(src: &[u8], start: usize) -> usize {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Data,
        Escaped,
        DoubleEscaped,
    }
    const NAME: &[u8] = b"script";
    // Length of an ASCII-case-insensitive `script` at `i` followed by white space, `/` or `>`.
    let script_word = |i: usize| {
        let e = i + NAME.len();
        e < src.len() && src[i..e].eq_ignore_ascii_case(NAME) && (is_ws(src[e]) || matches!(src[e], b'/' | b'>'))
    };
    let mut state = S::Data;
    let mut i = start;
    // Number of `-` seen immediately before `i` inside an escaped state (capped at 2).
    let mut dashes = 0u8;
    while i < src.len() {
        if state == S::Data {
            let Some(j) = memchr(b'<', &src[i..]) else {
                return src.len();
            };
            let k = i + j;
            if is_end_tag_of(src, k, NAME) {
                return k;
            }
            if src[k + 1..].starts_with(b"!--") {
                // `<!--` enters the escaped state with two dashes already seen (so `<!-->` leaves it).
                state = S::Escaped;
                dashes = 2;
                i = k + 4;
            } else {
                i = k + 1;
            }
            continue;
        }
        let c = src[i];
        match c {
            b'-' => {
                dashes = (dashes + 1).min(2);
                i += 1;
            }
            b'>' if dashes == 2 => {
                state = S::Data;
                dashes = 0;
                i += 1;
            }
            b'<' => {
                dashes = 0;
                if state == S::Escaped {
                    if is_end_tag_of(src, i, NAME) {
                        return i;
                    }
                    if script_word(i + 1) {
                        state = S::DoubleEscaped;
                        i += 1 + NAME.len();
                        continue;
                    }
                } else if src.get(i + 1) == Some(&b'/') && script_word(i + 2) {
                    state = S::Escaped;
                    i += 2 + NAME.len();
                    continue;
                }
                i += 1;
            }
            _ => {
                dashes = 0;
                // Skip ahead to the next byte that can change the state.
                i += 1 + memchr3(b'-', b'<', b'>', &src[i + 1..]).unwrap_or(src.len() - i - 1);
            }
        }
    }
    src.len()
}

/// Hash of an element name for [`Tag::Other`] elements: FNV-1a of the ASCII-lower-cased name, never
/// 0 (which means "no name").
fn name_hash(raw: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &c in raw {
        h = (h ^ u32::from(c.to_ascii_lowercase())).wrapping_mul(0x0100_0193);
    }
    h | 1
}

/// Element namespaces the tree builder distinguishes.
const NS_HTML: u8 = 0;
const NS_SVG: u8 = 1;
const NS_MATH: u8 = 2;

fn tag_name_bytes(tag: Tag) -> &'static [u8] {
    match tag {
        Tag::Script => b"script",
        Tag::Style => b"style",
        Tag::Textarea => b"textarea",
        Tag::Title => b"title",
        Tag::Xmp => b"xmp",
        Tag::Iframe => b"iframe",
        Tag::Noembed => b"noembed",
        Tag::Noframes => b"noframes",
        _ => b"",
    }
}

/// Windows-1252 remapping of numeric references 0x80..=0x9F.
const C1_REMAP: [u32; 32] = [
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D,
    0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,
    0x017E, 0x0178,
];

/// Append `raw` to `out`, decoding character references (`in_attr` applies the attribute rule for
/// legacy references without `;`) and normalizing CR/CRLF to LF.
pub(crate) fn decode_into(raw: &[u8], out: &mut Vec<u8>, in_attr: bool) {
    let mut i = 0;
    while i < raw.len() {
        let Some(j) = memchr2(b'&', b'\r', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            return;
        };
        out.extend_from_slice(&raw[i..i + j]);
        i += j;
        if raw[i] == b'\r' {
            out.push(b'\n');
            i += 1;
            if raw.get(i) == Some(&b'\n') {
                i += 1;
            }
            continue;
        }
        // '&'
        let rest = &raw[i + 1..];
        if rest.first() == Some(&b'#') {
            let (hex, digits_start) = match rest.get(1) {
                Some(b'x') | Some(b'X') => (true, 2),
                _ => (false, 1),
            };
            let mut k = digits_start;
            let mut v: u32 = 0;
            while k < rest.len()
                && (if hex {
                    rest[k].is_ascii_hexdigit()
                } else {
                    rest[k].is_ascii_digit()
                })
            {
                let d = (rest[k] as char).to_digit(16).unwrap_or(0);
                v = v.saturating_mul(if hex { 16 } else { 10 }).saturating_add(d);
                k += 1;
            }
            if k == digits_start {
                out.push(b'&');
                i += 1;
                continue;
            }
            if rest.get(k) == Some(&b';') {
                k += 1;
            }
            let cp = match v {
                0 => 0xFFFD,
                0x80..=0x9F => C1_REMAP[(v - 0x80) as usize],
                0xD800..=0xDFFF => 0xFFFD,
                v if v > 0x10FFFF => 0xFFFD,
                v => v,
            };
            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            i += 1 + k;
            continue;
        }
        // Named reference: longest match among names that are a prefix of `rest`.
        let mut n = 0;
        while n < rest.len() && n < MAX_ENTITY_LEN && rest[n].is_ascii_alphanumeric() {
            n += 1;
        }
        if n < rest.len() && n < MAX_ENTITY_LEN && rest[n] == b';' {
            n += 1;
        }
        let mut matched = None;
        let mut len = n;
        while len > 0 {
            if let Ok(idx) = ENTITIES.binary_search_by(|(name, _)| name.as_bytes().cmp(&rest[..len])) {
                matched = Some(idx);
                break;
            }
            len -= 1;
        }
        match matched {
            Some(idx) => {
                let (name, val) = ENTITIES[idx];
                let no_semi = !name.ends_with(';');
                let next = rest.get(len).copied();
                if in_attr && no_semi && matches!(next, Some(c) if c == b'=' || c.is_ascii_alphanumeric()) {
                    out.push(b'&');
                    i += 1;
                } else {
                    out.extend_from_slice(val.as_bytes());
                    i += 1 + len;
                }
            }
            None => {
                out.push(b'&');
                i += 1;
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Tree builder
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawMode {
    Rawtext,
    Rcdata,
    Plaintext,
}

struct Builder {
    dom: Dom,
    text_buf: Vec<u8>,
    attrs: Vec<Attr>,
    attr_mark: usize,
    stack: Vec<NodeId>,
    html: NodeId,
    head: NodeId,
    body: NodeId,
    /// Inside `<pre>`/`<listing>`/`<textarea>` start: drop one leading newline.
    skip_newline: bool,
    quirks: bool,
    /// Open elements per tag (index `Tag as usize`), for O(1) "is any open" checks.
    open_counts: Vec<u32>,
    /// The list of active formatting elements (WHATWG), at most [`MAX_ACTIVE_FORMATTING`] long.
    active: Vec<Active>,
    /// Whether a node (by id) is on the stack of open elements.
    open: Vec<bool>,
    /// Namespace of each element by node id ([`NS_HTML`] when absent): SVG and MathML elements.
    ns: Vec<u8>,
    /// The WHATWG form element pointer: the last `<form>` opened, until a `</form>` (NONE when unset).
    form_pointer: NodeId,
    /// Name hashes of open elements with unknown names ([`Tag::Other`]), by node id.
    other_names: std::collections::HashMap<NodeId, u32>,
    /// Name hash of the end tag being handled when it is [`Tag::Other`].
    end_other_name: u32,
    /// Elements that reconstruction and the adoption agency may still create (keeps the tree
    /// linear in the input on adversarial markup).
    clone_budget: usize,
}

/// An entry of the list of active formatting elements.
#[derive(Clone, Copy, PartialEq)]
enum Active {
    /// Scope marker (pushed by table cells, captions, `applet`, `marquee`, `object`, `template`).
    Marker,
    /// A formatting element: its node, tag and attribute range (reused by the clones).
    Elem { node: NodeId, tag: Tag, attrs: (u32, u32) },
}

/// Cap on the list of active formatting elements; beyond it the oldest entry is forgotten (only
/// reached by pathological markup, and keeps every search of the list short).
const MAX_ACTIVE_FORMATTING: usize = 256;

/// Formatting elements: kept in the list of active formatting elements, re-opened after block
/// boundaries and re-nested by the adoption agency algorithm.
fn is_formatting(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        A | B | Big | Code | Em | Font | I | Nobr | S | Small | Strike | Strong | Tt | U
    )
}

/// End tags that "in body" close their element when it is in scope, popping whatever is open inside
/// it; every other end tag without a rule of its own closes only up to the first special element
/// ("any other end tag"), so e.g. `</noscript>` with a `<div>` still open inside is ignored.
fn closes_by_scope(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Address
            | Article
            | Aside
            | Blockquote
            | Button
            | Center
            | Details
            | Dialog
            | Dir
            | Div
            | Dl
            | Fieldset
            | Figcaption
            | Figure
            | Footer
            | Header
            | Hgroup
            | Listing
            | Main
            | Menu
            | Nav
            | Ol
            | Pre
            | Search
            | Section
            | Summary
            | Ul
            | Applet
            | Marquee
            | Object
    )
}

/// Elements that put a marker on the list of active formatting elements.
fn pushes_marker(t: Tag) -> bool {
    use Tag::*;
    matches!(t, Td | Th | Caption | Applet | Marquee | Object | Template)
}

/// Start tags handled "in body" without first reconstructing the active formatting elements.
fn starts_without_reconstruct(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Html | Base
            | Basefont
            | Bgsound
            | Link
            | Meta
            | Noframes
            | Script
            | Style
            | Template
            | Title
            | Body
            | Frameset
            | Address
            | Article
            | Aside
            | Blockquote
            | Center
            | Details
            | Dialog
            | Dir
            | Div
            | Dl
            | Fieldset
            | Figcaption
            | Figure
            | Footer
            | Header
            | Hgroup
            | Main
            | Menu
            | Nav
            | Ol
            | P
            | Search
            | Section
            | Summary
            | Ul
            | H1
            | H2
            | H3
            | H4
            | H5
            | H6
            | Pre
            | Listing
            | Form
            | Li
            | Dd
            | Dt
            | Plaintext
            | Table
            | Hr
            | Textarea
            | Iframe
            | Noembed
            | Rb
            | Rtc
            | Rp
            | Rt
            | Caption
            | Col
            | Colgroup
            | Frame
            | Head
            | Tbody
            | Td
            | Tfoot
            | Th
            | Thead
            | Tr
            | Param
            | Source
            | Track
    )
}

fn is_special(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Address
            | Applet
            | Area
            | Article
            | Aside
            | Base
            | Basefont
            | Bgsound
            | Blockquote
            | Body
            | Br
            | Button
            | Caption
            | Center
            | Col
            | Colgroup
            | Dd
            | Details
            | Dir
            | Div
            | Dl
            | Dt
            | Embed
            | Fieldset
            | Figcaption
            | Figure
            | Footer
            | Form
            | Frame
            | Frameset
            | H1
            | H2
            | H3
            | H4
            | H5
            | H6
            | Head
            | Header
            | Hgroup
            | Hr
            | Html
            | Iframe
            | Img
            | Input
            | Keygen
            | Li
            | Link
            | Listing
            | Main
            | Marquee
            | Menu
            | Meta
            | Nav
            | Noembed
            | Noframes
            | Noscript
            | Object
            | Ol
            | P
            | Param
            | Plaintext
            | Pre
            | Script
            | Search
            | Section
            | Select
            | Source
            | Style
            | Summary
            | Table
            | Tbody
            | Td
            | Template
            | Textarea
            | Tfoot
            | Th
            | Thead
            | Title
            | Tr
            | Track
            | Ul
            | Wbr
            | Xmp
    )
}

fn is_void(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Area | Base
            | Basefont
            | Bgsound
            | Br
            | Col
            | Embed
            | Frame
            | Hr
            | Img
            | Image
            | Input
            | Keygen
            | Link
            | Meta
            | Param
            | Source
            | Track
            | Wbr
    )
}

fn closes_p(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Address
            | Article
            | Aside
            | Blockquote
            | Center
            | Details
            | Dialog
            | Dir
            | Div
            | Dl
            | Fieldset
            | Figcaption
            | Figure
            | Footer
            | Header
            | Hgroup
            | Main
            | Menu
            | Nav
            | Ol
            | P
            | Search
            | Section
            | Summary
            | Ul
            | H1
            | H2
            | H3
            | H4
            | H5
            | H6
            | Pre
            | Listing
            | Form
            | Plaintext
            | Xmp
            | Li
            | Dd
            | Dt
            | Hr
    )
}

/// HTML start tags that end SVG/MathML content (WHATWG "in foreign content").
fn breaks_out_of_foreign(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        B | Big
            | Blockquote
            | Body
            | Br
            | Center
            | Code
            | Dd
            | Div
            | Dl
            | Dt
            | Em
            | Embed
            | H1
            | H2
            | H3
            | H4
            | H5
            | H6
            | Head
            | Hr
            | I
            | Img
            | Li
            | Listing
            | Menu
            | Meta
            | Nobr
            | Ol
            | P
            | Pre
            | Ruby
            | S
            | Small
            | Span
            | Strong
            | Strike
            | Sub
            | Sup
            | Table
            | Tt
            | U
            | Ul
            | Var
    )
}

fn is_heading(t: Tag) -> bool {
    matches!(t, Tag::H1 | Tag::H2 | Tag::H3 | Tag::H4 | Tag::H5 | Tag::H6)
}

fn implied_end(t: Tag) -> bool {
    use Tag::*;
    matches!(t, Dd | Dt | Li | Optgroup | Option | P | Rb | Rp | Rt | Rtc)
}

fn head_only(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Meta | Link | Title | Script | Style | Base | Basefont | Bgsound | Noscript | Template | Noframes
    )
}

fn is_table_context(t: Tag) -> bool {
    matches!(t, Tag::Table | Tag::Tbody | Tag::Thead | Tag::Tfoot | Tag::Tr)
}

fn is_table_part(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Table | Tbody | Thead | Tfoot | Tr | Td | Th | Caption | Colgroup | Col | Script | Style | Template
    )
}

#[derive(Clone, Copy)]
enum Scope {
    Default,
    ListItem,
    Button,
    Table,
}

impl Builder {
    fn new(len: usize) -> Builder {
        Builder {
            dom: Dom::with_capacity(len),
            text_buf: Vec::with_capacity(len / 2 + 16),
            attrs: Vec::with_capacity(len / 80 + 8),
            attr_mark: 0,
            stack: Vec::with_capacity(64),
            html: NONE,
            head: NONE,
            body: NONE,
            skip_newline: false,
            quirks: true,
            open_counts: vec![0; Tag::Other as usize + 1],
            active: Vec::new(),
            open: Vec::with_capacity(len / 40 + 8),
            clone_budget: len / 2 + 4096,
            other_names: std::collections::HashMap::new(),
            end_other_name: 0,
            form_pointer: NONE,
            ns: Vec::new(),
        }
    }

    fn finish(mut self) -> Dom {
        self.ensure_body();
        self.dom.text = self.text_buf;
        self.dom.attrs = self.attrs;
        self.dom.body = self.body;
        self.dom
    }

    fn current(&self) -> NodeId {
        *self.stack.last().unwrap_or(&0)
    }

    fn current_tag(&self) -> Option<Tag> {
        self.stack.last().and_then(|&n| self.dom.tag(n))
    }

    fn ensure_html(&mut self) {
        if self.html == NONE {
            let h = self.dom.new_node(Kind::Element(Tag::Html), 0..0);
            self.dom.append(0, h);
            self.html = h;
            self.push_open(h);
        }
    }

    fn ensure_head(&mut self) {
        self.ensure_html();
        if self.head == NONE {
            let h = self.dom.new_node(Kind::Element(Tag::Head), 0..0);
            self.dom.append(self.html, h);
            self.head = h;
        }
    }

    fn ensure_body(&mut self) {
        self.ensure_head();
        if self.body == NONE {
            let b = self.dom.new_node(Kind::Element(Tag::Body), 0..0);
            self.dom.append(self.html, b);
            self.body = b;
            self.truncate_open(1);
            self.push_open(b);
        }
    }

    /// Where new content goes: the current node, or before the table when foster parenting.
    fn insert(&mut self, node: NodeId, foster_candidate: bool) {
        let cur = self.current();
        if foster_candidate && self.is_table_context_node(cur) {
            // Foster parent: before the last table on the stack.
            if let Some(&table) = self.stack.iter().rev().find(|&&n| self.dom.tag(n) == Some(Tag::Table)) {
                if self.dom.node(table).parent != NONE {
                    self.dom.insert_before(table, node);
                    return;
                }
            }
        }
        self.dom.append(cur, node);
    }

    fn comment(&mut self) {
        self.skip_newline = false;
        let c = self.dom.new_node(Kind::Comment, 0..0);
        let parent = if self.body != NONE || self.html != NONE {
            self.current()
        } else {
            0
        };
        self.dom.append(parent, c);
    }

    fn doctype(&mut self, body: &[u8]) {
        if self.html != NONE {
            return;
        }
        let s = String::from_utf8_lossy(body).to_ascii_lowercase();
        let s = s.trim();
        // No-quirks for `<!DOCTYPE html>` and the common strict/XHTML public identifiers.
        self.quirks = !(s == "html"
            || s.starts_with("html system")
            || s.contains("//dtd xhtml 1.0 strict")
            || s.contains("//dtd xhtml 1.0 transitional")
            || s.contains("//dtd xhtml 1.1")
            || s.contains("//dtd html 4.01//")
            || (s.contains("//dtd html 4.01 transitional") && s.contains("http://"))
            || (s.starts_with("html") && !s.contains("public")));
    }

    fn text(&mut self, raw: &[u8], decode: bool) {
        let start = self.text_buf.len();
        if decode {
            decode_into(raw, &mut self.text_buf, false);
        } else {
            // CR normalization only.
            if memchr(b'\r', raw).is_some() {
                let mut tmp = Vec::with_capacity(raw.len());
                decode_into_cr_only(raw, &mut tmp);
                self.text_buf.extend_from_slice(&tmp);
            } else {
                self.text_buf.extend_from_slice(raw);
            }
        }
        // NUL characters are dropped in body text.
        if memchr(0, &self.text_buf[start..]).is_some() {
            let mut w = start;
            for r in start..self.text_buf.len() {
                let c = self.text_buf[r];
                if c != 0 {
                    self.text_buf[w] = c;
                    w += 1;
                }
            }
            self.text_buf.truncate(w);
        }
        let mut s = start;
        if self.skip_newline {
            self.skip_newline = false;
            if self.text_buf.get(s) == Some(&b'\n') {
                s += 1;
            }
        }
        let end = self.text_buf.len();
        if s == end {
            self.text_buf.truncate(start);
            return;
        }
        let all_ws = self.text_buf[s..end].iter().all(|&c| is_ws(c));
        if (self.body == NONE
            && matches!(
                self.current_tag(),
                Some(Tag::Title | Tag::Script | Tag::Style | Tag::Noframes)
            ))
            || self.any_open(&[Tag::Template])
        {
            let t = self.dom.new_node(Kind::Text, s as u32..end as u32);
            let cur = self.current();
            self.dom.append(cur, t);
            return;
        }
        if self.body == NONE {
            if all_ws {
                self.text_buf.truncate(start);
                return;
            }
            // Non-whitespace text before <body>: leading whitespace is dropped, body is implied.
            while s < end && is_ws(self.text_buf[s]) {
                s += 1;
            }
            self.ensure_body();
        }
        let foster = !all_ws;
        // Text "in body" (and non-blank text fostered out of a table) re-opens closed formatting
        // elements first; text in `<select>` and SVG/MathML does not.
        let in_table = self.is_table_context_node(self.current());
        let foreign = self.in_foreign() && self.foreign_content(None);
        if !((all_ws && in_table) || self.any_open(&[Tag::Select]) || foreign) {
            self.reconstruct_active();
        }
        self.append_text(s as u32..end as u32, foster);
    }

    fn append_text(&mut self, range: std::ops::Range<u32>, foster: bool) {
        let cur = self.current();
        let fostering = foster && self.is_table_context_node(cur);
        let target_last = if fostering {
            // Last node before the table in its parent.
            self.stack
                .iter()
                .rev()
                .find(|&&n| self.dom.tag(n) == Some(Tag::Table))
                .map(|&t| self.dom.node(t).prev)
                .unwrap_or(NONE)
        } else {
            self.dom.node(cur).last_child
        };
        // Adjacent text merges into one text node (as in the DOM): in place when the bytes are
        // contiguous, else by copying a (bounded) previous node to the end of the buffer.
        if target_last != NONE {
            let n = self.dom.nodes[target_last as usize].clone();
            if n.kind == Kind::Text {
                if n.data.end == range.start {
                    self.dom.nodes[target_last as usize].data.end = range.end;
                    return;
                }
                let old_len = (n.data.end - n.data.start) as usize;
                if old_len <= MERGE_COPY_LIMIT {
                    let new_bytes = self.text_buf[range.start as usize..range.end as usize].to_vec();
                    self.text_buf.truncate(range.start as usize);
                    let start = self.text_buf.len();
                    self.text_buf
                        .extend_from_within(n.data.start as usize..n.data.end as usize);
                    self.text_buf.extend_from_slice(&new_bytes);
                    self.dom.nodes[target_last as usize].data = start as u32..self.text_buf.len() as u32;
                    return;
                }
            }
        }
        let t = self.dom.new_node(Kind::Text, range);
        self.insert(t, foster);
    }

    fn in_scope(&self, tags: &[Tag], scope: Scope) -> Option<usize> {
        if !self.any_open(tags) {
            return None;
        }
        let target = |t: Tag| tags.contains(&t);
        let foreign = self.in_foreign();
        for (i, &n) in self.stack.iter().enumerate().rev().take(MAX_SCOPE_SEARCH) {
            let Some(t) = self.dom.tag(n) else { continue };
            if foreign && self.ns_of(n) != NS_HTML {
                // SVG/MathML elements never match HTML targets; integration points bound every scope
                // but the table scope.
                if !matches!(scope, Scope::Table)
                    && (self.is_text_integration_point(n) || self.is_html_integration_point(n))
                {
                    return None;
                }
                continue;
            }
            if target(t) {
                return Some(i);
            }
            let boundary = match scope {
                Scope::Table => matches!(t, Tag::Html | Tag::Table | Tag::Template),
                _ => {
                    matches!(
                        t,
                        Tag::Applet
                            | Tag::Caption
                            | Tag::Html
                            | Tag::Table
                            | Tag::Td
                            | Tag::Th
                            | Tag::Marquee
                            | Tag::Object
                            | Tag::Template
                    ) || (matches!(scope, Scope::ListItem) && matches!(t, Tag::Ol | Tag::Ul))
                        || (matches!(scope, Scope::Button) && t == Tag::Button)
                }
            };
            if boundary {
                return None;
            }
        }
        None
    }

    fn pop_to(&mut self, idx: usize) {
        let keep = idx.max(1);
        if self.stack.len() > keep {
            self.truncate_open(keep);
        }
    }

    fn push_open(&mut self, id: NodeId) {
        self.stack_insert(self.stack.len(), id);
    }

    fn pop_open(&mut self) {
        if !self.stack.is_empty() {
            self.stack_remove(self.stack.len() - 1);
        }
    }

    fn set_open(&mut self, id: NodeId, open: bool) {
        let i = id as usize;
        if i >= self.open.len() {
            self.open.resize(i + 1, false);
        }
        self.open[i] = open;
    }

    fn is_open(&self, id: NodeId) -> bool {
        self.open.get(id as usize).copied().unwrap_or(false)
    }

    /// Put `id` at position `i` of the stack of open elements.
    fn stack_insert(&mut self, i: usize, id: NodeId) {
        if let Some(t) = self.counted_tag(id) {
            self.open_counts[t as usize] += 1;
        }
        self.set_open(id, true);
        self.stack.insert(i, id);
    }

    /// The tag under which an open element counts in `open_counts`: HTML elements by tag, and
    /// `<svg>`/`<math>` themselves; other SVG/MathML elements (a MathML `<template>`, an SVG
    /// `<title>`) are not the HTML elements of that name.
    fn counted_tag(&self, id: NodeId) -> Option<Tag> {
        let t = self.dom.tag(id)?;
        (matches!(t, Tag::Svg | Tag::Math) || self.ns_of(id) == NS_HTML).then_some(t)
    }

    /// Take the element at position `i` off the stack of open elements (a cell, caption or template
    /// also clears the active formatting elements back to its marker).
    fn stack_remove(&mut self, i: usize) {
        let id = self.stack.remove(i);
        self.set_open(id, false);
        if let Some(t) = self.counted_tag(id) {
            self.open_counts[t as usize] -= 1;
            // Cells, captions and templates leave the stack only where WHATWG also clears the
            // list ("close the cell", </caption>, </template>); applet/marquee/object only clear it
            // on their own end tag.
            if matches!(t, Tag::Td | Tag::Th | Tag::Caption | Tag::Template) {
                self.clear_active_to_marker();
            }
        }
    }

    /// Drop active formatting elements up to and including the last marker.
    fn clear_active_to_marker(&mut self) {
        while let Some(e) = self.active.pop() {
            if e == Active::Marker {
                break;
            }
        }
    }

    /// Add a formatting element to the list (with the "Noah's Ark" limit of three equal entries
    /// after the last marker).
    fn push_active(&mut self, node: NodeId, tag: Tag, attrs: (u32, u32)) {
        let mut same = 0;
        let mut earliest = None;
        for i in (0..self.active.len()).rev() {
            match self.active[i] {
                Active::Marker => break,
                Active::Elem { tag: t, attrs: a, .. } if t == tag && self.same_attrs(a, attrs) => {
                    same += 1;
                    earliest = Some(i);
                }
                Active::Elem { .. } => {}
            }
        }
        if same >= 3 {
            if let Some(i) = earliest {
                self.active.remove(i);
            }
        }
        if self.active.len() >= MAX_ACTIVE_FORMATTING {
            self.active.remove(0);
        }
        self.active.push(Active::Elem { node, tag, attrs });
    }

    /// Whether two attribute ranges hold the same name/value pairs, in any order.
    fn same_attrs(&self, a: (u32, u32), b: (u32, u32)) -> bool {
        if a.1 - a.0 != b.1 - b.0 {
            return false;
        }
        let bytes = |r: &std::ops::Range<u32>| &self.text_buf[r.start as usize..r.end as usize];
        self.attrs[a.0 as usize..a.1 as usize].iter().all(|x| {
            self.attrs[b.0 as usize..b.1 as usize]
                .iter()
                .any(|y| bytes(&x.name) == bytes(&y.name) && bytes(&x.value) == bytes(&y.value))
        })
    }

    /// Index in the list of the entry for `node`.
    fn active_index(&self, node: NodeId) -> Option<usize> {
        self.active
            .iter()
            .rposition(|e| matches!(e, Active::Elem { node: n, .. } if *n == node))
    }

    /// Re-open the formatting elements that block boundaries closed (WHATWG "reconstruct the
    /// active formatting elements").
    fn reconstruct_active(&mut self) {
        let mut i = self.active.len();
        while i > 0 {
            match self.active[i - 1] {
                Active::Marker => break,
                Active::Elem { node, .. } if self.is_open(node) => break,
                Active::Elem { .. } => i -= 1,
            }
        }
        for j in i..self.active.len() {
            if self.clone_budget == 0 {
                return;
            }
            let Active::Elem { tag, attrs, .. } = self.active[j] else {
                continue;
            };
            self.clone_budget -= 1;
            let e = self.dom.new_node(Kind::Element(tag), attrs.0..attrs.1);
            self.insert(e, true);
            self.push_open(e);
            self.active[j] = Active::Elem { node: e, tag, attrs };
        }
    }

    /// The WHATWG adoption agency algorithm for an end tag (or a repeated `<a>`/`<nobr>`) of the
    /// formatting element `subject`. Returns `false` when the end tag should instead be handled
    /// as "any other end tag".
    fn adoption_agency(&mut self, subject: Tag) -> bool {
        let cur = self.current();
        if self.dom.tag(cur) == Some(subject) && self.active_index(cur).is_none() {
            self.pop_open();
            return true;
        }
        for _ in 0..8 {
            // The last formatting element with this tag after the last marker.
            let mut fi = None;
            for i in (0..self.active.len()).rev() {
                match self.active[i] {
                    Active::Marker => break,
                    Active::Elem { tag, .. } if tag == subject => {
                        fi = Some(i);
                        break;
                    }
                    Active::Elem { .. } => {}
                }
            }
            let Some(fi) = fi else { return false };
            let Active::Elem {
                node: fe,
                attrs: fe_attrs,
                ..
            } = self.active[fi]
            else {
                return false;
            };
            if !self.is_open(fe) {
                self.active.remove(fi);
                return true;
            }
            // Its stack position, and whether it is in (default) scope.
            let mut si = None;
            for i in (0..self.stack.len()).rev().take(MAX_SCOPE_SEARCH) {
                let n = self.stack[i];
                if n == fe {
                    si = Some(i);
                    break;
                }
                let foreign_boundary = self.in_foreign()
                    && self.ns_of(n) != NS_HTML
                    && (self.is_text_integration_point(n) || self.is_html_integration_point(n));
                if foreign_boundary
                    || matches!(
                        self.dom.tag(n),
                        Some(
                            Tag::Applet
                                | Tag::Caption
                                | Tag::Html
                                | Tag::Table
                                | Tag::Td
                                | Tag::Th
                                | Tag::Marquee
                                | Tag::Object
                                | Tag::Template
                        )
                    )
                {
                    break;
                }
            }
            let Some(si) = si else { return true };
            let Some(mut fbi) = (si + 1..self.stack.len()).find(|&i| self.is_special_node(self.stack[i])) else {
                // No furthest block: pop up to and including the formatting element.
                self.truncate_open(si);
                if let Some(i) = self.active_index(fe) {
                    self.active.remove(i);
                }
                return true;
            };
            if si == 0 {
                return true;
            }
            let common = self.stack[si - 1];
            let fb = self.stack[fbi];
            let mut bookmark = fi;
            let mut node_i = fbi;
            let mut last = fb;
            let mut inner = 0;
            loop {
                inner += 1;
                node_i -= 1;
                let node = self.stack[node_i];
                if node == fe {
                    break;
                }
                let ai = self.active_index(node);
                // As lexbor does: past the third step an active element is only forgotten by the
                // list and stays open (the WHATWG text would also take it off the stack), and the
                // bookmark is a plain index that removals do not shift.
                if inner > 3 {
                    if let Some(i) = ai {
                        self.active.remove(i);
                        continue;
                    }
                }
                let Some(ai) = ai else {
                    self.stack_remove(node_i);
                    fbi -= 1;
                    continue;
                };
                if self.clone_budget == 0 {
                    return true;
                }
                self.clone_budget -= 1;
                let Active::Elem { tag, attrs, .. } = self.active[ai] else {
                    return true;
                };
                let new = self.dom.new_node(Kind::Element(tag), attrs.0..attrs.1);
                self.active[ai] = Active::Elem { node: new, tag, attrs };
                self.set_open(node, false);
                self.set_open(new, true);
                self.stack[node_i] = new;
                if last == fb {
                    bookmark = ai + 1;
                }
                self.dom.detach(last);
                self.dom.append(new, last);
                last = new;
            }
            // Insert `last` where it belongs under the common ancestor (foster parented if that is
            // a table part).
            self.dom.detach(last);
            let table = if self.is_table_context_node(common) {
                self.stack
                    .iter()
                    .rev()
                    .copied()
                    .find(|&n| self.dom.tag(n) == Some(Tag::Table))
                    .filter(|&t| self.dom.node(t).parent != NONE)
            } else {
                None
            };
            match table {
                Some(t) => self.dom.insert_before(t, last),
                None => self.dom.append(common, last),
            }
            if self.clone_budget == 0 {
                return true;
            }
            self.clone_budget -= 1;
            let nf = self.dom.new_node(Kind::Element(subject), fe_attrs.0..fe_attrs.1);
            self.dom.move_children(fb, nf);
            self.dom.append(fb, nf);
            if fi < self.active.len() {
                self.active.remove(fi);
            }
            let bookmark = bookmark.min(self.active.len());
            self.active.insert(
                bookmark,
                Active::Elem {
                    node: nf,
                    tag: subject,
                    attrs: fe_attrs,
                },
            );
            // `fe` is still at `si` (only elements above it were removed).
            self.stack_remove(si);
            fbi -= 1;
            debug_assert_eq!(self.stack[fbi], fb);
            self.stack_insert(fbi + 1, nf);
        }
        true
    }

    fn truncate_open(&mut self, len: usize) {
        while self.stack.len() > len {
            self.pop_open();
        }
    }

    /// Pop open SVG/MathML elements until the current node is an HTML element or an integration
    /// point (WHATWG "in foreign content", breakout start tags and `</br>`, `</p>`).
    fn pop_foreign(&mut self) {
        while self.stack.len() > 2 {
            let c = self.current();
            if self.ns_of(c) == NS_HTML || self.is_text_integration_point(c) || self.is_html_integration_point(c) {
                break;
            }
            self.pop_open();
        }
    }

    /// An attribute of an element built so far (the attributes move into the DOM at the end).
    fn attr_value(&self, id: NodeId, name: &[u8]) -> Option<&[u8]> {
        let r = self.dom.node(id).data.clone();
        self.attrs
            .get(r.start as usize..r.end as usize)?
            .iter()
            .find(|a| &self.text_buf[a.name.start as usize..a.name.end as usize] == name)
            .map(|a| &self.text_buf[a.value.start as usize..a.value.end as usize])
    }

    /// An HTML `table`, `tbody`, `thead`, `tfoot` or `tr` (where foster parenting applies; SVG/MathML
    /// elements of those names are not).
    fn is_table_context_node(&self, id: NodeId) -> bool {
        self.dom.tag(id).is_some_and(is_table_context) && self.ns_of(id) == NS_HTML
    }

    fn ns_of(&self, id: NodeId) -> u8 {
        self.ns.get(id as usize).copied().unwrap_or(NS_HTML)
    }

    fn set_ns(&mut self, id: NodeId, ns: u8) {
        let i = id as usize;
        if ns != NS_HTML || i < self.ns.len() {
            if i >= self.ns.len() {
                self.ns.resize(i + 1, NS_HTML);
            }
            self.ns[i] = ns;
        }
    }

    /// Whether the element is `Other` with exactly this (lower-case) name.
    fn other_named(&self, id: NodeId, name: &[u8]) -> bool {
        self.dom.tag(id) == Some(Tag::Other) && self.other_names.get(&id).copied() == Some(name_hash(name))
    }

    /// The WHATWG "special" category by namespace: HTML elements by tag; of SVG/MathML elements only
    /// the integration points (and every MathML `annotation-xml`).
    fn is_special_node(&self, id: NodeId) -> bool {
        if self.in_foreign() && self.ns_of(id) != NS_HTML {
            return self.is_text_integration_point(id)
                || self.is_html_integration_point(id)
                || (self.ns_of(id) == NS_MATH && self.other_named(id, b"annotation-xml"));
        }
        self.dom.tag(id).is_some_and(is_special)
    }

    /// MathML `mi`, `mo`, `mn`, `ms`, `mtext`.
    fn is_text_integration_point(&self, id: NodeId) -> bool {
        self.ns_of(id) == NS_MATH
            && [&b"mi"[..], b"mo", b"mn", b"ms", b"mtext"]
                .iter()
                .any(|n| self.other_named(id, n))
    }

    /// SVG `foreignObject`, `desc`, `title`; MathML `annotation-xml` with an HTML encoding.
    fn is_html_integration_point(&self, id: NodeId) -> bool {
        match self.ns_of(id) {
            NS_SVG => {
                self.dom.tag(id) == Some(Tag::Title)
                    || self.other_named(id, b"foreignobject")
                    || self.other_named(id, b"desc")
            }
            NS_MATH => {
                self.other_named(id, b"annotation-xml")
                    && self.attr_value(id, b"encoding").is_some_and(|v| {
                        v.eq_ignore_ascii_case(b"text/html") || v.eq_ignore_ascii_case(b"application/xhtml+xml")
                    })
            }
            _ => false,
        }
    }

    /// Whether a start tag (`Some`) or text (`None`) is handled by the "in foreign content" rules:
    /// the current node is SVG/MathML and not an integration point that lets it through.
    fn foreign_content(&self, start: Option<&TagToken>) -> bool {
        let c = self.current();
        if self.ns_of(c) == NS_HTML {
            return false;
        }
        if self.is_text_integration_point(c) {
            let glyph = start.is_some_and(|t| {
                t.name == Tag::Other
                    && (t.other_name == name_hash(b"mglyph") || t.other_name == name_hash(b"malignmark"))
            });
            if !glyph {
                return false;
            }
        }
        if start.is_some_and(|t| t.name == Tag::Svg) && self.other_named(c, b"annotation-xml") {
            return false;
        }
        !self.is_html_integration_point(c)
    }

    /// `<font>` leaves foreign content only with a `color`, `face` or `size` attribute.
    fn font_breaks_out(&self, tok: &TagToken) -> bool {
        self.attrs[tok.attrs_start..].iter().any(|a| {
            matches!(
                &self.text_buf[a.name.start as usize..a.name.end as usize],
                b"color" | b"face" | b"size"
            )
        })
    }

    /// Forget an ignored start tag's attributes (so that text around it stays contiguous).
    fn drop_token(&mut self, tok: &TagToken) {
        self.attrs.truncate(tok.attrs_start);
        self.text_buf.truncate(tok.text_start);
    }

    fn any_open(&self, tags: &[Tag]) -> bool {
        tags.iter().any(|&t| self.open_counts[t as usize] > 0)
    }

    /// Whether any SVG/MathML element is open (a cheap precondition for the namespace checks).
    fn in_foreign(&self) -> bool {
        self.any_open(&[Tag::Svg, Tag::Math])
    }

    fn generate_implied_end(&mut self, except: Option<Tag>) {
        while let Some(t) = self.current_tag() {
            if implied_end(t) && Some(t) != except && self.stack.len() > 2 {
                self.pop_open();
            } else {
                break;
            }
        }
    }

    fn close_p_if_open(&mut self) {
        if let Some(i) = self.in_scope(&[Tag::P], Scope::Button) {
            self.generate_implied_end(Some(Tag::P));
            self.pop_to(i);
        }
    }

    fn new_element(&mut self, tag: &TagToken) -> NodeId {
        let start = tag.attrs_start as u32;
        let end = self.attrs.len() as u32;
        // An HTML `<image>` is inserted as `<img>` (SVG elements are made by `new_foreign_element`).
        let name = if tag.name == Tag::Image { Tag::Img } else { tag.name };
        let e = self.dom.new_node(Kind::Element(name), start..end);
        if tag.name == Tag::Other {
            self.other_names.insert(e, tag.other_name);
        }
        e
    }

    /// An SVG/MathML element for a start tag in foreign content (namespace of the current node).
    fn new_foreign_element(&mut self, tag: &TagToken) -> NodeId {
        let start = tag.attrs_start as u32;
        let end = self.attrs.len() as u32;
        let e = self.dom.new_node(Kind::Element(tag.name), start..end);
        if tag.name == Tag::Other {
            self.other_names.insert(e, tag.other_name);
        }
        let ns = match tag.name {
            Tag::Svg => NS_SVG,
            Tag::Math => NS_MATH,
            _ => self.ns_of(self.current()),
        };
        self.set_ns(e, ns.max(NS_SVG));
        e
    }

    /// Whether the open element at stack position `i` has the end tag's name.
    fn stack_matches(&self, i: usize, tag: Tag) -> bool {
        self.ns_of(self.stack[i]) == NS_HTML && self.stack_matches_any_ns(i, tag)
    }

    /// [`Self::stack_matches`] for SVG/MathML elements too (end tags in foreign content).
    fn stack_matches_any_ns(&self, i: usize, tag: Tag) -> bool {
        let n = self.stack[i];
        self.dom.tag(n) == Some(tag)
            && (tag != Tag::Other || self.other_names.get(&n).copied().unwrap_or(0) == self.end_other_name)
    }

    /// Handle a start tag; returns the raw-text mode when the tokenizer must switch.
    fn start_tag(&mut self, tok: &TagToken) -> Option<RawMode> {
        self.attr_mark = self.attrs.len();
        let mut name = tok.name;
        if name == Tag::Image {
            name = Tag::Img;
        }
        self.skip_newline = false;
        if self.any_open(&[Tag::Template]) {
            // Template contents: kept as plain nesting (the extractor skips templates wholesale),
            // except that SVG/MathML content stays foreign (no raw-text `<title>`, `<style>`, …).
            if self.in_foreign() && self.foreign_content(Some(tok)) {
                if breaks_out_of_foreign(tok.name) || (name == Tag::Font && self.font_breaks_out(tok)) {
                    self.pop_foreign();
                } else {
                    let e = self.new_foreign_element(tok);
                    self.dom.append(self.current(), e);
                    if !tok.self_closing {
                        self.push_open(e);
                    }
                    return None;
                }
            }
            let e = self.new_element(tok);
            if matches!(name, Tag::Svg | Tag::Math) {
                self.set_ns(e, if name == Tag::Svg { NS_SVG } else { NS_MATH });
            }
            self.dom.append(self.current(), e);
            if !is_void(name) && !tok.self_closing {
                self.push_open(e);
            }
            return match name {
                Tag::Script | Tag::Style | Tag::Xmp | Tag::Iframe | Tag::Noembed | Tag::Noframes => {
                    Some(RawMode::Rawtext)
                }
                Tag::Textarea | Tag::Title => Some(RawMode::Rcdata),
                _ => None,
            };
        }
        if self.any_open(&[Tag::Select]) && self.body != NONE {
            // "in select": only options, a closing <select> and a few escapes are honoured.
            match name {
                Tag::Option => {
                    if self.current_tag() == Some(Tag::Option) {
                        self.pop_open();
                    }
                }
                Tag::Optgroup => {
                    if self.current_tag() == Some(Tag::Option) {
                        self.pop_open();
                    }
                    if self.current_tag() == Some(Tag::Optgroup) {
                        self.pop_open();
                    }
                }
                Tag::Select | Tag::Input | Tag::Keygen | Tag::Textarea => {
                    if let Some(i) = self.stack.iter().rposition(|&n| self.dom.tag(n) == Some(Tag::Select)) {
                        self.pop_to(i);
                    }
                    if name == Tag::Select {
                        self.drop_token(tok);
                        return None;
                    }
                }
                Tag::Script | Tag::Template => {}
                Tag::Caption | Tag::Table | Tag::Tbody | Tag::Tfoot | Tag::Thead | Tag::Tr | Tag::Td | Tag::Th
                    if self.select_in_table() =>
                {
                    // "in select in table": a table tag closes the select and is handled as usual.
                    if let Some(i) = self.stack.iter().rposition(|&n| self.dom.tag(n) == Some(Tag::Select)) {
                        self.pop_to(i);
                    }
                }
                _ => {
                    self.drop_token(tok);
                    return None;
                }
            }
            if matches!(name, Tag::Option | Tag::Optgroup | Tag::Script | Tag::Template) {
                let e = self.new_element(tok);
                self.dom.append(self.current(), e);
                self.push_open(e);
                return (name == Tag::Script).then_some(RawMode::Rawtext);
            }
        }
        match name {
            Tag::Html => {
                if self.html == NONE {
                    let h = self.new_element(tok);
                    self.dom.append(0, h);
                    self.html = h;
                    self.push_open(h);
                } else {
                    self.drop_token(tok);
                }
                return None;
            }
            Tag::Head if self.body == NONE => {
                self.ensure_head();
                self.drop_token(tok);
                return None;
            }
            Tag::Head => {
                self.drop_token(tok);
                return None;
            }
            Tag::Body => {
                if self.body == NONE {
                    self.ensure_head();
                    let b = self.new_element(tok);
                    self.dom.append(self.html, b);
                    self.body = b;
                    self.truncate_open(1);
                    self.push_open(b);
                } else {
                    self.drop_token(tok);
                }
                return None;
            }
            _ => {}
        }
        if self.body == NONE && head_only(name) {
            // Goes into <head>.
            self.ensure_head();
            let e = self.new_element(tok);
            self.dom.append(self.head, e);
            return match name {
                Tag::Title => {
                    self.push_open(e);
                    Some(RawMode::Rcdata)
                }
                Tag::Script | Tag::Style | Tag::Noframes => {
                    self.push_open(e);
                    Some(RawMode::Rawtext)
                }
                Tag::Noscript | Tag::Template => {
                    // Treated as a normal container inside head (scripting off).
                    self.push_open(e);
                    None
                }
                _ => None,
            };
        }
        self.ensure_body();

        if self.in_foreign() && self.foreign_content(Some(tok)) {
            // By the token's own name: `<image>` (SVG's image element) does not break out.
            if breaks_out_of_foreign(tok.name) || (name == Tag::Font && self.font_breaks_out(tok)) {
                self.pop_foreign();
            } else {
                let e = self.new_foreign_element(tok);
                self.insert(e, false);
                if !tok.self_closing {
                    self.push_open(e);
                }
                return None;
            }
        }
        if matches!(name, Tag::Frameset | Tag::Frame) {
            // frameset-ok is false once the body has content; frames outside framesets are ignored.
            self.drop_token(tok);
            return None;
        }
        if name == Tag::Form {
            if self.form_pointer != NONE {
                // The form element pointer is set: another <form> is ignored.
                self.drop_token(tok);
                return None;
            }
            if self.in_table_mode() {
                // A <form> in table mode is inserted where it stands (not fostered) as an empty
                // element: it sets the form element pointer and leaves the stack at once.
                let e = self.new_element(tok);
                self.insert(e, false);
                self.form_pointer = e;
                return None;
            }
        }

        // Table structure.
        match name {
            Tag::Td | Tag::Th => {
                if let Some(i) = self.in_scope(&[Tag::Td, Tag::Th], Scope::Table) {
                    self.generate_implied_end(None);
                    self.pop_to(i);
                }
                if self.in_table_body_context() {
                    if !matches!(self.current_tag(), Some(Tag::Tr)) {
                        self.pop_to_table_part(&[Tag::Tbody, Tag::Thead, Tag::Tfoot, Tag::Table]);
                        if matches!(self.current_tag(), Some(Tag::Table)) {
                            self.implicit(Tag::Tbody);
                        }
                        self.implicit(Tag::Tr);
                    }
                } else if self.table_open() {
                    // Still "in table": clear back to the table context, then imply tbody/tr.
                    self.pop_to_table_part(&[Tag::Tbody, Tag::Thead, Tag::Tfoot, Tag::Table, Tag::Tr]);
                    if matches!(self.current_tag(), Some(Tag::Table)) {
                        self.implicit(Tag::Tbody);
                    }
                    if !matches!(self.current_tag(), Some(Tag::Tr)) {
                        self.implicit(Tag::Tr);
                    }
                } else {
                    // Stray cell outside any table: parse error, ignored as in "in body".
                    self.drop_token(tok);
                    return None;
                }
            }
            Tag::Tr => {
                if self.table_open() {
                    if let Some(i) = self.in_scope(&[Tag::Tr], Scope::Table) {
                        self.pop_to(i);
                    }
                    if let Some(i) = self.in_scope(&[Tag::Td, Tag::Th], Scope::Table) {
                        self.pop_to(i);
                    }
                    self.pop_to_table_part(&[Tag::Tbody, Tag::Thead, Tag::Tfoot, Tag::Table]);
                    if matches!(self.current_tag(), Some(Tag::Table)) {
                        self.implicit(Tag::Tbody);
                    }
                } else {
                    self.drop_token(tok);
                    return None;
                }
            }
            Tag::Tbody | Tag::Thead | Tag::Tfoot | Tag::Caption | Tag::Colgroup => {
                if self.table_open() {
                    self.pop_to_table_part(&[Tag::Table]);
                } else {
                    self.drop_token(tok);
                    return None;
                }
            }
            Tag::Col if !self.table_open() => {
                self.drop_token(tok);
                return None;
            }
            Tag::Table => {
                if self.in_table_mode() {
                    // A <table> in table context (also inside content fostered out of the table)
                    // closes the open table.
                    if let Some(i) = self.in_scope(&[Tag::Table], Scope::Table) {
                        self.pop_to(i);
                    }
                }
                if !self.quirks {
                    self.close_p_if_open();
                }
            }
            _ => {}
        }

        // List items first close an open item (up to a special element), then an open <p>.
        match name {
            Tag::Li => self.close_list_item(&[Tag::Li]),
            Tag::Dd | Tag::Dt => self.close_list_item(&[Tag::Dd, Tag::Dt]),
            _ => {}
        }
        if closes_p(name) && name != Tag::Table {
            self.close_p_if_open();
        }
        match name {
            t if is_heading(t) && self.current_tag().is_some_and(is_heading) => {
                self.pop_open();
            }
            Tag::Option if self.current_tag() == Some(Tag::Option) => {
                self.pop_open();
            }
            Tag::Optgroup => {
                if matches!(self.current_tag(), Some(Tag::Option)) {
                    self.pop_open();
                }
                if matches!(self.current_tag(), Some(Tag::Optgroup)) {
                    self.pop_open();
                }
            }
            Tag::Button => {
                if let Some(i) = self.in_scope(&[name], Scope::Default) {
                    self.pop_to(i);
                }
            }
            _ => {}
        }

        match name {
            Tag::A => {
                // An `<a>` still active closes through the adoption agency and is forgotten.
                let open_a = self.active.iter().rev().find_map(|e| match e {
                    Active::Marker => Some(None),
                    Active::Elem { node, tag: Tag::A, .. } => Some(Some(*node)),
                    Active::Elem { .. } => None,
                });
                if let Some(Some(a)) = open_a {
                    self.adoption_agency(Tag::A);
                    if let Some(i) = self.active_index(a) {
                        self.active.remove(i);
                    }
                    if let Some(i) = self.stack.iter().rposition(|&n| n == a) {
                        self.stack_remove(i);
                    }
                }
            }
            Tag::Nobr => {
                self.reconstruct_active();
                if self.in_scope(&[Tag::Nobr], Scope::Default).is_some() {
                    self.adoption_agency(Tag::Nobr);
                }
            }
            _ => {}
        }
        if !starts_without_reconstruct(name) {
            self.reconstruct_active();
        }
        let foster = !is_table_part(name);
        let e = self.new_element(tok);
        self.insert(e, foster);
        if is_void(name) {
            return None;
        }
        if tok.self_closing && name == Tag::Other {
            return None;
        }
        self.push_open(e);
        if name == Tag::Form {
            self.form_pointer = e;
        }
        if is_formatting(name) {
            let n = self.dom.node(e);
            let attrs = (n.data.start, n.data.end);
            self.push_active(e, name, attrs);
        } else if pushes_marker(name) {
            self.active.push(Active::Marker);
        }
        match name {
            Tag::Svg | Tag::Math => {
                self.set_ns(e, if name == Tag::Svg { NS_SVG } else { NS_MATH });
                if tok.self_closing {
                    self.pop_open();
                }
                None
            }
            Tag::Pre | Tag::Listing => {
                self.skip_newline = true;
                None
            }
            Tag::Textarea => {
                self.skip_newline = true;
                Some(RawMode::Rcdata)
            }
            Tag::Title => Some(RawMode::Rcdata),
            Tag::Script | Tag::Style | Tag::Xmp | Tag::Iframe | Tag::Noembed | Tag::Noframes => Some(RawMode::Rawtext),
            Tag::Plaintext => Some(RawMode::Plaintext),
            _ => None,
        }
    }

    /// Whether the open `<select>` was opened in table context ("in select in table"): a table part
    /// is open below it.
    fn select_in_table(&self) -> bool {
        let Some(i) = self.stack.iter().rposition(|&n| self.dom.tag(n) == Some(Tag::Select)) else {
            return false;
        };
        self.stack[..i]
            .iter()
            .rev()
            .take(MAX_SCOPE_SEARCH)
            .any(|&n| matches!(self.dom.tag(n), Some(Tag::Table | Tag::Td | Tag::Th | Tag::Caption)))
    }

    /// Whether the WHATWG insertion mode is "in table" (or a table-part mode): the nearest table,
    /// cell, caption or template on the stack is a table.
    fn in_table_mode(&self) -> bool {
        for &n in self.stack.iter().rev().take(MAX_SCOPE_SEARCH) {
            match self.dom.tag(n) {
                Some(Tag::Table) => return true,
                Some(Tag::Td | Tag::Th | Tag::Caption | Tag::Template | Tag::Html) => return false,
                _ => {}
            }
        }
        false
    }

    fn table_open(&self) -> bool {
        self.in_scope(&[Tag::Table], Scope::Table).is_some()
    }

    fn in_table_body_context(&self) -> bool {
        matches!(
            self.current_tag(),
            Some(Tag::Table | Tag::Tbody | Tag::Thead | Tag::Tfoot | Tag::Tr)
        )
    }

    /// Pop until the current node is one of `tags` (or html).
    fn pop_to_table_part(&mut self, tags: &[Tag]) {
        while let Some(t) = self.current_tag() {
            if tags.contains(&t) || t == Tag::Html || self.stack.len() <= 2 {
                break;
            }
            self.pop_open();
        }
    }

    fn implicit(&mut self, tag: Tag) {
        let start = self.attrs.len() as u32;
        let e = self.dom.new_node(Kind::Element(tag), start..start);
        let cur = self.current();
        self.dom.append(cur, e);
        self.push_open(e);
    }

    fn close_list_item(&mut self, items: &[Tag]) {
        if !self.any_open(items) {
            return;
        }
        let is_item = |t: Tag| items.contains(&t);
        for i in (0..self.stack.len()).rev().take(MAX_SCOPE_SEARCH) {
            let Some(t) = self.dom.tag(self.stack[i]) else { continue };
            if is_item(t) {
                self.generate_implied_end(Some(t));
                self.pop_to(i);
                return;
            }
            if self.is_special_node(self.stack[i]) && !matches!(t, Tag::Address | Tag::Div | Tag::P) {
                return;
            }
        }
    }

    fn end_tag(&mut self, tag: Tag) {
        self.skip_newline = false;
        let tag = if tag == Tag::Image { Tag::Img } else { tag };
        if self.any_open(&[Tag::Select]) && self.body != NONE && !self.any_open(&[Tag::Template]) {
            match tag {
                Tag::Select => {
                    if let Some(i) = self.stack.iter().rposition(|&n| self.dom.tag(n) == Some(Tag::Select)) {
                        self.pop_to(i);
                    }
                }
                Tag::Option | Tag::Optgroup => {
                    if self.current_tag() == Some(Tag::Option) {
                        self.pop_open();
                    }
                    if tag == Tag::Optgroup && self.current_tag() == Some(Tag::Optgroup) {
                        self.pop_open();
                    }
                }
                Tag::Script if self.current_tag() == Some(Tag::Script) => {
                    self.pop_open();
                }
                Tag::Caption | Tag::Table | Tag::Tbody | Tag::Tfoot | Tag::Thead | Tag::Tr | Tag::Td | Tag::Th
                    if self.select_in_table() && self.in_scope(&[tag], Scope::Table).is_some() =>
                {
                    // "in select in table": a table end tag in table scope closes the select, then
                    // is handled as usual.
                    if let Some(i) = self.stack.iter().rposition(|&n| self.dom.tag(n) == Some(Tag::Select)) {
                        self.pop_to(i);
                    }
                    return self.end_tag(tag);
                }
                _ => {}
            }
            return;
        }
        if self.body == NONE {
            match tag {
                Tag::Title | Tag::Script | Tag::Style | Tag::Noscript | Tag::Template | Tag::Noframes => {
                    if let Some(i) = self.stack.iter().rposition(|&n| self.dom.tag(n) == Some(tag)) {
                        self.pop_to(i);
                    }
                    return;
                }
                Tag::Head | Tag::Html | Tag::Body | Tag::Br => {
                    if tag == Tag::Br {
                        self.ensure_body();
                        let start = self.attrs.len() as u32;
                        let e = self.dom.new_node(Kind::Element(Tag::Br), start..start);
                        self.insert(e, true);
                    }
                    return;
                }
                _ => return,
            }
        }
        if self.any_open(&[Tag::Template]) && tag != Tag::Template {
            if self.current_tag() == Some(tag) {
                self.pop_open();
            }
            return;
        }
        if self.in_foreign() && self.ns_of(self.current()) != NS_HTML {
            // Walk down from the current node: an SVG/MathML element with this name is closed;
            // reaching an HTML element hands the end tag to the HTML rules below. (lexbor has no
            // special case for `</br>` and `</p>` here: they reach the HTML rules the same way.)
            for i in (2..self.stack.len()).rev().take(MAX_SCOPE_SEARCH) {
                if self.ns_of(self.stack[i]) == NS_HTML {
                    break;
                }
                if self.stack_matches_any_ns(i, tag) {
                    self.pop_to(i);
                    return;
                }
            }
        }
        match tag {
            Tag::Body | Tag::Html | Tag::Head => {}
            Tag::Template => {
                if let Some(i) = self.stack.iter().rposition(|&n| self.dom.tag(n) == Some(Tag::Template)) {
                    self.pop_to(i);
                }
            }
            Tag::P => {
                if let Some(i) = self.in_scope(&[Tag::P], Scope::Button) {
                    self.generate_implied_end(Some(Tag::P));
                    self.pop_to(i);
                } else {
                    let start = self.attrs.len() as u32;
                    let e = self.dom.new_node(Kind::Element(Tag::P), start..start);
                    self.insert(e, true);
                }
            }
            Tag::Br => {
                self.reconstruct_active();
                let start = self.attrs.len() as u32;
                let e = self.dom.new_node(Kind::Element(Tag::Br), start..start);
                self.insert(e, true);
            }
            Tag::Li => {
                if let Some(i) = self.in_scope(&[Tag::Li], Scope::ListItem) {
                    self.generate_implied_end(Some(Tag::Li));
                    self.pop_to(i);
                }
            }
            Tag::Dd | Tag::Dt => {
                if let Some(i) = self.in_scope(&[tag], Scope::Default) {
                    self.generate_implied_end(Some(tag));
                    self.pop_to(i);
                }
            }
            t if is_heading(t) => {
                if let Some(i) = self.in_scope(&[Tag::H1, Tag::H2, Tag::H3, Tag::H4, Tag::H5, Tag::H6], Scope::Default)
                {
                    self.generate_implied_end(None);
                    self.pop_to(i);
                }
            }
            Tag::Table => {
                if let Some(i) = self.in_scope(&[Tag::Table], Scope::Table) {
                    self.pop_to(i);
                }
            }
            Tag::Form => {
                // Closes the form the pointer names, if it is in scope (the pointer is cleared either
                // way); only the form leaves the stack, what is open inside it stays open.
                let form = std::mem::replace(&mut self.form_pointer, NONE);
                if form != NONE && self.in_scope(&[Tag::Form], Scope::Default).is_some() {
                    self.generate_implied_end(None);
                    if let Some(i) = self.stack.iter().rposition(|&n| n == form) {
                        self.stack_remove(i);
                    }
                }
            }
            Tag::Tbody | Tag::Thead | Tag::Tfoot | Tag::Tr | Tag::Td | Tag::Th | Tag::Caption | Tag::Colgroup => {
                if let Some(i) = self.in_scope(&[tag], Scope::Table) {
                    self.generate_implied_end(None);
                    self.pop_to(i);
                }
            }
            Tag::Other => {
                // Unknown element names all map to `Other`: close the nearest open one with the same
                // name unless a special element comes first.
                self.any_other_end(Tag::Other);
            }
            t if is_formatting(t) => {
                if !self.adoption_agency(t) {
                    self.any_other_end(t);
                }
            }
            _ => {
                if closes_by_scope(tag) {
                    if let Some(i) = self.in_scope(&[tag], Scope::Default) {
                        self.generate_implied_end(Some(tag));
                        self.pop_to(i);
                        if matches!(tag, Tag::Applet | Tag::Marquee | Tag::Object) {
                            self.clear_active_to_marker();
                        }
                    }
                } else {
                    self.any_other_end(tag);
                }
            }
        }
    }

    fn any_other_end(&mut self, target: Tag) {
        if !self.any_open(&[target]) {
            return;
        }
        for i in (0..self.stack.len()).rev().take(MAX_SCOPE_SEARCH) {
            if self.stack_matches(i, target) {
                if i >= 2 {
                    self.pop_to(i);
                }
                return;
            }
            if self.is_special_node(self.stack[i]) {
                return;
            }
        }
    }
}

fn decode_into_cr_only(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' {
            out.push(b'\n');
            if raw.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(raw[i]);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_text(html: &str) -> String {
        let d = parse(html.as_bytes());
        String::from_utf8(d.text_content(d.body)).unwrap()
    }

    #[test]
    fn script_data_escapes() {
        let end = |s: &str| script_end(s.as_bytes(), 0);
        assert_eq!(end("x()</script>"), 3);
        assert_eq!(end("<!-- <script></script> --></script>"), 26);
        assert_eq!(end("<!-- </script> -->"), 5);
        assert_eq!(end("<!--></script>"), 5);
        assert_eq!(end("<!-- <scripts></script>"), 14);
        assert_eq!(end("<!-- <script>"), 13);
        assert_eq!(end("<!-- -> </script>"), 8);
        assert_eq!(body_text("<script><!-- <script></script> --></script>after"), "after");
    }

    #[test]
    fn formatting_elements_reopen_and_stay_bounded() {
        // `</p>` closes the `<b>`, which the next text re-opens (a browser shows "y" bold).
        let d = parse(b"<p><b>x</p>y");
        let b_count = d.nodes.iter().filter(|n| n.kind == Kind::Element(Tag::B)).count();
        assert_eq!(b_count, 2);
        // Many distinct open formatting elements re-opened after every paragraph: the clones are
        // capped, so the tree stays linear in the input.
        let mut html = String::from("<p>");
        for i in 0..200 {
            html.push_str(&format!("<b id={i}>"));
        }
        html.push_str(&"</p>x".repeat(20_000));
        let d = parse(html.as_bytes());
        assert!(
            d.nodes.len() < 2 * html.len(),
            "{} nodes for {} bytes",
            d.nodes.len(),
            html.len()
        );
    }

    #[test]
    fn entities_and_implied_body() {
        assert_eq!(
            body_text("a &amp; b &lt;c&gt; &#x41;&#66;&copy &notit; &unknown;"),
            "a & b <c> AB© ¬it; &unknown;"
        );
        assert_eq!(body_text("<title>T</title><p>x"), "x");
    }

    #[test]
    fn raw_text_elements() {
        assert_eq!(
            body_text("<p>a<script>if (a<b) x='</p>'</script>b"),
            "aif (a<b) x='</p>'b"
        );
    }

    #[test]
    fn p_closed_by_block_and_li_nesting() {
        let d = parse(b"<p>a<div>b</div><ul><li>1<li>2</ul>");
        let body = d.body;
        let kids: Vec<_> = {
            let mut v = vec![];
            let mut c = d.node(body).first_child;
            while c != NONE {
                v.push(d.tag(c));
                c = d.node(c).next;
            }
            v
        };
        assert_eq!(kids, vec![Some(Tag::P), Some(Tag::Div), Some(Tag::Ul)]);
    }

    #[test]
    fn foster_parenting() {
        assert_eq!(body_text("<table>x<tr><td>c</td></tr></table>"), "xc");
        let d = parse(b"<table>x<tr><td>c</td></tr></table>");
        let first = d.node(d.body).first_child;
        assert_eq!(d.node(first).kind, Kind::Text);
    }

    #[test]
    fn deep_nesting_is_fine() {
        let html = "<div>".repeat(100_000) + "x" + &"</div>".repeat(100_000);
        assert_eq!(body_text(&html), "x");
    }
}
