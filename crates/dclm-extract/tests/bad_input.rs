//! Hostile and broken inputs: truncated gzip, garbage between records, wrong Content-Length,
//! binary and non-UTF-8 bodies, 100,000-deep nesting, a 50 MB page, NUL bytes — never a panic, and
//! every problem is counted with the file, record id and offset.

use dclm_extract::html::{extract_plain_text, ExtractOptions};
use dclm_extract::{run, Decoding, ExtractConfig};
use flate2::write::GzEncoder;
use proptest::prelude::*;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn record(ty: &str, id: &str, block: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "WARC/1.1\r\nWARC-Type: {ty}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Target-URI: http://example.com/{id}\r\nContent-Length: {}\r\n\r\n",
        block.len()
    )
    .into_bytes();
    v.extend_from_slice(block);
    v.extend_from_slice(b"\r\n\r\n");
    v
}

fn response(id: &str, html: &[u8]) -> Vec<u8> {
    let mut block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n".to_vec();
    block.extend_from_slice(html);
    record("response", id, &block)
}

fn gz_member(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn run_one(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    decoding: Decoding,
) -> (dclm_core::RunSummary, Vec<dclm_core::Document>) {
    let input = dir.join(name);
    std::fs::write(&input, bytes).unwrap();
    let out = dir.join(format!("out-{name}"));
    let mut cfg = ExtractConfig::new(vec![input], &out);
    cfg.progress = false;
    cfg.threads = 1;
    cfg.decoding = decoding;
    let summary = run(&cfg).unwrap();
    let shard = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .expect("one output shard");
    let (docs, errs) = dclm_core::io::read_all(&shard).unwrap();
    assert!(errs.is_empty());
    (summary, docs)
}

#[test]
fn truncated_gzip_member_keeps_earlier_records_and_counts_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = gz_member(&record("warcinfo", "info", b"isPartOf: test\r\n"));
    data.extend(gz_member(&response("a", b"<p>first page</p>")));
    let second = gz_member(&response("b", b"<p>second page</p>"));
    data.extend_from_slice(&second[..second.len() / 2]);
    let (summary, docs) = run_one(dir.path(), "trunc.warc.gz", &data, Decoding::StrictUtf8);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].text, "first page");
    assert_eq!(docs[0].warcinfo(), Some("isPartOf: test"));
    assert_eq!(summary.stats.error_count(), 1, "{:?}", summary.stats.errors);
    let msg = &summary.stats.error_examples[0].message;
    assert!(msg.contains("trunc.warc.gz"), "{msg}");
}

#[test]
fn garbage_wrong_length_binary_and_non_utf8_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = response("ok1", b"<p>one</p>");
    data.extend_from_slice(b"\x00\x01garbage bytes\r\nmore\r\n");
    data.extend(response("ok2", b"<p>two</p>"));
    // Content-Length too short: the rest of the block becomes garbage before the next record.
    let mut short =
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:short>\r\nContent-Length: 20\r\n\r\n".to_vec();
    short.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n<p>cut here</p>\r\n\r\n");
    data.extend(short);
    data.extend(response("bin", &[0xff, 0xfe, 0x00, 0x81, 0x9f]));
    data.extend(response("nul", b"<p>a\x00b</p>"));
    data.extend(b"WARC/1.0\r\nWARC-Type: response\r\nno colon here\r\nContent-Length: 5\r\n\r\nabcde\r\n\r\n");
    data.extend(response("ok3", b"<p>three</p>"));
    let (summary, docs) = run_one(dir.path(), "mixed.warc", &data, Decoding::StrictUtf8);
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    assert!(
        texts.contains(&"one") && texts.contains(&"two") && texts.contains(&"three"),
        "{texts:?}"
    );
    assert!(texts.contains(&"ab"), "NUL bytes are dropped from text: {texts:?}");
    let errors = &summary.stats.errors;
    assert!(errors.contains_key("garbage_between_records"), "{errors:?}");
    assert!(errors.contains_key("malformed_warc_header"), "{errors:?}");
    let step = &summary.stats.steps[0];
    assert_eq!(step.dropped.get("non_utf8"), Some(&1), "{step:?}");
    assert!(summary
        .stats
        .error_examples
        .iter()
        .all(|e| e.message.contains("mixed.warc") && e.message.contains("offset")));
}

#[test]
fn charset_mode_recovers_non_utf8_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode("<p>caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e</p>");
    let mut block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n".to_vec();
    block.extend_from_slice(&bytes);
    let data = record("response", "latin", &block);
    let (_, strict) = run_one(dir.path(), "a.warc", &data, Decoding::StrictUtf8);
    assert!(strict.is_empty());
    let (_, fixed) = run_one(dir.path(), "b.warc", &data, Decoding::DetectCharset);
    assert_eq!(fixed[0].text, "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e");
}

#[test]
fn zstd_input_and_metadata_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut plain = record("warcinfo", "i", b"software: test\r\n");
    plain.extend(response("z", b"<html><body><h1>Title</h1><p>Body</p></body></html>"));
    let data = zstd::encode_all(&plain[..], 3).unwrap();
    let (_, docs) = run_one(dir.path(), "z.warc.zst", &data, Decoding::StrictUtf8);
    assert_eq!(docs.len(), 1);
    let line = docs[0].to_json_line();
    assert!(
        line.starts_with(r#"{"text":"Title\n\nBody","metadata":{"WARC-Type":"response""#),
        "{line}"
    );
    assert!(line.ends_with(r#""warcinfo":"software: test"}"#), "{line}");
}

#[test]
fn deep_nesting_and_huge_pages_are_bounded() {
    let opts = ExtractOptions::default();
    let deep = "<div>".repeat(100_000) + "deep" + &"</div>".repeat(100_000);
    let t = Instant::now();
    assert_eq!(extract_plain_text(&deep, &opts), "deep");
    let deep_lists = "<ul><li>".repeat(50_000) + "x";
    let _ = extract_plain_text(&deep_lists, &opts);
    let unclosed = "<b><i><span><p>".repeat(30_000);
    let _ = extract_plain_text(&unclosed, &opts);
    // Misnested formatting elements re-opened and re-nested over and over.
    let misnested = "<a href=x><b id=1><i><div>".repeat(20_000) + &"</a></b>t</i></div>".repeat(20_000);
    let _ = extract_plain_text(&misnested, &opts);
    let reopened = "<p>".to_string() + &"<b class=k><i>".repeat(2_000) + &"</p><p>x".repeat(50_000);
    let _ = extract_plain_text(&reopened, &opts);
    let big = "<p>".to_string() + &"word ".repeat(10_000_000) + "</p>";
    assert_eq!(big.len(), 50_000_007);
    let text = extract_plain_text(&big, &opts);
    assert_eq!(text.len(), 10_000_000 * 5 - 1);
    assert!(t.elapsed() < Duration::from_secs(120), "took {:?}", t.elapsed());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn extractor_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let html = String::from_utf8_lossy(&bytes);
        let _ = extract_plain_text(&html, &ExtractOptions::default());
        let _ = extract_plain_text(&html, &ExtractOptions { main_content: false, ..ExtractOptions::default() });
    }

    #[test]
    fn extractor_never_panics_on_tag_soup(parts in proptest::collection::vec(prop_oneof![
        Just("<div class=\"nav main-content\">"), Just("</div>"), Just("<p>"), Just("</p>"), Just("<ul>"),
        Just("</ul>"), Just("<ol>"), Just("</ol>"), Just("<li>"), Just("</li>"), Just("<table>"), Just("<tr>"),
        Just("<td>"), Just("</table>"), Just("<pre>\n x\n</pre>"), Just("<br>"), Just("<img alt='i'>"),
        Just("text "), Just("&amp;&#x0;&#99999999;&notin"), Just("<!-- c -->"), Just("<script>x</script>"),
        Just("<footer>"), Just("<svg><path/></svg>"), Just("<h1>"), Just("</h2>"), Just("\u{e000}"), Just("<a>"),
        Just("</a>"), Just("<b>"), Just("</b>"), Just("<i class=x>"), Just("</i>"), Just("<nobr>"), Just("</nobr>"),
        Just("<font color=red>"), Just("</font>"), Just("<form>"), Just("</form>"), Just("<button>"), Just("</td>"),
        Just("<caption>"), Just("<object>"), Just("</object>"), Just("<x-y>"), Just("</x-y>"), Just("<noscript>"),
        Just("</noscript>"), Just("<select><option>"), Just("<template>"), Just("</template>"), Just("<math><mi>"),
        Just("<svg><![CDATA[c]]>"), Just("<image alt=m>"), Just("<script><!--<script>"), Just("</script>"),
    ], 0..200)) {
        let html: String = parts.concat();
        let _ = extract_plain_text(&html, &ExtractOptions::default());
    }

    #[test]
    fn warc_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096), prefix in 0usize..3) {
        let mut data = match prefix {
            0 => Vec::new(),
            1 => b"WARC/1.0\r\nContent-Length: 10\r\n\r\n".to_vec(),
            _ => b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 99999\r\n\r\nHTTP/1.1 200\r\n".to_vec(),
        };
        data.extend_from_slice(&bytes);
        for r in dclm_extract::warc::WarcReader::new(&data[..], "fuzz.warc").flatten() {
            let _ = r.http();
            let _ = r.payload();
        }
    }
}
