//! Shard stages against object storage: `dclm extract` and `dclm filter` with `s3://` inputs and outputs on a
//! local S3-compatible server (moto, on loopback) write byte-identical shards to a local run, under the same
//! names, with completion markers; a rerun skips completed shards and redoes only missing ones; rank slicing
//! covers every shard once. Skips when moto or the shared WARC samples are absent.

use dclm_objstore::testing::MotoServer;
use dclm_objstore::{ObjectUrl, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const DCLM: &str = env!("CARGO_BIN_EXE_dclm");

/// A fresh temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("dclm-s3-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run the dclm binary with the server's environment; returns stderr, panicking with it on failure.
fn dclm(moto: &MotoServer, args: &[&str]) -> String {
    let mut cmd = Command::new(DCLM);
    cmd.args(args);
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.env("DCLM_S3_INIT_BACKOFF_MS", "20");
    let out = cmd.output().expect("running dclm");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "dclm {args:?} failed:\n{stderr}");
    stderr
}

/// Every file under `dir` as relative `/`-separated name → bytes.
fn local_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Every object under an `s3://` prefix as relative name → bytes.
fn remote_tree(store: &Store, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let url = ObjectUrl::parse(prefix).unwrap();
    let p = url.dir_prefix();
    store
        .list(&url)
        .unwrap()
        .into_iter()
        .map(|o| {
            let rel = o.key.strip_prefix(&p).unwrap().to_string();
            let bytes = store.get_bytes(&url.with_key(o.key)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Output shards only (no markers, stats or reports).
fn shards(tree: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    tree.iter()
        .filter(|(k, _)| !k.starts_with('_') && k.contains(".jsonl"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn markers(tree: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    tree.keys().filter(|k| k.starts_with("_done/")).cloned().collect()
}

fn stats_counts(bytes: &[u8]) -> (u64, u64, u64) {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    (
        v["shards"].as_u64().unwrap(),
        v["docs_in"].as_u64().unwrap(),
        v["docs_out"].as_u64().unwrap(),
    )
}

#[test]
fn extract_and_filter_on_s3_match_local_runs_and_resume() {
    let Some(warc_dir) = dclm_core::testdata::shared("data/warc", "extract_and_filter_on_s3") else {
        return;
    };
    let Some(assets) = dclm_core::testdata::shared("data/dclm-assets", "extract_and_filter_on_s3") else {
        return;
    };
    let Some(moto) = MotoServer::start("extract_and_filter_on_s3") else {
        return;
    };
    moto.create_bucket("dclm");
    let store = Store::new("dclm", moto.options(None)).unwrap();
    let tmp = TempDir::new("stages");

    // The same WARC layout locally and in the bucket (one in a subfolder; `_`-folders and non-shards ignored).
    let layout = [
        ("cc-main-2020-34-sample.warc.gz", "a/cc-main-2020-34-sample.warc.gz"),
        ("english-pages-0000.warc.gz", "english-pages-0000.warc.gz"),
        ("english-pages-0001.warc.gz", "english-pages-0001.warc.gz"),
        ("cc-single-record.warc.gz", "cc-single-record.warc.gz"),
        ("cc-main-2024-22-whirlwind.warc.wet.gz", "whirlwind.warc.wet.gz"),
        ("cc-single-record.warc.gz", "_ignored/cc-single-record.warc.gz"),
    ];
    let local_in = tmp.path().join("warc");
    for (src, rel) in layout {
        let dest = local_in.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(warc_dir.join(src), &dest).unwrap();
        store
            .upload_from(&dest, &ObjectUrl::parse(&format!("s3://dclm/in/warc/{rel}")).unwrap())
            .unwrap();
    }

    // Extract: local → local, and s3 → s3 in batches of one shard.
    let local_out = tmp.path().join("extracted");
    let lo = local_out.to_str().unwrap();
    let li = local_in.to_str().unwrap();
    dclm(
        &moto,
        &["extract", "--input", li, "--out", lo, "--no-progress", "--threads", "2"],
    );
    let err = dclm(
        &moto,
        &[
            "extract",
            "--input",
            "s3://dclm/in/warc/",
            "--out",
            "s3://dclm/out/extracted",
            "--no-progress",
            "--threads",
            "1",
        ],
    );
    assert!(err.contains("4 shards run, 0 skipped"), "{err}");
    let local = local_tree(&local_out);
    let remote = remote_tree(&store, "s3://dclm/out/extracted/");
    let local_shards = shards(&local);
    assert_eq!(local_shards.len(), 4, "{:?}", local.keys());
    assert_eq!(
        shards(&remote),
        local_shards,
        "extracted shards differ from the local run"
    );
    assert_eq!(markers(&remote), markers(&local));
    assert_eq!(
        stats_counts(&remote["stats.json"]),
        stats_counts(&local["stats.json"]),
        "merged stats"
    );
    assert!(remote
        .keys()
        .all(|k| !k.contains("_staging") && !k.ends_with(".tmp") && !k.ends_with(".part")));

    // Rerun: everything skipped. Then lose one shard (marker and output) and rerun: only it runs, same bytes.
    let err = dclm(
        &moto,
        &[
            "extract",
            "-i",
            "s3://dclm/in/warc",
            "-o",
            "s3://dclm/out/extracted",
            "--no-progress",
        ],
    );
    assert!(err.contains("0 shards run, 4 skipped"), "{err}");
    for key in [
        "out/extracted/_done/a/cc-main-2020-34-sample.jsonl.gz.json",
        "out/extracted/a/cc-main-2020-34-sample.jsonl.gz",
    ] {
        store
            .delete(&ObjectUrl::parse(&format!("s3://dclm/{key}")).unwrap())
            .unwrap();
    }
    let err = dclm(
        &moto,
        &[
            "extract",
            "-i",
            "s3://dclm/in/warc/",
            "-o",
            "s3://dclm/out/extracted",
            "--no-progress",
        ],
    );
    assert!(err.contains("1 shards run, 3 skipped"), "{err}");
    assert_eq!(shards(&remote_tree(&store, "s3://dclm/out/extracted/")), local_shards);

    // Ranks: two tasks over the same inputs cover every shard once, with per-rank stats.
    for rank in ["0", "1"] {
        dclm(
            &moto,
            &[
                "extract",
                "-i",
                "s3://dclm/in/warc/",
                "-o",
                "s3://dclm/out/ranked",
                "--no-progress",
                "--rank",
                rank,
                "--world-size",
                "2",
            ],
        );
    }
    let ranked = remote_tree(&store, "s3://dclm/out/ranked/");
    assert_eq!(shards(&ranked), local_shards);
    let (s0, _, _) = stats_counts(&ranked["stats.rank-0-of-2.json"]);
    let (s1, _, _) = stats_counts(&ranked["stats.rank-1-of-2.json"]);
    assert_eq!(s0 + s1, 4);

    // Filter with DCLM's heuristic config: s3 → s3 equals local → local; s3 → local too.
    let config = assets.join("baselines/baselines_configs/dclm_baseline_refinedweb.yaml");
    let (config, assets) = (config.to_str().unwrap(), assets.to_str().unwrap());
    let filter = |input: &str, out: &str| {
        dclm(
            &moto,
            &[
                "filter",
                "-i",
                input,
                "-o",
                out,
                "--config",
                config,
                "--assets",
                assets,
                "--skip-step",
                "2",
                "--no-progress",
                "--threads",
                "2",
            ],
        )
    };
    let local_filtered = tmp.path().join("filtered");
    filter(lo, local_filtered.to_str().unwrap());
    filter("s3://dclm/out/extracted/", "s3://dclm/out/filtered");
    let lf = local_tree(&local_filtered);
    let rf = remote_tree(&store, "s3://dclm/out/filtered/");
    assert_eq!(shards(&lf).len(), 4);
    assert_eq!(shards(&rf), shards(&lf), "filtered shards differ from the local run");
    assert_eq!(markers(&rf), markers(&lf));
    assert_eq!(stats_counts(&rf["stats.json"]), stats_counts(&lf["stats.json"]));
    let (_, docs_in, docs_out) = stats_counts(&lf["stats.json"]);
    eprintln!(
        "extract: {:?} (shards, docs in, docs out); filter: {docs_in} → {docs_out} docs; {} filtered shards identical",
        stats_counts(&local["stats.json"]),
        shards(&lf).len()
    );
    assert!(
        docs_in > docs_out && docs_out > 0,
        "the filter kept some and dropped some: {docs_in} → {docs_out}"
    );

    let mixed = tmp.path().join("filtered-from-s3");
    filter("s3://dclm/out/extracted/", mixed.to_str().unwrap());
    let mt = local_tree(&mixed);
    assert_eq!(shards(&mt), shards(&lf));
    assert!(!mixed.join("_staging.rank-0").exists());
    let again = filter("s3://dclm/out/extracted/", mixed.to_str().unwrap());
    assert!(again.contains("0 shards run, 4 skipped"), "{again}");

    // A local input with an s3 output.
    filter(lo, "s3://dclm/out/filtered-from-local");
    assert_eq!(
        shards(&remote_tree(&store, "s3://dclm/out/filtered-from-local/")),
        shards(&lf)
    );

    // Quality with a classifier trained here: a top-fraction threshold (global: all inputs staged at once) and
    // a fixed threshold (batched) give the local run's shards and threshold.
    let Some(pos) = dclm_core::testdata::shared("data/quality/dclm-agreement-data.jsonl", "quality_on_s3") else {
        return;
    };
    let model = tmp.path().join("hq.bin");
    let m = model.to_str().unwrap();
    dclm(
        &moto,
        &[
            "quality-train",
            "--positives",
            pos.to_str().unwrap(),
            "--negatives",
            lo,
            "-o",
            m,
            "--epoch",
            "2",
        ],
    );
    let lq = tmp.path().join("quality");
    let quality = |input: &str, out: &str, mode: &[&str]| {
        let mut args = vec![
            "quality",
            "-i",
            input,
            "-o",
            out,
            "--model",
            m,
            "--no-progress",
            "--threads",
            "1",
        ];
        args.extend_from_slice(mode);
        dclm(&moto, &args)
    };
    let lfs = local_filtered.to_str().unwrap();
    quality(lfs, lq.to_str().unwrap(), &["--keep-fraction", "0.5"]);
    quality(
        "s3://dclm/out/filtered/",
        "s3://dclm/out/quality",
        &["--keep-fraction", "0.5"],
    );
    let lqt = local_tree(&lq);
    let rqt = remote_tree(&store, "s3://dclm/out/quality/");
    assert_eq!(
        shards(&rqt),
        shards(&lqt),
        "quality (top fraction) shards differ from the local run"
    );
    assert_eq!(markers(&rqt), markers(&lqt));
    assert_eq!(rqt["quality_threshold.json"], lqt["quality_threshold.json"]);
    let again = quality(
        "s3://dclm/out/filtered/",
        "s3://dclm/out/quality",
        &["--keep-fraction", "0.5"],
    );
    assert!(again.contains("0 shards run, 4 skipped"), "{again}");
    let th: serde_json::Value = serde_json::from_slice(&lqt["quality_threshold.json"]).unwrap();
    let th = th["threshold"].as_f64().unwrap().to_string();
    let lq2 = tmp.path().join("quality-fixed");
    quality(lfs, lq2.to_str().unwrap(), &["--threshold", &th]);
    quality(
        "s3://dclm/out/filtered/",
        "s3://dclm/out/quality-fixed",
        &["--threshold", &th],
    );
    let fixed = remote_tree(&store, "s3://dclm/out/quality-fixed/");
    assert_eq!(shards(&fixed), shards(&local_tree(&lq2)));
    assert!(fixed.contains_key("quality_threshold.json"));
    let (_, q_in, q_out) = stats_counts(&fixed["stats.json"]);
    eprintln!("quality: threshold {th}, {q_in} → {q_out} docs");
    assert!(q_in > q_out, "the threshold dropped documents: {q_in} → {q_out}");

    // Dedup (global: the whole input is staged) s3 → s3 equals local → local, for MinHash and BFF; rerun skips.
    for method in ["minhash", "bff"] {
        let ld = tmp.path().join(format!("dedup-{method}"));
        let out = format!("s3://dclm/out/dedup-{method}");
        let dedup = |i: &str, o: &str| {
            dclm(
                &moto,
                &[
                    "dedup",
                    "--method",
                    method,
                    "-i",
                    i,
                    "-o",
                    o,
                    "--no-progress",
                    "--threads",
                    "2",
                ],
            )
        };
        dedup(lfs, ld.to_str().unwrap());
        dedup("s3://dclm/out/filtered/", &out);
        let (lt, rt) = (local_tree(&ld), remote_tree(&store, &format!("{out}/")));
        assert!(!shards(&lt).is_empty());
        assert_eq!(
            shards(&rt),
            shards(&lt),
            "dedup {method}: s3 shards differ from the local run"
        );
        assert_eq!(markers(&rt), markers(&lt));
        assert_eq!(stats_counts(&rt["stats.json"]), stats_counts(&lt["stats.json"]));
        assert!(rt.contains_key("dedup_report.json"), "{:?}", rt.keys());
        let again = dedup("s3://dclm/out/filtered/", &out);
        eprintln!("dedup {method} rerun: {again}");
        assert!(again.contains("0 shards run"), "{again}");
    }
}

#[test]
fn bad_s3_arguments_are_clear_errors() {
    let Some(moto) = MotoServer::start("bad_s3_arguments_are_clear_errors") else {
        return;
    };
    moto.create_bucket("empty");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(DCLM);
        cmd.args(args);
        for (k, v) in moto.env() {
            cmd.env(k, v);
        }
        cmd.env("DCLM_S3_MAX_RETRIES", "1");
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let tmp = TempDir::new("errors");
    let out = tmp.path().join("o");
    let o = out.to_str().unwrap();
    let err = run(&["extract", "-i", "s3://empty/nothing/", "-o", o, "--no-progress"]);
    assert!(err.contains("no input shards found under s3://empty/nothing/"), "{err}");
    let err = run(&["extract", "-i", "s3://no-such-bucket/x/", "-o", o, "--no-progress"]);
    assert!(err.contains("s3://no-such-bucket/x/"), "{err}");
    let err = run(&["extract", "-i", "s3://Bad/x", "-o", o, "--no-progress"]);
    assert!(err.contains("bad object URL \"s3://Bad/x\""), "{err}");
    let local: PathBuf = tmp.path().join("x.warc.gz");
    std::fs::write(&local, b"").unwrap();
    let err = run(&[
        "extract",
        "-i",
        local.to_str().unwrap(),
        "s3://empty/y/",
        "-o",
        o,
        "--no-progress",
    ]);
    assert!(err.contains("mix of local paths and s3:// URLs"), "{err}");

    // An output prefix that overlaps the input prefix is refused before anything is read or written.
    let store = Store::new("empty", moto.options(None)).unwrap();
    std::fs::write(&local, b"{\"text\":\"a\"}\n").unwrap();
    let shard = ObjectUrl::parse("s3://empty/pool/a.jsonl").unwrap();
    store.upload_from(&local, &shard).unwrap();
    for (input, output) in [
        ("s3://empty/pool/", "s3://empty/pool/"),
        ("s3://empty/pool/", "s3://empty/pool/out"),
        ("s3://empty/pool/", "s3://empty"),
        ("s3://empty/pool/a.jsonl", "s3://empty/"),
    ] {
        let err = run(&[
            "filter",
            "--config",
            "unused.yaml",
            "-i",
            input,
            "-o",
            output,
            "--no-progress",
        ]);
        assert!(err.contains("overlaps the input"), "{input} → {output}: {err}");
    }
    assert_eq!(
        store.list(&ObjectUrl::parse("s3://empty/").unwrap()).unwrap().len(),
        1,
        "nothing written"
    );
}
