//! DCLM's data in and out through the runner: `filter` from JSONL to Parquet and back with every key kept and a
//! dataset record per run (linked to its source's record), an `hf://` input staged from a loopback server
//! answering like the Hub, and `records compare` over DCLM's published eval records.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dclm"));
    c.args(args)
        .env_remove("DCLM_EXP_DATA")
        .env_remove("HF_TOKEN")
        .env_remove("HF_ENDPOINT");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("running dclm");
    assert!(
        o.status.success(),
        "dclm {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn docs(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let mut v = serde_json::json!({
                "text": format!("The page number {i} is about the cat and the dog in the house."),
                "url": format!("http://example.com/{i}"),
                "metadata": {"WARC-Type": "response", "WARC-Record-ID": format!("<urn:uuid:{i}>")},
                "previous_word_count": 13 + i,
                "language_id_whole_page_fasttext": {"en": 0.5 + i as f64 / 100.0},
            });
            if i % 3 == 0 {
                v["tags"] = serde_json::json!(["a", "b"]);
            }
            v
        })
        .collect()
}

fn write_jsonl(path: &Path, docs: &[serde_json::Value]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text: String = docs.iter().map(|d| format!("{d}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const CONFIG: &str = "- source: cc\n  steps:\n    - func: stop_word_filter\n";

#[test]
fn filter_to_parquet_and_back_keeps_every_key_and_records_each_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = docs(30);
    write_jsonl(&d.join("in/a.jsonl"), &input);
    std::fs::write(d.join("c.yaml"), CONFIG).unwrap();
    let s = |p: &str| d.join(p).to_string_lossy().into_owned();
    let (cfg, inp, pq, js) = (s("c.yaml"), s("in"), s("pq"), s("js"));
    run(
        &[
            "filter",
            "--config",
            &cfg,
            "-i",
            &inp,
            "-o",
            &pq,
            "--output-extension",
            "parquet",
            "--no-progress",
        ],
        &[],
    );
    assert!(d.join("pq/a.parquet").is_file());
    run(
        &[
            "filter",
            "--config",
            &cfg,
            "-i",
            &pq,
            "-o",
            &js,
            "--output-extension",
            "jsonl",
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(read_jsonl(&d.join("js/a.jsonl")), input);

    // Each run recorded its output; the second names the first as its source.
    let rec = |name: &str| -> serde_json::Value {
        let p = d.join(name).join(format!("exp_data/datasets/untokenized/{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
    };
    let (r1, r2) = (rec("pq"), rec("js"));
    assert_eq!(r1["data_key"], "parquet");
    assert_eq!(r2["data_key"], "jsonl");
    assert_eq!(r1["size"], std::fs::metadata(d.join("pq/a.parquet")).unwrap().len());
    assert_eq!(r1["tokenized"], false);
    assert_eq!(r1["sources"], serde_json::json!([]));
    assert_eq!(r2["sources"][0]["uuid"], r1["uuid"]);
    assert_eq!(r2["sources"][0]["name"], "pq");
    assert_eq!(r1["dclm_rs"]["stage"], "filter");
    assert_eq!(r1["dclm_rs"]["config"], cfg);
    assert_eq!(r1["dclm_rs"]["config_sha256"].as_str().unwrap().len(), 64);
    // BFF dedup reads Parquet as JSON lines and writes Parquet back: every key survives.
    let bff = s("bff");
    run(
        &["dedup", "--method", "bff", "-i", &pq, "-o", &bff, "--no-progress"],
        &[],
    );
    let out: Vec<serde_json::Value> = dclm_core::io::ShardReader::open(d.join("bff/a.parquet"))
        .unwrap()
        .map(|r| serde_json::to_value(r.unwrap().1).unwrap())
        .collect();
    assert!(!out.is_empty() && out.len() <= input.len());
    for o in &out {
        let orig = input.iter().find(|i| i["url"] == o["url"]).unwrap();
        let keys = |v: &serde_json::Value| {
            v.as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert!(keys(orig).is_subset(&keys(o)), "{o}");
        assert_eq!(o["metadata"], orig["metadata"]);
    }
    // A rerun (nothing to redo, same settings) keeps the UUID.
    run(
        &[
            "filter",
            "--config",
            &cfg,
            "-i",
            &inp,
            "-o",
            &pq,
            "--output-extension",
            "parquet",
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(rec("pq")["uuid"], r1["uuid"]);
    // The record has the keys and types of DCLM's published dataset records.
    if let Some(raw) = dclm_core::testdata::shared("data/dclm-assets/exp_data/datasets/raw_sources", "record keys") {
        let published: Vec<serde_json::Value> = dclm_records::read_records(&raw)
            .unwrap()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let problems = dclm_records::check_keys(&r1, &dclm_records::key_types(&published));
        assert!(problems.is_empty(), "{problems:?}");
    }
}

/// Requests a server saw: path and `Authorization` header.
type RequestLog = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A minimal Hub: answers `GET path` from a map, logging each request's `Authorization` header.
fn hub(files: HashMap<String, Vec<u8>>) -> (String, RequestLog) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut auth = None;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("authorization") {
                        auth = Some(v.trim().to_string());
                    }
                }
            }
            log2.lock().unwrap().push((path.clone(), auth));
            match files.get(&path) {
                Some(body) => {
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(body);
                }
                None => {
                    let _ = write!(
                        conn,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    (base, log)
}

#[test]
fn an_hf_dataset_is_an_input_of_filter() {
    let commit = "89abcdef0123456789abcdef0123456789abcdef";
    let input = docs(6);
    let shard: Vec<u8> = input.iter().map(|d| format!("{d}\n")).collect::<String>().into_bytes();
    let mut files = HashMap::new();
    files.insert(
        "/api/datasets/org/pages/revision/main?blobs=true".to_string(),
        serde_json::json!({"sha": commit, "siblings": [
            {"rfilename": "README.md", "size": 2},
            {"rfilename": "data/part-0.jsonl", "size": shard.len()},
        ]})
        .to_string()
        .into_bytes(),
    );
    files.insert(format!("/datasets/org/pages/resolve/{commit}/data/part-0.jsonl"), shard);
    let (base, log) = hub(files);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), CONFIG).unwrap();
    let out = dir.path().join("out");
    run(
        &[
            "filter",
            "--config",
            &dir.path().join("c.yaml").to_string_lossy(),
            "-i",
            "hf://datasets/org/pages/data/*.jsonl",
            "-o",
            &out.to_string_lossy(),
            "--no-progress",
        ],
        &[("HF_ENDPOINT", &base), ("HF_TOKEN", "hf_test")],
    );
    assert_eq!(read_jsonl(&out.join("part-0.jsonl")), input);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|(_, a)| a.as_deref() == Some("Bearer hf_test")));
}

#[test]
fn records_compare_ranks_published_evals() {
    let Some(evals) = dclm_core::testdata::shared("data/dclm-assets/exp_data/evals", "records_compare") else {
        return;
    };
    let assets = evals.parent().unwrap().parent().unwrap();
    let one = std::fs::read_dir(&evals).unwrap().next().unwrap().unwrap().path();
    let o = run(
        &[
            "records",
            "compare",
            &one.to_string_lossy(),
            "--published",
            &evals.to_string_lossy(),
            "--assets",
            &assets.to_string_lossy(),
            "--top",
            "5",
            "--task",
            "mmlu_fewshot",
        ],
        &[],
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2 + 5 + 1, "{out}");
    assert!(lines[0].contains("CORE") && lines[0].contains("EXTENDED") && lines[0].ends_with("mmlu_fewshot"));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("reproduced for 157 of 157"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_baseline_writes_tokenized_model_and_eval_records_with_dclm_keys() {
    let Some(exp) = dclm_core::testdata::shared("data/dclm-assets/exp_data", "baseline records") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run(
        &["baseline", "--reduced", "--no-progress", "-o", &out.to_string_lossy()],
        &[],
    );
    let published = |sub: &str| -> Vec<serde_json::Value> {
        dclm_records::read_records(&exp.join(sub))
            .unwrap()
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    };
    let ours = |sub: &str| -> serde_json::Value {
        let mut recs = dclm_records::read_records(&out.join("exp_data").join(sub)).unwrap();
        assert_eq!(recs.len(), 1, "{sub}");
        recs.remove(0).1
    };
    let (tok, model, eval) = (ours("datasets/tokenized"), ours("models"), ours("evals"));
    for (kind, rec, sub) in [("tokenized", &tok, "datasets/tokenized"), ("model", &model, "models")] {
        let problems = dclm_records::check_keys(rec, &dclm_records::key_types(&published(sub)));
        assert!(problems.is_empty(), "{kind}: {problems:?}");
    }
    // The embedded eval suite has no v1 csv and none of DCLM's extra task groups: every key it has must have
    // DCLM's type, and the keys every eval record needs must be there.
    let table = dclm_records::key_types(&published("evals"));
    let problems: Vec<String> = dclm_records::check_keys(&eval, &table)
        .into_iter()
        .filter(|p| !p.starts_with("missing key"))
        .collect();
    assert!(problems.is_empty(), "eval: {problems:?}");
    for k in [
        "name",
        "uuid",
        "model",
        "model_uuid",
        "creation_date",
        "eval_metrics",
        "Core",
        "Extended",
        "missing tasks",
    ] {
        assert!(eval.get(k).is_some(), "eval lacks {k}");
    }
    // The chain: eval → model → tokenized → untokenized.
    assert_eq!(eval["model_uuid"], model["uuid"]);
    assert_eq!(model["dataset_uuid"], tok["uuid"]);
    let source = ours("datasets/untokenized");
    assert_eq!(tok["sources"][0]["uuid"], source["uuid"]);
    assert_eq!(
        tok["num_tokens"].as_u64().unwrap() % 257,
        0,
        "whole sequences of 256 + 1 tokens"
    );
}

#[test]
fn the_baseline_takes_an_hf_input_through_tokenize() {
    let Some(pages) = dclm_core::testdata::shared("data/quality/dclm-majority-data.jsonl", "baseline hf input") else {
        return;
    };
    let commit = "0123456789abcdef0123456789abcdef89abcdef";
    // Real pages in DCLM-Pool shape (the heuristics move `metadata.WARC-Target-URI` to `url`).
    let shard: Vec<u8> = std::fs::read_to_string(pages)
        .unwrap()
        .lines()
        .take(60)
        .enumerate()
        .map(|(i, l)| {
            let mut d: serde_json::Value = serde_json::from_str(l).unwrap();
            d["metadata"] = serde_json::json!({"WARC-Target-URI": format!("https://www.example.org/page/{i}")});
            format!("{d}\n")
        })
        .collect::<String>()
        .into_bytes();
    let mut files = HashMap::new();
    files.insert(
        "/api/datasets/org/pages/revision/v1?blobs=true".to_string(),
        serde_json::json!({"sha": commit, "siblings": [{"rfilename": "data/part-0.jsonl", "size": shard.len()}]})
            .to_string()
            .into_bytes(),
    );
    files.insert(
        format!("/datasets/org/pages/resolve/{commit}/data/part-0.jsonl"),
        shard.clone(),
    );
    let (base, _) = hub(files);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run(
        &[
            "baseline",
            "--reduced",
            "--no-progress",
            "--input",
            "hf://datasets/org/pages@v1/data/*.jsonl",
            "--to",
            "tokenize",
            "-o",
            &out.to_string_lossy(),
        ],
        &[("HF_ENDPOINT", &base)],
    );
    assert_eq!(
        std::fs::read(out.join("_hf/org/pages/data/part-0.jsonl")).unwrap(),
        shard
    );
    let manifest = std::fs::read_to_string(out.join("5-tokenize/manifest.jsonl")).unwrap();
    assert!(!manifest.trim().is_empty());
    let tok = dclm_records::read_records(&out.join("exp_data/datasets/tokenized")).unwrap();
    assert_eq!(tok.len(), 1);
    assert!(tok[0].1["num_tokens"].as_u64().unwrap() > 0);
}
