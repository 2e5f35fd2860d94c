//! HTML side of the crate: a purpose-built HTML5 parser ([`parse()`]) into an arena [`Dom`], and the
//! resiliparse-style text extraction ([`extract_plain_text`]) with main-content rules.
//!
//! Why a purpose-built parser: html5ever builds a reference-counted tree (`RcDom`) with a full
//! tree builder, which measured slower than the whole resiliparse pipeline budget allows (we need
//! ≥ 2× resiliparse, i.e. ≥ 50 MB/s of HTML per core including WARC reading); `tl` and `lol_html`
//! are fast but do not build the HTML5 tree (implied `<body>`, `<p>`/`<li>` auto-closing, table
//! foster parenting), which decides where text lands. The parser here does both in one pass over
//! bytes into flat vectors, with no recursion anywhere.

mod dom;
mod entities;
mod extract;
mod parse;
mod rules;

pub use dom::{Dom, Kind, Node, NodeId, Tag, NONE};
pub use extract::{extract_from_dom, extract_plain_text, ExtractOptions};
pub use parse::{parse, MAX_SCOPE_SEARCH};
