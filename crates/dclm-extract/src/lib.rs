//! dclm-extract: Common Crawl WARC → records → HTML → text, reproducing how DCLM-Pool was built
//! (FastWARC + resiliparse `extract_plain_text(html, main_content=True)`, strict UTF-8).
//!
//! * [`warc`]: a streaming WARC/1.0–1.1 reader (plain, multi-member gzip, zstd) with HTTP parsing
//!   and record-level error recovery (file, record id and offset in every error).
//! * [`html`]: a purpose-built HTML5 parser and the resiliparse-style text extractor with its
//!   main-content (boilerplate removal) rules.
//! * [`Extractor`]: the trait of this crate — one record in, at most one [`dclm_core::Document`]
//!   out. [`ResiliparseExtractor`] is DCLM's extractor (and its `main_content=False` variant);
//!   [`FnExtractor`] wraps a closure.
//! * [`run()`]: the stage entry point over WARC files via the dclm-core executor, writing
//!   DCLM-Pool JSONL (`text`, `metadata` = WARC headers, `warcinfo`).
//!
//! ```
//! use dclm_extract::html::{extract_plain_text, ExtractOptions};
//! let text = extract_plain_text(
//!     "<html><body><nav>Home | About</nav><h1>Title</h1><p>Some <b>main</b> text.</p></body></html>",
//!     &ExtractOptions::default(),
//! );
//! assert_eq!(text, "Title\n\nSome main text.");
//! ```
//!
//! Sibling crates: `dclm-core` (documents, shard IO, executor), `dclm-filter` (heuristics),
//! `dclm-dedup` (BFF dedup), `dclm-fasttext` (quality classifier), `dclm-train`, `dclm-eval`.
#![warn(missing_docs)]

mod error;
mod extractor;
pub mod html;
pub mod run;
pub mod warc;

pub use error::ExtractError;
pub use extractor::{Decoding, Extractor, FnExtractor, RawPage, ResiliparseExtractor};
pub use run::{is_expected_drop, run, run_with, ExtractConfig, WarcPage, WarcPages};
