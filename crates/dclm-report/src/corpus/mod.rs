//! The embedded default corpus: page sources under `assets/baseline/pages/` (hand-written special pages listed in
//! a manifest, plus articles generated from templates with seeded variation) written as a WARC/1.0 `.warc.gz`.

pub mod warc;

pub use warc::{write_warc_gz, WarcPage};
