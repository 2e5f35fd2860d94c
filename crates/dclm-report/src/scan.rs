//! Reading stage outputs for the report: count documents and text bytes in JSONL shards, collect numeric fields
//! (quality scores, BFF counts, language-ID probabilities) for histograms, and find example documents that a
//! stage dropped (present in its input, absent from its output).

use crate::model::DropExample;
use crate::ReportError;
use dclm_core::io::ShardReader;
use dclm_core::Document;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What [`scan_shards`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardScan {
    /// Documents read.
    pub docs: u64,
    /// UTF-8 bytes of their `text` fields.
    pub text_bytes: u64,
    /// Whitespace-separated words of their `text` fields.
    pub words: u64,
    /// Lines that could not be read as documents (counted, not fatal).
    pub bad_lines: u64,
    /// Requested field → the numeric values found (documents without the field are skipped).
    pub values: BTreeMap<String, Vec<f64>>,
}

/// Value of a dotted path (`language_id_whole_page_fasttext.en`) in a document, as a number if it is one.
pub fn numeric_field(doc: &Document, path: &str) -> Option<f64> {
    let mut parts = path.split('.');
    let mut v: &Value = doc.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    v.as_f64()
}

fn open(path: &Path) -> Result<ShardReader, ReportError> {
    ShardReader::open(path).map_err(|e| ReportError::Corpus {
        path: path.to_path_buf(),
        line: 0,
        message: format!("cannot open shard: {e}"),
    })
}

/// Scan shards (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`): count documents, bytes and words, and collect `fields`.
/// A truncated or corrupt stream is an error; a bad line is counted in `bad_lines` and skipped.
pub fn scan_shards(paths: &[PathBuf], fields: &[&str]) -> Result<ShardScan, ReportError> {
    let mut scan = ShardScan::default();
    for f in fields {
        scan.values.insert(f.to_string(), Vec::new());
    }
    for path in paths {
        for item in open(path)? {
            match item {
                Ok((_, doc)) => {
                    scan.docs += 1;
                    scan.text_bytes += doc.text.len() as u64;
                    scan.words += doc.text.split_whitespace().count() as u64;
                    for f in fields {
                        if let Some(v) = numeric_field(&doc, f) {
                            if let Some(vs) = scan.values.get_mut(*f) {
                                vs.push(v);
                            }
                        }
                    }
                }
                Err(dclm_core::CoreError::BadLine { .. }) => scan.bad_lines += 1,
                Err(e) => {
                    return Err(ReportError::Corpus {
                        path: path.clone(),
                        line: 0,
                        message: e.to_string(),
                    })
                }
            }
        }
    }
    Ok(scan)
}

/// Key identifying a document across stages: its `id`, else its URL, else its WARC record id.
fn doc_key(doc: &Document) -> Option<String> {
    doc.id()
        .map(str::to_string)
        .or_else(|| doc.url().map(str::to_string))
        .or_else(|| {
            doc.metadata()
                .and_then(|m| m.get(dclm_core::keys::WARC_RECORD_ID))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

/// Up to `limit` documents of `inputs` whose key (id, URL or WARC record id) does not appear in `outputs`:
/// examples of what a stage dropped, in input order. Documents without any key are ignored.
pub fn dropped_examples(
    inputs: &[PathBuf],
    outputs: &[PathBuf],
    limit: usize,
) -> Result<Vec<DropExample>, ReportError> {
    let mut kept = BTreeSet::new();
    for path in outputs {
        for (_, doc) in open(path)?.flatten() {
            if let Some(k) = doc_key(&doc) {
                kept.insert(k);
            }
        }
    }
    let mut out = Vec::new();
    for path in inputs {
        for (_, doc) in open(path)?.flatten() {
            if out.len() >= limit {
                return Ok(out);
            }
            if let Some(k) = doc_key(&doc) {
                if !kept.contains(&k) {
                    out.push(DropExample::new(doc.url().unwrap_or(""), &doc.text));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dclm_core::io::ShardWriter;

    fn write(path: &Path, docs: &[Document], junk: bool) {
        let mut w = ShardWriter::create(path).unwrap();
        for d in docs {
            w.write(d).unwrap();
        }
        if junk {
            w.write_raw(b"{not json}\n").unwrap();
        }
        w.finish().unwrap();
    }

    fn doc(url: &str, text: &str, score: f64) -> Document {
        let mut d = Document::with_url(text, url);
        d.set(dclm_core::keys::FASTTEXT_QUALITY, serde_json::json!(score));
        d.set(dclm_core::keys::LANGUAGE_ID, serde_json::json!({"en": 0.9}));
        d
    }

    #[test]
    fn scan_and_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("in.jsonl.gz");
        let b = dir.path().join("out.jsonl");
        let docs = vec![
            doc("u1", "one two", 0.1),
            doc("u2", "three", 0.7),
            doc("u3", "four five six", 0.4),
        ];
        write(&a, &docs, true);
        write(&b, &docs[1..2], false);
        let s = scan_shards(
            std::slice::from_ref(&a),
            &[
                dclm_core::keys::FASTTEXT_QUALITY,
                "language_id_whole_page_fasttext.en",
                "missing",
            ],
        )
        .unwrap();
        assert_eq!((s.docs, s.words, s.bad_lines, s.text_bytes), (3, 6, 1, 25));
        assert_eq!(s.values[dclm_core::keys::FASTTEXT_QUALITY], vec![0.1, 0.7, 0.4]);
        assert_eq!(s.values["language_id_whole_page_fasttext.en"], vec![0.9; 3]);
        assert!(s.values["missing"].is_empty());
        let ex = dropped_examples(std::slice::from_ref(&a), std::slice::from_ref(&b), 5).unwrap();
        assert_eq!(ex.iter().map(|e| e.url.as_str()).collect::<Vec<_>>(), vec!["u1", "u3"]);
        assert_eq!(dropped_examples(&[a], &[b], 1).unwrap().len(), 1);
        assert!(scan_shards(&[dir.path().join("nope.jsonl")], &[]).is_err());
    }
}
