//! A user-written filter, registered under its own `func` name and run from a DCLM-style YAML config next
//! to DCLM's built-in steps, over a JSONL shard through `dclm_filter::run` (the same entry point
//! `cargo xtask filter` uses).
//!
//! Run: `cargo run -p dclm-filter --example custom_filter`

use dclm_core::{Document, Verdict};
use dclm_filter::{BuildContext, Filter, FilterRunConfig, Params, Registry};

/// Drops pages that mention any of a configurable list of words (case-insensitive).
struct MentionsFilter {
    words: Vec<String>,
}

impl Filter for MentionsFilter {
    fn name(&self) -> &str {
        "mentions_filter"
    }
    fn check(&self, doc: &Document) -> Verdict {
        let text = doc.text.to_lowercase();
        Verdict::keep_if(
            !self.words.iter().any(|w| text.contains(w.as_str())),
            "mentions_banned_word",
        )
    }
}

/// The constructor a config line `- func: mentions_filter` calls; `words:` is its one parameter.
fn mentions_filter(p: &Params<'_>, _: &BuildContext) -> dclm_filter::Result<MentionsFilter> {
    p.allow_only(&["words"])?;
    let words = p
        .str_list_opt("words")?
        .ok_or_else(|| p.err("words", "required: a list of words"))?;
    Ok(MentionsFilter {
        words: words.iter().map(|w| w.to_lowercase()).collect(),
    })
}

const CONFIG: &str = r#"
- source: cc
  steps:
    - func: move_url_modifier
    - func: mentions_filter
      words: [casino, lottery]
    - func: newline_removal_modifier
      max_consecutive: 2
    - func: stop_word_filter
      min_stop_word: 2
    - func: massive_web_repetition_filters
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("my_pipeline.yaml");
    std::fs::write(&config, CONFIG)?;
    let input = dir.path().join("in/shard-0.jsonl");
    std::fs::create_dir_all(input.parent().unwrap())?;
    let docs = [
        ("Win big at the casino tonight and the next night.", "http://a.example/"),
        (
            "A river runs to a wide sea, and the wind is cold.\n\n\n\nThat is the end of this story.",
            "http://b.example/",
        ),
        ("no stop words here at all", "http://c.example/"),
    ];
    let mut lines = String::new();
    for (text, url) in docs {
        lines.push_str(&serde_json::json!({"text": text, "metadata": {"WARC-Target-URI": url}}).to_string());
        lines.push('\n');
    }
    std::fs::write(&input, lines)?;

    let mut registry = Registry::dclm();
    registry.register_filter("mentions_filter", mentions_filter);

    let mut cfg = FilterRunConfig::new(&config, vec![input], dir.path().join("out"));
    cfg.executor.progress = false;
    let summary = dclm_filter::run(&cfg, &registry, BuildContext::default())?;
    for s in &summary.stats.steps {
        println!(
            "{:36} in {:2} out {:2} dropped {:?}",
            s.name, s.docs_in, s.docs_out, s.dropped
        );
    }
    let out = std::fs::read_to_string(dir.path().join("out/shard-0.jsonl"))?;
    print!("{out}");
    assert_eq!(summary.stats.docs_out, 1);
    assert_eq!(summary.stats.steps[1].dropped["mentions_banned_word"], 1);
    Ok(())
}
