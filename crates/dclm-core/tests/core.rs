//! dclm-core integration tests: JSONL round trips (real DCLM-format records and proptest), corrupt
//! input of every kind, resume after an interrupted run, and rank/world-size slicing.

use dclm_core::executor::{slice_for_rank, Executor, ExecutorConfig};
use dclm_core::io::{read_all, write_all, ShardReader, ShardWriter};
use dclm_core::{testdata, CoreError, Document, Stats, Verdict};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

fn sorted_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().cloned().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_keys(&m[&k])))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

/// BFF writes DCLM-format lines with serde_json and sorted keys: reading them as Documents and
/// writing them back (keys re-sorted) must give the same bytes.
#[test]
fn real_dclm_records_round_trip_byte_for_byte_modulo_key_order() {
    let Some(path) = testdata::shared("conformance/dedup/bff_output.jsonl", "real_dclm_records_round_trip") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.is_empty()).take(200) {
        let doc = Document::from_json_line(line).expect("valid DCLM line");
        let back: Value = serde_json::from_str(&doc.to_json_line()).unwrap();
        assert_eq!(serde_json::to_string(&sorted_keys(&back)).unwrap(), line);
        n += 1;
    }
    assert!(n > 10, "expected many records, got {n}");
}

/// Extracted DCLM-Pool-like records (text + metadata + warcinfo) keep every key and value.
#[test]
fn pool_records_keep_metadata_and_unknown_keys() {
    let Some(path) = testdata::shared("conformance/extract/extract.jsonl", "pool_records_keep_metadata") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines().take(50) {
        let orig: Value = serde_json::from_str(line).unwrap();
        if !orig.get("text").is_some_and(Value::is_string) {
            continue; // decode failures carry no text
        }
        let doc = Document::from_json_line(line).unwrap();
        let back: Value = serde_json::from_str(&doc.to_json_line()).unwrap();
        assert_eq!(back, orig);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn document_json_round_trip(text in ".*", fields in prop::collection::btree_map("[a-zA-Z_-]{1,12}", json_value(), 0..6)) {
        let mut doc = Document::new(text);
        for (k, v) in fields {
            if k != "text" { doc.set(k, v); }
        }
        let line = doc.to_json_line();
        prop_assert!(!line.contains('\n'));
        let back = Document::from_json_line(&line).unwrap();
        prop_assert_eq!(&back, &doc);
        prop_assert_eq!(back.to_json_line(), line);
    }

    #[test]
    fn shard_round_trip_every_compression(texts in prop::collection::vec(".*", 0..20), ext in prop::sample::select(vec!["jsonl", "jsonl.gz", "jsonl.zst"])) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("s.{ext}"));
        let docs: Vec<Document> = texts.iter().map(|t| Document::with_url(t.clone(), "u")).collect();
        write_all(&path, &docs).unwrap();
        let (back, errs) = read_all(&path).unwrap();
        prop_assert!(errs.is_empty());
        prop_assert_eq!(back, docs);
    }

    #[test]
    fn reader_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512), ext in prop::sample::select(vec!["jsonl", "jsonl.gz", "jsonl.zst"])) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("s.{ext}"));
        std::fs::write(&path, &bytes).unwrap();
        for item in ShardReader::open(&path).unwrap() {
            let _ = item;
        }
    }
}

fn write_docs(path: &Path, n: usize) {
    let docs: Vec<Document> = (0..n)
        .map(|i| Document::with_url(format!("doc {i} text"), format!("u{i}")))
        .collect();
    write_all(path, &docs).unwrap();
}

fn truncated(path: &Path, ext: &str, n: usize) -> PathBuf {
    let full = path.with_file_name(format!("full.{ext}"));
    write_docs(&full, n);
    let bytes = std::fs::read(&full).unwrap();
    let cut = path.with_file_name(format!("cut.{ext}"));
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    cut
}

#[test]
fn truncated_gzip_and_zstd_name_file_and_last_line_and_keep_earlier_lines() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["jsonl.gz", "jsonl.zst"] {
        let cut = truncated(&dir.path().join("x"), ext, 30_000); // several zstd blocks (128 KiB each)
        let (docs, errs) = read_all(&cut).unwrap();
        assert!(!docs.is_empty(), "{ext}: lines before the cut are read");
        assert_eq!(errs.len(), 1, "{ext}: exactly one stream error");
        let CoreError::Corrupt { path, line, .. } = &errs[0] else {
            panic!("{ext}: {:?}", errs[0])
        };
        assert_eq!(path, &cut);
        assert_eq!(*line as usize, docs.len());
        assert!(
            errs[0].to_string().contains("cut."),
            "message names the file: {}",
            errs[0]
        );
    }
}

#[test]
fn bad_lines_are_reported_with_line_numbers_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"{\"text\":\"ok 1\"}\n").unwrap();
    f.write_all(b"{\"text\": \"broken\n").unwrap(); // line 2: broken JSON
    f.write_all(b"{\"url\":\"no text\"}\n").unwrap(); // line 3: no text
    f.write_all(b"{\"text\":\"bad \xff\xfe utf8\"}\n").unwrap(); // line 4: invalid UTF-8
    f.write_all(b"\n").unwrap(); // line 5: blank, ignored
    f.write_all(b"{\"text\":\"ok 6\"}").unwrap(); // line 6: no trailing newline
    drop(f);
    let items: Vec<_> = ShardReader::open(&path).unwrap().collect();
    let oks: Vec<u64> = items.iter().filter_map(|r| r.as_ref().ok().map(|(l, _)| *l)).collect();
    assert_eq!(oks, vec![1, 6]);
    let errs: Vec<(u64, &str)> = items
        .iter()
        .filter_map(|r| match r {
            Err(CoreError::BadLine { line, kind, .. }) => Some((*line, *kind)),
            _ => None,
        })
        .collect();
    assert_eq!(
        errs,
        vec![(2, "invalid_json"), (3, "missing_text"), (4, "invalid_utf8")]
    );
    let msg = items[1].as_ref().unwrap_err().to_string();
    assert!(msg.contains("bad.jsonl:2"), "{msg}");
}

#[test]
fn executor_with_any_text_passes_pages_without_string_text_and_splits() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"content\":\"c\"}\n{\"text\":[\"a\",\"b\"]}\n{\"text\":\"t\"}\nnot json\n",
    )
    .unwrap();
    let mut cfg = ExecutorConfig::new("t", dir.path().join("strict"));
    cfg.progress = false;
    cfg.max_printed_errors = 0;
    let strict = Executor::new(cfg.clone())
        .unwrap()
        .run_docs(std::slice::from_ref(&input), |d, _| Some(d))
        .unwrap();
    assert_eq!(strict.stats.errors["missing_text"], 1);
    assert_eq!(strict.stats.errors["text_not_string"], 1);
    cfg.output_dir = dir.path().join("any");
    cfg.any_text = true;
    // Every page comes out twice: a function may return several pages per input, in order.
    let any = Executor::new(cfg)
        .unwrap()
        .run_docs_many(&[input], |d, _, out| {
            out.push(d.clone());
            out.push(d);
        })
        .unwrap();
    assert_eq!(
        any.stats.errors.len(),
        1,
        "only the broken line: {:?}",
        any.stats.errors
    );
    assert_eq!((any.stats.docs_in, any.stats.docs_out), (3, 6));
    let out = std::fs::read_to_string(dir.path().join("any/in.jsonl")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "{\"content\":\"c\"}");
    assert_eq!(lines[1], lines[0]);
    assert_eq!(lines[2], "{\"text\":[\"a\",\"b\"]}");
    assert_eq!(lines[5], "{\"text\":\"t\"}");
}

#[test]
fn executor_counts_bad_input_and_processes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(
        input.join("a.jsonl"),
        "{\"text\":\"keep\"}\nnot json\n{\"text\":\"drop me\"}\n",
    )
    .unwrap();
    let cut = truncated(&input.join("b"), "jsonl.gz", 3000);
    let inputs = vec![input.join("a.jsonl"), cut];
    let mut cfg = ExecutorConfig::new("t", dir.path().join("out"));
    cfg.progress = false;
    cfg.max_printed_errors = 0;
    let summary = Executor::new(cfg)
        .unwrap()
        .run_docs(&inputs, |doc, stats: &mut Stats| {
            let v = Verdict::keep_if(!doc.text.starts_with("drop"), "starts_with_drop");
            stats.step_mut("no_drop").record(v, 0.0);
            v.is_keep().then_some(doc)
        })
        .unwrap();
    let s = &summary.stats;
    assert_eq!(s.errors["invalid_json"], 1);
    assert_eq!(s.errors["corrupt_stream"], 1);
    assert!(!summary.is_clean());
    assert_eq!(s.steps[0].dropped["starts_with_drop"], 1);
    assert_eq!(s.docs_in, s.steps[0].docs_in);
    assert_eq!(s.docs_out, s.steps[0].docs_out);
    assert!(s.error_examples.iter().any(|e| e.message.contains("a.jsonl:2")));
    let stats_json: Stats = serde_json::from_slice(&std::fs::read(dir.path().join("out/stats.json")).unwrap()).unwrap();
    assert_eq!(&stats_json, s);
}

fn make_shards(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let ext = ["jsonl", "jsonl.gz", "jsonl.zst"][i % 3];
            let p = dir.join(format!("sub{}/shard-{i:03}.{ext}", i % 2));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            write_docs(&p, 50 + i * 7);
            p
        })
        .collect()
}

fn tree_bytes(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().contains("_done") && !p.ends_with("stats.json") {
                let bytes = if p.extension().is_some_and(|e| e == "gz" || e == "zst") {
                    // compare decompressed content: compressors may embed nothing run-specific, but be safe
                    read_all(&p)
                        .unwrap()
                        .0
                        .iter()
                        .map(|d| d.to_json_line())
                        .collect::<Vec<_>>()
                        .join("\n")
                        .into_bytes()
                } else {
                    std::fs::read(&p).unwrap()
                };
                out.push((p.strip_prefix(root).unwrap().to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

fn upper(doc: Document, stats: &mut Stats) -> Option<Document> {
    let keep = !doc.text.contains('3');
    stats
        .step_mut("no_three")
        .record(Verdict::keep_if(keep, "has_three"), 0.0);
    keep.then(|| {
        let mut d = doc;
        d.text = d.text.to_uppercase();
        d
    })
}

#[test]
fn resume_after_crash_gives_the_same_outputs_as_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = make_shards(&dir.path().join("in"), 9);

    let mut cfg = ExecutorConfig::new("t", dir.path().join("full"));
    cfg.progress = false;
    let full = Executor::new(cfg.clone()).unwrap().run_docs(&inputs, upper).unwrap();
    assert_eq!(full.shards_run, 9);

    // Interrupted run: every shard after the 4th one started fails mid-write (as a crash would).
    cfg.output_dir = dir.path().join("resumed");
    cfg.threads = 1;
    let started = AtomicUsize::new(0);
    let exec = Executor::new(cfg.clone()).unwrap();
    let crashed = exec
        .run_shards(&inputs, |task| {
            let mut w = task.writer()?;
            w.write(&Document::new("partial"))?;
            if started.fetch_add(1, Ordering::SeqCst) >= 4 {
                return Err(CoreError::Config("simulated crash".into())); // writer dropped: .tmp removed
            }
            drop(w);
            // Complete shards are processed for real.
            let mut stats = Stats::new("t");
            let mut w = task.writer()?;
            for item in ShardReader::open(task.input)? {
                let (_, doc) = item?;
                stats.docs_in += 1;
                if let Some(d) = upper(doc, &mut stats) {
                    w.write(&d)?;
                    stats.docs_out += 1;
                }
            }
            stats.bytes_out = w.bytes_written();
            w.finish()?;
            Ok(stats)
        })
        .unwrap();
    assert_eq!(crashed.shards_run, 4);
    assert_eq!(crashed.failed.len(), 5);
    // No half-written file under a final name.
    for (input, _) in &crashed.failed {
        let out = exec.output_path(input, &dir.path().join("in"));
        assert!(!out.exists(), "{} must not exist after a crash", out.display());
    }

    let resumed = Executor::new(cfg).unwrap().run_docs(&inputs, upper).unwrap();
    assert_eq!(resumed.shards_skipped, 4);
    assert_eq!(resumed.shards_run, 5);
    assert_eq!(
        tree_bytes(&dir.path().join("full")),
        tree_bytes(&dir.path().join("resumed"))
    );
    assert_eq!(resumed.stats.docs_in, full.stats.docs_in);
    assert_eq!(resumed.stats.docs_out, full.stats.docs_out);
    assert_eq!(resumed.stats.steps[0].dropped, full.stats.steps[0].dropped);
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = make_shards(&dir.path().join("in"), 5);
    let mut outs = Vec::new();
    for threads in [1, 2, 4] {
        let mut cfg = ExecutorConfig::new("t", dir.path().join(format!("o{threads}")));
        cfg.progress = false;
        cfg.threads = threads;
        cfg.batch_size = 37;
        Executor::new(cfg).unwrap().run_docs(&inputs, upper).unwrap();
        outs.push(tree_bytes(&dir.path().join(format!("o{threads}"))));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
}

proptest! {
    #[test]
    fn rank_slices_cover_every_shard_exactly_once(n in 0usize..60, world in 1usize..9) {
        let inputs: Vec<PathBuf> = (0..n).rev().map(|i| PathBuf::from(format!("s{i:03}.jsonl"))).collect();
        let mut seen: Vec<PathBuf> = (0..world).flat_map(|r| slice_for_rank(&inputs, r, world)).collect();
        seen.sort();
        let mut expected = inputs.clone();
        expected.sort();
        prop_assert_eq!(seen, expected);
    }
}

#[test]
fn ranks_write_separate_stats_that_merge_to_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = make_shards(&dir.path().join("in"), 7);
    let out = dir.path().join("out");
    let mut total = 0;
    for rank in 0..3 {
        let mut cfg = ExecutorConfig::new("t", &out);
        cfg.progress = false;
        cfg.rank = rank;
        cfg.world_size = 3;
        let s = Executor::new(cfg).unwrap().run_docs(&inputs, upper).unwrap();
        assert!(s.stats_path.ends_with(format!("stats.rank-{rank}-of-3.json")));
        total += s.stats.docs_in;
    }
    let merged = dclm_core::executor::merge_rank_stats(&out).unwrap();
    assert_eq!(merged.docs_in, total);
    assert_eq!(merged.shards, 7);
    assert!(Executor::new(ExecutorConfig {
        rank: 3,
        world_size: 3,
        ..ExecutorConfig::new("t", &out)
    })
    .is_err());
}

#[test]
fn writer_dropped_without_finish_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl.gz");
    let mut w = ShardWriter::create(&p).unwrap();
    w.write(&Document::new("x")).unwrap();
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
