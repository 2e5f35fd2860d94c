//! Exact dedup on a 128-bit hash of the normalized text (or of the URL), through the same two-phase
//! API as MinHash: the band key is the low 64 bits and the full 128 bits are compared before two
//! documents are linked, so a 64-bit bucket collision never drops a document.

use crate::global::{GlobalDeduplicator, Signature};
use dclm_core::Document;
use xxhash_rust::xxh3::xxh3_128;

/// What exact dedup compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExactKey {
    /// The text, normalized: lowercased, whitespace runs collapsed to one space, trimmed.
    #[default]
    NormalizedText,
    /// The text byte for byte.
    RawText,
    /// The `url` field (documents without one take no part).
    Url,
}

impl std::str::FromStr for ExactKey {
    type Err = crate::DedupError;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "text" | "normalized-text" => Ok(ExactKey::NormalizedText),
            "raw-text" => Ok(ExactKey::RawText),
            "url" => Ok(ExactKey::Url),
            _ => Err(crate::DedupError::Config(format!(
                "unknown exact-dedup key `{s}` (allowed: text, raw-text, url)"
            ))),
        }
    }
}

/// Exact dedup.
#[derive(Debug, Clone, Default)]
pub struct ExactDedup {
    /// What is compared.
    pub key: ExactKey,
}

/// Lowercase, collapse whitespace runs to one space, trim.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for w in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

impl GlobalDeduplicator for ExactDedup {
    fn name(&self) -> &str {
        "exact"
    }

    fn params_id(&self) -> u64 {
        0x6578_6163_7400 + self.key as u64
    }

    fn num_bands(&self) -> usize {
        1
    }

    fn sketch_len(&self) -> usize {
        4
    }

    fn signature(&self, doc: &Document) -> Option<Signature> {
        let h = match self.key {
            ExactKey::NormalizedText => xxh3_128(normalize(&doc.text).as_bytes()),
            ExactKey::RawText => xxh3_128(doc.text.as_bytes()),
            ExactKey::Url => xxh3_128(doc.url()?.as_bytes()),
        };
        Some(Signature {
            bands: vec![h as u64],
            sketch: (0..4).map(|i| (h >> (32 * i)) as u32).collect(),
        })
    }

    fn same_cluster(&self, a: &Signature, b: &Signature) -> bool {
        a.sketch == b.sketch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        assert_eq!(normalize("  Hello\n\tWORLD  "), "hello world");
        let e = ExactDedup::default();
        let a = e.signature(&Document::new("Hello  world")).unwrap();
        let b = e.signature(&Document::new("hello world\n")).unwrap();
        assert!(e.same_cluster(&a, &b));
        let u = ExactDedup { key: ExactKey::Url };
        assert!(u.signature(&Document::new("x")).is_none());
    }
}
