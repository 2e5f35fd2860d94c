//! `dclm bench --quick --no-reference`: on the embedded corpus (no shared data needed) it writes bench.json with
//! one measured row per stage and thread count asked for, and a bench.html table; no figure is checked.

use std::path::Path;
use std::process::Command;

const DCLM: &str = env!("CARGO_BIN_EXE_dclm");

#[test]
fn bench_quick_no_reference_writes_json_and_html() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let o = Command::new(DCLM)
        .args([
            "bench",
            "--quick",
            "--no-reference",
            "--rounds",
            "1",
            "--stages",
            "extract,dedup,minhash",
        ])
        .arg("--warc")
        .arg(repo.join("assets/baseline/corpus.warc.gz"))
        .arg("--docs")
        .arg(repo.join("assets/baseline/positives.jsonl"))
        // No shared folder: the stages asked for need only the two inputs given.
        .arg("--shared")
        .arg(dir.path().join("no-shared"))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("running dclm bench");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("| stage | tool |"), "no table printed:\n{stdout}");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bench.json")).expect("bench.json")).unwrap();
    let rows = json["rows"].as_array().expect("rows");
    let two_cores = json["cpus_scaling"].is_array();
    let mut expected: Vec<(String, u64)> = Vec::new();
    for stage in ["extract", "dedup", "minhash"] {
        expected.push((stage.into(), 1));
        if two_cores {
            expected.push((stage.into(), 2));
        }
    }
    let got: Vec<(String, u64)> = rows
        .iter()
        .map(|r| (r["stage"].as_str().unwrap().to_string(), r["threads"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, expected, "rows: {}", serde_json::to_string_pretty(rows).unwrap());
    for r in rows {
        assert_eq!(r["kind"], "ours", "{r}");
        assert_eq!(r["status"], "measured", "{r}");
        assert_eq!(r["rounds"], 1, "{r}");
        for key in [
            "seconds",
            "per_core",
            "mb_per_s_per_core",
            "peak_rss_mib",
            "command",
            "units",
        ] {
            assert!(!r[key].is_null(), "{key} missing in {r}");
        }
        assert!(r["units"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["command"].as_str().unwrap().contains("taskset -c "), "{r}");
    }
    let extract = &rows[0];
    assert_eq!(extract["unit"], "docs");
    assert!(
        extract["tool"].as_str().unwrap().starts_with("dclm extract"),
        "{extract}"
    );

    let html = std::fs::read_to_string(out.join("bench.html")).expect("bench.html");
    assert!(
        html.starts_with("<!doctype html>") && html.contains("<table>"),
        "{html}"
    );
    assert!(
        !html.contains("<script"),
        "bench.html must be self-contained without scripts"
    );
    assert_eq!(
        html.matches("class=\"bar ours\"").count(),
        rows.len(),
        "one bar per row"
    );
}
