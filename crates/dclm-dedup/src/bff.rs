//! The BFF port: n-gram Bloom-filter dedup in BFF's `old-both` (DCLM-Baseline), `paragraph`,
//! `document`, `both` and `exact` modes, removing or annotating, split into three steps so a driver can
//! run the expensive ones in parallel and still decide in document order:
//!
//! 1. [`Bff::prepare`] (pure, parallel): paragraph windows, UAX #29 tokens and n-gram hashes.
//! 2. [`Bff::decide`] (touches the filter; run in document order for deterministic output): check
//!    every n-gram of a unit, then remove the unit or insert its n-grams.
//! 3. [`Bff::render`] (pure, parallel): cut or annotate the text, add the BFF fields.
//!
//! [`Bff::process`] does all three for one document (streaming use, [`crate::Deduplicator`]).
//!
//! Decisions equal BFF's whenever neither filter has a false positive; `../shared/conformance/dedup/README.md`
//! lists the rules, each of which is tested here.

use crate::bloom::{BloomFilter, FilterParams};
use crate::error::{DedupError, Result};
use crate::tokenize::{not_whitespace, ItemHash};
use crate::DedupOutcome;
use dclm_core::uniseg::{uniseg_non_space_segment_indices, uniseg_non_space_segments};
use dclm_core::Document;
use serde_json::Value;

/// BFF's `--remove-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemoveMode {
    /// "Both as we did it in dabv3", the DCLM-Baseline mode: paragraph removal by per-paragraph
    /// containment (> threshold), then whole-document removal when the document's pooled ratio
    /// exceeds the threshold. Writes `bff_contained_ngram_count_before_dedupe`.
    #[default]
    OldBoth,
    /// Paragraph removal only.
    Paragraph,
    /// The whole text is one unit (n-grams may cross newlines); removed whole or kept.
    Document,
    /// BFF's newer `both`: n-grams over the whole token stream, document test (≥ threshold) first,
    /// then paragraphs. Ported with BFF's paragraph-index quirk (see [`Bff::decide`]).
    Both,
    /// The whole text is one item: later exact copies are removed.
    Exact,
}

impl RemoveMode {
    /// BFF's name for the mode.
    pub fn name(self) -> &'static str {
        match self {
            RemoveMode::OldBoth => "old-both",
            RemoveMode::Paragraph => "paragraph",
            RemoveMode::Document => "document",
            RemoveMode::Both => "both",
            RemoveMode::Exact => "exact",
        }
    }
}

impl std::str::FromStr for RemoveMode {
    type Err = DedupError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "old-both" | "old_both" | "oldboth" => RemoveMode::OldBoth,
            "paragraph" => RemoveMode::Paragraph,
            "document" => RemoveMode::Document,
            "both" => RemoveMode::Both,
            "exact" => RemoveMode::Exact,
            "naive-both" | "substring" => {
                return Err(DedupError::Config(format!(
                    "remove type `{s}` is not ported (naive-both inserts n-grams twice and removes 90-98% of data; \
                     substring is unused by DCLM); allowed: old-both, paragraph, document, both, exact"
                )))
            }
            _ => {
                return Err(DedupError::Config(format!(
                    "unknown remove type `{s}` (allowed: old-both, paragraph, document, both, exact)"
                )))
            }
        })
    }
}

/// Settings of the BFF algorithm (the filter's own settings live in [`crate::bloom::BloomPlan`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BffConfig {
    /// Remove type (default `old-both`).
    pub mode: RemoveMode,
    /// n-gram size (`--max-ngram-size`; DCLM: 13).
    pub ngram_size: usize,
    /// Units with fewer tokens are never checked or inserted (`--min-ngram-size`; DCLM: 13).
    pub min_ngram_size: usize,
    /// A unit is a duplicate when contained/total > threshold (≥ in `both`) (DCLM: 0.8).
    pub threshold: f64,
    /// Keep text intact and write the duplicate spans as attributes (`--annotate`).
    pub annotate: bool,
    /// Insert n-grams of surviving units (false = read-only check, e.g. decontamination;
    /// `--no-update-bloom-filter`).
    pub update_filter: bool,
}

impl Default for BffConfig {
    /// DCLM-Baseline: old-both, 13-grams, min 13, threshold 0.8, remove, update.
    fn default() -> Self {
        BffConfig {
            mode: RemoveMode::OldBoth,
            ngram_size: 13,
            min_ngram_size: 13,
            threshold: 0.8,
            annotate: false,
            update_filter: true,
        }
    }
}

impl BffConfig {
    /// Reject sizes of 0 and thresholds that are not numbers.
    pub fn validate(&self) -> Result<()> {
        if self.ngram_size == 0 || self.ngram_size > 1024 {
            return Err(DedupError::Config(format!(
                "n-gram size must be in 1..=1024, got {}",
                self.ngram_size
            )));
        }
        if self.min_ngram_size == 0 {
            return Err(DedupError::Config("min n-gram size must be at least 1".into()));
        }
        if self.threshold.is_nan() {
            return Err(DedupError::Config("filtering threshold is NaN".into()));
        }
        Ok(())
    }

    /// The settings a filter must have been built with to serve this configuration.
    pub fn filter_params(&self) -> FilterParams {
        FilterParams {
            ngram_size: self.ngram_size as u32,
            min_ngram_size: self.min_ngram_size as u32,
        }
    }
}

/// One unit (paragraph window or whole text) of a prepared document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unit {
    start: usize,
    end: usize,
    first: u32,
    last: u32,
}

/// An n-gram of `both` mode: hash, start of its first and last token, and its bucket.
#[derive(Debug, Clone, Copy)]
struct BothNgram {
    hash: ItemHash,
    last_start: usize,
    in_first: bool,
}

/// Result of [`Bff::prepare`]: everything the decision needs, without the text.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    units: Vec<Unit>,
    hashes: Vec<ItemHash>,
    both: Vec<BothNgram>,
    /// `both` mode: the short-document n-gram (no full n-gram but ≥ min tokens).
    both_short: Option<ItemHash>,
    /// Paragraph window boundaries (`both` mode).
    bounds: Vec<usize>,
    text_len: usize,
}

impl Prepared {
    /// Number of n-grams in the document.
    pub fn ngram_count(&self) -> usize {
        self.hashes.len() + self.both.len() + self.both_short.is_some() as usize
    }
}

/// What [`Bff::decide`] found for one document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Byte windows removed (paragraph windows; `[0, len]` for a removed document in `document`/`both`).
    pub removed: Vec<(usize, usize)>,
    /// n-grams checked.
    pub total_ngrams: u64,
    /// n-grams found in the filter (`bff_contained_ngram_count_before_dedupe`).
    pub contained_ngrams: u64,
    /// The whole document is removed.
    pub doc_removed: bool,
    /// Units (paragraph windows, or 1) examined.
    pub units: u64,
    /// Units removed.
    pub units_removed: u64,
    /// Bytes of text in removed units.
    pub removed_bytes: u64,
    /// `both` mode found no n-gram: BFF returns the document untouched, without annotations.
    untouched: bool,
}

/// Why a document was not written.
pub const DROP_DUPLICATE: &str = "duplicate_document";
/// Every paragraph was removed, or the text was empty or whitespace to begin with.
pub const DROP_EMPTY: &str = "empty_after_dedup";

/// The BFF deduplicator: settings plus a shared lock-free Bloom filter.
#[derive(Debug)]
pub struct Bff {
    cfg: BffConfig,
    filter: BloomFilter,
}

impl Bff {
    /// A deduplicator over `filter`; the filter must have been built for the same n-gram settings.
    pub fn new(cfg: BffConfig, filter: BloomFilter) -> Result<Self> {
        cfg.validate()?;
        if cfg.mode != RemoveMode::Exact && filter.params() != cfg.filter_params() {
            let p = filter.params();
            return Err(DedupError::FilterMismatch {
                path: Default::default(),
                found: format!("n-gram size {} (min {})", p.ngram_size, p.min_ngram_size),
                wanted: format!("n-gram size {} (min {})", cfg.ngram_size, cfg.min_ngram_size),
            });
        }
        Ok(Bff { cfg, filter })
    }

    /// The settings.
    pub fn config(&self) -> &BffConfig {
        &self.cfg
    }

    /// The filter (e.g. to save it after a run).
    pub fn filter(&self) -> &BloomFilter {
        &self.filter
    }

    /// Give the filter back.
    pub fn into_filter(self) -> BloomFilter {
        self.filter
    }

    /// Step 1: windows, tokens and n-gram hashes of `text`. Pure; safe to run in parallel.
    pub fn prepare(&self, text: &str) -> Prepared {
        let mut p = Prepared {
            text_len: text.len(),
            ..Default::default()
        };
        let h = self.filter.hasher();
        match self.cfg.mode {
            RemoveMode::Exact => {
                p.hashes.push(h.text(text));
            }
            RemoveMode::Both => self.prepare_both(text, &mut p),
            mode => {
                let mut bounds = vec![0];
                if mode != RemoveMode::Document {
                    bounds.extend(text.match_indices('\n').map(|(i, _)| i));
                }
                bounds.push(text.len());
                let mut toks: Vec<u64> = Vec::new();
                for w in bounds.windows(2) {
                    let (start, end) = (w[0], w[1]);
                    toks.clear();
                    // Segments of ASCII whitespace only are never tokens.
                    uniseg_non_space_segments(&text[start..end], |t| {
                        if not_whitespace(t) {
                            toks.push(h.token(t));
                        }
                    });
                    let first = p.hashes.len() as u32;
                    let n = self.cfg.ngram_size;
                    if toks.len() >= n {
                        p.hashes.extend(toks.windows(n).map(|g| h.ngram(g)));
                    } else if toks.len() >= self.cfg.min_ngram_size {
                        p.hashes.push(h.ngram(&toks));
                    }
                    p.units.push(Unit {
                        start,
                        end,
                        first,
                        last: p.hashes.len() as u32,
                    });
                }
            }
        }
        p
    }

    fn prepare_both(&self, text: &str, p: &mut Prepared) {
        let h = self.filter.hasher();
        p.bounds.push(0);
        p.bounds.extend(text.match_indices('\n').map(|(i, _)| i));
        p.bounds.push(text.len());
        // BFF advances its paragraph index with `while front_idx < newlines[paragraph_idx]`, which is never
        // true (newlines[0] = 0), so only n-grams ending before the first newline count as paragraph 0 and
        // every other n-gram goes to the overflow bucket. Ported as is: these are BFF's decisions.
        let first_end = p.bounds[1];
        let n = self.cfg.ngram_size;
        let mut toks: Vec<u64> = Vec::new();
        let mut starts: Vec<usize> = Vec::new();
        uniseg_non_space_segment_indices(text, |i, t| {
            if !not_whitespace(t) {
                return;
            }
            toks.push(h.token(t));
            starts.push(i);
            if toks.len() >= n {
                let k = toks.len() - n;
                p.both.push(BothNgram {
                    hash: h.ngram(&toks[k..]),
                    last_start: i,
                    in_first: i < first_end,
                });
            }
        });
        if p.both.is_empty() && toks.len() >= self.cfg.min_ngram_size {
            p.both_short = Some(h.ngram(&toks));
        }
    }

    /// Step 2: test the prepared n-grams against the filter and insert the survivors' n-grams
    /// (unless read-only). Run documents through this in input order for a deterministic result.
    pub fn decide(&self, p: &Prepared) -> Decision {
        match self.cfg.mode {
            RemoveMode::Both => self.decide_both(p),
            RemoveMode::Exact => {
                let mut d = Decision {
                    units: 1,
                    total_ngrams: 1,
                    ..Default::default()
                };
                let Some(&h) = p.hashes.first() else { return d };
                if self.filter.contains(h) {
                    d.contained_ngrams = 1;
                    d.doc_removed = true;
                    d.units_removed = 1;
                    d.removed_bytes = p.text_len as u64;
                    d.removed.push((0, p.text_len));
                } else if self.cfg.update_filter {
                    self.filter.insert(h);
                }
                d
            }
            mode => {
                let thr = self.cfg.threshold;
                let mut d = Decision::default();
                for u in &p.units {
                    let hs = &p.hashes[u.first as usize..u.last as usize];
                    let contained = hs.iter().filter(|&&h| self.filter.contains(h)).count();
                    d.units += 1;
                    d.total_ngrams += hs.len() as u64;
                    d.contained_ngrams += contained as u64;
                    // 0/0 is NaN and NaN > thr is false: short units are kept and insert nothing.
                    if contained as f64 / hs.len() as f64 > thr {
                        d.removed.push((u.start, u.end));
                        d.units_removed += 1;
                        d.removed_bytes += (u.end - u.start) as u64;
                    } else if self.cfg.update_filter {
                        for &h in hs {
                            self.filter.insert(h);
                        }
                    }
                }
                if mode == RemoveMode::OldBoth {
                    d.doc_removed = d.contained_ngrams as f64 / d.total_ngrams as f64 > thr;
                } else if mode == RemoveMode::Document {
                    d.doc_removed = !d.removed.is_empty();
                }
                d
            }
        }
    }

    fn decide_both(&self, p: &Prepared) -> Decision {
        let thr = self.cfg.threshold;
        let n_par = p.bounds.len().saturating_sub(1);
        let mut d = Decision {
            units: n_par as u64,
            ..Default::default()
        };
        // All containment checks happen before any insert (BFF checks while tokenizing).
        let contains: Vec<bool> = p.both.iter().map(|g| self.filter.contains(g.hash)).collect();
        let short_contained = p.both_short.map(|h| self.filter.contains(h));
        let (mut first_total, mut first_contained) = (0u64, 0u64);
        for (g, &c) in p.both.iter().zip(&contains) {
            if g.in_first {
                first_total += 1;
                first_contained += c as u64;
            }
        }
        d.total_ngrams = p.both.len() as u64 + p.both_short.is_some() as u64;
        d.contained_ngrams = contains.iter().filter(|&&c| c).count() as u64 + short_contained.unwrap_or(false) as u64;
        if d.total_ngrams == 0 {
            d.untouched = true;
            return d;
        }
        if d.contained_ngrams as f64 / d.total_ngrams as f64 >= thr {
            d.doc_removed = true;
            d.removed.push((0, p.text_len));
            d.units_removed = n_par as u64;
            d.removed_bytes = p.text_len as u64;
            return d;
        }
        let update = self.cfg.update_filter;
        // Overflow n-grams in order; the short-document n-gram has no span and is inserted at the end.
        let mut overflow = p.both.iter().filter(|g| !g.in_first).peekable();
        for par in 0..n_par {
            let (total, contained) = if par == 0 {
                (first_total, first_contained)
            } else {
                (0, 0)
            };
            let to_remove = total > 0 && contained as f64 / total as f64 >= thr;
            if to_remove {
                d.removed.push((p.bounds[par], p.bounds[par + 1]));
                d.units_removed += 1;
                d.removed_bytes += (p.bounds[par + 1] - p.bounds[par]) as u64;
            } else if update && par == 0 {
                for g in p.both.iter().filter(|g| g.in_first) {
                    self.filter.insert(g.hash);
                }
            }
            while let Some(g) = overflow.peek() {
                if g.last_start < p.bounds[par] {
                    if update {
                        self.filter.insert(g.hash);
                    }
                    overflow.next();
                } else if to_remove {
                    overflow.next();
                } else {
                    break;
                }
            }
        }
        if update {
            for g in overflow {
                self.filter.insert(g.hash);
            }
            if let Some(h) = p.both_short {
                self.filter.insert(h);
            }
        }
        d
    }

    /// Step 3: apply a decision to its document. `None` when BFF would not write it (text empty
    /// after `trim`). Pure; safe to run in parallel.
    pub fn render(&self, mut doc: Document, d: &Decision) -> Option<Document> {
        let spans = |d: &Decision| {
            Value::Array(
                d.removed
                    .iter()
                    .map(|&(s, e)| Value::Array(vec![Value::from(s), Value::from(e)]))
                    .collect(),
            )
        };
        match self.cfg.mode {
            RemoveMode::Exact => {
                if d.doc_removed {
                    if self.cfg.annotate {
                        doc.set("bff_exact_duplicate", Value::Bool(true));
                    } else {
                        doc.text = String::new();
                    }
                }
            }
            RemoveMode::Both if d.untouched => {}
            mode => {
                if self.cfg.annotate {
                    doc.set("bff_duplicate_spans", spans(d));
                    doc.set("bff_contained_ngram_count", Value::from(d.contained_ngrams));
                    if mode == RemoveMode::OldBoth {
                        const ALLOWED: [&str; 4] = ["bff_duplicate_spans", "bff_contained_ngram_count", "id", "source"];
                        doc.fields.retain(|k, _| ALLOWED.contains(&k.as_str()));
                    }
                } else {
                    if d.doc_removed && matches!(mode, RemoveMode::OldBoth | RemoveMode::Both) {
                        doc.text = String::new();
                    } else if !d.removed.is_empty() || mode == RemoveMode::Both {
                        doc.text = cut(&doc.text, &d.removed, mode == RemoveMode::Both);
                    }
                    if mode == RemoveMode::OldBoth {
                        doc.set(dclm_core::keys::BFF_CONTAINED, Value::from(d.contained_ngrams));
                    }
                }
            }
        }
        (!doc.text.trim().is_empty()).then_some(doc)
    }

    /// All three steps for one document (streaming use; order-dependent like BFF).
    pub fn process(&self, doc: Document) -> (Option<Document>, Decision) {
        let p = self.prepare(&doc.text);
        let d = self.decide(&p);
        (self.render(doc, &d), d)
    }

    /// Dedup a batch of documents in order, as the dedup stage runs a shard: n-grams prepared in parallel,
    /// decisions made in document order (in parallel when the filter is read-only), documents rendered in
    /// parallel. Each document comes back with its decision (`None`: BFF would not write it). Later
    /// batches see the n-grams of earlier ones.
    pub fn dedup_batch(&self, docs: Vec<Document>) -> Vec<(Option<Document>, Decision)> {
        use rayon::prelude::*;
        let prepared: Vec<Prepared> = docs.par_iter().map(|d| self.prepare(&d.text)).collect();
        let decisions: Vec<Decision> = if self.cfg.update_filter {
            prepared.iter().map(|p| self.decide(p)).collect()
        } else {
            prepared.par_iter().map(|p| self.decide(p)).collect()
        };
        docs.into_par_iter()
            .zip(decisions)
            .map(|(doc, d)| (self.render(doc, &d), d))
            .collect()
    }

    /// The outcome of a decision in [`DedupOutcome`] terms.
    pub fn outcome(&self, text: &str, d: &Decision) -> DedupOutcome {
        if d.doc_removed
            || (!self.cfg.annotate && d.removed.iter().map(|&(s, e)| e - s).sum::<usize>() >= text.len())
            || text.trim().is_empty()
        {
            DedupOutcome::Duplicate
        } else if d.removed.is_empty() {
            DedupOutcome::Unique
        } else {
            DedupOutcome::Partial(d.removed.iter().map(|&(s, e)| s..e).collect())
        }
    }
}

/// `text` without the (sorted, disjoint) `windows`; `trim_end` as BFF's `both` does.
fn cut(text: &str, windows: &[(usize, usize)], trim_end: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for &(s, e) in windows {
        out.push_str(text.get(last..s).unwrap_or(""));
        last = e;
    }
    out.push_str(text.get(last..).unwrap_or(""));
    if trim_end {
        out.truncate(out.trim_end().len());
    }
    out
}

impl crate::Deduplicator for Bff {
    fn name(&self) -> &str {
        self.cfg.mode.name()
    }

    fn observe(&self, doc: &Document) -> DedupOutcome {
        let p = self.prepare(&doc.text);
        let d = self.decide(&p);
        self.outcome(&doc.text, &d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloom::BloomPlan;
    use crate::tokenize::Hasher;

    fn bff(mode: RemoveMode, annotate: bool) -> Bff {
        let cfg = BffConfig {
            mode,
            annotate,
            ..Default::default()
        };
        let plan = BloomPlan::new(100_000, 1e-6, 0).unwrap();
        Bff::new(
            cfg.clone(),
            BloomFilter::new(&plan, Hasher::new(1, 2), cfg.filter_params()),
        )
        .unwrap()
    }

    /// A line of `n` distinct pseudo-words starting at `seed`.
    fn words(seed: usize, n: usize) -> String {
        (0..n)
            .map(|i| format!("w{}x", seed * 1000 + i))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn run(b: &Bff, text: &str) -> (Option<String>, Decision) {
        let (d, dec) = b.process(Document::new(text));
        (d.map(|d| d.text), dec)
    }

    #[test]
    fn dedup_batch_equals_documents_one_by_one() {
        let (a, c) = (words(1, 20), words(2, 20));
        let texts = [
            format!("{a}\n{c}"),
            a.clone(),
            words(3, 5),
            format!("{c}\n{}", words(4, 20)),
            "   ".to_string(),
        ];
        let one = bff(RemoveMode::OldBoth, false);
        let serial: Vec<_> = texts.iter().map(|t| one.process(Document::new(t.as_str()))).collect();
        let batch = bff(RemoveMode::OldBoth, false);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let got = pool.install(|| batch.dedup_batch(texts.iter().map(|t| Document::new(t.as_str())).collect()));
        assert_eq!(got, serial);
        assert!(got[1].0.is_none(), "the repeated paragraph is removed");
        assert_eq!(got[3].0.as_ref().unwrap().text, format!("\n{}", words(4, 20)));
        // Later batches see earlier n-grams.
        let again = batch.dedup_batch(vec![Document::new(c.as_str())]);
        assert!(again[0].0.is_none());
    }

    #[test]
    fn old_both_removes_repeated_paragraph_and_counts() {
        let b = bff(RemoveMode::OldBoth, false);
        let a = words(1, 20);
        let c = words(2, 20);
        run(&b, &a);
        let (text, d) = run(&b, &format!("{c}\n{a}"));
        assert_eq!(text.as_deref(), Some(c.as_str()));
        assert_eq!((d.total_ngrams, d.contained_ngrams, d.units_removed), (16, 8, 1));
        // the kept paragraph was inserted: the same document again is removed whole
        let (text, d) = run(&b, &format!("{c}\n{a}"));
        assert_eq!(text, None);
        assert!(d.doc_removed);
    }

    #[test]
    fn boundaries_follow_bff() {
        let b = bff(RemoveMode::OldBoth, false);
        // 12 tokens: never checked nor inserted
        let short = words(3, 12);
        run(&b, &short);
        let (t, d) = run(&b, &format!("{}\n{short}", words(4, 20)));
        assert_eq!(d.contained_ngrams, 0);
        assert!(t.unwrap().ends_with(&short));
        // first window removed: output starts with the newline of the second window
        let first = words(5, 13);
        run(&b, &first);
        let rest = words(6, 30);
        let (t, _) = run(&b, &format!("{first}\n{rest}"));
        assert_eq!(t.unwrap(), format!("\n{rest}"));
        // all checks precede inserts within a paragraph: a sentence repeated on one line survives
        let s = words(7, 13);
        let (t, d) = run(&b, &format!("{s} {s} {s}"));
        assert!(t.is_some());
        assert_eq!(d.contained_ngrams, 0);
    }

    #[test]
    fn threshold_is_strict() {
        // 4 of 5 n-grams contained = 0.8 is kept (and inserted)
        let b = bff(RemoveMode::OldBoth, false);
        let w: Vec<String> = (0..17).map(|i| format!("q{i}z")).collect();
        run(&b, &w[..16].join(" ")); // n-grams 0..4 of the 17-token line
        let (t, d) = run(&b, &w.join(" "));
        assert_eq!((d.total_ngrams, d.contained_ngrams), (5, 4));
        assert!(t.is_some());
    }

    #[test]
    fn annotate_keeps_text_and_only_allowed_fields() {
        let b = bff(RemoveMode::OldBoth, true);
        let a = words(8, 20);
        run(&b, &a);
        let mut doc = Document::new(format!("{}\n{a}", words(9, 20)));
        doc.set("id", Value::from("x"));
        doc.set("url", Value::from("u"));
        let (out, _) = b.process(doc.clone());
        let out = out.unwrap();
        assert_eq!(out.text, doc.text);
        assert_eq!(out.get("url"), None);
        assert_eq!(out.get("bff_duplicate_spans"), Some(&serde_json::json!([[139, 279]])));
        assert_eq!(out.get("bff_contained_ngram_count"), Some(&Value::from(8)));
    }

    #[test]
    fn exact_and_document_modes() {
        let b = bff(RemoveMode::Exact, false);
        assert!(run(&b, "a b").0.is_some());
        assert!(run(&b, "a b").0.is_none());
        assert!(run(&b, "a b ").0.is_some());
        let b = bff(RemoveMode::Document, false);
        let t = format!("{}\n{}", words(10, 10), words(11, 10));
        assert!(run(&b, &t).0.is_some());
        assert!(run(&b, &t).0.is_none(), "n-grams cross the newline in document mode");
    }

    #[test]
    fn both_mode_document_test_uses_ge() {
        let b = bff(RemoveMode::Both, false);
        let t = format!("{}\n{}\n", words(12, 14), words(13, 14));
        let (out, d) = run(&b, &t);
        assert_eq!(out.unwrap(), t.trim_end());
        assert_eq!(d.total_ngrams, 16);
        let (out, d) = run(&b, &t);
        assert!(out.is_none() && d.doc_removed);
        // no n-grams: untouched, not trimmed
        let (out, _) = run(&b, "short text \n");
        assert_eq!(out.unwrap(), "short text \n");
    }

    #[test]
    fn read_only_mode_never_inserts() {
        let mut b = bff(RemoveMode::OldBoth, false);
        b.cfg.update_filter = false;
        let a = words(14, 30);
        run(&b, &a);
        assert_eq!(run(&b, &a).1.contained_ngrams, 0);
    }

    #[test]
    fn naive_both_is_refused() {
        assert!("naive-both".parse::<RemoveMode>().is_err());
        assert_eq!("old-both".parse::<RemoveMode>().unwrap(), RemoveMode::OldBoth);
    }
}
