//! Tokenize-shuffle end to end: DCLM semantics (EOT after each document, PAD at the end of each file, 2049-token
//! contexts, no cross-file packing), shards readable with a plain tar + gzip + JSON reader, manifest counts,
//! determinism (same seed → same bytes, 1 vs 2 threads identical, different seeds differ), bad input counted.

use dclm_train::data::{
    tokenize_shuffle, tokenize_shuffle_with, ByteTokenizer, Tokenizer, TokenizerSpec, TokshufConfig,
};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The byte-level tokenizer: one id per byte (byte + 1), so ids never collide with EOT 0 or PAD (257 + 2).
const BYTES: ByteTokenizer = ByteTokenizer::new();
const PAD: u32 = 259;

fn docs(file: usize, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("file {file} doc {i} {}", "xy".repeat((i * 7 + file) % 23)))
        .collect()
}

fn line(text: &str) -> String {
    serde_json::json!({ "text": text, "url": "u" }).to_string()
}

/// Three inputs: plain, gzip, zstd. Returns (paths, docs per file in order).
fn make_inputs(dir: &Path) -> (Vec<PathBuf>, Vec<Vec<String>>) {
    let all: Vec<Vec<String>> = (0..3).map(|f| docs(f, 40 + f * 13)).collect();
    let body = |f: usize| all[f].iter().map(|d| line(d) + "\n").collect::<String>();
    let p0 = dir.join("a.jsonl");
    std::fs::write(&p0, body(0)).unwrap();
    let p1 = dir.join("b.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body(1).as_bytes()).unwrap();
    std::fs::write(&p1, gz.finish().unwrap()).unwrap();
    let p2 = dir.join("c.jsonl.zst");
    std::fs::write(&p2, zstd::encode_all(body(2).as_bytes(), 3).unwrap()).unwrap();
    (vec![p0, p1, p2], all)
}

fn cfg(out: &Path, threads: usize, seed: u64) -> TokshufConfig {
    let mut c = TokshufConfig::new(TokenizerSpec::HfJson("unused".into()), out);
    c.seqlen = 16;
    c.wds_chunk_size = 5;
    c.num_local_cells = 40;
    c.threads = threads;
    c.seed = seed;
    c.batch_docs = 7;
    c
}

/// Independent reader: plain `tar` + `flate2` + `serde_json`, as open_lm's webdataset loader sees the data.
/// Shard name → its (entry name, token ids), in tar order.
type Shards = BTreeMap<String, Vec<(String, Vec<u32>)>>;

fn read_all(dir: &Path) -> (Vec<(String, u64)>, Shards) {
    let manifest: Vec<(String, u64)> = std::fs::read_to_string(dir.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["shard"].as_str().unwrap().to_string(),
                v["num_sequences"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut shards = BTreeMap::new();
    for (name, _) in &manifest {
        let f = std::fs::File::open(dir.join(format!("{name}.tar"))).unwrap();
        let mut ar = tar::Archive::new(f);
        let mut entries = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut gz = Vec::new();
            e.read_to_end(&mut gz).unwrap();
            let mut json = String::new();
            flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut json).unwrap();
            entries.push((path, serde_json::from_str::<Vec<u32>>(&json).unwrap()));
        }
        shards.insert(name.clone(), entries);
    }
    (manifest, shards)
}

/// The contexts DCLM's packing gives for one file: ids + EOT per doc, cut into `seqlen`, last padded.
fn expected_contexts(docs: &[String], seqlen: usize) -> Vec<Vec<u32>> {
    let mut stream = Vec::new();
    for d in docs {
        BYTES.encode_into(d, &mut stream).unwrap();
        stream.push(0);
    }
    let mut out: Vec<Vec<u32>> = stream.chunks(seqlen).map(|c| c.to_vec()).collect();
    if let Some(last) = out.last_mut() {
        last.resize(seqlen, PAD);
    }
    out
}

fn dir_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".tar") || name == "manifest.jsonl" {
            m.insert(name, std::fs::read(&p).unwrap());
        }
    }
    m
}

#[test]
fn shards_follow_dclm_semantics_and_open_lm_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let (inputs, all_docs) = make_inputs(tmp.path());
    let out = tmp.path().join("out");
    let s = tokenize_shuffle_with(&cfg(&out, 2, 7), &BYTES, &inputs).unwrap();
    let (manifest, shards) = read_all(&out);

    let mut expected: Vec<Vec<u32>> = all_docs.iter().flat_map(|d| expected_contexts(d, 16)).collect();
    let mut got: Vec<Vec<u32>> = Vec::new();
    for (i, (name, n)) in manifest.iter().enumerate() {
        let entries = &shards[name];
        assert_eq!(entries.len() as u64, *n, "manifest count of {name}");
        if i + 1 < manifest.len() {
            assert_eq!(*n, 5, "every shard but the last is full");
        }
        for (j, (path, ids)) in entries.iter().enumerate() {
            assert!(path.ends_with(".json.gz") && path.matches('.').count() == 2, "{path}");
            assert!(path.starts_with(&format!("{}_{j:08}_", &name[6..])), "{path} in {name}");
            assert_eq!(ids.len(), 16);
        }
        got.extend(entries.iter().map(|(_, ids)| ids.clone()));
    }
    assert_eq!(manifest[0].0, "shard_00000000");
    assert_eq!(s.contexts as usize, expected.len());
    assert_eq!(s.docs as usize, all_docs.iter().map(Vec::len).sum::<usize>());
    assert_eq!(s.files, 3);
    assert_eq!(s.pad_id, PAD);
    assert_eq!(s.bad_lines, 0);
    // Padding only in the last context of each file (none where a file's stream is a multiple of seqlen).
    let padded = got.iter().filter(|c| c.contains(&PAD)).count();
    assert_eq!(padded, expected.iter().filter(|c| c.contains(&PAD)).count());
    assert!(padded >= 2);
    assert_eq!(
        s.pad_tokens as usize,
        got.iter().flatten().filter(|&&t| t == PAD).count()
    );
    assert_eq!(s.doc_tokens + s.pad_tokens, s.contexts * 16);
    // Shuffled: not in packing order; same multiset.
    assert_ne!(got, expected);
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    // Stats and scratch cleanup.
    assert!(out.join("stats.json").exists());
    assert!(!out.join("_tokshuf_cells").exists());
}

#[test]
fn output_is_a_pure_function_of_inputs_and_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let (inputs, _) = make_inputs(tmp.path());
    let run = |name: &str, threads: usize, seed: u64| {
        let out = tmp.path().join(name);
        tokenize_shuffle_with(&cfg(&out, threads, seed), &BYTES, &inputs).unwrap();
        dir_bytes(&out)
    };
    let a = run("a", 1, 1234);
    let b = run("b", 2, 1234);
    let c = run("c", 2, 1234);
    let d = run("d", 2, 99);
    assert!(a.len() > 3);
    assert_eq!(a, b, "1 vs 2 threads");
    assert_eq!(b, c, "two runs");
    assert_ne!(a, d, "different seeds");
}

#[test]
fn bad_lines_are_counted_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let good = docs(0, 10);
    let mut body = Vec::new();
    for (i, d) in good.iter().enumerate() {
        body.extend_from_slice((line(d) + "\n").as_bytes());
        match i {
            2 => body.extend_from_slice(b"{not json\n"),
            4 => body.extend_from_slice(b"{\"url\":\"no text\"}\n"),
            6 => body.extend_from_slice(b"{\"text\":\"\xff\xfe\"}\n"),
            7 => body.extend_from_slice(b"\n   \n"),
            _ => {}
        }
    }
    let p = tmp.path().join("bad.jsonl");
    std::fs::write(&p, &body).unwrap();
    // A truncated gzip file: the documents before the cut are kept.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(good.iter().map(|d| line(d) + "\n").collect::<String>().as_bytes())
        .unwrap();
    let gz = gz.finish().unwrap();
    let p2 = tmp.path().join("trunc.jsonl.gz");
    std::fs::write(&p2, &gz[..gz.len() - 20]).unwrap();
    let out = tmp.path().join("out");
    let s = tokenize_shuffle_with(&cfg(&out, 2, 1), &BYTES, &[p, p2, tmp.path().join("missing.jsonl")]).unwrap();
    assert_eq!(s.stats.errors.get("invalid_json"), Some(&1), "{:?}", s.stats.errors);
    assert_eq!(s.stats.errors.get("missing_text"), Some(&1));
    assert_eq!(s.stats.errors.get("invalid_utf8"), Some(&1));
    assert_eq!(s.stats.errors.get("corrupt_stream"), Some(&1));
    assert_eq!(s.stats.errors.get("io_error"), Some(&1));
    assert!(s.docs >= 10 && s.docs < 20, "{}", s.docs);
    assert!(
        s.stats.error_examples.iter().any(|e| e.message.contains("bad.jsonl:4")),
        "{:?}",
        s.stats.error_examples
    );
    let (manifest, _) = read_all(&out);
    assert_eq!(manifest.iter().map(|m| m.1).sum::<u64>(), s.contexts);
}

#[test]
fn exact_multiple_and_empty_files_follow_the_pad_quirk_setting() {
    let tmp = tempfile::tempdir().unwrap();
    // "abcdefg" = 7 ids + EOT = 8 tokens: two docs fill one 16-token context exactly.
    let p = tmp.path().join("x.jsonl");
    std::fs::write(&p, format!("{}\n{}\n", line("abcdefg"), line("hijklmn"))).unwrap();
    let e = tmp.path().join("empty.jsonl");
    std::fs::write(&e, "").unwrap();
    let mut c = cfg(&tmp.path().join("o1"), 1, 1);
    let s = tokenize_shuffle_with(&c, &BYTES, &[p.clone(), e.clone()]).unwrap();
    assert_eq!((s.contexts, s.pad_tokens), (1, 0));
    c.output_dir = tmp.path().join("o2");
    c.pad_empty_remainder = true; // DCLM tokshuf-rs: an all-PAD context per file whose remainder is empty
    let s = tokenize_shuffle_with(&c, &BYTES, &[p, e]).unwrap();
    assert_eq!((s.contexts, s.pad_tokens), (3, 32));
}

#[test]
fn refuses_to_overwrite_and_rejects_bad_config() {
    let tmp = tempfile::tempdir().unwrap();
    let (inputs, _) = make_inputs(tmp.path());
    let out = tmp.path().join("out");
    tokenize_shuffle_with(&cfg(&out, 1, 1), &BYTES, &inputs).unwrap();
    assert!(tokenize_shuffle_with(&cfg(&out, 1, 1), &BYTES, &inputs).is_err());
    let mut c = cfg(&tmp.path().join("o"), 1, 1);
    c.seqlen = 0;
    assert!(tokenize_shuffle_with(&c, &BYTES, &inputs).is_err());
}

#[test]
fn gpt_neox_end_to_end_on_conformance_documents() {
    let test = "gpt_neox_end_to_end_on_conformance_documents";
    let (Some(tok), Some(rows)) = (
        dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test),
        dclm_core::testdata::shared("conformance/tokenize/tokenize.jsonl", test),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(rows).unwrap();
    let mut want_stream = Vec::new();
    let mut lines = String::new();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        lines.push_str(&line(v["text"].as_str().unwrap()));
        lines.push('\n');
        want_stream.extend(v["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32));
        want_stream.push(0);
    }
    let input = tmp.path().join("docs.jsonl");
    std::fs::write(&input, lines).unwrap();
    let out = tmp.path().join("out");
    let mut c = TokshufConfig::new(TokenizerSpec::HfJson(tok), &out);
    c.num_local_cells = 4;
    c.wds_chunk_size = 16;
    let s = tokenize_shuffle(&c, &[input]).unwrap();
    assert_eq!(s.pad_id, 50256);
    let (_, shards) = read_all(&out);
    let mut got: Vec<Vec<u32>> = shards.values().flatten().map(|(_, ids)| ids.clone()).collect();
    let mut want: Vec<Vec<u32>> = want_stream.chunks(2049).map(|c| c.to_vec()).collect();
    want.last_mut().unwrap().resize(2049, 50256);
    got.sort();
    want.sort();
    assert_eq!(got, want);
}
