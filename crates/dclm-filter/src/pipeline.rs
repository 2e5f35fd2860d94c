//! The two step traits ([`Filter`], [`Mapper`]), their closure adapters, and [`Pipeline`], an ordered list of
//! steps that runs a document through them and records per-step counters and timing into `dclm_core::Stats`.
//!
//! Pages follow DCLM's page model: `text` may be missing or of any JSON type until a step reads it. Each step
//! says whether it needs a string `text` ([`Filter::needs_text`], [`Mapper::needs_text`], true unless the step
//! reads only metadata); the pipeline drops a page without one at the first step that needs it, under that
//! step's reason `error:missing_text` or `error:text_not_string`, as DCLM's processor counts the `KeyError` /
//! `TypeError` of that mapper as an error and drops the page.

use dclm_core::{Document, Stats, StepStats, Verdict};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Decides keep/drop from a document without changing it. Implementations must not panic on any input.
pub trait Filter: Send + Sync {
    /// Short name (DCLM `func` name for built-ins).
    fn name(&self) -> &str;
    /// Keep or drop (with a short reason).
    fn check(&self, doc: &Document) -> Verdict;
    /// Whether `check` reads a string `text` (metadata-only filters return `false`; they then also see pages
    /// whose `text` is missing or not a string).
    fn needs_text(&self) -> bool {
        true
    }
}

/// Rewrites a document (modifiers change `text`; enrichers add keys) and may drop it. Must not panic.
pub trait Mapper: Send + Sync {
    /// Short name (DCLM `func` name for built-ins).
    fn name(&self) -> &str;
    /// Modify the document in place; `Drop` discards it.
    fn apply(&self, doc: &mut Document) -> Verdict;
    /// Whether `apply` may change `text` (enrichers return `false`; the pipeline then skips its
    /// "text modified" bookkeeping).
    fn modifies_text(&self) -> bool {
        true
    }
    /// Whether `apply` reads a string `text` (see [`Filter::needs_text`]).
    fn needs_text(&self) -> bool {
        true
    }
    /// Whether the step may turn one page into several ([`Mapper::apply_many`]; DCLM mappers return a list).
    fn splits(&self) -> bool {
        false
    }
    /// Like `apply`, but a splitting step may append further pages to `more` (they follow `doc`, in order,
    /// through the remaining steps). Only called when [`Mapper::splits`] is true.
    fn apply_many(&self, doc: &mut Document, more: &mut Vec<Document>) -> Verdict {
        let _ = more;
        self.apply(doc)
    }
}

macro_rules! forward {
    ($($ty:ty),*) => {$(
        impl<T: Filter + ?Sized> Filter for $ty {
            fn name(&self) -> &str { (**self).name() }
            fn check(&self, doc: &Document) -> Verdict { (**self).check(doc) }
            fn needs_text(&self) -> bool { (**self).needs_text() }
        }
        impl<T: Mapper + ?Sized> Mapper for $ty {
            fn name(&self) -> &str { (**self).name() }
            fn apply(&self, doc: &mut Document) -> Verdict { (**self).apply(doc) }
            fn modifies_text(&self) -> bool { (**self).modifies_text() }
            fn needs_text(&self) -> bool { (**self).needs_text() }
            fn splits(&self) -> bool { (**self).splits() }
            fn apply_many(&self, doc: &mut Document, more: &mut Vec<Document>) -> Verdict {
                (**self).apply_many(doc, more)
            }
        }
    )*};
}
forward!(&T, Box<T>, Arc<T>);

/// A [`Filter`] from a closure: `FnFilter::new("min_words", |doc| Verdict::keep_if(..., "too_short"))`.
pub struct FnFilter<F> {
    name: String,
    f: F,
}

impl<F: Fn(&Document) -> Verdict + Send + Sync> FnFilter<F> {
    /// Wrap a closure under a name.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        FnFilter { name: name.into(), f }
    }
}

impl<F: Fn(&Document) -> Verdict + Send + Sync> Filter for FnFilter<F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&self, doc: &Document) -> Verdict {
        (self.f)(doc)
    }
}

/// A [`Mapper`] from a closure.
pub struct FnMapper<F> {
    name: String,
    f: F,
}

impl<F: Fn(&mut Document) -> Verdict + Send + Sync> FnMapper<F> {
    /// Wrap a closure under a name.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        FnMapper { name: name.into(), f }
    }
}

impl<F: Fn(&mut Document) -> Verdict + Send + Sync> Mapper for FnMapper<F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        (self.f)(doc)
    }
}

/// One step of a pipeline.
pub enum Step {
    /// A read-only decision.
    Filter(Box<dyn Filter>),
    /// A rewrite or enrichment.
    Mapper(Box<dyn Mapper>),
}

impl Step {
    /// The step's own name.
    pub fn name(&self) -> &str {
        match self {
            Step::Filter(f) => f.name(),
            Step::Mapper(m) => m.name(),
        }
    }

    /// Whether the step needs a string `text`.
    pub fn needs_text(&self) -> bool {
        match self {
            Step::Filter(f) => f.needs_text(),
            Step::Mapper(m) => m.needs_text(),
        }
    }

    /// Whether the step may turn one page into several.
    pub fn splits(&self) -> bool {
        matches!(self, Step::Mapper(m) if m.splits())
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Filter(x) => write!(f, "Filter({})", x.name()),
            Step::Mapper(x) => write!(f, "Mapper({})", x.name()),
        }
    }
}

struct Slot {
    label: String,
    step: Step,
    modified: AtomicU64,
    needs_text: bool,
    splits: bool,
}

/// What happened to one document at each step (for conformance checks and debugging).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// `(label, verdict, text_changed)` per step reached, in order.
    pub steps: Vec<(String, Verdict, bool)>,
}

/// An ordered list of steps. Built in code (`Pipeline::new().filter(..).map(..)`) or from a DCLM config
/// through a [`crate::Registry`]. Steps run in order; the first `Drop` ends the document's run.
#[derive(Default)]
pub struct Pipeline {
    slots: Vec<Slot>,
    /// Whether any step splits pages (cached: `process` checks it per page).
    any_split: bool,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.slots.iter().map(|s| &s.label)).finish()
    }
}

thread_local! {
    static BEFORE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new() -> Self {
        Pipeline::default()
    }

    /// Append a filter (builder style).
    pub fn filter(mut self, f: impl Filter + 'static) -> Self {
        self.push(Step::Filter(Box::new(f)));
        self
    }

    /// Append a mapper (builder style).
    pub fn map(mut self, m: impl Mapper + 'static) -> Self {
        self.push(Step::Mapper(Box::new(m)));
        self
    }

    /// Append a step; its stats label is `"<position>:<name>"` (1-based), so repeated funcs stay apart.
    pub fn push(&mut self, step: Step) {
        let label = format!("{}:{}", self.slots.len() + 1, step.name());
        self.push_labeled(label, step);
    }

    /// Append a step under an explicit stats label (must be unique in the pipeline).
    pub fn push_labeled(&mut self, label: impl Into<String>, step: Step) {
        let (needs_text, splits) = (step.needs_text(), step.splits());
        self.any_split |= splits;
        self.slots.push(Slot {
            label: label.into(),
            step,
            modified: AtomicU64::new(0),
            needs_text,
            splits,
        });
    }

    /// True when a step may turn one page into several: run the pipeline with [`Pipeline::process_into`].
    pub fn splits(&self) -> bool {
        self.any_split
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there are no steps.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Stats labels, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.slots.iter().map(|s| s.label.as_str()).collect()
    }

    /// The steps, in order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.slots.iter().map(|s| &s.step)
    }

    /// How many documents each step changed the text of, since the pipeline was built: `(label, count)`.
    pub fn modified_counts(&self) -> Vec<(String, u64)> {
        self.slots
            .iter()
            .map(|s| (s.label.clone(), s.modified.load(Ordering::Relaxed)))
            .collect()
    }

    /// Run one document through every step, recording counters and seconds per step in `stats`
    /// (steps are created in pipeline order on first use). `None` when a step dropped it. A pipeline that
    /// [`splits`](Pipeline::splits) pages must use [`Pipeline::process_into`]: this keeps only the first page.
    pub fn process(&self, doc: Document, stats: &mut Stats) -> Option<Document> {
        if self.splits() {
            let mut out = Vec::new();
            self.process_into(doc, stats, &mut out);
            return out.into_iter().next();
        }
        if stats.steps.is_empty() {
            stats.steps = self.slots.iter().map(|s| StepStats::new(&s.label)).collect();
        }
        let mut doc = doc;
        let mut more = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let start = Instant::now();
            let (verdict, changed) = run_step(slot, &mut doc, &mut more);
            let secs = start.elapsed().as_secs_f64();
            if changed {
                slot.modified.fetch_add(1, Ordering::Relaxed);
            }
            step_at(stats, i, &slot.label).record_doc(verdict, secs, &doc);
            if !verdict.is_keep() {
                return None;
            }
        }
        Some(doc)
    }

    /// Run one document through every step, appending every page that comes out (none when dropped, several
    /// after a splitting step, in order) to `out`; counters as in [`Pipeline::process`]. A split counts as one
    /// page in and all its pages out at the splitting step.
    pub fn process_into(&self, doc: Document, stats: &mut Stats, out: &mut Vec<Document>) {
        if stats.steps.is_empty() {
            stats.steps = self.slots.iter().map(|s| StepStats::new(&s.label)).collect();
        }
        self.process_from(0, self.slots.len(), doc, stats, out);
    }

    /// Like [`Pipeline::process_into`], through the steps at positions `steps` only (0-based, e.g. `0..3`
    /// for the first three), so a caller can run other code between two parts of the chain. Counters are
    /// recorded under the steps' labels (created in `stats` on first use).
    pub fn process_steps_into(&self, steps: Range<usize>, doc: Document, stats: &mut Stats, out: &mut Vec<Document>) {
        let end = steps.end.min(self.slots.len());
        if steps.start >= end {
            out.push(doc);
            return;
        }
        self.process_from(steps.start, end, doc, stats, out);
    }

    /// Run a batch of pages through every step on the current rayon pool (as the filter stage runs a shard's
    /// batch): the pages that come out, in input order for any thread count, with the step counters added
    /// to `stats`.
    pub fn process_batch(&self, docs: Vec<Document>, stats: &mut Stats) -> Vec<Document> {
        self.process_batch_steps(0..self.slots.len(), docs, stats)
    }

    /// [`Pipeline::process_batch`] through the steps at positions `steps` only (see
    /// [`Pipeline::process_steps_into`]).
    pub fn process_batch_steps(&self, steps: Range<usize>, docs: Vec<Document>, stats: &mut Stats) -> Vec<Document> {
        let f = |d: Document, s: &mut Stats, out: &mut Vec<Document>| self.process_steps_into(steps.clone(), d, s, out);
        dclm_core::process_batch(docs, stats, &f)
    }

    fn process_from(&self, first: usize, end: usize, mut doc: Document, stats: &mut Stats, out: &mut Vec<Document>) {
        let mut more = Vec::new();
        for (i, slot) in self.slots.iter().enumerate().take(end).skip(first) {
            let start = Instant::now();
            let (verdict, changed) = run_step(slot, &mut doc, &mut more);
            let secs = start.elapsed().as_secs_f64();
            if changed {
                slot.modified.fetch_add(1, Ordering::Relaxed);
            }
            let st = step_at(stats, i, &slot.label);
            st.record_doc(verdict, secs, &doc);
            if !verdict.is_keep() {
                return;
            }
            if !more.is_empty() {
                st.docs_out += more.len() as u64;
                let rest = std::mem::take(&mut more);
                self.process_from(i + 1, end, doc, stats, out);
                for d in rest {
                    self.process_from(i + 1, end, d, stats, out);
                }
                return;
            }
        }
        out.push(doc);
    }

    /// Run one document without stats, returning the final document (if kept) and a per-step trace
    /// (pages split off by a splitting step are not followed).
    pub fn trace(&self, mut doc: Document) -> (Option<Document>, Trace) {
        let mut steps = Vec::with_capacity(self.slots.len());
        let mut more = Vec::new();
        for slot in &self.slots {
            let (verdict, changed) = run_step(slot, &mut doc, &mut more);
            more.clear();
            steps.push((slot.label.clone(), verdict, changed));
            if !verdict.is_keep() {
                return (None, Trace { steps });
            }
        }
        (Some(doc), Trace { steps })
    }

    /// Run one document without any bookkeeping (pages split off by a splitting step are not followed).
    pub fn run(&self, mut doc: Document) -> Option<Document> {
        let mut more = Vec::new();
        for slot in &self.slots {
            let v = match text_gate(slot, &doc) {
                Some(v) => v,
                None => match &slot.step {
                    Step::Filter(f) => f.check(&doc),
                    Step::Mapper(m) if slot.splits => {
                        let v = m.apply_many(&mut doc, &mut more);
                        more.clear();
                        v
                    }
                    Step::Mapper(m) => m.apply(&mut doc),
                },
            };
            if !v.is_keep() {
                return None;
            }
        }
        Some(doc)
    }
}

/// The drop verdict for a page that lacks the string `text` this step needs (`None`: the step may run).
#[inline]
fn text_gate(slot: &Slot, doc: &Document) -> Option<Verdict> {
    if !slot.needs_text || doc.has_string_text() {
        return None;
    }
    Some(Verdict::Drop(match doc.text_problem() {
        Some("missing_text") => "error:missing_text",
        _ => "error:text_not_string",
    }))
}

fn run_step(slot: &Slot, doc: &mut Document, more: &mut Vec<Document>) -> (Verdict, bool) {
    if let Some(v) = text_gate(slot, doc) {
        return (v, false);
    }
    match &slot.step {
        Step::Filter(f) => (f.check(doc), false),
        Step::Mapper(m) if slot.splits => (m.apply_many(doc, more), false),
        Step::Mapper(m) if !m.modifies_text() => (m.apply(doc), false),
        Step::Mapper(m) => BEFORE.with(|b| {
            let mut before = b.borrow_mut();
            before.clear();
            before.push_str(&doc.text);
            let had_string = doc.has_string_text();
            let v = m.apply(doc);
            (
                v,
                v.is_keep() && (*before != doc.text || had_string != doc.has_string_text()),
            )
        }),
    }
}

fn step_at<'a>(stats: &'a mut Stats, i: usize, label: &str) -> &'a mut StepStats {
    if stats.steps.get(i).is_some_and(|s| s.name == label) {
        &mut stats.steps[i]
    } else {
        stats.step_mut(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_records_steps_in_order() {
        let p = Pipeline::new()
            .map(FnMapper::new("upper", |d: &mut Document| {
                d.text = d.text.to_uppercase();
                Verdict::Keep
            }))
            .filter(FnFilter::new("short", |d: &Document| {
                Verdict::keep_if(d.text.len() > 3, "too_short")
            }));
        let mut stats = Stats::new("t");
        assert_eq!(p.process(Document::new("hello"), &mut stats).unwrap().text, "HELLO");
        assert!(p.process(Document::new("hi"), &mut stats).is_none());
        assert_eq!(stats.steps.len(), 2);
        assert_eq!(stats.steps[0].name, "1:upper");
        assert_eq!(stats.steps[0].docs_in, 2);
        assert_eq!(stats.steps[1].dropped["too_short"], 1);
        assert_eq!(p.modified_counts()[0].1, 2);
        let (out, trace) = p.trace(Document::new("HEY"));
        assert!(out.is_none());
        assert!(!trace.steps[0].2);
    }

    #[test]
    fn batch_in_parts_equals_batch_whole() {
        let p = Pipeline::new()
            .map(FnMapper::new("upper", |d: &mut Document| {
                d.text = d.text.to_uppercase();
                Verdict::Keep
            }))
            .filter(FnFilter::new("short", |d: &Document| {
                Verdict::keep_if(d.text.len() > 5, "too_short")
            }))
            .filter(FnFilter::new("no_x", |d: &Document| {
                Verdict::keep_if(!d.text.contains('X'), "has_x")
            }));
        let docs: Vec<Document> = (0..200)
            .map(|i| Document::new(format!("{}{}", "ab".repeat(i % 5), if i % 7 == 0 { "x" } else { "" })))
            .collect();
        let mut whole = Stats::new("t");
        let all = p.process_batch(docs.clone(), &mut whole);
        let mut parts = Stats::new("t");
        let first = p.process_batch_steps(0..1, docs.clone(), &mut parts);
        assert_eq!(first.len(), 200);
        assert!(first.iter().all(|d| d.text == d.text.to_uppercase()));
        let rest = p.process_batch_steps(1..3, first, &mut parts);
        assert_eq!(all, rest);
        assert_eq!(whole.steps.len(), 3);
        for (a, b) in whole.steps.iter().zip(&parts.steps) {
            assert_eq!(
                (&a.name, a.docs_in, a.docs_out, &a.dropped),
                (&b.name, b.docs_in, b.docs_out, &b.dropped)
            );
        }
        assert_eq!(whole.steps[1].dropped["too_short"], 120);
        let serial: Vec<Document> = docs.into_iter().filter_map(|d| p.run(d)).collect();
        assert_eq!(all, serial);
        // An empty range passes pages through untouched.
        let mut none = Stats::new("t");
        let same = p.process_batch_steps(3..3, all.clone(), &mut none);
        assert_eq!(same, all);
        assert!(none.steps.is_empty());
    }
}
