//! dclm-dedup: the dedup stage of dclm-rs — a deterministic port of DCLM's Bloom-filter dedup **BFF**
//! (`old-both`, the DCLM-Baseline setting, plus `paragraph`, `document`, `both`, `exact`), MinHash-LSH
//! near-duplicate dedup and exact (text or URL) dedup.
//!
//! * Streaming dedup implements [`Deduplicator`]: `observe` a document, get a [`DedupOutcome`]. The BFF
//!   port ([`Bff`]) shares one lock-free atomic [`bloom::BloomFilter`] between threads.
//! * Global dedup ([`minhash::MinHashLsh`], [`exact::ExactDedup`]) implements [`global::GlobalDeduplicator`]:
//!   signatures per shard (parallel, or in separate processes), then a merge (band buckets, union-find)
//!   that decides which documents to drop, then an apply pass.
//! * [`run::run`] drives either over JSONL shards with `dclm_core`'s IO and writes output shards,
//!   `stats.json` and a `dedup_report.json`.
//!
//! Unlike upstream BFF, runs are reproducible: hash seeds are fixed (and stored in saved filters),
//! shards are processed in sorted order, deduplicated across shards by default, and the order-dependent
//! filter decisions are made in document order while tokenizing, hashing and output run in parallel,
//! so any thread count gives byte-identical output.
//!
//! ```
//! use dclm_core::Document;
//! use dclm_dedup::{bff_for_run, BffConfig, DedupOutcome, Deduplicator};
//! let bff = bff_for_run(BffConfig::default(), 10_000, 0.01).unwrap();
//! let line = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
//! assert_eq!(bff.observe(&Document::new(line)), DedupOutcome::Unique);
//! assert_eq!(bff.observe(&Document::new(line)), DedupOutcome::Duplicate);
//! ```
//!
//! Sibling crates: `dclm-core` (documents, shard IO, executor), `dclm-extract`, `dclm-filter`,
//! `dclm-train`, `dclm-eval`.
#![warn(missing_docs)]

pub mod bff;
pub mod bloom;
mod error;
pub mod exact;
pub mod global;
pub mod json;
pub mod minhash;
pub mod run;
pub mod tokenize;

pub use bff::{Bff, BffConfig, Decision, RemoveMode};
pub use error::{DedupError, Result};
pub use global::{GlobalDeduplicator, Signature};
pub use json::KeyOrder;

use dclm_core::Document;
use std::ops::Range;
use std::sync::Arc;

/// What a streaming deduplicator decided about one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupOutcome {
    /// Nothing of it was seen before.
    Unique,
    /// The whole document is a duplicate (drop it).
    Duplicate,
    /// These byte ranges of the text are duplicates (cut them, or annotate them).
    Partial(Vec<Range<usize>>),
}

/// A streaming deduplicator: it remembers what it has observed, so the order of calls matters.
/// Implementations are `Send + Sync` and take `&self` (interior mutability, e.g. an atomic filter).
pub trait Deduplicator: Send + Sync {
    /// Short name for stats.
    fn name(&self) -> &str;

    /// Decide about `doc` and remember it. Never fails and never panics.
    fn observe(&self, doc: &Document) -> DedupOutcome;

    /// Observe `doc` and apply the outcome: `None` for a duplicate, the text without the duplicate
    /// spans for a partial duplicate (dropped if nothing but whitespace is left).
    fn apply(&self, mut doc: Document) -> Option<Document> {
        match self.observe(&doc) {
            DedupOutcome::Unique => Some(doc),
            DedupOutcome::Duplicate => None,
            DedupOutcome::Partial(spans) => {
                let mut out = String::with_capacity(doc.text.len());
                let mut last = 0;
                for r in spans {
                    out.push_str(doc.text.get(last..r.start).unwrap_or(""));
                    last = r.end.max(last);
                }
                out.push_str(doc.text.get(last..).unwrap_or(""));
                doc.text = out;
                (!doc.text.trim().is_empty()).then_some(doc)
            }
        }
    }
}

impl<T: Deduplicator + ?Sized> Deduplicator for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn observe(&self, doc: &Document) -> DedupOutcome {
        (**self).observe(doc)
    }
}

impl<T: Deduplicator + ?Sized> Deduplicator for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn observe(&self, doc: &Document) -> DedupOutcome {
        (**self).observe(doc)
    }
}

impl<T: Deduplicator + ?Sized> Deduplicator for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn observe(&self, doc: &Document) -> DedupOutcome {
        (**self).observe(doc)
    }
}

/// A [`Bff`] with a fresh filter planned for `expected_ngrams` at `fp_rate` and the default seeds.
pub fn bff_for_run(cfg: BffConfig, expected_ngrams: u64, fp_rate: f64) -> Result<Bff> {
    let plan = bloom::BloomPlan::new(expected_ngrams, fp_rate, 0)?;
    let (a, b) = bloom::DEFAULT_SEEDS;
    let params = cfg.filter_params();
    Bff::new(cfg, bloom::BloomFilter::new(&plan, tokenize::Hasher::new(a, b), params))
}
