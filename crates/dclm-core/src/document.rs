//! `Document`: one web page in DCLM's JSONL schema (`text`, `url`, `metadata`, `warcinfo`, enriched keys).

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Well-known keys of DCLM's document schema.
pub mod keys {
    /// Page text (always present).
    pub const TEXT: &str = "text";
    /// Page URL (copied from `metadata["WARC-Target-URI"]` by the first pipeline step).
    pub const URL: &str = "url";
    /// WARC record headers.
    pub const METADATA: &str = "metadata";
    /// Body of the most recent `warcinfo` record.
    pub const WARCINFO: &str = "warcinfo";
    /// Whole-page fastText language-ID scores (`{lang: prob}`).
    pub const LANGUAGE_ID: &str = "language_id_whole_page_fasttext";
    /// Word count before the word-removal modifiers (`word_removal_ratio_filter`).
    pub const PREVIOUS_WORD_COUNT: &str = "previous_word_count";
    /// BFF's count of contained n-grams before dedup.
    pub const BFF_CONTAINED: &str = "bff_contained_ngram_count_before_dedupe";
    /// DCLM's fastText quality score.
    pub const FASTTEXT_QUALITY: &str = "fasttext_openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train_prob";
    /// WARC header holding the target URI.
    pub const WARC_TARGET_URI: &str = "WARC-Target-URI";
    /// WARC header holding the record ID.
    pub const WARC_RECORD_ID: &str = "WARC-Record-ID";
}

/// One document. `text` is a typed field because every stage reads or rewrites it; every other key
/// (`url`, `metadata`, `warcinfo`, enrichments, and keys this crate has never heard of) lives in an
/// insertion-ordered map, so a document read from JSONL is written back with the same keys and values.
///
/// Serialized as a flat JSON object: `text` first, then the other keys in their original order.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Document {
    /// The page text.
    pub text: String,
    /// All other top-level keys, in order.
    pub fields: Map<String, Value>,
}

impl Document {
    /// A document with only `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Document {
            text: text.into(),
            fields: Map::new(),
        }
    }

    /// A document with `text` and `url`.
    pub fn with_url(text: impl Into<String>, url: impl Into<String>) -> Self {
        let mut d = Document::new(text);
        d.set(keys::URL, Value::String(url.into()));
        d
    }

    /// The `url` key, if it is a string.
    pub fn url(&self) -> Option<&str> {
        self.fields.get(keys::URL).and_then(Value::as_str)
    }

    /// The `metadata` object (WARC headers), if present.
    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.fields.get(keys::METADATA).and_then(Value::as_object)
    }

    /// Mutable access to `metadata`, creating an empty object when absent or not an object.
    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let slot = self
            .fields
            .entry(keys::METADATA)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        slot.as_object_mut().expect("metadata is an object")
    }

    /// The `warcinfo` string, if present.
    pub fn warcinfo(&self) -> Option<&str> {
        self.fields.get(keys::WARCINFO).and_then(Value::as_str)
    }

    /// A stable identifier: `metadata["WARC-Record-ID"]`, else `url`, else `None`.
    pub fn id(&self) -> Option<&str> {
        self.metadata()
            .and_then(|m| m.get(keys::WARC_RECORD_ID))
            .and_then(Value::as_str)
            .or_else(|| self.url())
    }

    /// Any top-level key other than `text`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// Set a top-level key (enrichers write their annotations here). Setting `text` is not allowed
    /// through this method: assign `doc.text` instead.
    pub fn set(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        debug_assert_ne!(key, keys::TEXT, "assign Document::text directly");
        self.fields.insert(key, value);
    }

    /// Remove a top-level key, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.fields.shift_remove(key)
    }

    /// Parse one JSONL line. `Err` carries a short reason (`invalid_json`, `not_an_object`,
    /// `missing_text`, `text_not_string`) and a message.
    pub fn from_json_line(line: &str) -> Result<Self, (&'static str, String)> {
        let value: Value = serde_json::from_str(line).map_err(|e| ("invalid_json", e.to_string()))?;
        Document::from_value(value)
    }

    /// Build from a parsed JSON value (see [`Document::from_json_line`] for the error reasons).
    pub fn from_value(value: Value) -> Result<Self, (&'static str, String)> {
        let Value::Object(mut fields) = value else {
            return Err(("not_an_object", "JSONL line is not a JSON object".into()));
        };
        match fields.shift_remove(keys::TEXT) {
            Some(Value::String(text)) => Ok(Document { text, fields }),
            Some(other) => Err((
                "text_not_string",
                format!("`text` is {}, not a string", kind_of(&other)),
            )),
            None => Err(("missing_text", "JSONL object has no `text` key".into())),
        }
    }

    /// Serialize as one JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a Document always serializes")
    }

    /// Append the JSON line plus `\n` to a byte buffer.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(&mut *out, self).expect("writing to a Vec cannot fail");
        out.push(b'\n');
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.fields.len()))?;
        map.serialize_entry(keys::TEXT, &self.text)?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Document::from_value(value).map_err(|(_, msg)| de::Error::custom(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_order_and_unknown_keys_round_trip() {
        let line = r#"{"text":"hi","url":"http://a","zz":1,"metadata":{"WARC-Record-ID":"<urn:x>"},"aa":[1.5,null]}"#;
        let doc = Document::from_json_line(line).unwrap();
        assert_eq!(doc.url(), Some("http://a"));
        assert_eq!(doc.id(), Some("<urn:x>"));
        assert_eq!(doc.to_json_line(), line);
    }

    #[test]
    fn bad_lines_have_reasons() {
        assert_eq!(Document::from_json_line("{").unwrap_err().0, "invalid_json");
        assert_eq!(Document::from_json_line("[1]").unwrap_err().0, "not_an_object");
        assert_eq!(
            Document::from_json_line(r#"{"url":"x"}"#).unwrap_err().0,
            "missing_text"
        );
        assert_eq!(
            Document::from_json_line(r#"{"text":3}"#).unwrap_err().0,
            "text_not_string"
        );
    }

    #[test]
    fn text_is_first_when_not_first_in_input() {
        let doc = Document::from_json_line(r#"{"url":"u","text":"t"}"#).unwrap();
        assert_eq!(doc.to_json_line(), r#"{"text":"t","url":"u"}"#);
    }
}
