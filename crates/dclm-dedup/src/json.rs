//! Writing documents as JSON lines the way BFF does (keys sorted at every level, as serde_json's
//! `BTreeMap`-backed `Value` writes them) or in the document's own key order.

use dclm_core::{keys, Document};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::Value;

/// Key order of output documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyOrder {
    /// Sorted by key bytes at every nesting level, as BFF writes them (byte-identical to BFF's output).
    #[default]
    Sorted,
    /// `text` first, then the input's key order (dclm-core's [`Document`] form).
    Preserve,
}

impl std::str::FromStr for KeyOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sorted" => Ok(KeyOrder::Sorted),
            "preserve" => Ok(KeyOrder::Preserve),
            _ => Err(format!("unknown key order `{s}` (allowed: sorted, preserve)")),
        }
    }
}

struct SortedValue<'a>(&'a Value);

impl Serialize for SortedValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &SortedValue(v))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&SortedValue(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

struct SortedDoc<'a>(&'a Document);

impl Serialize for SortedDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let doc = self.0;
        let mut entries: Vec<(&str, Option<&Value>)> = doc.fields.iter().map(|(k, v)| (k.as_str(), Some(v))).collect();
        entries.push((keys::TEXT, None));
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            match v {
                Some(v) => map.serialize_entry(k, &SortedValue(v))?,
                None => map.serialize_entry(k, &doc.text)?,
            }
        }
        map.end()
    }
}

/// Append `doc` as one JSON line (with `\n`) to `out`.
pub fn write_line(doc: &Document, order: KeyOrder, out: &mut Vec<u8>) {
    match order {
        KeyOrder::Preserve => doc.write_json_line(out),
        KeyOrder::Sorted => {
            // Serializing string keys and JSON values into a Vec cannot fail.
            if serde_json::to_writer(&mut *out, &SortedDoc(doc)).is_err() {
                doc.write_json_line(out);
                return;
            }
            out.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_at_every_level() {
        let d =
            Document::from_json_line(r#"{"z":1,"text":"t","a":{"y":[{"b":1,"a":2}],"x":-0.0},"m":1.5e-07}"#).unwrap();
        let mut out = Vec::new();
        write_line(&d, KeyOrder::Sorted, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a\":{\"x\":-0.0,\"y\":[{\"a\":2,\"b\":1}]},\"m\":1.5e-7,\"text\":\"t\",\"z\":1}\n"
        );
    }
}
