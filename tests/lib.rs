//! dclm-tests: end-to-end tests (in `tests/e2e.rs`) and [`output_digests`], the fingerprint of a baseline run's
//! data outputs that the byte-identity tests compare against `tests/golden/`.

use std::collections::BTreeMap;
use std::path::Path;

/// Content hashes (xxh3-128, hex) of every data output of a baseline run folder, keyed by path relative to it:
/// document shards, token shards and manifest, the quality classifier and threshold, the trained model — and
/// the eval accuracies as `eval:<task>` (their file also holds timings). Markers, stats, logs, reports and the
/// embedded inputs are left out: they record times or restate the inputs.
pub fn output_digests(run: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![run.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if path.is_dir() {
                if !(name.starts_with('_') || name == "embedded" || name.starts_with("checkpoint")) {
                    stack.push(path);
                }
                continue;
            }
            let data = [".jsonl", ".jsonl.gz", ".jsonl.zst", ".tar", ".safetensors", ".bin"]
                .iter()
                .any(|s| name.ends_with(s))
                || name == "quality_threshold.json";
            let rel = path.strip_prefix(run).unwrap_or(&path).to_string_lossy().into_owned();
            if data && name != "train_log.jsonl" {
                let bytes = std::fs::read(&path)?;
                out.insert(rel, format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes)));
            } else if name == "eval_results.json" {
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
                for t in v["tasks"].as_array().into_iter().flatten() {
                    let label = t["label"].as_str().unwrap_or_default();
                    out.insert(format!("eval:{label}"), t["accuracy"].to_string());
                }
            }
        }
    }
    Ok(out)
}
