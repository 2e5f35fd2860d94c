//! `Document`: one web page in DCLM's JSONL schema (`text`, `url`, `metadata`, `warcinfo`, enriched keys).

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Well-known keys of DCLM's document schema.
pub mod keys {
    /// Page text (usually a string; DCLM allows it to be absent or any JSON value until a step reads it).
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
/// DCLM's page is a plain dict: `text` may be missing (a corpus keyed by `content`, a metadata-only page) or
/// hold any JSON value (a list of lines after `split_lines_modifier`). A document read with
/// [`Document::from_json_line_any`] keeps that: [`Document::has_string_text`] tells whether `text` is a string
/// (then it is in the `text` field, the fast path every text step uses); otherwise `text` is empty and
/// [`Document::text_value`] gives the absent or non-string value, which is written back unchanged.
///
/// Serialized as a flat JSON object: `text` first (when present), then the other keys in their original order.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Document {
    /// The page text (empty when the page has no string `text`; see [`Document::has_string_text`]).
    pub text: String,
    /// All other top-level keys, in order.
    pub fields: Map<String, Value>,
    /// Whether `text` is the string above, absent, or another JSON value.
    slot: TextSlot,
}

/// What the page's `text` key holds when it is not a string.
#[derive(Debug, Clone, PartialEq, Default)]
enum TextSlot {
    /// `text` is the string in [`Document::text`].
    #[default]
    Str,
    /// The page has no `text` key.
    Absent,
    /// `text` holds this value, never a string.
    Other(Value),
}

/// Borrowed view of a page's `text` key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TextRef<'a> {
    /// A string (the common case).
    Str(&'a str),
    /// No `text` key.
    Absent,
    /// Any other JSON value (a list of lines, a number, null, …).
    Other(&'a Value),
}

impl Document {
    /// A document with only `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Document {
            text: text.into(),
            fields: Map::new(),
            slot: TextSlot::Str,
        }
    }

    /// A document with no `text` key and the given other keys (a metadata-only page).
    pub fn without_text(fields: Map<String, Value>) -> Self {
        Document {
            text: String::new(),
            fields,
            slot: TextSlot::Absent,
        }
    }

    /// True when `text` is a string (held in [`Document::text`]).
    #[inline]
    pub fn has_string_text(&self) -> bool {
        matches!(self.slot, TextSlot::Str)
    }

    /// True when the page has a `text` key, of any type.
    pub fn has_text_key(&self) -> bool {
        !matches!(self.slot, TextSlot::Absent)
    }

    /// The `text` key as it is: a string, absent, or another JSON value.
    pub fn text_ref(&self) -> TextRef<'_> {
        match &self.slot {
            TextSlot::Str => TextRef::Str(&self.text),
            TextSlot::Absent => TextRef::Absent,
            TextSlot::Other(v) => TextRef::Other(v),
        }
    }

    /// The `text` key as a JSON value (cloned), `None` when absent.
    pub fn text_value(&self) -> Option<Value> {
        match &self.slot {
            TextSlot::Str => Some(Value::String(self.text.clone())),
            TextSlot::Absent => None,
            TextSlot::Other(v) => Some(v.clone()),
        }
    }

    /// Mutable access to a non-string `text` value (`None` when `text` is a string or absent).
    pub fn text_other_mut(&mut self) -> Option<&mut Value> {
        match &mut self.slot {
            TextSlot::Other(v) => Some(v),
            _ => None,
        }
    }

    /// Make `text` the given string (whatever it held before).
    pub fn set_text(&mut self, text: impl Into<String>) {
        self.text = text.into();
        self.slot = TextSlot::Str;
    }

    /// Make `text` the given JSON value; a string goes to [`Document::text`].
    pub fn set_text_value(&mut self, value: Value) {
        match value {
            Value::String(s) => self.set_text(s),
            other => {
                self.text.clear();
                self.slot = TextSlot::Other(other);
            }
        }
    }

    /// Remove the `text` key, returning its value (`None` when it was absent).
    pub fn take_text_value(&mut self) -> Option<Value> {
        match std::mem::replace(&mut self.slot, TextSlot::Absent) {
            TextSlot::Str => Some(Value::String(std::mem::take(&mut self.text))),
            TextSlot::Absent => None,
            TextSlot::Other(v) => Some(v),
        }
    }

    /// Short reason why `text` is not a string: `missing_text` or `text_not_string` (`None` for a string).
    pub fn text_problem(&self) -> Option<&'static str> {
        match self.slot {
            TextSlot::Str => None,
            TextSlot::Absent => Some("missing_text"),
            TextSlot::Other(_) => Some("text_not_string"),
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

    /// Any top-level key other than `text` (see [`Document::text_ref`] for `text`).
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
        let doc = Document::from_value_any(value)?;
        match &doc.slot {
            TextSlot::Str => Ok(doc),
            TextSlot::Other(v) => Err(("text_not_string", format!("`text` is {}, not a string", kind_of(v)))),
            TextSlot::Absent => Err(("missing_text", "JSONL object has no `text` key".into())),
        }
    }

    /// Parse one JSONL line as DCLM's page: like [`Document::from_json_line`], but a missing or non-string
    /// `text` is kept (errors: `invalid_json`, `not_an_object`).
    pub fn from_json_line_any(line: &str) -> Result<Self, (&'static str, String)> {
        let value: Value = serde_json::from_str(line).map_err(|e| ("invalid_json", e.to_string()))?;
        Document::from_value_any(value)
    }

    /// Build from any JSON object, keeping a missing or non-string `text` (see [`Document::text_ref`]).
    pub fn from_value_any(value: Value) -> Result<Self, (&'static str, String)> {
        let Value::Object(mut fields) = value else {
            return Err(("not_an_object", "JSONL line is not a JSON object".into()));
        };
        let (text, slot) = match fields.shift_remove(keys::TEXT) {
            Some(Value::String(text)) => (text, TextSlot::Str),
            Some(other) => (String::new(), TextSlot::Other(other)),
            None => (String::new(), TextSlot::Absent),
        };
        Ok(Document { text, fields, slot })
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
        let has_text = self.has_text_key() as usize;
        let mut map = serializer.serialize_map(Some(has_text + self.fields.len()))?;
        match &self.slot {
            TextSlot::Str => map.serialize_entry(keys::TEXT, &self.text)?,
            TextSlot::Absent => {}
            TextSlot::Other(v) => map.serialize_entry(keys::TEXT, v)?,
        }
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
    fn pages_without_string_text_round_trip() {
        let line = r#"{"content":"c","url":"u"}"#;
        let doc = Document::from_json_line_any(line).unwrap();
        assert!(!doc.has_string_text() && !doc.has_text_key());
        assert_eq!(doc.text_problem(), Some("missing_text"));
        assert_eq!(doc.to_json_line(), line);
        let line = r#"{"text":["a","b"],"n":null}"#;
        let mut doc = Document::from_json_line_any(line).unwrap();
        assert_eq!(doc.text_ref(), TextRef::Other(&serde_json::json!(["a", "b"])));
        assert_eq!(doc.text_problem(), Some("text_not_string"));
        assert_eq!(doc.to_json_line(), line);
        doc.set_text("a\nb");
        assert!(doc.has_string_text());
        assert_eq!(doc.to_json_line(), r#"{"text":"a\nb","n":null}"#);
        assert_eq!(doc.take_text_value(), Some(Value::String("a\nb".into())));
        assert_eq!(doc.to_json_line(), r#"{"n":null}"#);
        doc.set_text_value(Value::from(3));
        assert_eq!(doc.to_json_line(), r#"{"text":3,"n":null}"#);
        // The strict reader still refuses them.
        assert_eq!(Document::from_json_line(r#"{"a":1}"#).unwrap_err().0, "missing_text");
        assert!(Document::from_json_line_any("[1]").is_err());
    }

    #[test]
    fn text_is_first_when_not_first_in_input() {
        let doc = Document::from_json_line(r#"{"url":"u","text":"t"}"#).unwrap();
        assert_eq!(doc.to_json_line(), r#"{"text":"t","url":"u"}"#);
    }
}
