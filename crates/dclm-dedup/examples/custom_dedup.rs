//! A user-written [`Deduplicator`]: drop documents whose URL host was already seen (one page per site),
//! run beside the BFF port through the same trait.

use dclm_core::Document;
use dclm_dedup::{bff_for_run, BffConfig, DedupOutcome, Deduplicator};
use std::collections::HashSet;
use std::sync::Mutex;

/// Keeps the first document of every URL host.
struct OnePagePerHost {
    seen: Mutex<HashSet<String>>,
}

impl Deduplicator for OnePagePerHost {
    fn name(&self) -> &str {
        "one_page_per_host"
    }

    fn observe(&self, doc: &Document) -> DedupOutcome {
        let Some(url) = doc.url() else {
            return DedupOutcome::Unique;
        };
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or(url)
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        // A poisoned lock only means another thread panicked; the set itself is still usable.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.insert(host) {
            DedupOutcome::Unique
        } else {
            DedupOutcome::Duplicate
        }
    }
}

fn main() {
    let docs = [
        Document::with_url("first page of a", "https://a.example/1"),
        Document::with_url("second page of a", "https://a.example/2"),
        Document::with_url("a page of b", "https://b.example/"),
    ];
    let dedups: Vec<Box<dyn Deduplicator>> = vec![
        Box::new(OnePagePerHost {
            seen: Mutex::new(HashSet::new()),
        }),
        Box::new(bff_for_run(BffConfig::default(), 1000, 0.01).expect("valid plan")),
    ];
    let mut kept_counts = Vec::new();
    for d in &dedups {
        let kept: Vec<String> = docs
            .iter()
            .cloned()
            .filter_map(|doc| d.apply(doc))
            .map(|doc| doc.text)
            .collect();
        println!("{}: kept {kept:?}", d.name());
        kept_counts.push(kept.len());
    }
    // One page per host keeps a.example/1 and b.example; BFF keeps all three (texts share no 13-gram).
    assert_eq!(kept_counts, [2, 3]);
}
