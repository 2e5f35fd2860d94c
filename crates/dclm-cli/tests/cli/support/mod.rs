//! Helpers shared by the `dclm` integration tests that compare a distributed run with a local one.

use std::path::Path;

/// Output files that must be identical: data shards, dedup signature files and drop set (not `_done/`
/// markers, stats and reports — `stats*.json`, `*_report.json`, `filter_steps.json`, a baseline stage's
/// `_stage.json` — which hold timings and per-rank counters, nor the experiment records under `exp_data/`,
/// which hold UUIDs, dates and command lines), as (relative path, bytes), sorted.
pub(crate) fn data_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "_done" && name != "exp_data" {
                    walk(root, &p, out);
                }
            } else if !(name.starts_with("stats")
                || name.ends_with("_report.json")
                || name == "filter_steps.json"
                || name == "_stage.json")
            {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The data files of `a` and `b` (see [`data_files`]) have the same names and bytes, and there are some.
pub(crate) fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (data_files(a), data_files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb), "{} vs {}", a.display(), b.display());
    assert!(!fa.is_empty(), "no output files in {}", a.display());
    for ((n, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{n} differs between {} and {}", a.display(), b.display());
    }
}
