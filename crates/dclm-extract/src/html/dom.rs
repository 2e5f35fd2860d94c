//! Arena DOM: elements, text and comment nodes linked by `u32` indices, built by [`super::parse`].
//!
//! The tree is never walked recursively: every traversal in this crate uses the parent/sibling links
//! iteratively, so documents nested 100,000 levels deep cost no stack.

use std::ops::Range;

/// Index of a node in [`Dom::nodes`]. `NONE` means "no node".
pub type NodeId = u32;
/// The absent node.
pub const NONE: NodeId = u32::MAX;

macro_rules! tags {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// HTML element names this crate distinguishes; every other element is [`Tag::Other`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Tag { $($variant,)* Other }

        impl Tag {
            /// Tag from a lower-case ASCII name.
            pub fn from_lower(name: &[u8]) -> Tag {
                match name { $($name => Tag::$variant,)* _ => Tag::Other }
            }
        }
    };
}

tags! {
    A = b"a", Abbr = b"abbr", Address = b"address", Applet = b"applet", Area = b"area", Article = b"article",
    Aside = b"aside", Audio = b"audio", B = b"b", Base = b"base", Basefont = b"basefont", Bgsound = b"bgsound",
    Big = b"big", Blockquote = b"blockquote", Body = b"body", Br = b"br", Button = b"button", Caption = b"caption",
    Center = b"center", Code = b"code", Col = b"col", Colgroup = b"colgroup", Dd = b"dd", Details = b"details",
    Dialog = b"dialog", Dir = b"dir", Div = b"div", Dl = b"dl", Dt = b"dt", Em = b"em", Embed = b"embed",
    Fieldset = b"fieldset", Figcaption = b"figcaption", Figure = b"figure", Font = b"font", Footer = b"footer",
    Form = b"form", Frame = b"frame", Frameset = b"frameset", H1 = b"h1", H2 = b"h2", H3 = b"h3", H4 = b"h4",
    H5 = b"h5", H6 = b"h6", Head = b"head", Header = b"header", Hgroup = b"hgroup", Hr = b"hr", Html = b"html",
    I = b"i", Iframe = b"iframe", Image = b"image", Img = b"img", Input = b"input", Keygen = b"keygen",
    Label = b"label", Li = b"li", Link = b"link", Listing = b"listing", Main = b"main", Marquee = b"marquee",
    Math = b"math", Menu = b"menu", Meta = b"meta", Nav = b"nav", Nobr = b"nobr", Noembed = b"noembed",
    Noframes = b"noframes", Noscript = b"noscript", Object = b"object", Ol = b"ol", Optgroup = b"optgroup",
    Option = b"option", P = b"p", Param = b"param", Plaintext = b"plaintext", Pre = b"pre", Rb = b"rb",
    Rp = b"rp", Rt = b"rt", Rtc = b"rtc", Ruby = b"ruby", S = b"s", Script = b"script", Search = b"search", Section = b"section",
    Select = b"select", Small = b"small", Source = b"source", Span = b"span", Strike = b"strike",
    Strong = b"strong", Style = b"style", Sub = b"sub", Summary = b"summary", Sup = b"sup", Svg = b"svg", Table = b"table", Tbody = b"tbody",
    Td = b"td", Template = b"template", Textarea = b"textarea", Tfoot = b"tfoot", Th = b"th", Thead = b"thead",
    Time = b"time", Title = b"title", Tr = b"tr", Track = b"track", Tt = b"tt", U = b"u", Ul = b"ul",
    Var = b"var", Video = b"video", Wbr = b"wbr", Xmp = b"xmp",
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The document root (node 0).
    Document,
    /// An element with its tag.
    Element(Tag),
    /// A text node; its bytes are `Dom::text[range]`.
    Text,
    /// A comment (kept because it counts as a sibling in some main-content rules).
    Comment,
}

/// One node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Node kind.
    pub kind: Kind,
    /// Parent (NONE for the document).
    pub parent: NodeId,
    /// First child.
    pub first_child: NodeId,
    /// Last child.
    pub last_child: NodeId,
    /// Next sibling.
    pub next: NodeId,
    /// Previous sibling.
    pub prev: NodeId,
    /// Text nodes: byte range in [`Dom::text`]; elements: range in [`Dom::attrs`].
    pub data: Range<u32>,
}

/// One attribute: name and value ranges in [`Dom::text`].
#[derive(Debug, Clone)]
pub struct Attr {
    /// Lower-case name.
    pub name: Range<u32>,
    /// Decoded value.
    pub value: Range<u32>,
}

/// A parsed document.
#[derive(Debug, Clone, Default)]
pub struct Dom {
    /// All nodes; node 0 is the document.
    pub nodes: Vec<Node>,
    /// Text of text nodes and attribute names/values.
    pub text: Vec<u8>,
    /// Attributes of all elements.
    pub attrs: Vec<Attr>,
    /// The `<body>` element (or NONE if the document had none, which the parser never leaves).
    pub body: NodeId,
}

impl Dom {
    pub(crate) fn with_capacity(bytes: usize) -> Dom {
        let mut d = Dom {
            nodes: Vec::with_capacity(bytes / 40 + 8),
            text: Vec::with_capacity(bytes / 2 + 16),
            attrs: Vec::with_capacity(bytes / 80 + 8),
            body: NONE,
        };
        d.nodes.push(Node {
            kind: Kind::Document,
            parent: NONE,
            first_child: NONE,
            last_child: NONE,
            next: NONE,
            prev: NONE,
            data: 0..0,
        });
        d
    }

    /// Node by id.
    #[inline]
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The element tag, or `None` for non-elements.
    #[inline]
    pub fn tag(&self, id: NodeId) -> Option<Tag> {
        match self.nodes[id as usize].kind {
            Kind::Element(t) => Some(t),
            _ => None,
        }
    }

    /// Bytes of a text node (empty for other nodes).
    #[inline]
    pub fn text_of(&self, id: NodeId) -> &[u8] {
        let n = &self.nodes[id as usize];
        match n.kind {
            Kind::Text => &self.text[n.data.start as usize..n.data.end as usize],
            _ => &[],
        }
    }

    /// Attribute value by lower-case name (first occurrence wins, as in HTML5).
    pub fn attr(&self, id: NodeId, name: &[u8]) -> Option<&[u8]> {
        let n = &self.nodes[id as usize];
        if !matches!(n.kind, Kind::Element(_)) {
            return None;
        }
        self.attrs[n.data.start as usize..n.data.end as usize]
            .iter()
            .find(|a| &self.text[a.name.start as usize..a.name.end as usize] == name)
            .map(|a| &self.text[a.value.start as usize..a.value.end as usize])
    }

    /// All attributes of an element as (name, value) pairs, in source order (none for other nodes).
    pub(crate) fn attrs_of(&self, id: NodeId) -> impl Iterator<Item = (&[u8], &[u8])> {
        let n = &self.nodes[id as usize];
        let range = if matches!(n.kind, Kind::Element(_)) {
            n.data.start as usize..n.data.end as usize
        } else {
            0..0
        };
        self.attrs[range].iter().map(|a| {
            (
                &self.text[a.name.start as usize..a.name.end as usize],
                &self.text[a.value.start as usize..a.value.end as usize],
            )
        })
    }

    /// Attribute value, empty when absent.
    #[inline]
    pub fn attr_or_empty(&self, id: NodeId, name: &[u8]) -> &[u8] {
        self.attr(id, name).unwrap_or(b"")
    }

    /// Whether the element has any attributes.
    #[inline]
    pub fn has_attrs(&self, id: NodeId) -> bool {
        let n = &self.nodes[id as usize];
        matches!(n.kind, Kind::Element(_)) && n.data.start != n.data.end
    }

    pub(crate) fn new_node(&mut self, kind: Kind, data: Range<u32>) -> NodeId {
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            kind,
            parent: NONE,
            first_child: NONE,
            last_child: NONE,
            next: NONE,
            prev: NONE,
            data,
        });
        id
    }

    /// Append `child` as the last child of `parent`.
    pub(crate) fn append(&mut self, parent: NodeId, child: NodeId) {
        let last = self.nodes[parent as usize].last_child;
        {
            let c = &mut self.nodes[child as usize];
            c.parent = parent;
            c.prev = last;
            c.next = NONE;
        }
        if last == NONE {
            self.nodes[parent as usize].first_child = child;
        } else {
            self.nodes[last as usize].next = child;
        }
        self.nodes[parent as usize].last_child = child;
    }

    /// Insert `child` before `sibling` (same parent).
    pub(crate) fn insert_before(&mut self, sibling: NodeId, child: NodeId) {
        let parent = self.nodes[sibling as usize].parent;
        let prev = self.nodes[sibling as usize].prev;
        {
            let c = &mut self.nodes[child as usize];
            c.parent = parent;
            c.prev = prev;
            c.next = sibling;
        }
        self.nodes[sibling as usize].prev = child;
        if prev == NONE {
            self.nodes[parent as usize].first_child = child;
        } else {
            self.nodes[prev as usize].next = child;
        }
    }

    /// Unlink `child` from its parent (a no-op for a node without one).
    pub(crate) fn detach(&mut self, child: NodeId) {
        let Node { parent, prev, next, .. } = self.nodes[child as usize];
        if parent == NONE {
            return;
        }
        if prev == NONE {
            self.nodes[parent as usize].first_child = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NONE {
            self.nodes[parent as usize].last_child = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
        let c = &mut self.nodes[child as usize];
        c.parent = NONE;
        c.prev = NONE;
        c.next = NONE;
    }

    /// Move all children of `from`, in order, to the end of `to`'s children.
    pub(crate) fn move_children(&mut self, from: NodeId, to: NodeId) {
        let first = self.nodes[from as usize].first_child;
        if first == NONE {
            return;
        }
        let last = self.nodes[from as usize].last_child;
        let mut c = first;
        while c != NONE {
            self.nodes[c as usize].parent = to;
            c = self.nodes[c as usize].next;
        }
        let to_last = self.nodes[to as usize].last_child;
        if to_last == NONE {
            self.nodes[to as usize].first_child = first;
        } else {
            self.nodes[to_last as usize].next = first;
            self.nodes[first as usize].prev = to_last;
        }
        self.nodes[to as usize].last_child = last;
        self.nodes[from as usize].first_child = NONE;
        self.nodes[from as usize].last_child = NONE;
    }

    /// Concatenated text of all text nodes below `id` (the DOM `textContent`).
    pub fn text_content(&self, id: NodeId) -> Vec<u8> {
        let mut out = Vec::new();
        self.for_each_descendant(id, |n| {
            if self.nodes[n as usize].kind == Kind::Text {
                out.extend_from_slice(self.text_of(n));
            }
        });
        out
    }

    /// Pre-order visit of `id` and all its descendants, iteratively.
    pub fn for_each_descendant(&self, id: NodeId, mut f: impl FnMut(NodeId)) {
        let mut cur = id;
        loop {
            f(cur);
            let n = &self.nodes[cur as usize];
            if n.first_child != NONE {
                cur = n.first_child;
                continue;
            }
            loop {
                if cur == id {
                    return;
                }
                let n = &self.nodes[cur as usize];
                if n.next != NONE {
                    cur = n.next;
                    break;
                }
                cur = n.parent;
            }
        }
    }
}
