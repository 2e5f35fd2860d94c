//! `dclm dedup --phase map|reduce|apply` over several ranks writes the same files, byte for byte, as
//! `--phase all` in one process (MinHash and exact), and the phases refuse to run out of order.

use crate::support::assert_same_files;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dclm(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dclm"))
        .args(args)
        .output()
        .expect("running dclm")
}

fn ok(args: &[&str]) {
    let out = dclm(args);
    assert!(
        out.status.success(),
        "dclm {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dedup_phases-{name}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Five shards of documents with exact and near duplicates across shards.
fn write_inputs(dir: &Path) {
    let words = [
        "river", "stone", "cloud", "maple", "harbor", "lantern", "meadow", "copper", "violet", "thunder", "saddle",
        "orchid", "glacier", "pepper", "falcon", "willow",
    ];
    let doc = |seed: usize, variant: usize| -> String {
        let mut text: Vec<String> = (0..60)
            .map(|i| words[(seed * 7 + i * (seed % 5 + 1) + i / 3) % words.len()].to_string())
            .collect();
        if variant > 0 {
            text[59] = format!("tail{variant}");
        }
        text.join(" ")
    };
    for shard in 0..5 {
        let sub = if shard % 2 == 0 { dir.join("a") } else { dir.join("b") };
        std::fs::create_dir_all(&sub).unwrap();
        let mut lines = String::new();
        for i in 0..12 {
            let seed = (shard * 5 + i) % 17;
            let text = doc(seed, (shard + i) % 3);
            lines.push_str(&format!(
                "{{\"text\":{},\"url\":\"https://example.com/{shard}/{i}\",\"id\":\"{shard}-{i}\"}}\n",
                serde_json::to_string(&text).unwrap()
            ));
        }
        std::fs::write(sub.join(format!("part-{shard}.jsonl")), lines).unwrap();
    }
}

fn phases_equal_all(method: &str, world: usize) {
    let tmp = scratch(&format!("{method}-{world}"));
    let input = tmp.join("in");
    write_inputs(&input);
    let inp = input.to_str().unwrap();
    let all = tmp.join("all");
    ok(&[
        "dedup",
        "--method",
        method,
        "-i",
        inp,
        "-o",
        all.to_str().unwrap(),
        "--no-progress",
    ]);
    let multi = tmp.join("multi");
    let m = multi.to_str().unwrap();
    let w = world.to_string();
    for rank in 0..world {
        let r = rank.to_string();
        ok(&[
            "dedup",
            "--method",
            method,
            "--phase",
            "map",
            "-i",
            inp,
            "-o",
            m,
            "--rank",
            &r,
            "--world-size",
            &w,
        ]);
    }
    ok(&["dedup", "--method", method, "--phase", "reduce", "-i", inp, "-o", m]);
    for rank in 0..world {
        let r = rank.to_string();
        ok(&[
            "dedup",
            "--method",
            method,
            "--phase",
            "apply",
            "-i",
            inp,
            "-o",
            m,
            "--rank",
            &r,
            "--world-size",
            &w,
        ]);
    }
    assert_same_files(&all, &multi);
    // The input really had duplicates, so the equality says something.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(multi.join("dedup_report.json")).unwrap()).unwrap();
    assert!(report["docs_removed"].as_u64().unwrap() > 0, "{report}");
    let stats: Vec<serde_json::Value> = (0..world)
        .map(|r| {
            let p = multi.join(format!("stats.rank-{r}-of-{world}.json"));
            serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
        })
        .collect();
    let out: u64 = stats.iter().map(|s| s["docs_out"].as_u64().unwrap()).sum();
    let single: serde_json::Value = serde_json::from_slice(&std::fs::read(all.join("stats.json")).unwrap()).unwrap();
    assert_eq!(out, single["docs_out"].as_u64().unwrap());
    assert_eq!(
        report["docs_removed"].as_u64().unwrap(),
        single["docs_in"].as_u64().unwrap() - out
    );
}

#[test]
fn minhash_map_reduce_apply_over_two_ranks_equals_one_process() {
    phases_equal_all("minhash", 2);
}

#[test]
fn minhash_over_three_ranks_equals_one_process() {
    phases_equal_all("minhash", 3);
}

#[test]
fn exact_over_two_ranks_equals_one_process() {
    phases_equal_all("exact", 2);
}

#[test]
fn phases_refuse_to_run_out_of_order() {
    let tmp = scratch("order");
    let input = tmp.join("in");
    write_inputs(&input);
    let inp = input.to_str().unwrap();
    let o = tmp.join("out");
    let o = o.to_str().unwrap();
    // Apply before reduce: no drop set.
    let out = dclm(&["dedup", "--method", "minhash", "--phase", "apply", "-i", inp, "-o", o]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run the reduce phase first"));
    // Reduce with rank 1's signatures missing names the missing shard.
    ok(&[
        "dedup",
        "--method",
        "minhash",
        "--phase",
        "map",
        "-i",
        inp,
        "-o",
        o,
        "--rank",
        "0",
        "--world-size",
        "2",
    ]);
    let out = dclm(&["dedup", "--method", "minhash", "--phase", "reduce", "-i", inp, "-o", o]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("2 of 5 input shards have no signature file"), "{err}");
    assert!(err.contains("a/part-2.jsonl"), "{err}"); // sorted: a/0, a/2, a/4, b/1, b/3; rank 1 has a/2, b/1
                                                      // A rerun of a map skips the shards whose signatures are up to date.
    let out = dclm(&[
        "dedup",
        "--method",
        "minhash",
        "--phase",
        "map",
        "-i",
        inp,
        "-o",
        o,
        "--rank",
        "0",
        "--world-size",
        "2",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 shards signed, 3 skipped"));
    // Several tasks without phases, and BFF with phases, are refused.
    let out = dclm(&[
        "dedup",
        "--method",
        "minhash",
        "-i",
        inp,
        "-o",
        o,
        "--rank",
        "0",
        "--world-size",
        "2",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--phase map on every rank"));
    let out = dclm(&["dedup", "--method", "bff", "--phase", "map", "-i", inp, "-o", o]);
    assert!(!out.status.success());
}
