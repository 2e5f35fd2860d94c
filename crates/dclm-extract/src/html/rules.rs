//! Rule-based main-content classification of DOM nodes, reproducing the behaviour of resiliparse
//! 0.14.x `extract_plain_text(main_content=True)` (Apache-2.0, chatnoir-eu/chatnoir-resiliparse):
//! tag rules (footers, navigation, asides, link-cluster lists), `rel`/`itemprop`/ARIA attributes,
//! and class/ID patterns for headers, footers, navigation, sidebars, ads, social widgets, modals, …
//!
//! The class/ID patterns are matched case-insensitively anywhere in the attribute (search semantics),
//! with `\s` meaning ASCII whitespace, as in RE2.

use super::dom::{Dom, Kind, NodeId, Tag, NONE};
use regex::bytes::{Regex, RegexSet};
use std::sync::OnceLock;

/// Compiled class/ID patterns.
pub(crate) struct Patterns {
    article: Regex,
    nav: Regex,
    recommended: Regex,
    landmark_id: Regex,
    header: Regex,
    footer: Regex,
    post_meta: Regex,
    sidebar: Regex,
    search: Regex,
    skip_link: Regex,
    display_cls: Regex,
    display_css: Regex,
    modal: Regex,
    gallery: Regex,
    signin: Regex,
    ads: Regex,
    social: Regex,
    comments: Regex,
    logo: Regex,
    print: Regex,
}

fn re(p: &str) -> Regex {
    // `\s` in the patterns below means RE2's ASCII whitespace class.
    let p = p.replace(r"\s", r"[\t\n\x0C\r ]");
    Regex::new(&format!("(?i-u){p}")).expect("valid built-in pattern")
}

pub(crate) fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        article: re(r"(?:^|[\s_-])(?:article|entry|post|story|single[_-]?post|main[_-]content)(?:content|body|text|page)?(?:$|[\s_-])"),
        nav: re(r"(?:^|\s)(?:(?:l|m|wp|main|site|page|sub|article|global|sticky|main)[_-]*)?(?:nav(?:igation)?|menu(?:[_-]item)?|drop[_-]?down|bread[_-]?crumbs?)|(?:links?[_-]?(?:bar|box|list|container|section|wrapp(?:er))?)(?:$|[\s_-])"),
        recommended: re(r"(?:^|[\s_-])(?:trends|trending|recommended|featured|popular|editors?[_-]picks|related|read-next|(?:related|more|other)[_-]?(?:links|articles|posts|guides|stories))(?:$|[\s_-])"),
        landmark_id: re(r"^(?:(?:l|wp|global|page|site|full|sticky)[_-]*)?(?:(?:head|foot)(?:er)?|right)$"),
        header: re(r"(?:^|\s)(?:l|m|wp|global|page|site|full|sticky)[_-]*header(?:[_-]?wrap(?:per)?|bar)?(?:$|\s)"),
        footer: re(r"(?:^|[\s_-])(?:global|page|site|copyright)?(?:footer|copyright|cookie|consent|legal|fcontainer)(?:$|[\s_-])"),
        post_meta: re(r"(?:^|[\s_-])(?:(?:post|entry|article(?:page)?|content|story|section)[_-]*(?:text[_-]*)?(?:footer|teaser|meta(?:[_-]?data)?|subline|sidebar|author(?:name)?|published|timestamp|date|posted[_-]?on|info|labels?|tags?|keywords|category)|by[_-]?line|date[_-]?line|author-date|submitted(?:-by)?)|meta[_-]?data(?:$|[\s_-])"),
        sidebar: re(r"(?:^|\s)(?:(?:l|wp|right|left|global|sticky)[_-]*)?(?:(?:side|sticky)[_-]?(?:bars?|box)|one-third)(?:$|[\s_-])"),
        search: re(r"(?:^|[\s_-])search(?:[_-]?(?:bar|facility|box))?(?:$|\s)"),
        skip_link: re(r"(?:^|\s)(?:link[_-]?)?(?:skip(?:[_-]?(?:to|link))?|scroll[_-]?(?:up|down)|next|prev(?:ious)?|permalink|pagination)(?:$|\s|[_-]?(?:post|article))"),
        display_cls: re(r"(?:^|\s)(?:is[_-])?(?:display-none|hidden|invisible|collapsed|h-0|nocontent|expandable)(?:-xs|-sm|-lg|-2?xl)?(?:$|\s)"),
        display_css: re(r"(?:^|;\s*)(?:display\s?:\s?none|visibility\s?:\s?hidden)(?:$|\s?;)"),
        modal: re(r"(?:^|\s)(?:wp-|p-|-l)?(?:modal|popup|lightbox)(?:[_-]*(?:window|pane|box))?(?:$|[\s_-])"),
        gallery: re(r"(?:^|[\s_-])(?:gallery|carousel)(?:$|[\s_-])"),
        signin: re(r"(?:^|[\s_-])(?:(?:log[_-]?in|sign[_-]?(?:in|up)|account)|user[_-](?:info|profile|settings|actions))(?:$|[\s_-])"),
        ads: re(r"(?:^|\s)(?:(?:google|wide)[_-]?ads?|ad(?:vert|vertise(?:ment|link)?|$|_[a-f0-9]+)|sponsor(?:ed)?|promoted|paid|(?:wide)?banner|donate)(?:$|[\s_-])"),
        social: re(r"(?:^|\s|__|--|mobile-|desktop-|l-|m-|c-)(?:social(?:media|search)?|share(?:daddy)?|syndication|newsletter|sharing|follow|email|likes?|(?:give[_-]?)?feedback|(?:brand[_-])?engagement|facebook|twitter|subscribe|wa|jp|aptf-follow)(?:[_-]?(?:post|links?|section|icons?|btn|buttons?|target))?(?:$|[\s_-])"),
        comments: re(r"(?:^|[\s_-])(?:(?:article|user|post)[_-]*)?(?:(?:no[_-]?)?comments?|comment[_-]?list|reply)(?:$|[\s_-])"),
        logo: re(r"(?:brand(?:ing)?[_-]*)?logo(?:$|\s)"),
        print: re(r"(?:^|\s)print[_-]"),
    })
}

/// The class/ID patterns grouped by the attribute they read and the section that applies them, so
/// that one scan of the attribute answers every pattern of the group.
pub(crate) struct PatternSets {
    /// On `class`: display-class, sign-in, post-meta, social (bits 0–3).
    cls: RegexSet,
    /// On class + ID, every element: skip-link, logo, ads (bits 0–2).
    both_all: RegexSet,
    /// On class + ID, block elements: article, header, footer, navigation, recommended, comments,
    /// search, sidebar, modal, gallery, print (bits 0–10).
    both_block: RegexSet,
}

fn pattern_sets() -> &'static PatternSets {
    static S: OnceLock<PatternSets> = OnceLock::new();
    S.get_or_init(|| {
        let p = patterns();
        let set = |rs: &[&Regex]| RegexSet::new(rs.iter().map(|r| r.as_str())).expect("valid built-in patterns");
        PatternSets {
            cls: set(&[&p.display_cls, &p.signin, &p.post_meta, &p.social]),
            both_all: set(&[&p.skip_link, &p.logo, &p.ads]),
            both_block: set(&[
                &p.article,
                &p.header,
                &p.footer,
                &p.nav,
                &p.recommended,
                &p.comments,
                &p.search,
                &p.sidebar,
                &p.modal,
                &p.gallery,
                &p.print,
            ]),
        }
    })
}

/// Bit `i` set when pattern `i` of `set` matches somewhere in `s` (never for an empty `s`).
fn hits(set: &RegexSet, s: &[u8]) -> u32 {
    if s.is_empty() {
        return 0;
    }
    set.matches(s).iter().fold(0, |acc, i| acc | (1 << i))
}

#[inline]
fn m(r: &Regex, s: &[u8]) -> bool {
    !s.is_empty() && r.is_match(s)
}

const BLACKLIST_ROLES: &[&[u8]] = &[
    b"alert",
    b"banner",
    b"checkbox",
    b"comment",
    b"complementary",
    b"contentinfo",
    b"dialog",
    b"img",
    b"menu",
    b"menubar",
    b"menuitem",
    b"navigation",
    b"presentation",
    b"radio",
    b"search",
    b"searchbox",
    b"separator",
    b"tab",
    b"toolbar",
    b"tooltip",
];

/// Elements that start a block (resiliparse's block-element list).
pub(crate) fn is_block(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Address
            | Article
            | Aside
            | Blockquote
            | Br
            | Center
            | Details
            | Dd
            | Dt
            | Div
            | Dl
            | Fieldset
            | Figcaption
            | Figure
            | Footer
            | Form
            | H1
            | H2
            | H3
            | H4
            | H5
            | H6
            | Header
            | Hgroup
            | Hr
            | Li
            | Main
            | Nav
            | Ol
            | P
            | Pre
            | Section
            | Table
            | Tr
            | Ul
    )
}

#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Length summary of whitespace-collapsed text, composable over concatenation. 8 bytes per node (lengths
/// saturate at 4 GiB, far above any page a WARC record can hold), so the per-node tables stay small next to
/// the page on tag-dense hostile input.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Collapsed {
    len: u32,
    starts_ws: bool,
    ends_ws: bool,
}

impl Collapsed {
    fn of(s: &[u8]) -> Collapsed {
        if s.is_empty() {
            return Collapsed::default();
        }
        // Every byte counts except white space directly after white space (branch-free).
        let mut len = 0usize;
        let mut prev_ws = false;
        for &c in s {
            let ws = is_space(c);
            len += usize::from(!(ws & prev_ws));
            prev_ws = ws;
        }
        Collapsed {
            len: u32::try_from(len).unwrap_or(u32::MAX),
            starts_ws: is_space(s[0]),
            ends_ws: is_space(s[s.len() - 1]),
        }
    }

    fn concat(self, b: Collapsed) -> Collapsed {
        if self.len == 0 {
            return b;
        }
        if b.len == 0 {
            return self;
        }
        Collapsed {
            len: self.len.saturating_add(b.len) - u32::from(self.ends_ws && b.starts_ws),
            starts_ws: self.starts_ws,
            ends_ws: b.ends_ws,
        }
    }
}

/// Per-node text statistics for link-cluster detection, computed once per document in O(n).
pub(crate) struct LinkStats {
    text: Vec<Collapsed>,
    links: Vec<u32>,
}

impl LinkStats {
    /// Compute for every node below `root` (inclusive), iteratively in post-order.
    pub(crate) fn compute(dom: &Dom, root: NodeId) -> LinkStats {
        let n = dom.nodes.len();
        let mut text = vec![Collapsed::default(); n];
        let mut links = vec![0u32; n];
        // Iterative post-order: descend to first children; when leaving a node, fold it into its parent.
        let mut cur = root;
        'outer: loop {
            let node = dom.node(cur);
            // `<template>` content is not part of lexbor's DOM tree (it lives in a fragment), so it
            // adds neither text nor links to its ancestors.
            if node.first_child != NONE && dom.tag(cur) != Some(Tag::Template) {
                cur = node.first_child;
                continue;
            }
            loop {
                // Leaving `cur`.
                if dom.node(cur).kind == Kind::Text {
                    text[cur as usize] = Collapsed::of(dom.text_of(cur));
                }
                if cur == root {
                    break 'outer;
                }
                let parent = dom.node(cur).parent;
                let t = text[cur as usize];
                text[parent as usize] = text[parent as usize].concat(t);
                let own = if dom.tag(cur) == Some(Tag::A) { t.len } else { 0 };
                links[parent as usize] = links[parent as usize].saturating_add(links[cur as usize].saturating_add(own));
                let next = dom.node(cur).next;
                if next != NONE {
                    cur = next;
                    continue 'outer;
                }
                cur = parent;
            }
        }
        LinkStats { text, links }
    }

    /// Whether links make up more than `max_ratio` of the element's collapsed text (skipped when the
    /// text is longer than `max_len`, 0 = no limit).
    fn is_link_cluster(&self, id: NodeId, max_ratio: f64, max_len: usize) -> bool {
        let len = self.text[id as usize].len as usize;
        if max_len > 0 && len > max_len {
            return false;
        }
        let links = self.links[id as usize] as usize;
        links > 0 && (len == 0 || links as f64 / len as f64 > max_ratio)
    }
}

/// `s` without leading and trailing white space (C `isspace`).
fn strip(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|&c| !is_space(c)).map_or(start, |e| e + 1);
    &s[start..end]
}

/// Whether a text node holds only a pilcrow or a single private-use-area character (icon fonts).
pub(crate) fn is_unprintable_pua(text: &[u8]) -> bool {
    let s = strip(text);
    if s.len() > 3 {
        return false;
    }
    if s == "\u{b6}".as_bytes() {
        return true;
    }
    if s.len() == 3 {
        let cp = u32::from(s[0]) | (u32::from(s[1]) << 8) | (u32::from(s[2]) << 16);
        return (0x8080ee..=0xbfa3ef).contains(&cp);
    }
    false
}

/// The attributes read by the main-content rules (empty when absent).
#[derive(Default)]
struct RuleAttrs<'a> {
    hidden: bool,
    data_ad: bool,
    rel: &'a [u8],
    itemprop: &'a [u8],
    aria_hidden: &'a [u8],
    aria_expanded: &'a [u8],
    class: &'a [u8],
    id: &'a [u8],
    style: &'a [u8],
    role: &'a [u8],
}

impl<'a> RuleAttrs<'a> {
    fn of(dom: &'a Dom, id: NodeId) -> Self {
        let mut r = RuleAttrs::default();
        // The tokenizer keeps only the first of duplicate attributes, so each name appears once.
        for (name, value) in dom.attrs_of(id) {
            match name {
                b"hidden" => r.hidden = true,
                b"data-ad" | b"data-advertisement" | b"data-text-ad" => r.data_ad = true,
                b"rel" => r.rel = value,
                b"itemprop" => r.itemprop = value,
                b"aria-hidden" => r.aria_hidden = value,
                b"aria-expanded" => r.aria_expanded = value,
                b"class" => r.class = value,
                b"id" => r.id = value,
                b"style" => r.style = value,
                b"role" => r.role = value,
                _ => {}
            }
        }
        r
    }
}

/// The main-content decision for one node at `body_depth` below `<body>`.
pub(crate) fn is_main_content(
    dom: &Dom,
    stats: &LinkStats,
    id: NodeId,
    body_depth: usize,
    allow_comments: bool,
) -> bool {
    let tag = match dom.node(id).kind {
        Kind::Text => return !is_unprintable_pua(dom.text_of(id)),
        Kind::Element(t) => t,
        _ => return true,
    };

    // Section 1: tag names.
    match tag {
        Tag::Body | Tag::Main | Tag::H1 => return true,
        Tag::Footer => {
            if body_depth < 3 || stats.is_link_cluster(id, 0.2, 0) {
                return false;
            }
            // A footer is kept unless it is the (recursive) last element of a direct body child.
            let mut p = id;
            loop {
                let n = dom.node(p);
                if n.parent == NONE || dom.tag(n.parent) == Some(Tag::Body) {
                    return false;
                }
                let mut next = n.next;
                if next != NONE && dom.node(next).kind == Kind::Text {
                    p = next;
                    next = dom.node(p).next;
                }
                if next != NONE {
                    return true;
                }
                p = dom.node(p).parent;
                if p == NONE {
                    return false;
                }
            }
        }
        Tag::Ul if body_depth < 4 || stats.is_link_cluster(id, 0.2, 0) => return false,
        Tag::Article if body_depth > 2 && stats.is_link_cluster(id, 0.2, 500) => return false,
        Tag::Nav | Tag::Aside | Tag::Audio | Tag::Video | Tag::Time => return false,
        _ => {}
    }

    if !dom.has_attrs(id) {
        if tag == Tag::Div {
            return body_depth <= 5 || !stats.is_link_cluster(id, 0.6, 800);
        }
        return true;
    }

    // The attributes the rules read, in one pass over the element's attributes.
    let a = RuleAttrs::of(dom, id);

    // Section 2: rel and ARIA attributes.
    if a.hidden {
        return false;
    }
    // resiliparse strips surrounding white space from `rel`, `itemprop`, `aria-*` and `role` values.
    let rel = strip(a.rel);
    if matches!(rel, b"author" | b"icon" | b"search" | b"prev" | b"next" | b"tag") {
        return false;
    }
    if matches!(strip(a.itemprop), b"datePublished" | b"author" | b"url") {
        return false;
    }
    if strip(a.aria_hidden) == b"true" {
        return false;
    }
    if strip(a.aria_expanded) == b"false" {
        return false;
    }

    // Section 3: class and ID.
    let cls = a.class;
    let idv = a.id;
    if cls.is_empty() && idv.is_empty() {
        if tag == Tag::Div {
            return body_depth <= 5 || !stats.is_link_cluster(id, 0.6, 800);
        }
        return true;
    }
    let mut both = Vec::with_capacity(cls.len() + idv.len() + 1);
    both.extend_from_slice(cls);
    if !cls.is_empty() {
        both.push(b' ');
    }
    both.extend_from_slice(idv);
    let both = &both[..];
    let p = patterns();
    let sets = pattern_sets();
    let cls_hits = hits(&sets.cls, cls);
    let both_hits = hits(&sets.both_all, both);

    // Every rule of this section rejects, so their order does not matter.
    if cls_hits & 1 != 0 || m(&p.display_css, a.style) {
        return false;
    }
    if matches!(tag, Tag::A | Tag::Div | Tag::Li) && both_hits & 1 != 0 {
        return false;
    }
    if body_depth > 2 && cls_hits & 0b1110 != 0 {
        return false;
    }
    if both_hits & 0b110 != 0 || a.data_ad {
        return false;
    }

    // Section 4: block elements (and table cells) only.
    if !is_block(tag) && tag != Tag::Td {
        return true;
    }
    // resiliparse compares the `rel` attribute here (not `role`); reproduced as is.
    if rel == b"main" {
        return true;
    }
    let role = strip(a.role);
    if !role.is_empty() && BLACKLIST_ROLES.contains(&role) {
        return false;
    }
    let block_hits = hits(&sets.both_block, both);
    if block_hits & 1 != 0 {
        return true;
    }
    if m(&p.landmark_id, idv) {
        return false;
    }
    // Header, footer, navigation, recommended; comments (unless allowed); search, sidebar, modal,
    // gallery, print.
    let comments = 1 << 5;
    let reject = if allow_comments {
        0b111_1101_1110
    } else {
        0b111_1111_1110
    };
    debug_assert_eq!(reject & comments != 0, !allow_comments);
    if block_hits & reject != 0 {
        return false;
    }
    if body_depth > 2 && tag == Tag::Div && stats.is_link_cluster(id, 0.6, 1500) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapsed_lengths_compose() {
        for (a, b) in [("a  b ", " c"), ("", "x"), ("  ", "  "), ("x\n", "\ny z")] {
            let whole = Collapsed::of(format!("{a}{b}").as_bytes());
            let parts = Collapsed::of(a.as_bytes()).concat(Collapsed::of(b.as_bytes()));
            assert_eq!(whole.len, parts.len, "{a:?} + {b:?}");
        }
    }

    #[test]
    fn pua_detection() {
        assert!(is_unprintable_pua(" \u{e001} ".as_bytes()));
        assert!(is_unprintable_pua("\u{b6}".as_bytes()));
        assert!(!is_unprintable_pua("abc".as_bytes()));
        // resiliparse's byte-range test also catches some non-PUA 3-byte characters such as `€`.
        assert!(is_unprintable_pua("\u{20ac}".as_bytes()));
        assert!(is_unprintable_pua("\u{4e2d}".as_bytes()));
        assert!(!is_unprintable_pua("\u{e9}".as_bytes()));
    }

    #[test]
    fn patterns_compile_and_match() {
        let p = patterns();
        assert!(p.nav.is_match(b"main-nav"));
        assert!(p.footer.is_match(b"site-footer"));
        assert!(p.ads.is_match(b"ad"));
        assert!(!p.ads.is_match(b"header"));
        assert!(p.display_css.is_match(b"display: none"));
    }
}
