//! DCLM's page model through the filter stage's `run`: pages whose text lives under another key or is missing,
//! `text` as a list of lines, steps that split a page, and DCLM's small configs (`content_to_text.yaml`,
//! `cc_v3_refinedweb_75b.yaml`, `fasttext_enricher.yaml`) run unchanged.

use dclm_core::RunSummary;
use dclm_filter::{BuildContext, FilterRunConfig, Registry};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn write_shard(path: &Path, pages: &[Value]) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut s = String::new();
    for p in pages {
        s.push_str(&p.to_string());
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
    path.to_path_buf()
}

fn run(dir: &Path, yaml: &str, inputs: Vec<PathBuf>, out: &str, threads: usize) -> RunSummary {
    run_with(dir, yaml, inputs, out, threads, BuildContext::default())
}

fn run_with(dir: &Path, yaml: &str, inputs: Vec<PathBuf>, out: &str, threads: usize, ctx: BuildContext) -> RunSummary {
    let config = dir.join(format!("{out}.yaml"));
    std::fs::write(&config, yaml).unwrap();
    let mut cfg = FilterRunConfig::new(&config, inputs, dir.join(out));
    cfg.executor.progress = false;
    cfg.executor.threads = threads;
    cfg.assets_dir = ctx.assets_dir.clone();
    dclm_filter::run(&cfg, &Registry::dclm(), ctx).unwrap()
}

fn read_out(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// DCLM's `baselines/baselines_configs/content_to_text.yaml`, as shipped.
const CONTENT_TO_TEXT: &str =
    "- source: cc\n  weight: 1.0\n  steps:\n    - func: key_name_modifier\n      old_key: content\n      new_key: text";

#[test]
fn content_to_text_yaml_gives_dclms_pages() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_shard(
        &dir.path().join("in/cc.jsonl"),
        &[
            json!({"content": "Page one.", "url": "http://a"}),
            json!({"text": "kept", "content": "not moved"}),
            json!({"url": "http://b", "metadata": {"k": 1}}),
            json!({"content": ["a", "list"], "n": null}),
        ],
    );
    let s = run(dir.path(), CONTENT_TO_TEXT, vec![input], "out", 1);
    assert!(s.stats.errors.is_empty(), "{:?}", s.stats.errors);
    assert_eq!((s.stats.docs_in, s.stats.docs_out), (4, 4));
    // What DCLM's `page[new_key] = page.pop(old_key)` leaves (key order aside: JSON objects are compared as maps).
    assert_eq!(
        read_out(&dir.path().join("out/cc.jsonl")),
        vec![
            json!({"text": "Page one.", "url": "http://a"}),
            json!({"text": "kept", "content": "not moved"}),
            json!({"url": "http://b", "metadata": {"k": 1}}),
            json!({"text": ["a", "list"], "n": null}),
        ]
    );
}

#[test]
fn metadata_only_pages_pass_url_and_language_filters() {
    let dir = tempfile::tempdir().unwrap();
    let lang = |en: f64| json!({"en": en});
    let input = write_shard(
        &dir.path().join("in/meta.jsonl"),
        &[
            json!({"url": "http://good.example/a", "language_id_whole_page_fasttext": lang(0.9), "score": 0.5}),
            json!({"url": "http://casino.example/b", "language_id_whole_page_fasttext": lang(0.9), "score": 0.5}),
            json!({"url": "http://good.example/c", "language_id_whole_page_fasttext": lang(0.1), "score": 0.5}),
            json!({"metadata": {"WARC-Target-URI": "http://good.example/d"}, "language_id_whole_page_fasttext": lang(0.9), "score": 0.5}),
        ],
    );
    let yaml = "- source: cc\n  steps:\n    - func: url_substring_filter\n      banlist: [casino]\n    - func: language_filter\n      key: language_id_whole_page_fasttext\n      keep_languages: [en]\n      threshold: 0.65\n    - func: quality_filter\n      key: score\n      threshold: 0.1\n";
    let s = run(dir.path(), yaml, vec![input.clone()], "out", 1);
    assert!(s.stats.errors.is_empty(), "{:?}", s.stats.errors);
    assert_eq!(s.stats.steps[0].dropped["banned_url_word"], 1);
    // No `url`: DCLM's `page[URL]` raises, the page is counted as an error of that step.
    assert_eq!(s.stats.steps[0].dropped["error:missing_url"], 1);
    assert_eq!(s.stats.steps[1].dropped["language"], 1);
    let out = read_out(&dir.path().join("out/meta.jsonl"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["url"], "http://good.example/a");
    assert!(out[0].get("text").is_none());

    // A step that reads the text drops such a page under its own name, as DCLM's KeyError does.
    let yaml = "- source: cc\n  steps:\n    - func: move_url_modifier\n    - func: page_length_filter\n      length_type: char\n      min_length: 1\n";
    let input = write_shard(
        &dir.path().join("in2/m.jsonl"),
        &[
            json!({"metadata": {"WARC-Target-URI": "http://x"}}),
            json!({"metadata": {"WARC-Target-URI": "http://y"}, "text": 5}),
            json!({"metadata": {"WARC-Target-URI": "http://z"}, "text": "ok"}),
        ],
    );
    let s = run(dir.path(), yaml, vec![input], "out2", 1);
    assert!(s.stats.errors.is_empty());
    assert_eq!(s.stats.steps[0].docs_out, 3);
    assert_eq!(s.stats.steps[1].dropped["error:missing_text"], 1);
    assert_eq!(s.stats.steps[1].dropped["error:text_not_string"], 1);
    assert_eq!(s.stats.docs_out, 1);
}

#[test]
fn text_as_a_list_of_lines_flows_from_split_to_join() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_shard(
        &dir.path().join("in/l.jsonl"),
        &[
            json!({"text": "Shared line\nown one"}),
            json!({"text": "shared LINE \nfresh"}),
            json!({"text": ["already", "a list"]}),
        ],
    );
    let yaml = "- source: cc\n  steps:\n    - func: split_lines_modifier\n      delimiter: \"\\n\"\n    - func: exact_dedup\n      content_key: text\n      normalize: normalize_whitespace_and_lowercase\n    - func: join_lines_modifier\n      delimiter: \"\\n\"\n";
    let s = run(dir.path(), yaml, vec![input.clone()], "out", 1);
    assert!(s.stats.errors.is_empty());
    let texts: Vec<Value> = read_out(&dir.path().join("out/l.jsonl"))
        .into_iter()
        .map(|p| p["text"].clone())
        .collect();
    assert_eq!(
        texts,
        vec![json!("Shared line\nown one"), json!("fresh"), json!("already\na list")]
    );
    // Without the join, the list is written as a list.
    let yaml = "- source: cc\n  steps:\n    - func: split_lines_modifier\n";
    run(dir.path(), yaml, vec![input], "split", 1);
    assert_eq!(
        read_out(&dir.path().join("split/l.jsonl"))[0]["text"],
        json!(["Shared line", "own one"])
    );
}

#[test]
fn random_sampling_yaml_keeps_the_same_pages_for_any_threads_and_shards() {
    // DCLM's `baselines/baselines_configs/cc_v3_refinedweb_75b.yaml`, as shipped.
    let yaml = "- source: cc_v3\n  steps:\n    - func: random_sampling_filter\n      keep_probability: 0.5\n";
    let dir = tempfile::tempdir().unwrap();
    let pages: Vec<Value> = (0..2000)
        .map(|i| json!({"text": format!("page {i}"), "id": i}))
        .collect();
    let one = write_shard(&dir.path().join("one/all.jsonl"), &pages);
    let a = write_shard(&dir.path().join("two/b.jsonl"), &pages[..700]);
    let b = write_shard(&dir.path().join("two/a.jsonl"), &pages[700..]);
    let ids = |out: &Path, names: &[&str]| -> Vec<i64> {
        let mut v: Vec<i64> = names
            .iter()
            .flat_map(|n| read_out(&out.join(n)))
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        v.sort_unstable();
        v
    };
    let s = run(dir.path(), yaml, vec![one.clone()], "o1", 1);
    let kept = ids(&dir.path().join("o1"), &["all.jsonl"]);
    // Binomial(2000, 0.5): 5 sigma is about 112.
    assert!((888..=1112).contains(&kept.len()), "{}", kept.len());
    assert_eq!(s.stats.steps[0].dropped["not_sampled"] as usize, 2000 - kept.len());
    run(dir.path(), yaml, vec![one], "o2", 3);
    assert_eq!(ids(&dir.path().join("o2"), &["all.jsonl"]), kept);
    run(dir.path(), yaml, vec![b, a], "o3", 2);
    assert_eq!(ids(&dir.path().join("o3"), &["a.jsonl", "b.jsonl"]), kept);
    // Another seed keeps another subset.
    let seeded =
        "- source: cc_v3\n  steps:\n    - func: random_sampling_filter\n      keep_probability: 0.5\n      seed: 1\n";
    run(dir.path(), seeded, vec![dir.path().join("one/all.jsonl")], "o4", 1);
    assert_ne!(ids(&dir.path().join("o4"), &["all.jsonl"]), kept);
}

#[test]
fn repo_splitter_writes_every_chunk_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<Value> = (0..5)
        .map(|i| json!({"filename": format!("f{i}.py"), "text": format!("x = {i}")}))
        .collect();
    let input = write_shard(
        &dir.path().join("in/r.jsonl"),
        &[
            json!({"repo_name": "big", "files": files}),
            json!({"repo_name": "small", "files": [files[0].clone()]}),
        ],
    );
    let yaml = "- source: code\n  steps:\n    - func: starcoder_v2_repo_splitter\n      max_files: 2\n    - func: starcoder_v2_format_modifier\n      add_metadata_prob: 0\n    - func: page_length_filter\n      length_type: char\n      min_length: 1\n";
    let s = run(dir.path(), yaml, vec![input], "out", 2);
    assert_eq!((s.stats.docs_in, s.stats.docs_out), (2, 4));
    assert_eq!((s.stats.steps[0].docs_in, s.stats.steps[0].docs_out), (2, 4));
    assert_eq!(s.stats.steps[1].docs_in, 4);
    let texts: Vec<String> = read_out(&dir.path().join("out/r.jsonl"))
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        texts,
        vec![
            "<file_sep>x = 0<file_sep>x = 1",
            "<file_sep>x = 2<file_sep>x = 3",
            "<file_sep>x = 4",
            "<file_sep>x = 0"
        ]
    );
}

#[test]
fn fasttext_enricher_yaml_runs_unchanged() {
    let Some(model) = dclm_core::testdata::shared(
        "conformance/fasttext/bigram.bin",
        "fasttext_enricher_yaml_runs_unchanged",
    ) else {
        return;
    };
    // DCLM's `baselines/baselines_configs/fasttext_enricher.yaml`, as shipped; its model file name is a
    // placeholder, so a shared classifier is put under that name.
    let yaml = "- source: cc\n  steps:\n    - func: classify_fasttext_hq_prob_enricher\n      model_filename: fasttext_oh_eli5.bin\n      key: fasttext_oh_eli5_vs_rw_v2_prob";
    let dir = tempfile::tempdir().unwrap();
    let models = dir
        .path()
        .join("assets/baselines/mappers/enrichers/quality_prediction_enrichment_models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::copy(&model, models.join("fasttext_oh_eli5.bin")).unwrap();
    let input = write_shard(
        &dir.path().join("in/q.jsonl"),
        &[
            json!({"text": "A well written explanation of photosynthesis."}),
            json!({"url": "no text"}),
        ],
    );
    let s = run_with(
        dir.path(),
        yaml,
        vec![input],
        "out",
        1,
        BuildContext::new(dir.path().join("assets")),
    );
    let out = read_out(&dir.path().join("out/q.jsonl"));
    assert_eq!(out.len(), 1);
    let p = out[0]["fasttext_oh_eli5_vs_rw_v2_prob"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(s.stats.steps[0].dropped["error:missing_text"], 1);
}
