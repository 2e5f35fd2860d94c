//! The [`Extractor`] trait (one WARC record in, at most one [`Document`] out), the default
//! resiliparse-style extractor, decoding modes, and the closure adapter.

use crate::html::{default_output_limit, extract_plain_text_limited, ExtractOptions};
use crate::warc::{HttpMessage, WarcRecord};
use crate::ExtractError;
use dclm_core::Document;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;

/// One WARC record handed to an [`Extractor`], with the parsed HTTP message and the current
/// `warcinfo`.
#[derive(Debug, Clone, Copy)]
pub struct RawPage<'a> {
    /// WARC file the record comes from (for error messages).
    pub path: &'a Path,
    /// The record (headers and block).
    pub record: &'a WarcRecord,
    /// The HTTP message, when the block is HTTP.
    pub http: Option<&'a HttpMessage<'a>>,
    /// The payload: the HTTP body (no transfer/content decoding, as FastWARC), else the block.
    pub payload: &'a [u8],
    /// Body of the latest `warcinfo` record before this one (stripped), if any.
    pub warcinfo: Option<&'a str>,
}

impl RawPage<'_> {
    /// A document in DCLM-Pool form: `text`, `metadata` = the WARC headers, and `warcinfo` when a
    /// non-empty one was seen (as DCLM's `process_common_crawl_w_ray.py`).
    pub fn to_document(&self, text: String) -> Document {
        let mut doc = Document::new(text);
        let mut meta = Map::with_capacity(self.record.headers.len());
        for (k, v) in &self.record.headers {
            meta.insert(k.clone(), Value::String(v.clone()));
        }
        doc.set(dclm_core::keys::METADATA, Value::Object(meta));
        if let Some(w) = self.warcinfo.filter(|w| !w.is_empty()) {
            doc.set(dclm_core::keys::WARCINFO, Value::String(w.to_string()));
        }
        doc
    }

    /// A record-level error naming this page.
    pub fn error(&self, message: impl Into<String>) -> ExtractError {
        ExtractError::Extractor {
            path: self.path.to_path_buf(),
            offset: self.record.offset,
            record_id: self.record.record_id().to_string(),
            message: message.into(),
        }
    }

    /// The `Content-Type` of the HTTP message (empty when absent).
    pub fn content_type(&self) -> &str {
        self.http.and_then(|h| h.header("Content-Type")).unwrap_or("")
    }

    /// Decode the payload to a string under `decoding` (see [`Decoding`]).
    pub fn decode(&self, decoding: Decoding) -> Result<String, ExtractError> {
        match std::str::from_utf8(self.payload) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => match decoding {
                Decoding::StrictUtf8 => Err(ExtractError::NotUtf8 {
                    path: self.path.to_path_buf(),
                    offset: self.record.offset,
                    record_id: self.record.record_id().to_string(),
                    position: e.valid_up_to(),
                }),
                Decoding::DetectCharset => Ok(decode_detected(self.payload, self.content_type())),
            },
        }
    }
}

/// How a payload's bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decoding {
    /// DCLM-faithful: strict UTF-8; pages that are not valid UTF-8 are dropped (counted as `non_utf8`).
    #[default]
    StrictUtf8,
    /// Opt-in fix: valid UTF-8 is used as is; otherwise the charset from the HTTP `Content-Type`,
    /// else from a `<meta charset>`/`http-equiv` in the first 1,024 bytes, else chardetng's guess,
    /// decoded with encoding_rs (invalid sequences become U+FFFD).
    DetectCharset,
}

fn charset_param(s: &str) -> Option<&str> {
    let lower_idx = s.to_ascii_lowercase().find("charset=")?;
    let rest = &s[lower_idx + 8..];
    let rest = rest.trim_start_matches(['"', '\'']);
    let end = rest
        .find(|c: char| c == ';' || c == '"' || c == '\'' || c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

fn decode_detected(bytes: &[u8], content_type: &str) -> String {
    let from_http = charset_param(content_type).and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()));
    let from_meta = || {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
        let i = head.find("<meta")?;
        charset_param(&head[i..]).and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
    };
    let enc = from_http.or_else(from_meta).unwrap_or_else(|| {
        let mut det = chardetng::EncodingDetector::new();
        det.feed(bytes, true);
        det.guess(None, true)
    });
    // A declared UTF-8 that is not valid UTF-8 is better served by the detector.
    let enc = if enc == encoding_rs::UTF_8 {
        let mut det = chardetng::EncodingDetector::new();
        det.feed(bytes, true);
        det.guess(None, true)
    } else {
        enc
    };
    let (text, _, _) = enc.decode(bytes);
    text.into_owned()
}

/// Turns one WARC record into at most one document.
///
/// `Ok(None)` means "nothing worth keeping" (silently skipped); `Err` is a record-level failure
/// that the driver counts under [`ExtractError::reason`] and skips — it never aborts a file.
/// Implementations must not panic on any input.
pub trait Extractor: Send + Sync {
    /// Name used in stats.
    fn name(&self) -> &str {
        "extractor"
    }

    /// Extract one record.
    fn extract(&self, page: &RawPage<'_>) -> Result<Option<Document>, ExtractError>;
}

impl<T: Extractor + ?Sized> Extractor for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn extract(&self, page: &RawPage<'_>) -> Result<Option<Document>, ExtractError> {
        (**self).extract(page)
    }
}

impl<T: Extractor + ?Sized> Extractor for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn extract(&self, page: &RawPage<'_>) -> Result<Option<Document>, ExtractError> {
        (**self).extract(page)
    }
}

impl<T: Extractor + ?Sized> Extractor for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn extract(&self, page: &RawPage<'_>) -> Result<Option<Document>, ExtractError> {
        (**self).extract(page)
    }
}

/// Closure adapter: `FnExtractor::new("name", |page| …)`.
pub struct FnExtractor<F> {
    name: String,
    f: F,
}

impl<F> FnExtractor<F>
where
    F: Fn(&RawPage<'_>) -> Result<Option<Document>, ExtractError> + Send + Sync,
{
    /// Wrap a closure.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        FnExtractor { name: name.into(), f }
    }
}

impl<F> Extractor for FnExtractor<F>
where
    F: Fn(&RawPage<'_>) -> Result<Option<Document>, ExtractError> + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn extract(&self, page: &RawPage<'_>) -> Result<Option<Document>, ExtractError> {
        (self.f)(page)
    }
}

/// DCLM's extractor: payload → (strict UTF-8 by default) → resiliparse-style
/// `extract_plain_text(main_content=True)` → document with WARC headers and `warcinfo`.
#[derive(Debug, Clone, Default)]
pub struct ResiliparseExtractor {
    /// HTML → text options.
    pub options: ExtractOptions,
    /// Payload decoding.
    pub decoding: Decoding,
    /// Only extract records whose HTTP `Content-Type` contains `html` (DCLM does not filter; off).
    pub html_only: bool,
}

impl ResiliparseExtractor {
    /// DCLM's settings: main content on, strict UTF-8, every response record.
    pub fn dclm() -> Self {
        Self::default()
    }

    /// The no-boilerplate-removal variant (`main_content=False`).
    pub fn no_boilerplate_removal() -> Self {
        ResiliparseExtractor {
            options: ExtractOptions {
                main_content: false,
                ..ExtractOptions::default()
            },
            ..Self::default()
        }
    }

    /// Same extractor with another decoding mode.
    pub fn with_decoding(mut self, decoding: Decoding) -> Self {
        self.decoding = decoding;
        self
    }
}

impl Extractor for ResiliparseExtractor {
    fn name(&self) -> &str {
        if self.options.main_content {
            "resiliparse_main_content"
        } else {
            "resiliparse_plain"
        }
    }

    fn extract(&self, page: &RawPage<'_>) -> Result<Option<Document>, ExtractError> {
        if self.html_only && !page.content_type().to_ascii_lowercase().contains("html") {
            return Ok(None);
        }
        let html = page.decode(self.decoding)?;
        let limit = default_output_limit(html.len());
        match extract_plain_text_limited(&html, &self.options, limit) {
            Some(text) => Ok(Some(page.to_document(text))),
            None => Err(ExtractError::OutputTooLarge {
                path: page.path.to_path_buf(),
                offset: page.record.offset,
                record_id: page.record.record_id().to_string(),
                html_bytes: html.len(),
                limit,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_detection_recovers_windows_1251() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("<p>Привет, мир</p>");
        let text = decode_detected(&bytes, "text/html; charset=windows-1251");
        assert_eq!(text, "<p>Привет, мир</p>");
        assert_eq!(charset_param("text/html; Charset=\"utf-8\""), Some("utf-8"));
    }
}
