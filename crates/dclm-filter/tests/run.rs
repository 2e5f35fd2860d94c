//! The `run` entry point over JSONL shards: outputs, `stats.json`, `filter_steps.json`, resume, and config
//! errors raised before any data is read.

use dclm_filter::{BuildContext, FilterError, FilterRunConfig, LoadOptions, Registry};
use std::path::PathBuf;

fn write_input(dir: &std::path::Path) -> PathBuf {
    let input = dir.join("in/a.jsonl");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    let mut s = String::new();
    for (i, t) in [
        "The cat and the dog.\n\n\n\nA second line of the text.",
        "no stop words",
        "ALL CAPS LINE\nthe and of",
    ]
    .iter()
    .enumerate()
    {
        s.push_str(
            &serde_json::json!({"text": t, "metadata": {"WARC-Target-URI": format!("http://x/{i}")}}).to_string(),
        );
        s.push('\n');
    }
    s.push_str("{not json\n");
    std::fs::write(&input, s).unwrap();
    input
}

const CFG: &str = "- source: cc\n  steps:\n    - func: move_url_modifier\n    - func: newline_removal_modifier\n    - func: stop_word_filter\n    - func: uppercase_ratio_line_modifier\n      max_ratio: 0.5\n";

#[test]
fn run_writes_shards_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path());
    let config = dir.path().join("c.yaml");
    std::fs::write(&config, CFG).unwrap();
    let mut cfg = FilterRunConfig::new(&config, vec![input], dir.path().join("out"));
    cfg.executor.progress = false;
    cfg.executor.threads = 1;
    let s = dclm_filter::run(&cfg, &Registry::dclm(), BuildContext::default()).unwrap();
    assert_eq!(s.stats.docs_in, 3);
    assert_eq!(s.stats.docs_out, 2);
    assert_eq!(s.stats.errors["invalid_json"], 1);
    let out = std::fs::read_to_string(dir.path().join("out/a.jsonl")).unwrap();
    let docs: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(docs[0]["text"], "The cat and the dog.\n\nA second line of the text.");
    assert_eq!(docs[0]["url"], "http://x/0");
    assert_eq!(docs[1]["text"], "the and of");
    let steps: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/filter_steps.json")).unwrap()).unwrap();
    assert_eq!(steps["steps"][1]["text_modified"], 1);
    assert_eq!(steps["steps"][2]["dropped"]["stop_words"], 1);
    assert_eq!(steps["steps"][3]["text_modified"], 1);
    assert!(dir.path().join("out/stats.json").is_file());
    // Rerun: the shard is complete and skipped.
    let again = dclm_filter::run(&cfg, &Registry::dclm(), BuildContext::default()).unwrap();
    assert_eq!((again.shards_run, again.shards_skipped), (0, 1));
}

#[test]
fn bad_config_fails_before_reading_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    std::fs::write(
        &config,
        "- source: cc\n  steps:\n    - func: stop_word_filter\n      min_stop_words: 2\n",
    )
    .unwrap();
    // The input does not exist: a config error must come first.
    let cfg = FilterRunConfig::new(&config, vec![dir.path().join("missing.jsonl")], dir.path().join("out"));
    let e = dclm_filter::run(&cfg, &Registry::dclm(), BuildContext::default()).unwrap_err();
    assert!(matches!(e, FilterError::BadParam { .. }), "{e}");
    assert!(
        e.to_string().contains("line 3") && e.to_string().contains("min_stop_word"),
        "{e}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn missing_curated_banlist_is_reported_and_skippable() {
    let Some(configs) =
        dclm_core::testdata::shared("data/dclm/configs", "missing_curated_banlist_is_reported_and_skippable")
    else {
        return;
    };
    let assets = configs.parent().unwrap().parent().unwrap().join("dclm-assets");
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = FilterRunConfig::new(
        configs.join("dclm_baseline_refinedweb.yaml"),
        vec![],
        dir.path().join("out"),
    );
    cfg.assets_dir = assets.clone();
    let e = dclm_filter::run::build(&cfg, &Registry::dclm(), BuildContext::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("step 2") && msg.contains("refinedweb_banned_domains_curated.txt") && msg.contains("skip"),
        "{msg}"
    );
    cfg.load = LoadOptions {
        skip_steps: vec![2],
        ..Default::default()
    };
    let (p, skipped) = dclm_filter::run::build(&cfg, &Registry::dclm(), BuildContext::default()).unwrap();
    assert_eq!(p.len(), 25);
    assert_eq!(skipped, vec!["2:url_substring_filter".to_string()]);
    // refinedweb.yaml builds too (its inline domain banlist is step 3).
    cfg.config = configs.join("refinedweb.yaml");
    let (p, _) = dclm_filter::run::build(&cfg, &Registry::dclm(), BuildContext::default()).unwrap();
    assert_eq!(p.len(), 26);
    // c4.yaml builds up to its LDNOOBW list (step 19), which the shared data lacks: the error names it.
    cfg.config = configs.join("c4.yaml");
    cfg.load = LoadOptions::default();
    let msg = dclm_filter::run::build(&cfg, &Registry::dclm(), BuildContext::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("step 19") && msg.contains("ldnoobw.txt") && msg.contains("LDNOOBW"),
        "{msg}"
    );
}
