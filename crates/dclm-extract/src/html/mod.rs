//! HTML side of the crate: a purpose-built HTML5 parser ([`parse()`]) into an arena [`Dom`], and the
//! resiliparse-style text extraction ([`extract_plain_text`]) with main-content rules.
//!
//! Why a purpose-built parser: what the extractor observes is *where text lands in the HTML5 tree*
//! (implied `<body>`, `<p>`/`<li>` auto-closing, table foster parenting, raw-text elements), so a
//! tokenizer-only crate (`tl`, `lol_html`) is not enough, and html5ever's `RcDom` allocates a
//! reference-counted node per element. This parser builds flat vectors in one pass with no
//! recursion. Measured (see `examples/bench_warc.rs`, 2026-12, one pinned core of a loaded 2-core
//! machine): WARC reading + extraction at 170–190 MB/s of HTML, 2.4–2.8× resiliparse 2.0.1's
//! FastWARC + `extract_plain_text` in alternated runs; html5ever was not benchmarked.

mod dom;
mod entities;
mod extract;
mod parse;
mod rules;

pub use dom::{Dom, Kind, Node, NodeId, Tag, NONE};
pub use extract::{
    default_output_limit, extract_from_dom, extract_from_dom_limited, extract_plain_text, extract_plain_text_limited,
    ExtractOptions,
};
pub use parse::{parse, MAX_SCOPE_SEARCH};
