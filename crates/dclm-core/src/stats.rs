//! `Verdict` and the per-step / per-stage counters that become `stats.json`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a filter or mapper decided about one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Keep the document (possibly modified).
    Keep,
    /// Drop it; the reason is a short static string counted in the stats (e.g. `"too_short"`).
    Drop(&'static str),
}

impl Verdict {
    /// `Keep` if `cond`, else `Drop(reason)`.
    pub fn keep_if(cond: bool, reason: &'static str) -> Self {
        if cond {
            Verdict::Keep
        } else {
            Verdict::Drop(reason)
        }
    }

    /// True for `Keep`.
    pub fn is_keep(self) -> bool {
        matches!(self, Verdict::Keep)
    }
}

/// Counters for one pipeline step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    /// Step name (DCLM `func` name or user-given name).
    pub name: String,
    /// Documents that reached this step.
    pub docs_in: u64,
    /// Documents that left it.
    pub docs_out: u64,
    /// Drops by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Wall-clock seconds spent inside the step, summed over threads.
    pub seconds: f64,
    /// A few dropped documents per reason (at most [`MAX_DROP_EXAMPLES`]), gathered while the step runs so a
    /// report can show what each rule removed without reading the data again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub examples: BTreeMap<String, Vec<DropExample>>,
}

/// How many dropped documents a [`StepStats`] keeps per reason.
pub const MAX_DROP_EXAMPLES: usize = 3;

/// Number of characters of a dropped document's text kept in its [`DropExample`].
pub const SNIPPET_CHARS: usize = 300;

/// A dropped document as an example: its URL (or record id) and the start of its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DropExample {
    /// The document URL (may be empty).
    pub url: String,
    /// At most [`SNIPPET_CHARS`] characters of the text, with an ellipsis when cut.
    pub snippet: String,
}

impl DropExample {
    /// Example from a URL and the full text; the text is cut to [`SNIPPET_CHARS`] characters.
    pub fn new(url: impl Into<String>, text: &str) -> Self {
        DropExample {
            url: url.into(),
            snippet: snippet(text),
        }
    }

    /// Example of a document: its URL, else its record id, and its text.
    pub fn of(doc: &crate::Document) -> Self {
        Self::new(doc.url().or_else(|| doc.id()).unwrap_or_default(), &doc.text)
    }
}

/// First [`SNIPPET_CHARS`] characters of `text` (on a char boundary), with an ellipsis when cut.
pub fn snippet(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

impl StepStats {
    /// Empty counters for a named step.
    pub fn new(name: impl Into<String>) -> Self {
        StepStats {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Record one decision.
    pub fn record(&mut self, verdict: Verdict, seconds: f64) {
        self.docs_in += 1;
        self.seconds += seconds;
        match verdict {
            Verdict::Keep => self.docs_out += 1,
            Verdict::Drop(reason) => *self.dropped.entry(reason.to_string()).or_default() += 1,
        }
    }

    /// True if a dropped document for `reason` would be kept as an example.
    pub fn wants_example(&self, reason: &str) -> bool {
        self.examples.get(reason).is_none_or(|v| v.len() < MAX_DROP_EXAMPLES)
    }

    /// Record one decision about `doc`; a drop keeps the document as an example while there is room.
    pub fn record_doc(&mut self, verdict: Verdict, seconds: f64, doc: &crate::Document) {
        self.record(verdict, seconds);
        if let Verdict::Drop(reason) = verdict {
            self.add_example(reason, || DropExample::of(doc));
        }
    }

    /// Keep an example for `reason` (built only when there is room).
    pub fn add_example(&mut self, reason: &str, example: impl FnOnce() -> DropExample) {
        if self.wants_example(reason) {
            self.examples.entry(reason.to_string()).or_default().push(example());
        }
    }

    /// Add another step's counters (same step); examples keep the first ones up to the limit.
    pub fn merge(&mut self, other: &StepStats) {
        self.docs_in += other.docs_in;
        self.docs_out += other.docs_out;
        self.seconds += other.seconds;
        for (k, v) in &other.dropped {
            *self.dropped.entry(k.clone()).or_default() += v;
        }
        for (reason, exs) in &other.examples {
            for e in exs {
                self.add_example(reason, || e.clone());
            }
        }
    }
}

/// One input problem kept as an example for the user (file, position, message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorExample {
    /// Short reason (also the key in [`Stats::errors`]).
    pub reason: String,
    /// Full message naming file and position.
    pub message: String,
}

/// How many error examples a [`Stats`] keeps per reason.
pub const MAX_ERROR_EXAMPLES: usize = 5;

/// Counters of a stage over one shard, or merged over many.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Stage name.
    pub stage: String,
    /// Shards counted.
    pub shards: u64,
    /// Records/documents read successfully.
    pub docs_in: u64,
    /// Documents written.
    pub docs_out: u64,
    /// Raw (on-disk) input bytes.
    pub bytes_in: u64,
    /// Uncompressed output bytes.
    pub bytes_out: u64,
    /// Input records that could not be read, by reason (invalid_json, missing_text, corrupt_stream, …).
    pub errors: BTreeMap<String, u64>,
    /// A few examples of each error, naming file and position.
    pub error_examples: Vec<ErrorExample>,
    /// Per-step counters, in pipeline order.
    pub steps: Vec<StepStats>,
    /// Wall-clock seconds (for merged stats: summed over shards).
    pub seconds: f64,
    /// Shards whose input could not be read to its end (truncated or corrupt compressed stream): what was
    /// read before the cut is in the output, the rest is lost.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub partial_shards: u64,
    /// Raw input bytes never read because a stream broke before them (a lower bound of what was lost: a
    /// truncated file's missing tail is not known).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes_unread: u64,
    /// In a completion marker: what produced this shard's output (absent in merged stats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::Provenance>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Stats {
    /// Empty stats for a stage.
    pub fn new(stage: impl Into<String>) -> Self {
        Stats {
            stage: stage.into(),
            ..Default::default()
        }
    }

    /// Total input records that failed to read.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Count one input error, keeping its message as an example if there are few of that reason.
    pub fn record_error(&mut self, reason: &str, message: impl Into<String>) {
        let n = self.errors.entry(reason.to_string()).or_default();
        *n += 1;
        if *n as usize <= MAX_ERROR_EXAMPLES {
            self.error_examples.push(ErrorExample {
                reason: reason.to_string(),
                message: message.into(),
            });
        }
    }

    /// Step counters by name, created (in order) on first use.
    pub fn step_mut(&mut self, name: &str) -> &mut StepStats {
        if let Some(i) = self.steps.iter().position(|s| s.name == name) {
            &mut self.steps[i]
        } else {
            self.steps.push(StepStats::new(name));
            self.steps.last_mut().expect("just pushed")
        }
    }

    /// Add another shard's (or rank's) stats.
    pub fn merge(&mut self, other: &Stats) {
        if self.stage.is_empty() {
            self.stage = other.stage.clone();
        }
        self.shards += other.shards;
        self.docs_in += other.docs_in;
        self.docs_out += other.docs_out;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.seconds += other.seconds;
        self.partial_shards += other.partial_shards;
        self.bytes_unread += other.bytes_unread;
        for (k, v) in &other.errors {
            let n = self.errors.entry(k.clone()).or_default();
            let before = *n as usize;
            *n += v;
            let room = MAX_ERROR_EXAMPLES.saturating_sub(before);
            self.error_examples.extend(
                other
                    .error_examples
                    .iter()
                    .filter(|e| &e.reason == k)
                    .take(room)
                    .cloned(),
            );
        }
        for s in &other.steps {
            self.step_mut(&s.name).merge(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_up_and_caps_examples() {
        let mut a = Stats::new("x");
        for i in 0..4 {
            a.record_error("invalid_json", format!("f:{i}"));
        }
        a.step_mut("s1").record(Verdict::Drop("short"), 0.5);
        let mut b = a.clone();
        b.step_mut("s2").record(Verdict::Keep, 0.1);
        a.merge(&b);
        assert_eq!(a.errors["invalid_json"], 8);
        assert_eq!(a.error_examples.len(), MAX_ERROR_EXAMPLES);
        assert_eq!(a.steps.len(), 2);
        assert_eq!(a.steps[0].dropped["short"], 2);
        assert_eq!(a.steps[1].docs_out, 1);
    }
}
