//! `dclm tokshuf`: token shards that the `webdataset` library reads the way open_lm's loader does (`json.gz`
//! key, contexts longer than the model's window), with our ids and the manifest's counts; the same seed gives
//! the same bytes with 1 or 2 threads.

use std::path::{Path, PathBuf};
use std::process::Command;

const DCLM: &str = env!("CARGO_BIN_EXE_dclm");

/// open_lm's `get_wds_dataset` pipeline for `--data-key json.gz`, without torch: decode, rename `json.gz` to
/// `json`, keep contexts longer than `seq_len`. Prints every shard's (key, ids) as JSON.
const OPEN_LM_READER: &str = r#"
import json, sys
import webdataset as wds
out, seq_len = sys.argv[1], int(sys.argv[2])
result = {}
for line in open(f"{out}/manifest.jsonl"):
    m = json.loads(line)
    pipe = wds.DataPipeline(
        wds.SimpleShardList([f"{out}/{m['shard']}.tar"]),
        wds.tarfile_to_samples(handler=wds.reraise_exception),
        wds.decode(),
        wds.rename(json="json.gz"),
        wds.to_tuple("__key__", "json"),
        wds.select(lambda x: len(x[1]) > seq_len),
    )
    rows = [[k, ids] for k, ids in pipe]
    assert len(rows) == m["num_sequences"], (m, len(rows))
    result[m["shard"]] = rows
print(json.dumps(result))
"#;

fn tokshuf(inputs: &Path, out: &Path, threads: &str, tokenizer: &Path) {
    let o = Command::new(DCLM)
        .args(["tokshuf", "-i"])
        .arg(inputs)
        .arg("-o")
        .arg(out)
        .arg("--tokenizer")
        .arg(tokenizer)
        .args([
            "--wds-chunk-size",
            "16",
            "--num-local-cells",
            "4",
            "--seed",
            "7",
            "--threads",
            threads,
        ])
        .output()
        .expect("running dclm tokshuf");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Every file of a token folder except `stats.json` (it holds timings), by name.
fn token_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "stats.json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn tokshuf_shards_read_by_webdataset_like_open_lm() {
    let test = "tokshuf_shards_read_by_webdataset_like_open_lm";
    let Some(tok) = dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test) else {
        return;
    };
    let Some(docs) = dclm_core::testdata::shared("conformance/tokenize/tokenize.jsonl", test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // Two input files in a folder (one gzip-compressed), as a downloaded dataset would be.
    let input = tmp.path().join("docs");
    std::fs::create_dir_all(&input).unwrap();
    let text = std::fs::read_to_string(&docs).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = lines.split_at(lines.len() / 2);
    std::fs::write(input.join("a.jsonl"), a.join("\n") + "\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, (b.join("\n") + "\n").as_bytes()).unwrap();
    std::fs::write(input.join("b.jsonl.gz"), gz.finish().unwrap()).unwrap();

    let one: PathBuf = tmp.path().join("t1");
    let two: PathBuf = tmp.path().join("t2");
    tokshuf(&input, &one, "1", &tok);
    tokshuf(&input, &two, "2", &tok);
    let (f1, f2) = (token_files(&one), token_files(&two));
    assert!(
        f1.len() > 3,
        "several shards and a manifest: {:?}",
        f1.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(f1 == f2, "1 and 2 threads give different bytes");

    let Some(python) = std::env::var_os("DCLM_WDS_PYTHON") else {
        eprintln!(
            "SKIP the webdataset half of {test}: set DCLM_WDS_PYTHON to a Python with `webdataset` (.ci/run does)"
        );
        return;
    };
    let o = Command::new(python)
        .args(["-c", OPEN_LM_READER])
        .arg(&one)
        .arg("2048")
        .output()
        .expect("running python");
    assert!(
        o.status.success(),
        "webdataset reader failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let theirs: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let manifest = std::fs::read_to_string(one.join("manifest.jsonl")).unwrap();
    let mut contexts = 0;
    for line in manifest.lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        let shard = m["shard"].as_str().unwrap();
        let ours = dclm_train::data::read_shard(one.join(format!("{shard}.tar"))).unwrap();
        let rows = theirs[shard].as_array().unwrap();
        assert_eq!(rows.len() as u64, m["num_sequences"].as_u64().unwrap());
        assert_eq!(rows.len(), ours.len());
        for ((name, ids), row) in ours.iter().zip(rows) {
            assert_eq!(name.trim_end_matches(".json.gz"), row[0].as_str().unwrap());
            let theirs: Vec<u32> = row[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            assert_eq!(&theirs, ids, "{shard}/{name}");
            assert_eq!(ids.len(), 2049);
        }
        contexts += rows.len();
    }
    assert!(contexts > 100, "{contexts} contexts");
}

fn dclm(args: &[&str]) -> std::process::Output {
    Command::new(DCLM).args(args).output().expect("running dclm")
}

/// `dclm train` on `dclm tokshuf` shards: the tiny preset for three steps with validation, the token-shortfall
/// rule (refused beyond the tolerance, repeated with `--multiple-data-passes`), and no silent restart over an
/// existing run.
#[test]
fn train_on_tokshuf_shards_with_validation_and_shortfall_check() {
    let test = "train_on_tokshuf_shards_with_validation_and_shortfall_check";
    let Some(tok) = dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test) else {
        return;
    };
    let Some(docs) = dclm_core::testdata::shared("conformance/tokenize/tokenize.jsonl", test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let tokens = tmp.path().join("tokens");
    let o = dclm(&[
        "tokshuf",
        "-i",
        docs.to_str().unwrap(),
        "-o",
        tokens.to_str().unwrap(),
        "--tokenizer",
        tok.to_str().unwrap(),
        "--seqlen",
        "129",
        "--wds-chunk-size",
        "512",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = tokens.to_str().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    // The tiny preset's full budget (200 steps × 8 sequences) is within the shards; 100k steps are not.
    let o = dclm(&["train", "--data", t, "--scale", "tiny", "--steps", "100000", "-o", r]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--multiple-data-passes"), "{err}");
    let o = dclm(&[
        "train",
        "--data",
        t,
        "--scale",
        "tiny",
        "--max-steps",
        "3",
        "--val-data",
        t,
        "--val-every",
        "2",
        "--val-sequences",
        "8",
        "-o",
        r,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["steps"], 3);
    let val = std::fs::read_to_string(run.join("val_log.jsonl")).unwrap();
    let steps: Vec<u64> = val
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(steps, vec![2, 3]);
    let params: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("params.json")).unwrap()).unwrap();
    assert_eq!(params["data-key"], "json.gz");
    assert_eq!(params["global-batch-size"], 8);
    // An existing run is not overwritten by accident.
    let o = dclm(&["train", "--data", t, "--scale", "tiny", "--max-steps", "3", "-o", r]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    // A resume continues with the same recipe; other flags are refused rather than ignored.
    let o = dclm(&[
        "train",
        "--data",
        t,
        "--scale",
        "tiny",
        "--lr",
        "0.1",
        "--resume",
        "--max-steps",
        "4",
        "-o",
        r,
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("other settings"));
    let o = dclm(&[
        "train",
        "--data",
        t,
        "--scale",
        "tiny",
        "--resume",
        "--max-steps",
        "4",
        "-o",
        r,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["steps"], 4);
    // Token shards inside the input folder are refused (a rerun would read them back).
    let inside = tmp.path().join("copy");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::copy(&docs, inside.join("d.jsonl")).unwrap();
    let o = dclm(&[
        "tokshuf",
        "-i",
        inside.to_str().unwrap(),
        "-o",
        inside.join("tok").to_str().unwrap(),
        "--tokenizer",
        tok.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("overlaps"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A Parquet file written by pyarrow tokenizes to the same shards, byte for byte, as the same documents in JSONL.
#[test]
fn tokshuf_reads_parquet_like_jsonl() {
    let test = "tokshuf_reads_parquet_like_jsonl";
    let Some(python) = std::env::var_os("DCLM_PYARROW_PYTHON") else {
        eprintln!("SKIP {test}: set DCLM_PYARROW_PYTHON to a Python with pyarrow (.ci/run does)");
        return;
    };
    let (Some(tok), Some(docs)) = (
        dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test),
        dclm_core::testdata::shared("conformance/tokenize/tokenize.jsonl", test),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (jdir, pdir) = (tmp.path().join("j"), tmp.path().join("p"));
    std::fs::create_dir_all(&jdir).unwrap();
    std::fs::create_dir_all(&pdir).unwrap();
    let text = std::fs::read_to_string(&docs).unwrap();
    std::fs::write(
        jdir.join("a.jsonl"),
        text.lines().take(80).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let o = Command::new(python)
        .args([
            "-c",
            "import json, sys, pyarrow as pa, pyarrow.parquet as pq\n\
             rows = [json.loads(l) for l in open(sys.argv[1])]\n\
             pq.write_table(pa.table({'text': [r['text'] for r in rows], 'id': [r['id'] for r in rows]}), sys.argv[2])",
        ])
        .arg(jdir.join("a.jsonl"))
        .arg(pdir.join("a.parquet"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (t1, t2) = (tmp.path().join("t1"), tmp.path().join("t2"));
    tokshuf(&jdir, &t1, "2", &tok);
    tokshuf(&pdir, &t2, "2", &tok);
    let (a, b) = (token_files(&t1), token_files(&t2));
    assert!(a.len() >= 2, "a manifest and shards");
    assert!(a == b, "Parquet and JSONL inputs give different shards");
}
