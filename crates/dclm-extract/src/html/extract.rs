//! HTML → plain text with resiliparse 0.14.x `extract_plain_text` semantics: a pre-order walk over
//! `<body>` that groups text into block nodes, then a serializer that adds paragraph margins, list
//! bullets/numbers and indentation, `<pre>` text verbatim and table-cell separators.

use super::dom::{Dom, Kind, NodeId, Tag, NONE};
use super::parse::parse;
use super::rules::{is_block, is_main_content, LinkStats};

/// Options of [`extract_plain_text`], defaulting to resiliparse's defaults with `main_content = true`
/// (DCLM's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Keep block structure (line breaks, paragraphs, lists, `<pre>`).
    pub preserve_formatting: bool,
    /// Rule-based boilerplate removal.
    pub main_content: bool,
    /// Bullets/numbers for list items.
    pub list_bullets: bool,
    /// Emit `alt` texts of `<img>`/`<area>`.
    pub alt_texts: bool,
    /// Emit link targets after link texts.
    pub links: bool,
    /// Treat comment sections as main content.
    pub comments: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            preserve_formatting: true,
            main_content: true,
            list_bullets: true,
            alt_texts: true,
            links: false,
            comments: true,
        }
    }
}

/// Parse `html` and extract its text. Never panics. The text can be far larger than the page when `<pre>`
/// blocks sit inside deeply nested lists (every line is indented by the list depth); use
/// [`extract_plain_text_limited`] to bound it.
pub fn extract_plain_text(html: &str, opts: &ExtractOptions) -> String {
    let dom = parse(html.as_bytes());
    extract_from_dom_limited(&dom, opts, usize::MAX).unwrap_or_default()
}

/// The default bound on a page's text: 4× the page's size, at least 1 MiB. Ordinary pages stay far below it
/// (their text is a part of their markup); only list indentation multiplied by nesting depth reaches it.
pub fn default_output_limit(html_len: usize) -> usize {
    html_len.saturating_mul(4).max(1 << 20)
}

/// [`extract_plain_text`], or `None` as soon as the text would exceed `limit` bytes (memory then stays bounded
/// by the limit plus the parsed page).
pub fn extract_plain_text_limited(html: &str, opts: &ExtractOptions, limit: usize) -> Option<String> {
    let dom = parse(html.as_bytes());
    extract_from_dom_limited(&dom, opts, limit)
}

/// Elements skipped with all their content (resiliparse's fixed skip list with `form_fields=False`,
/// `noscript=False`).
fn is_skipped(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Script | Style | Iframe | Frame | Template | Noscript | Textarea | Input | Button | Select | Option | Label
    )
}

struct ExtractNode {
    tag: Option<Tag>,
    depth: usize,
    collapse_margins: bool,
    is_big_block: bool,
    is_pre: bool,
    is_end_tag: bool,
    text: Option<Vec<u8>>,
}

#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Find the single element below `root` matching resiliparse's main-content-zone selector, if exactly
/// one does.
fn main_content_zone(dom: &Dom, root: NodeId) -> Option<NodeId> {
    const CLASSES: &[&[u8]] = &[
        b"article-body",
        b"articleBody",
        b"contentBody",
        b"article-text",
        b"main-content",
        b"postcontent",
        b"post-content",
        b"single-post",
    ];
    let mut found = None;
    let mut count = 0;
    // Pre-order walk of `root`'s descendants (`<body>` itself never matches). `<template>` content
    // is skipped: lexbor keeps it in a separate fragment that selectors do not see.
    let mut cur = dom.node(root).first_child;
    while cur != NONE && count <= 1 {
        let node = dom.node(cur);
        if dom.has_attrs(cur) {
            // Each selector of the list that matches counts once, as lexbor collects per selector;
            // class names compare ASCII-case-insensitively, the `role` value exactly.
            let mut hits = usize::from(dom.attr(cur, b"role") == Some(b"main"));
            if let Some(c) = dom.attr(cur, b"class") {
                // One bit per zone class present (all are 11 or 12 bytes long).
                let mut seen = 0u32;
                for tok in c.split(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')) {
                    if matches!(tok.len(), 11 | 12) {
                        for (i, k) in CLASSES.iter().enumerate() {
                            if k.eq_ignore_ascii_case(tok) {
                                seen |= 1 << i;
                            }
                        }
                    }
                }
                hits += seen.count_ones() as usize;
            }
            if hits > 0 {
                count += hits;
                found = Some(cur);
            }
        }
        cur = if node.first_child != NONE && dom.tag(cur) != Some(Tag::Template) {
            node.first_child
        } else {
            // Next in pre-order: the next sibling of the nearest ancestor (or self) that has one.
            let mut up = cur;
            loop {
                if up == root {
                    break NONE;
                }
                let n = dom.node(up);
                if n.next != NONE {
                    break n.next;
                }
                up = n.parent;
            }
        };
    }
    if count == 1 {
        found
    } else {
        None
    }
}

/// Extract text from an already parsed document.
pub fn extract_from_dom(dom: &Dom, opts: &ExtractOptions) -> String {
    extract_from_dom_limited(dom, opts, usize::MAX).unwrap_or_default()
}

/// Extract text from an already parsed document; `None` when it would exceed `limit` bytes.
pub fn extract_from_dom_limited(dom: &Dom, opts: &ExtractOptions, limit: usize) -> Option<String> {
    if dom.body == NONE {
        return Some(String::new());
    }
    let mut root = dom.body;
    if opts.main_content {
        if let Some(z) = main_content_zone(dom, root) {
            // A `<template>` zone has no children in lexbor's tree (its content is a separate
            // fragment), so nothing is extracted.
            if dom.tag(z) == Some(Tag::Template) {
                return Some(String::new());
            }
            root = z;
        }
    }
    let mut base_depth = 0usize;
    {
        let mut p = root;
        while dom.tag(p) != Some(Tag::Body) && dom.node(p).parent != NONE {
            base_depth += 1;
            p = dom.node(p).parent;
        }
    }
    let stats = if opts.main_content {
        Some(LinkStats::compute(dom, root))
    } else {
        None
    };

    let mut nodes: Vec<ExtractNode> = Vec::with_capacity(128);
    let mut node = root;
    let mut depth = 0usize;
    let mut is_end = false;
    while node != NONE {
        let kind = dom.node(node).kind;
        let skip = match kind {
            // The end visit of an element: its start visit accepted it (the walk only descends into
            // accepted elements), and the same checks would accept it again.
            Kind::Element(_) if is_end => false,
            Kind::Element(t) => {
                // The skip list is looked up below the root, so a zone root is never skipped.
                (is_skipped(t) && node != root)
                    || stats
                        .as_ref()
                        .is_some_and(|s| !is_main_content(dom, s, node, depth + base_depth, opts.comments))
            }
            Kind::Text => stats
                .as_ref()
                .is_some_and(|s| !is_main_content(dom, s, node, depth + base_depth, opts.comments)),
            _ => true,
        };
        if skip {
            is_end = true;
        } else {
            extract_cb(dom, &mut nodes, node, depth, is_end, opts);
        }
        node = next_node(dom, root, node, &mut depth, &mut is_end);
    }
    let out = serialize(&nodes, opts, limit)?;
    let s = String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    // resiliparse 0.14.5 strips ASCII white space only (a trailing U+00A0 survives).
    let trimmed = s.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8)).len();
    let mut s = s;
    s.truncate(trimmed);
    Some(s)
}

/// Pre-order step that also visits elements on the way back up (only elements with children get
/// an end visit), tracking depth relative to `root`.
fn next_node(dom: &Dom, root: NodeId, node: NodeId, depth: &mut usize, end: &mut bool) -> NodeId {
    let n = dom.node(node);
    if !*end && n.first_child != NONE {
        *depth += 1;
        return n.first_child;
    }
    let mut cur = node;
    if dom.node(cur).next == NONE && cur != root {
        cur = dom.node(cur).parent;
        *depth = depth.saturating_sub(1);
        *end = true;
        return cur;
    }
    *end = false;
    if cur == root {
        return NONE;
    }
    dom.node(cur).next
}

fn collapse(input: &[u8], out: &mut Vec<u8>) {
    // Copies runs of non-white-space bytes whole; each white-space run becomes one space unless the
    // output already ends in white space.
    out.reserve(input.len());
    let mut prev_ws = out.last().is_some_and(|&l| is_space(l));
    let mut start = 0;
    for (i, &c) in input.iter().enumerate() {
        if is_space(c) {
            if i > start {
                out.extend_from_slice(&input[start..i]);
                prev_ws = false;
            }
            if !prev_ws {
                out.push(b' ');
                prev_ws = true;
            }
            start = i + 1;
        }
    }
    out.extend_from_slice(&input[start..]);
}

fn extract_cb(
    dom: &Dom,
    nodes: &mut Vec<ExtractNode>,
    node: NodeId,
    depth: usize,
    is_end: bool,
    opts: &ExtractOptions,
) {
    let tag = dom.tag(node);
    let block = tag.is_some_and(is_block);
    let need_new = match nodes.last() {
        None => true,
        Some(last) => block || depth < last.depth || tag == Some(Tag::Textarea),
    };
    if need_new {
        nodes.push(ExtractNode {
            tag,
            depth,
            collapse_margins: true,
            is_big_block: matches!(tag, Some(Tag::P | Tag::H1 | Tag::H2 | Tag::H3 | Tag::H4)),
            is_pre: !is_end && matches!(tag, Some(Tag::Pre | Tag::Textarea)),
            is_end_tag: is_end,
            text: None,
        });
    }
    let last = nodes.last_mut().expect("pushed above");
    match dom.node(node).kind {
        Kind::Text => {
            let data = dom.text_of(node);
            let t = last.text.get_or_insert_with(Vec::new);
            if last.is_pre && opts.preserve_formatting {
                t.extend_from_slice(data);
            } else {
                // Collapse white space straight into the block's text; leading white space goes
                // when the text is empty or already ends in white space.
                let mut s = data;
                if t.last().is_none_or(|&c| is_space(c)) {
                    let skip = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
                    s = &s[skip..];
                }
                collapse(s, t);
            }
        }
        Kind::Element(Tag::Br | Tag::Hr) => {
            last.text.get_or_insert_with(Vec::new);
            last.collapse_margins = false;
        }
        Kind::Element(Tag::A) if opts.links && is_end => {
            let href = dom.attr_or_empty(node, b"href");
            if !href.is_empty() {
                let t = last.text.get_or_insert_with(Vec::new);
                t.extend_from_slice(b" (");
                t.extend_from_slice(href);
                t.extend_from_slice(b") ");
            }
        }
        Kind::Element(Tag::Img | Tag::Area) if opts.alt_texts => {
            let t = last.text.get_or_insert_with(Vec::new);
            t.extend_from_slice(dom.attr_or_empty(node, b"alt"));
        }
        _ => {}
    }
}

fn rstrip(s: &[u8]) -> &[u8] {
    let mut e = s.len();
    while e > 0 && is_space(s[e - 1]) {
        e -= 1;
    }
    &s[..e]
}

/// Bytes [`indent_newlines`] would produce.
fn indented_len(text: &[u8], depth: usize) -> usize {
    let lines = text.iter().filter(|&&c| c == b'\n').count();
    text.len().saturating_add(lines.saturating_mul(2 * depth))
}

fn indent_newlines(text: &[u8], depth: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(indented_len(text, depth));
    for &c in text {
        out.push(c);
        if c == b'\n' {
            out.extend(std::iter::repeat_n(b' ', 2 * depth));
        }
    }
    out
}

/// The text of the block nodes; `None` as soon as it would exceed `limit` bytes.
fn serialize(nodes: &[ExtractNode], opts: &ExtractOptions, limit: usize) -> Option<Vec<u8>> {
    let over = |out: &Vec<u8>, more: usize| out.len().saturating_add(more) > limit;
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut bullet_deferred = false;
    let mut list_depth: usize = 0;
    let mut numbering: Vec<usize> = Vec::new();
    for node in nodes {
        let tag = node.tag;
        if opts.preserve_formatting {
            if matches!(tag, Some(Tag::Ul | Tag::Ol)) || (tag == Some(Tag::Li) && list_depth == 0) {
                if node.is_end_tag {
                    list_depth = list_depth.saturating_sub(1);
                    numbering.pop();
                    bullet_deferred = false;
                } else {
                    list_depth += 1;
                    numbering.push(usize::from(tag == Some(Tag::Ol)));
                }
            }
            if tag == Some(Tag::Li) {
                bullet_deferred = true;
            }
            if tag != Some(Tag::Textarea) {
                if !node.collapse_margins || out.last().is_some_and(|&c| c != b'\n') {
                    out.push(b'\n');
                }
                if node.is_big_block && !bullet_deferred && out.len() >= 2 && out[out.len() - 2] != b'\n' {
                    out.push(b'\n');
                }
            }
        } else if out.last().is_some_and(|&c| c != b' ') {
            out.push(b' ');
        }

        let Some(text) = &node.text else { continue };
        let mut text: &[u8] = text;
        if !node.is_pre || node.is_end_tag {
            text = rstrip(text);
        }
        if text.is_empty() {
            continue;
        }
        let mut owned: Vec<u8>;
        if list_depth > 0 {
            let pre_depth = list_depth + usize::from(opts.list_bullets);
            let indent_pre = node.is_pre && opts.preserve_formatting;
            let body_len = if indent_pre {
                indented_len(text, pre_depth)
            } else {
                text.len()
            };
            // Bounded: a pathological list depth must not allocate unboundedly.
            let n = (2 * list_depth + 2 * usize::from(!bullet_deferred && opts.list_bullets)).min(1 << 16);
            if over(&out, body_len.saturating_add(n)) {
                return None;
            }
            let mut body = text.to_vec();
            if indent_pre {
                body = indent_newlines(&body, pre_depth);
            }
            let mut indent: Vec<u8> = if opts.preserve_formatting {
                vec![b' '; n]
            } else {
                vec![b' ']
            };
            if bullet_deferred {
                let numbered = numbering.last().copied().unwrap_or(0);
                if opts.list_bullets && numbered == 0 {
                    indent.extend_from_slice("\u{2022} ".as_bytes());
                } else if opts.list_bullets {
                    indent.extend_from_slice(format!("{numbered}. ").as_bytes());
                    if let Some(n) = numbering.last_mut() {
                        *n += 1;
                    }
                }
                bullet_deferred = false;
            }
            owned = indent;
            owned.extend_from_slice(&body);
            text = &owned;
        }
        if opts.preserve_formatting && matches!(tag, Some(Tag::Td | Tag::Th)) && out.last().is_some_and(|&c| c != b'\n')
        {
            out.extend_from_slice(b"\t\t");
        }
        if over(&out, text.len() + 2) {
            return None;
        }
        out.extend_from_slice(text);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(html: &str) -> String {
        extract_plain_text(html, &ExtractOptions::default())
    }

    #[test]
    fn paragraphs_and_lists() {
        assert_eq!(ex("<p>Hello <b>world</b></p><p>Second</p>"), "Hello world\n\nSecond");
        let list = ex("<body><div><div><div><div><ul><li>a</li><li>b</li></ul></div></div></div></div></body>");
        // resiliparse indents list items by two spaces per list level, the bullet included.
        assert_eq!(list, "  • a\n  • b");
    }

    #[test]
    fn skips_script_and_nav() {
        assert_eq!(ex("<nav>Menu</nav><p>Text<script>x()</script></p>"), "Text");
    }

    #[test]
    fn nested_lists_around_pre_are_bounded() {
        let depth = 2000;
        let lines = 2000;
        let mut html = String::new();
        for _ in 0..depth {
            html.push_str("<ol><li><p>");
        }
        html.push_str("<pre>");
        for i in 0..lines {
            html.push_str(&format!("line {i}\n"));
        }
        html.push_str("</pre>");
        // Unbounded, every pre line is indented by the list depth: about 8 MB from a 40 KB page.
        let full = extract_plain_text(&html, &ExtractOptions::default());
        assert!(full.len() > 100 * html.len(), "{} vs {}", full.len(), html.len());
        let limit = default_output_limit(html.len());
        assert!(extract_plain_text_limited(&html, &ExtractOptions::default(), limit).is_none());
        // An ordinary page is unaffected by the limit.
        let page = "<p>Hello</p><ul><li>a</li></ul><pre>x\ny</pre>";
        assert_eq!(
            extract_plain_text_limited(page, &ExtractOptions::default(), default_output_limit(page.len())),
            Some(extract_plain_text(page, &ExtractOptions::default()))
        );
    }

    #[test]
    fn empty_and_garbage_inputs() {
        assert_eq!(ex(""), "");
        assert_eq!(ex("<<<>>>&&&"), "<<<>>>&&&");
    }
}
