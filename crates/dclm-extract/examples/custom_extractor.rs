//! A user-written [`Extractor`]: keep only English-declared pages, extract them with DCLM's
//! extractor, and add the page `<title>` as a top-level key — then run it over a WARC file with the
//! same driver as the built-in stage.
//!
//! `cargo run -p dclm-extract --example custom_extractor -- in.warc.gz out_dir`
//! (without arguments it runs on a small WARC it writes to a temporary folder).

use dclm_core::Document;
use dclm_extract::html::{extract_from_dom, parse, ExtractOptions, Kind, Tag};
use dclm_extract::{run_with, ExtractConfig, ExtractError, Extractor, RawPage};
use serde_json::Value;
use std::path::PathBuf;

/// Extracts main content of pages whose `<html lang>` starts with `en`, with their `<title>`.
struct EnglishWithTitle {
    options: ExtractOptions,
}

impl Extractor for EnglishWithTitle {
    fn name(&self) -> &str {
        "english_with_title"
    }

    fn extract(&self, page: &RawPage<'_>) -> Result<Option<Document>, ExtractError> {
        let Ok(html) = std::str::from_utf8(page.payload) else {
            return Err(page.error("not UTF-8"));
        };
        let dom = parse(html.as_bytes());
        let mut lang = String::new();
        let mut title = String::new();
        dom.for_each_descendant(0, |n| match dom.node(n).kind {
            Kind::Element(Tag::Html) => lang = String::from_utf8_lossy(dom.attr_or_empty(n, b"lang")).into_owned(),
            Kind::Element(Tag::Title) if title.is_empty() => {
                title = String::from_utf8_lossy(&dom.text_content(n)).trim().to_string()
            }
            _ => {}
        });
        if !lang.to_ascii_lowercase().starts_with("en") {
            return Ok(None);
        }
        let mut doc = page.to_document(extract_from_dom(&dom, &self.options));
        doc.set("title", Value::String(title));
        Ok(Some(doc))
    }
}

fn demo_warc(dir: &std::path::Path) -> PathBuf {
    let mut data = Vec::new();
    for (id, html) in [
        (
            "1",
            "<html lang=en><head><title>Hello</title></head><body><p>English page.</p></body></html>",
        ),
        (
            "2",
            "<html lang=de><head><title>Hallo</title></head><body><p>Deutsche Seite.</p></body></html>",
        ),
    ] {
        let block = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n{html}");
        data.extend_from_slice(
            format!(
                "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n",
                block.len()
            )
            .as_bytes(),
        );
    }
    let path = dir.join("demo.warc");
    std::fs::write(&path, data).expect("write demo WARC");
    path
}

fn main() -> Result<(), ExtractError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tmp = std::env::temp_dir().join(format!("dclm-custom-extractor-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| ExtractError::Io {
        path: tmp.clone(),
        source: e,
    })?;
    let (input, output) = match args.as_slice() {
        [i, o] => (PathBuf::from(i), PathBuf::from(o)),
        _ => (demo_warc(&tmp), tmp.join("out")),
    };
    let mut cfg = ExtractConfig::new(vec![input], &output);
    cfg.progress = false;
    let extractor = EnglishWithTitle {
        options: ExtractOptions::default(),
    };
    let summary = run_with(&cfg, &extractor)?;
    println!(
        "{} records in, {} documents out; stats in {}",
        summary.stats.docs_in,
        summary.stats.docs_out,
        summary.stats_path.display()
    );
    Ok(())
}
