//! Runs never lose data: a hostile page costs bounded memory, outputs that overlap inputs are refused, a
//! shard whose input was cut is never marked complete, reruns redo exactly what changed and refuse what
//! would mix settings, saved dedup state is checked against what made it, generated cluster scripts take no
//! control characters, a corrupt quality model is refused, and resumed baselines read their own folder.
//! Ends with the kill -9 fault-injection suite: every stage killed at seeded points, rerun, and compared
//! byte for byte with an uninterrupted run.

use crate::support::{assert_same_files, data_files};
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// The runner under test: this build's, or another build named by `DCLM_SAFETY_DCLM_BIN` (to show that a
/// failure mode exists in an older version: every test of this file then fails on it).
fn bin() -> String {
    std::env::var("DCLM_SAFETY_DCLM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_dclm").to_string())
}

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().expect("running dclm")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(o.status.success(), "dclm {args:?} failed:\n{}", stderr(&o));
    o
}

fn fails(args: &[&str]) -> String {
    let o = run(args);
    assert!(!o.status.success(), "dclm {args:?} should have failed:\n{}", stderr(&o));
    stderr(&o)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("run_safety-{name}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// One WARC response record holding an HTML page, as its own gzip member (as Common Crawl writes them).
fn warc_record(i: usize, uri: &str, html: &str) -> Vec<u8> {
    let http = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n{html}");
    let rec = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{i:012}>\r\n\
         WARC-Target-URI: {uri}\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n{http}\r\n\r\n",
        http.len()
    );
    gz(rec.as_bytes())
}

const WORDS: &[&str] = &[
    "river", "stone", "cloud", "maple", "harbor", "lantern", "meadow", "copper", "violet", "thunder", "saddle",
    "orchid", "glacier", "pepper", "falcon", "willow", "ember", "quartz", "canyon", "juniper",
];

/// A deterministic sentence-y text of `n` words for document `seed`.
fn text(seed: usize, n: usize) -> String {
    let mut x = seed as u64 * 2_654_435_761 + 12345;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let w = WORDS[(x >> 33) as usize % WORDS.len()];
        out.push(if i % 12 == 11 { format!("{w}.") } else { w.to_string() });
    }
    out.join(" ")
}

/// `n` WARC files of `pages` article pages each.
fn write_warcs(dir: &Path, n: usize, pages: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|f| {
            let mut bytes = Vec::new();
            for p in 0..pages {
                let id = f * 1000 + p;
                let body = format!(
                    "<html><body><nav>Home | About</nav><article><h1>Title {id}</h1><p>{}</p><p>{}</p></article>\
                     <footer>Copyright</footer></body></html>",
                    text(id, 60),
                    text(id + 7, 40)
                );
                bytes.extend(warc_record(id, &format!("https://example.com/{f}/{p}"), &body));
            }
            let path = dir.join(format!("part-{f:02}.warc.gz"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

/// JSONL text of `n` documents; every fifth repeats an earlier one (dedup has work to do), some are short
/// (the length filter has work to do).
fn jsonl(shard: usize, n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let seed = if i % 5 == 4 {
            (shard * 3 + i) % 7
        } else {
            shard * 100 + i
        };
        let words = if i % 4 == 3 { 8 } else { 40 + (seed % 30) };
        out.push_str(&format!(
            "{{\"text\":{},\"url\":\"https://example.org/{shard}/{i}\",\"id\":\"{shard}-{i}\"}}\n",
            serde_json::to_string(&text(seed, words)).unwrap()
        ));
    }
    out
}

fn write_jsonl_shards(dir: &Path, n: usize, docs: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("shard-{i:02}.jsonl.gz"));
            std::fs::write(&p, gz(jsonl(i, docs).as_bytes())).unwrap();
            p
        })
        .collect()
}

fn config(dir: &Path, min_words: usize) -> PathBuf {
    let p = dir.join(format!("min{min_words}.yaml"));
    std::fs::write(
        &p,
        format!(
            "- source: cc\n  steps:\n    - func: page_length_filter\n      length_type: word\n      min_length: \
             {min_words}\n"
        ),
    )
    .unwrap();
    p
}

/// A fastText quality classifier trained with `quality-train` on `n` positive and `n` negative documents.
fn train_quality_model(dir: &Path, n: usize) -> PathBuf {
    let pos = dir.join("pos.jsonl");
    let neg = dir.join("neg.jsonl");
    std::fs::write(&pos, jsonl(1, n)).unwrap();
    std::fs::write(&neg, jsonl(2, n)).unwrap();
    let model = dir.join("quality.bin");
    ok(&[
        "quality-train",
        "--positives",
        s(&pos),
        "--negatives",
        s(&neg),
        "-o",
        s(&model),
    ]);
    model
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn count_docs(dir: &Path) -> usize {
    data_files(dir)
        .iter()
        .filter(|(n, _)| n.ends_with(".jsonl.gz"))
        .map(|(_, b)| {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&b[..]), &mut s).unwrap();
            s.lines().count()
        })
        .sum()
}

fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().ends_with(".tmp") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------------------
// 1. One page cannot exhaust memory.

#[test]
fn one_hostile_page_is_skipped_in_bounded_memory() {
    let dir = scratch("hostile-page");
    // 20,000 nested <ol><li><p> around a <pre> of 20,000 lines: 3 MB of HTML whose text, every pre line
    // indented by the list depth, would be about 1.2 GB.
    let mut page = String::from("<html><body>");
    for _ in 0..20_000 {
        page.push_str("<ol><li><p>");
    }
    page.push_str("<pre>");
    for i in 0..20_000 {
        page.push_str(&format!("{i}\n"));
    }
    page.push_str("</pre></body></html>");
    let mut bytes = warc_record(1, "https://ok.example/a", &format!("<p>{}</p>", text(1, 50)));
    bytes.extend(warc_record(2, "https://hostile.example/", &page));
    bytes.extend(warc_record(
        3,
        "https://ok.example/b",
        &format!("<p>{}</p>", text(2, 50)),
    ));
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("x.warc.gz"), bytes).unwrap();
    let out = dir.join("out");
    // Under a 1.5 GB address-space limit (the unbounded text alone is 1.2 GB).
    let o = Command::new("bash")
        .args([
            "-c",
            "ulimit -v 1500000 && exec \"$0\" \"$@\"",
            &bin(),
            "extract",
            "-i",
            s(&input),
            "-o",
            s(&out),
            "--threads",
            "1",
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("extracted text would exceed"), "{}", stderr(&o));
    let st = read_json(&out.join("stats.json"));
    assert_eq!(st["docs_in"], 3);
    assert_eq!(st["docs_out"], 2);
    assert_eq!(st["steps"][0]["dropped"]["output_too_large"], 1, "{st}");
    assert_eq!(count_docs(&out), 2);
    assert!(tmp_files(&out).is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// 2. Output = input, or output inside input.

#[test]
fn outputs_overlapping_inputs_are_refused() {
    let dir = scratch("overlap");
    let d = dir.join("d");
    write_jsonl_shards(&d, 2, 30);
    std::fs::write(d.join("pool.jsonl.gz"), gz(jsonl(9, 10).as_bytes())).unwrap();
    let before = data_files(&d);
    let cfg = config(&dir, 5);
    let filter = |o: &Path| fails(&["filter", "--config", s(&cfg), "-i", s(&d), "-o", s(o), "--no-progress"]);
    for o in [d.clone(), d.join("out"), d.join("sub").join("deeper")] {
        let msg = filter(&o);
        assert!(msg.contains("overlaps the input folder"), "{msg}");
    }
    // A relative spelling of the same folder is the same folder.
    let msg = fails(&[
        "filter",
        "--config",
        s(&cfg),
        "-i",
        s(&d.join("shard-00.jsonl.gz")),
        "-o",
        s(&d.join("..").join("d")),
        "--no-progress",
    ]);
    assert!(msg.contains("lies inside the output folder"), "{msg}");
    // The input folder inside the output folder.
    let msg = filter(&dir);
    assert!(msg.contains("overlaps"), "{msg}");
    let msg = fails(&["dedup", "-i", s(&d), "-o", s(&d), "--no-progress"]);
    assert!(msg.contains("overlaps"), "{msg}");
    let msg = fails(&[
        "dedup",
        "--method",
        "minhash",
        "-i",
        s(&d),
        "-o",
        s(&d.join("x")),
        "--no-progress",
    ]);
    assert!(msg.contains("overlaps"), "{msg}");
    let msg = fails(&["extract", "-i", s(&d), "-o", s(&d), "--no-progress"]);
    assert!(msg.contains("overlaps"), "{msg}");
    // Nothing was touched.
    assert_eq!(data_files(&d), before);
    // A folder beside the inputs is fine.
    ok(&[
        "filter",
        "--config",
        s(&cfg),
        "-i",
        s(&d),
        "-o",
        s(&dir.join("d2")),
        "--no-progress",
    ]);
}

// ---------------------------------------------------------------------------------------------------------
// 3 and 4. A partial shard is never marked done; what was lost is counted.

#[test]
fn a_truncated_input_is_never_marked_complete() {
    let dir = scratch("truncated");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let full = gz(jsonl(0, 22).as_bytes());
    let shard = input.join("a.jsonl.gz");
    std::fs::write(&shard, &full[..full.len() * 6 / 10]).unwrap();
    let cfg = config(&dir, 1);
    let out = dir.join("out");
    let args = [
        "filter",
        "--config",
        s(&cfg),
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--no-progress",
    ];
    let msg = fails(&args);
    assert!(msg.contains("could not be read to their end"), "{msg}");
    // --max-error-rate tolerates bad records, not a cut stream.
    let mut tolerant = args.to_vec();
    tolerant.extend(["--max-error-rate", "0.5"]);
    fails(&tolerant);
    let marker = read_json(&out.join("_done/a.jsonl.gz.json"));
    assert_eq!(marker["provenance"]["complete"], false, "{marker}");
    assert_eq!(marker["partial_shards"], 1);
    let partial_docs = count_docs(&out);
    assert!(partial_docs > 0 && partial_docs < 22, "{partial_docs}");
    // The complete file replaces the cut one: the rerun redoes the shard and keeps all 22 documents.
    std::fs::write(&shard, &full).unwrap();
    ok(&args);
    assert_eq!(count_docs(&out), 22);
    let marker = read_json(&out.join("_done/a.jsonl.gz.json"));
    assert_eq!(marker["provenance"]["complete"], true);
    // Accepting the cut keeps what was read, marks it, and says so.
    let out2 = dir.join("out2");
    std::fs::write(&shard, &full[..full.len() * 6 / 10]).unwrap();
    let o = ok(&[
        "filter",
        "--config",
        s(&cfg),
        "-i",
        s(&input),
        "-o",
        s(&out2),
        "--no-progress",
        "--accept-partial",
    ]);
    assert!(stderr(&o).contains("PARTIAL"), "{}", stderr(&o));
    let o = ok(&[
        "filter",
        "--config",
        s(&cfg),
        "-i",
        s(&input),
        "-o",
        s(&out2),
        "--no-progress",
        "--accept-partial",
    ]);
    assert!(stderr(&o).contains("1 skipped"), "{}", stderr(&o));
}

#[test]
fn a_corrupt_warc_counts_what_was_lost() {
    let dir = scratch("corrupt-warc");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let mut members = Vec::new();
    for i in 0..400 {
        members.push(warc_record(
            i,
            &format!("https://e.example/{i}"),
            &format!("<p>{}</p>", text(i, 30)),
        ));
    }
    // Damage the deflate data of record 200: decoding stops there, half the file is never read.
    let mut bytes = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let mut m = m.clone();
        if i == 200 {
            let mid = m.len() / 2;
            for b in &mut m[mid..mid + 16] {
                *b ^= 0xA5;
            }
        }
        bytes.extend(m);
    }
    std::fs::write(input.join("c.warc.gz"), &bytes).unwrap();
    let out = dir.join("out");
    let msg = fails(&[
        "extract",
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--no-progress",
        "--max-error-rate",
        "0.001",
    ]);
    assert!(msg.contains("PARTIAL") && msg.contains("bytes unread"), "{msg}");
    let st = read_json(&out.join("stats.json"));
    assert_eq!(st["partial_shards"], 1, "{st}");
    let unread = st["bytes_unread"].as_u64().unwrap();
    // A lower bound: the decoder's read-ahead counts some bytes past the break as read.
    assert!(unread > bytes.len() as u64 / 5, "{unread} of {}", bytes.len());
    assert!(st["docs_in"].as_u64().unwrap() < 210, "{st}");
    let marker = read_json(&out.join("_done/c.jsonl.gz.json"));
    assert_eq!(marker["provenance"]["complete"], false);
}

// ---------------------------------------------------------------------------------------------------------
// 5. Reruns never trust stale state.

#[test]
fn a_rerun_with_another_config_is_refused_unless_fresh() {
    let dir = scratch("config-change");
    let input = dir.join("in");
    write_jsonl_shards(&input, 3, 30);
    let out = dir.join("out");
    let (c5, c30) = (config(&dir, 5), config(&dir, 30));
    let args = |c: &Path| {
        vec![
            "filter".to_string(),
            "--config".into(),
            s(c).into(),
            "-i".into(),
            s(&input).into(),
            "-o".into(),
            s(&out).into(),
            "--no-progress".into(),
        ]
    };
    ok(&a(&args(&c5)));
    let kept5 = count_docs(&out);
    let msg = fails(&a(&args(&c30)));
    assert!(
        msg.contains("made with other settings") && msg.contains("--fresh"),
        "{msg}"
    );
    assert_eq!(count_docs(&out), kept5, "a refused run changes nothing");
    let mut fresh = args(&c30);
    fresh.push("--fresh".into());
    ok(&a(&fresh));
    let reference = dir.join("ref30");
    ok(&[
        "filter",
        "--config",
        s(&c30),
        "-i",
        s(&input),
        "-o",
        s(&reference),
        "--no-progress",
    ]);
    assert_same_files(&out, &reference);
    assert!(count_docs(&out) < kept5);
}

#[test]
fn an_input_changed_between_runs_is_redone() {
    let dir = scratch("input-change");
    let input = dir.join("in");
    let shards = write_jsonl_shards(&input, 3, 30);
    let cfg = config(&dir, 5);
    let out = dir.join("out");
    let args = [
        "filter",
        "--config",
        s(&cfg),
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--no-progress",
    ];
    ok(&args);
    // Rewrite one shard with other documents of the same size class.
    std::fs::write(&shards[1], gz(jsonl(7, 33).as_bytes())).unwrap();
    let o = ok(&args);
    let e = stderr(&o);
    assert!(e.contains("1 shards run, 2 skipped"), "{e}");
    assert!(e.contains("redone") && e.contains("input changed"), "{e}");
    let reference = dir.join("ref");
    ok(&[
        "filter",
        "--config",
        s(&cfg),
        "-i",
        s(&input),
        "-o",
        s(&reference),
        "--no-progress",
    ]);
    assert_same_files(&out, &reference);
    // Same bytes written again (new modification time): still complete, nothing redone.
    std::fs::write(&shards[1], gz(jsonl(7, 33).as_bytes())).unwrap();
    let o = ok(&args);
    assert!(stderr(&o).contains("0 shards run, 3 skipped"), "{}", stderr(&o));
}

#[test]
fn a_saved_bloom_filter_is_not_reused_on_its_own_inputs() {
    let dir = scratch("bloom-file");
    let input = dir.join("in");
    write_jsonl_shards(&input, 2, 30);
    let filter = dir.join("filter.bin");
    let out = dir.join("out");
    let args = [
        "dedup",
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--filter-file",
        s(&filter),
        "--no-progress",
    ];
    ok(&args);
    let kept = count_docs(&out);
    assert!(kept > 30, "{kept}");
    let msg = fails(&args);
    assert!(msg.contains("already holds the n-grams"), "{msg}");
    assert_eq!(count_docs(&out), kept, "the refused run left the first results alone");
    // New inputs are deduplicated against the saved filter (BFF's incremental use).
    let more = dir.join("more");
    std::fs::create_dir_all(&more).unwrap();
    // Shard 0's documents plus one more: other bytes, mostly known n-grams.
    std::fs::write(more.join("new.jsonl.gz"), gz((jsonl(0, 30) + &jsonl(42, 1)).as_bytes())).unwrap();
    let out2 = dir.join("out2");
    ok(&[
        "dedup",
        "-i",
        s(&more),
        "-o",
        s(&out2),
        "--filter-file",
        s(&filter),
        "--no-progress",
    ]);
    assert!(count_docs(&out2) < 30, "a copy of shard 0 is found in the filter");
    // --fresh starts from an empty filter.
    ok(&[
        "dedup",
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--filter-file",
        s(&filter),
        "--no-progress",
        "--fresh",
    ]);
    assert_eq!(count_docs(&out), kept);
}

#[test]
fn minhash_apply_refuses_a_shard_other_than_the_one_signed() {
    let dir = scratch("minhash-reorder");
    let input = dir.join("in");
    let shards = write_jsonl_shards(&input, 2, 40);
    let out = dir.join("out");
    let phase = |p: &str| {
        run(&[
            "dedup",
            "--method",
            "minhash",
            "--phase",
            p,
            "-i",
            s(&input),
            "-o",
            s(&out),
            "--no-progress",
        ])
    };
    assert!(phase("map").status.success());
    assert!(phase("reduce").status.success());
    // Reorder the lines of one shard: same bytes per line, other line numbers.
    let mut s0 = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(&std::fs::read(&shards[0]).unwrap()[..]),
        &mut s0,
    )
    .unwrap();
    let mut lines: Vec<&str> = s0.lines().collect();
    lines.reverse();
    std::fs::write(&shards[0], gz((lines.join("\n") + "\n").as_bytes())).unwrap();
    let o = phase("apply");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("differs from the one that was signed"),
        "{}",
        stderr(&o)
    );
    assert!(!out.join("shard-00.jsonl.gz").exists());
    // The map phase sees the change and signs the shard again; then everything lines up.
    assert!(phase("map").status.success());
    assert!(phase("reduce").status.success());
    let o = phase("apply");
    assert!(o.status.success(), "{}", stderr(&o));
    let reference = dir.join("ref");
    ok(&[
        "dedup",
        "--method",
        "minhash",
        "-i",
        s(&input),
        "-o",
        s(&reference),
        "--no-progress",
    ]);
    assert_same_files(&out, &reference);
}

// ---------------------------------------------------------------------------------------------------------
// 6. No script injection through generated cluster files.

#[test]
fn control_characters_never_reach_generated_scripts() {
    let dir = scratch("injection");
    let input = dir.join("in");
    write_jsonl_shards(&input, 1, 5);
    let out = dir.join("out");
    let evil = "debug\ntouch /tmp/dclm-pwned";
    for (flag, value) in [
        ("--partition", evil),
        ("--time", "1:00:00\rx"),
        ("--mem", "8G\nid"),
        ("--sbatch-arg", "--account=a\nid"),
        ("--jobs-dir", "j\nid"),
    ] {
        let msg = fails(&[
            "launch",
            "slurm",
            "-i",
            s(&input),
            "-o",
            s(&out),
            "--stages",
            "filter",
            flag,
            value,
        ]);
        assert!(msg.contains(flag) && msg.contains("control character"), "{flag}: {msg}");
    }
    let evil_out = dir.join("out\nrm -rf x");
    let msg = fails(&[
        "launch",
        "slurm",
        "-i",
        s(&input),
        "-o",
        s(&evil_out),
        "--stages",
        "filter",
    ]);
    assert!(msg.contains("control character"), "{msg}");
    let msg = fails(&[
        "launch",
        "k8s",
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--stages",
        "filter",
        "--image",
        "x\ny",
    ]);
    assert!(msg.contains("--image") && msg.contains("control character"), "{msg}");
    let msg = fails(&[
        "launch",
        "ray",
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--stages",
        "filter",
        "--python",
        "p\ty",
    ]);
    assert!(msg.contains("control character"), "{msg}");
    assert!(!out.exists(), "nothing was generated");
    // The library entry point refuses too (not only the command line).
    let mut args = dclm_runner::launch::plan::PlanArgs {
        inputs: vec![s(&input).to_string()],
        out: "a\nb".into(),
        stages: vec!["filter".into()],
        tasks: 1,
        threads: 1,
        reduce_threads: 1,
        config: None,
        assets: None,
        skip_steps: vec![],
        max_error_rate: 0.0,
        dedup: dclm_runner::launch::plan::PlanDedup::Minhash,
        dclm_bin: None,
    };
    assert!(dclm_runner::launch::plan::Plan::build(&args).is_err());
    args.out = s(&out).into();
    assert!(dclm_runner::launch::plan::Plan::build(&args).is_ok());
}

// ---------------------------------------------------------------------------------------------------------
// 7. Corrupt models, hostile lines, resumed baselines.

#[test]
fn a_quality_model_with_nan_weights_is_refused() {
    let dir = scratch("nan-model");
    let model = train_quality_model(&dir, 40);
    let input = dir.join("in");
    write_jsonl_shards(&input, 1, 10);
    let score = |m: &Path, o: &Path| {
        run(&[
            "quality",
            "--model",
            s(m),
            "--keep-fraction",
            "0.5",
            "-i",
            s(&input),
            "-o",
            s(o),
            "--no-progress",
        ])
    };
    assert!(score(&model, &dir.join("ok")).status.success());
    // The output matrix is the file's tail: make its last weight NaN.
    let mut bytes = std::fs::read(&model).unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    let bad = dir.join("nan.bin");
    std::fs::write(&bad, bytes).unwrap();
    let o = score(&bad, &dir.join("bad"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("non-finite weight"), "{}", stderr(&o));
    assert!(!dir.join("bad").join("shard-00.jsonl.gz").exists());
}

#[test]
fn an_oversized_jsonl_line_is_skipped_and_counted() {
    let dir = scratch("long-line");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    // 80 MB of one JSON string (a gzip bomb of about 80 KB), between two ordinary documents.
    let mut raw = jsonl(0, 1).into_bytes();
    raw.extend_from_slice(b"{\"text\":\"");
    raw.extend(std::iter::repeat_n(b'a', 80 << 20));
    raw.extend_from_slice(b"\"}\n");
    raw.extend(jsonl(1, 1).into_bytes());
    std::fs::write(input.join("bomb.jsonl.gz"), gz(&raw)).unwrap();
    drop(raw);
    let cfg = config(&dir, 1);
    let out = dir.join("out");
    let args = [
        "filter",
        "--config",
        s(&cfg),
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--no-progress",
    ];
    let msg = fails(&args);
    assert!(msg.contains("line_too_long"), "{msg}");
    let st = read_json(&out.join("stats.json"));
    assert_eq!(st["errors"]["line_too_long"], 1, "{st}");
    assert_eq!(st["docs_out"], 2);
    let mut tolerant = args.to_vec();
    tolerant.extend(["--max-error-rate", "0.5"]);
    ok(&tolerant);
}

#[test]
fn a_resumed_baseline_reads_its_own_out_folder_and_keeps_its_report() {
    let dir = scratch("baseline-resume");
    let a = dir.join("a");
    ok(&[
        "baseline",
        "--out",
        s(&a),
        "--to",
        "dedup",
        "--no-progress",
        "--threads",
        "1",
    ]);
    let report_a = read_json(&a.join("report.json"));
    // Move the run; empty the old place's heuristics output so that reading it would be visibly wrong.
    let b = dir.join("b");
    let cp = Command::new("cp").args(["-a", s(&a), s(&b)]).status().unwrap();
    assert!(cp.success());
    for (name, _) in data_files(&a.join("2-heuristics")) {
        if name.ends_with(".jsonl.zst") {
            std::fs::write(a.join("2-heuristics").join(name), b"").unwrap();
        }
    }
    std::fs::remove_dir_all(b.join("3-dedup")).unwrap();
    ok(&[
        "baseline",
        "--out",
        s(&b),
        "--to",
        "dedup",
        "--no-progress",
        "--threads",
        "1",
    ]);
    let heur = read_json(&b.join("2-heuristics/_stage.json"));
    let dedup = read_json(&b.join("3-dedup/_stage.json"));
    assert_eq!(
        dedup["stats"]["docs_in"], heur["stats"]["docs_out"],
        "dedup read b's heuristics output"
    );
    assert_same_files(&a.join("3-dedup"), &b.join("3-dedup"));
    // A rerun that skips every stage reports the same examples and histograms.
    ok(&[
        "baseline",
        "--out",
        s(&b),
        "--to",
        "dedup",
        "--no-progress",
        "--threads",
        "1",
    ]);
    let report_b = read_json(&b.join("report.json"));
    for key in ["histograms", "steps"] {
        assert_eq!(report_a[key], report_b[key], "{key} differs after resuming");
    }
    assert!(!report_b["histograms"].as_array().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Fault injection: kill -9 at seeded points, rerun, compare with an uninterrupted run.

const KILL_POINTS: u64 = 20;

/// A deterministic fraction in [0, 1) for kill point `i` of `stage`.
fn kill_fraction(stage: &str, i: u64) -> f64 {
    let mut x = stage.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    x ^= i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Run `args` (with `{out}` replaced by the output folder) to completion once as the reference, then
/// KILL_POINTS times: start it in a fresh folder, SIGKILL it at a seeded point within the reference duration
/// (from start-up to the last shard), rerun it to completion and compare `compare(out)` with the reference.
fn fault_inject(stage: &str, dir: &Path, args: &[String], prepare: &dyn Fn(&Path), compare: &dyn Fn(&Path, &Path)) {
    let with_out = |out: &Path| -> Vec<String> { args.iter().map(|a| a.replace("{out}", s(out))).collect() };
    let reference = dir.join(format!("{stage}-reference"));
    prepare(&reference);
    let t0 = Instant::now();
    let o = Command::new(bin()).args(with_out(&reference)).output().unwrap();
    assert!(o.status.success(), "{stage} reference run failed: {}", stderr(&o));
    // The kill points spread over the faster of two uninterrupted runs (the first pays for cold caches), so
    // that they land while the stage works rather than after it.
    let mut took = t0.elapsed();
    let second = dir.join(format!("{stage}-reference-2"));
    prepare(&second);
    let t1 = Instant::now();
    let o = Command::new(bin()).args(with_out(&second)).output().unwrap();
    assert!(
        o.status.success(),
        "{stage} second reference run failed: {}",
        stderr(&o)
    );
    took = took.min(t1.elapsed());
    compare(&reference, &second);
    std::fs::remove_dir_all(&second).ok();
    let mut killed_midway = 0;
    for i in 0..KILL_POINTS {
        let out = dir.join(format!("{stage}-kill-{i}"));
        prepare(&out);
        let at = took.mul_f64(0.02 + 0.9 * kill_fraction(stage, i));
        let mut child = Command::new(bin())
            .args(with_out(&out))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed_midway += 1;
        }
        child.wait().unwrap();
        let o = Command::new(bin()).args(with_out(&out)).output().unwrap();
        assert!(
            o.status.success(),
            "{stage}: rerun after kill point {i} ({at:?}) failed: {}",
            stderr(&o)
        );
        compare(&reference, &out);
        std::fs::remove_dir_all(&out).ok();
    }
    eprintln!("{stage}: {killed_midway} of {KILL_POINTS} runs killed before they finished; all reruns identical");
    assert!(
        killed_midway > 0,
        "{stage}: no kill landed while the stage ran (reference took {took:?})"
    );
}

fn a(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn no_prepare(_: &Path) {}

#[test]
fn fault_injection_extract_filter_dedup_quality() {
    let dir = scratch("faults");
    let warcs = dir.join("warcs");
    write_warcs(&warcs, 8, 60);
    let jsonl_in = dir.join("jsonl");
    write_jsonl_shards(&jsonl_in, 8, 400);
    let cfg = config(&dir, 12);
    let same = |a: &Path, b: &Path| assert_same_files(a, b);

    fault_inject(
        "extract",
        &dir,
        &strs(&[
            "extract",
            "-i",
            s(&warcs),
            "-o",
            "{out}",
            "--threads",
            "1",
            "--no-progress",
        ]),
        &no_prepare,
        &same,
    );
    fault_inject(
        "filter",
        &dir,
        &strs(&[
            "filter",
            "--config",
            s(&cfg),
            "-i",
            s(&jsonl_in),
            "-o",
            "{out}",
            "--threads",
            "1",
            "--no-progress",
        ]),
        &no_prepare,
        &same,
    );
    fault_inject(
        "dedup-bff",
        &dir,
        &strs(&[
            "dedup",
            "-i",
            s(&jsonl_in),
            "-o",
            "{out}",
            "--threads",
            "1",
            "--no-progress",
        ]),
        &no_prepare,
        &same,
    );
    fault_inject(
        "dedup-minhash",
        &dir,
        &strs(&[
            "dedup",
            "--method",
            "minhash",
            "-i",
            s(&jsonl_in),
            "-o",
            "{out}",
            "--threads",
            "1",
            "--no-progress",
        ]),
        &no_prepare,
        &same,
    );
    // The phases one by one: each killed and rerun on top of the complete earlier phases.
    let minhash_phase = |p: &str| {
        strs(&[
            "dedup",
            "--method",
            "minhash",
            "--phase",
            p,
            "--world-size",
            "2",
            "--rank",
            "0",
            "-i",
            s(&jsonl_in),
            "-o",
            "{out}",
            "--threads",
            "1",
            "--no-progress",
        ])
    };
    let phases_before = |upto: &'static [&'static str]| {
        let jsonl_in = jsonl_in.clone();
        move |out: &Path| {
            for p in upto {
                for rank in ["0", "1"] {
                    let o = run(&[
                        "dedup",
                        "--method",
                        "minhash",
                        "--phase",
                        p,
                        "--world-size",
                        "2",
                        "--rank",
                        rank,
                        "-i",
                        s(&jsonl_in),
                        "-o",
                        s(out),
                        "--no-progress",
                    ]);
                    assert!(o.status.success(), "{}", stderr(&o));
                    if *p == "reduce" {
                        break;
                    }
                }
            }
        }
    };
    fault_inject("minhash-map", &dir, &minhash_phase("map"), &no_prepare, &same);
    let mut reduce = minhash_phase("reduce");
    reduce.retain(|a| a != "--rank" && a != "0" && a != "--world-size" && a != "2");
    fault_inject("minhash-reduce", &dir, &reduce, &phases_before(&["map"]), &same);
    fault_inject(
        "minhash-apply",
        &dir,
        &minhash_phase("apply"),
        &phases_before(&["map", "reduce"]),
        &same,
    );

    let model = train_quality_model(&dir, 60);
    fault_inject(
        "quality",
        &dir,
        &strs(&[
            "quality",
            "--model",
            s(&model),
            "--keep-fraction",
            "0.4",
            "-i",
            s(&jsonl_in),
            "-o",
            "{out}",
            "--threads",
            "1",
            "--no-progress",
        ]),
        &no_prepare,
        &same,
    );
}

#[test]
fn fault_injection_with_inputs_and_config_changed_between_runs() {
    let dir = scratch("faults-changed");
    let input = dir.join("in");
    let shards = write_jsonl_shards(&input, 8, 400);
    let (c12, c30) = (config(&dir, 12), config(&dir, 30));
    let args = |c: &Path, out: &Path, extra: &[&str]| {
        let mut v = strs(&[
            "filter",
            "--config",
            s(c),
            "-i",
            s(&input),
            "-o",
            s(out),
            "--threads",
            "1",
            "--no-progress",
        ]);
        v.extend(strs(extra));
        v
    };
    let t0 = Instant::now();
    ok(&args(&c12, &dir.join("timing"), &[])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let took = t0.elapsed();
    let original = std::fs::read(&shards[3]).unwrap();
    for i in 0..KILL_POINTS {
        std::fs::write(&shards[3], &original).unwrap();
        let out = dir.join(format!("kill-{i}"));
        let mut child = Command::new(bin())
            .args(args(&c12, &out, &[]))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(took.mul_f64(0.05 + 1.1 * kill_fraction("changed", i)));
        let _ = child.kill();
        child.wait().unwrap();
        if i % 2 == 0 {
            // Input changed: the rerun equals a clean run on the new inputs.
            std::fs::write(&shards[3], gz(jsonl(50 + i as usize, 400).as_bytes())).unwrap();
            let o = Command::new(bin()).args(args(&c12, &out, &[])).output().unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
            let clean = dir.join(format!("clean-{i}"));
            ok(&args(&c12, &clean, &[]).iter().map(String::as_str).collect::<Vec<_>>());
            assert_same_files(&clean, &out);
            std::fs::remove_dir_all(&clean).unwrap();
        } else {
            // Config changed: refused while earlier shards exist, then --fresh equals a clean run.
            let o = Command::new(bin()).args(args(&c30, &out, &[])).output().unwrap();
            let had_marker = out.join("_done").exists()
                && std::fs::read_dir(out.join("_done"))
                    .map(|d| d.count() > 0)
                    .unwrap_or(false);
            if o.status.success() {
                assert!(!had_marker || stderr(&o).contains("0 skipped"), "{}", stderr(&o));
            } else {
                assert!(stderr(&o).contains("made with other settings"), "{}", stderr(&o));
            }
            let o = Command::new(bin())
                .args(args(&c30, &out, &["--fresh"]))
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
            let clean = dir.join(format!("clean-{i}"));
            ok(&args(&c30, &clean, &[]).iter().map(String::as_str).collect::<Vec<_>>());
            assert_same_files(&clean, &out);
            std::fs::remove_dir_all(&clean).unwrap();
        }
        std::fs::remove_dir_all(&out).ok();
    }
}

#[test]
fn fault_injection_reduced_baseline_through_tokenize() {
    let dir = scratch("faults-baseline");
    let stage_dirs = ["1-extract", "2-heuristics", "3-dedup", "4-quality", "5-tokenize"];
    fault_inject(
        "baseline",
        &dir,
        &strs(&[
            "baseline",
            "--out",
            "{out}",
            "--to",
            "tokenize",
            "--threads",
            "1",
            "--no-progress",
        ]),
        &no_prepare,
        &|a: &Path, b: &Path| {
            for d in stage_dirs {
                assert_same_files(&a.join(d), &b.join(d));
            }
        },
    );
}
