//! Acceptance tests of decontamination: precision/recall on a fixture built from the shared eval
//! task files and clean web documents, the shard `run` (annotate / remove / report), a Bloom index, and
//! mixing (realized proportions within 0.5% of the spec, same seed → identical output).

use dclm_core::Document;
use dclm_decontam::decontam::{self, Action, DecontamConfig, Decontaminator, RunConfig};
use dclm_decontam::index::{prompt_texts, tasks_in_dir, EvalIndex, EvalTask, IndexConfig, IndexKind, UNATTRIBUTED};
use dclm_decontam::mix::{run_mix, MixSpec, TokenCounter, WhitespaceCounter};
use dclm_decontam::ngram::normalized_tokens;
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Tasks of every LLM-Foundry format (the full suite runs with DCLM_SLOW_TESTS=1).
const FAST_TASKS: &[&str] = &[
    "world_knowledge/arc_easy",
    "language_understanding/winogrande",
    "language_understanding/lambada_openai",
    "world_knowledge/triviaqa_sm_sub",
    "symbolic_problem_solving/gsm8k",
    "programming/human_eval",
    "reading_comprehension/boolq",
    "commonsense_reasoning/copa",
];

fn slow() -> bool {
    std::env::var("DCLM_SLOW_TESTS").is_ok_and(|v| v == "1")
}

/// Sentence punctuation: what light editing (scraping, reformatting) adds, drops or spaces out.
const SENTENCE_PUNCT: &[char] = &[',', '.', ';', ':', '!', '?', '"'];

/// Deterministic perturbations of an eval text embedded in a training document: `(kind, heavy, doc)`.
/// Light ones change case, whitespace, sentence punctuation, surrounding text or one word; heavy ones strip
/// every ASCII punctuation mark (splitting contractions like `it's` → `it s` and math like `16-3=13`).
fn perturbations(text: &str, i: usize) -> Vec<(String, bool, String)> {
    let intro = "Posted by admin on March 3. Here is something I found interesting today:";
    let outro = "Let me know what you think in the comments below. Share this post!";
    let replace = |f: &dyn Fn(char) -> bool, by: &str| -> String {
        text.chars()
            .map(|c| if f(c) { by.to_string() } else { c.to_string() })
            .collect()
    };
    let sentence = |c: char| SENTENCE_PUNCT.contains(&c);
    let any = |c: char| c.is_ascii_punctuation();
    let mut v = vec![
        ("verbatim".to_string(), false, format!("{intro}\n{text}\n{outro}")),
        (
            "upper".into(),
            false,
            format!("{intro} {} {outro}", text.to_uppercase()),
        ),
        ("lower".into(), false, format!("{intro} {}", text.to_lowercase())),
        (
            "sentence_punct_spaced".into(),
            false,
            format!("{} {outro}", replace(&sentence, " ")),
        ),
        (
            "sentence_punct_deleted".into(),
            false,
            format!("{intro} {}", replace(&sentence, "")),
        ),
        (
            "reflowed".into(),
            false,
            format!(
                "{intro}\n\n{}\n",
                text.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(if i % 2 == 0 { "\n" } else { "  " })
            ),
        ),
        (
            "all_punct_spaced".into(),
            true,
            format!("{} {outro}", replace(&any, " ")),
        ),
        (
            "all_punct_deleted".into(),
            true,
            format!("{intro} {}", replace(&any, "")),
        ),
    ];
    // One word replaced in the middle: n-grams on either side survive when the text is long enough.
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() >= 30 {
        let mut w = words.clone();
        let mid = w.len() / 2;
        w[mid] = "banana";
        v.push(("word_swap".into(), false, format!("{intro} {} {outro}", w.join(" "))));
    }
    v
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    let f = std::fs::File::open(path).unwrap();
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect()
}

#[test]
fn decontamination_precision_recall_on_eval_fixture() {
    let Some(eval_dir) = dclm_core::testdata::shared("data/eval/local_data", "decontamination_precision_recall") else {
        return;
    };
    let Some(quality) = dclm_core::testdata::shared("data/quality", "decontamination_precision_recall") else {
        return;
    };
    let all = tasks_in_dir(&eval_dir).unwrap();
    let tasks: Vec<EvalTask> = if slow() {
        all
    } else {
        all.into_iter()
            .filter(|t| FAST_TASKS.contains(&t.name.as_str()))
            .collect()
    };
    assert!(!tasks.is_empty());
    let index = EvalIndex::build(&tasks, &IndexConfig::default()).unwrap();
    let dec = Decontaminator::new(&index, DecontamConfig::default());

    // Positives: 10 items per task spread over the file, each embedded in every perturbation.
    // Found / missed, for light [0] and heavy [1] perturbations.
    let (mut found, mut missed, mut wrong_task) = ([0u64; 2], [0u64; 2], 0u64);
    let mut misses = Vec::new();
    for task in &tasks {
        let items = read_jsonl(&task.path);
        let step = (items.len() / 10).max(1);
        for (k, item) in items.iter().step_by(step).take(10).enumerate() {
            // The longest prompt text of the item; items shorter than n + 2 tokens cannot be found at n = 13.
            let Some(text) = prompt_texts(item)
                .into_iter()
                .max_by_key(|t| normalized_tokens(t, index.hasher()).len())
                .filter(|t| normalized_tokens(t, index.hasher()).len() >= 15)
            else {
                continue;
            };
            for (kind, heavy, doc) in perturbations(&text, k) {
                let ov = dec.scan(&doc);
                if ov.matched > 0 {
                    found[heavy as usize] += 1;
                    wrong_task += !ov.per_task.contains_key(&task.name) as u64;
                } else {
                    missed[heavy as usize] += 1;
                    misses.push(format!("{} #{k} {kind}", task.name));
                }
            }
        }
    }
    // Negatives: real web documents from the quality-classifier data.
    let (mut fp, mut tn) = (0u64, 0u64);
    let mut false_hits = Vec::new();
    for f in ["dclm-agreement-data.jsonl", "dclm-majority-data.jsonl"] {
        for v in read_jsonl(&quality.join(f)) {
            let text = v.get("text").and_then(Value::as_str).unwrap_or_default();
            let ov = dec.scan(text);
            if ov.matched > 0 {
                fp += 1;
                false_hits.push(format!("{:?} {:?}", ov.per_task, ov.first_span.map(|r| &text[r])));
            } else {
                tn += 1;
            }
        }
    }
    let tp = found[0] + found[1];
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = |i: usize| found[i] as f64 / (found[i] + missed[i]).max(1) as f64;
    let (light, heavy) = (recall(0), recall(1));
    eprintln!(
        "decontamination fixture ({} tasks, {} index n-grams): light found {} missed {}, heavy found {} missed {}, \
         clean flagged {fp} of {}; precision {precision:.4}, recall light {light:.4} heavy {heavy:.4}; \
         attributed to another task only: {wrong_task}; misses {misses:?}; clean docs flagged {false_hits:?}",
        tasks.len(),
        index.distinct_ngrams(),
        found[0],
        missed[0],
        found[1],
        missed[1],
        fp + tn
    );
    assert!(found[0] >= 300, "fixture too small: {found:?}");
    assert!(light >= 0.99, "recall on lightly perturbed items {light}: {misses:?}");
    assert!(
        heavy >= 0.95,
        "recall with all punctuation stripped {heavy}: {misses:?}"
    );
    assert!(precision >= 0.99, "precision {precision}: {false_hits:?}");
    assert_eq!(wrong_task, 0);
    assert!(tn >= 700);
}

fn tiny_index(dir: &Path, kind: IndexKind) -> EvalIndex {
    std::fs::create_dir_all(dir.join("wk")).unwrap();
    std::fs::write(
        dir.join("wk/arc.jsonl"),
        r#"{"query": "Question: Which of these is the main source of energy for the water cycle on Earth?", "choices": ["the Sun", "the wind"], "gold": 0}
{"query": "Question: A student mixes baking soda and vinegar in a cup and sees bubbles form quickly. What did the student observe?", "choices": ["a chemical reaction", "melting"], "gold": 0}
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("wk/lambada.jsonl"),
        r#"{"context": "He walked down the long corridor slowly, counting every door he passed until he finally reached the one marked with a red", "continuation": "star"}
"#,
    )
    .unwrap();
    EvalIndex::build(&tasks_in_dir(dir).unwrap(), &IndexConfig { ngram_size: 13, kind }).unwrap()
}

fn write_shard(path: &Path, texts: &[&str]) {
    let docs: Vec<Document> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Document::with_url(*t, format!("https://example.com/{i}")))
        .collect();
    dclm_core::io::write_all(path, &docs).unwrap();
}

const CLEAN: &str = "The weather was nice today and we went for a long walk along the river with the dog.";
const DIRTY: &str =
    "Quiz!\nWHICH of these is the main source of energy for the water-cycle on earth? The Sun.\nGood luck to all.";

#[test]
fn run_annotates_removes_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let index = tiny_index(&dir.path().join("eval"), IndexKind::Exact);
    let input = dir.path().join("in/shard.jsonl");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    let texts = [CLEAN, DIRTY, DIRTY, CLEAN, DIRTY, DIRTY];
    write_shard(&input, &texts);

    let out = dir.path().join("annot");
    let s = decontam::run(
        &RunConfig::new(DecontamConfig::default(), &out),
        &index,
        std::slice::from_ref(&input),
    )
    .unwrap();
    assert!(s.run.is_clean());
    let (docs, errs) = dclm_core::io::read_all(out.join("shard.jsonl")).unwrap();
    assert!(errs.is_empty());
    assert_eq!(docs.len(), 6);
    assert!(docs[0].get("decontam_overlap").is_none());
    assert!(docs[1].get("decontam_overlap").unwrap()["wk/arc"].as_u64().unwrap() >= 1);
    let report: Value = serde_json::from_slice(&std::fs::read(out.join("decontam_report.json")).unwrap()).unwrap();
    let arc = &report["tasks"]["wk/arc"];
    assert_eq!(arc["docs"], 4);
    let ex = arc["examples"].as_array().unwrap();
    assert_eq!(ex.len(), 3);
    assert_eq!(
        ex.iter().map(|e| e["line"].as_u64().unwrap()).collect::<Vec<_>>(),
        [2, 3, 5]
    );
    assert!(
        ex[0]["snippet"].as_str().unwrap().starts_with("WHICH of these"),
        "{}",
        ex[0]
    );
    assert!(report["tasks"].get("wk/lambada").is_none());
    assert_eq!(report["docs_contaminated"], 4);

    let cfg = DecontamConfig {
        action: Action::RemoveDocument,
        ..Default::default()
    };
    let out = dir.path().join("doc");
    let s = decontam::run(&RunConfig::new(cfg, &out), &index, std::slice::from_ref(&input)).unwrap();
    assert_eq!(s.run.stats.docs_out, 2);
    assert_eq!(s.report.docs_removed, 4);
    assert_eq!(s.run.stats.steps[0].dropped["eval_overlap"], 4);

    let cfg = DecontamConfig {
        action: Action::RemoveParagraph,
        ..Default::default()
    };
    let out = dir.path().join("para");
    let s = decontam::run(&RunConfig::new(cfg, &out), &index, &[input]).unwrap();
    let (docs, _) = dclm_core::io::read_all(out.join("shard.jsonl")).unwrap();
    assert_eq!(docs.len(), 6);
    assert_eq!(docs[1].text, "Quiz!\nGood luck to all.");
    assert_eq!(s.report.paragraphs_removed, 4);
    assert!(s.report.tasks["wk/arc"].examples[0].snippet.starts_with("WHICH"));
}

#[test]
fn bloom_index_flags_without_attribution_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let index = tiny_index(&dir.path().join("eval"), IndexKind::Bloom { fp_rate: 1e-6 });
    assert!(index.is_bloom());
    let path = dir.path().join("eval.bloom");
    index.save_bloom(&path).unwrap();
    let loaded = EvalIndex::load_bloom(&path, None).unwrap();
    for idx in [&index, &loaded] {
        let dec = Decontaminator::new(idx, DecontamConfig::default());
        let ov = dec.scan(DIRTY);
        assert!(ov.matched >= 1);
        assert_eq!(ov.per_task.keys().collect::<Vec<_>>(), [UNATTRIBUTED]);
        assert_eq!(dec.scan(CLEAN).matched, 0);
        assert_eq!(
            dec.scan("he walked down the long corridor slowly counting every door he passed until")
                .matched,
            1
        );
    }
    let exact = tiny_index(&dir.path().join("eval2"), IndexKind::Exact);
    assert!(exact.save_bloom(&path).is_err());
}

// ---------------------------------------------------------------- mixing

/// Three sources of documents with varied lengths (a fixed LCG, so the fixture is the same everywhere).
fn mix_fixture(root: &Path) {
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    for (src, shards, docs, maxlen) in [("web", 3, 400, 300), ("code", 2, 150, 120), ("math", 1, 60, 80)] {
        std::fs::create_dir_all(root.join(src)).unwrap();
        for s in 0..shards {
            let texts: Vec<String> = (0..docs)
                .map(|d| {
                    let n = 5 + next() % maxlen;
                    (0..n)
                        .map(|w| format!("{src}{s}x{d}w{w}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            write_shard(&root.join(format!("{src}/{s:02}.jsonl")), &refs);
        }
    }
}

fn outputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                v.push((p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap()));
            }
        }
    }
    v.sort();
    v
}

/// Tokens of every output document of each source, recounted from the files.
fn recount(out: &Path, sources: &[&str], counter: &dyn TokenCounter) -> Vec<u64> {
    sources
        .iter()
        .map(|s| {
            outputs(&out.join(s))
                .iter()
                .flat_map(|(_, bytes)| {
                    bytes
                        .split(|&b| b == b'\n')
                        .filter(|l| !l.is_empty())
                        .map(|l| l.to_vec())
                        .collect::<Vec<_>>()
                })
                .map(|l| counter.count(&Document::from_json_line(std::str::from_utf8(&l).unwrap()).unwrap().text))
                .sum()
        })
        .collect()
}

#[test]
fn mix_realizes_proportions_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    mix_fixture(dir.path());
    // web is subsampled (< 1 epoch), code and math are upsampled (several epochs).
    let yaml = "seed: 42\ntotal_tokens: 240000\nsources:\n\
                - {name: web, inputs: [web/], weight: 0.6}\n\
                - {name: code, inputs: ['code/*.jsonl'], weight: 0.25}\n\
                - {name: math, inputs: [math/00.jsonl], tokens: 36000}\n";
    let spec_path = dir.path().join("mix.yaml");
    std::fs::write(&spec_path, yaml).unwrap();
    let spec = MixSpec::load(&spec_path).unwrap();
    let names = ["web", "code", "math"];
    let want = [0.6, 0.25, 0.15];

    let a = run_mix(&spec, &dir.path().join("a"), &WhitespaceCounter).unwrap();
    let tokens = recount(&dir.path().join("a"), &names, &WhitespaceCounter);
    let total: u64 = tokens.iter().sum();
    for (i, s) in a.sources.iter().enumerate() {
        let share = tokens[i] as f64 / total as f64;
        eprintln!(
            "{}: target share {:.4} realized {:.4} (manifest {:.4}), epochs target {:.3} realized {:.3} ({} full + {} docs)",
            s.name, want[i], share, s.realized_share, s.epochs_target, s.epochs_realized, s.full_epochs, s.partial_epoch_docs
        );
        assert_eq!(tokens[i], s.realized_tokens);
        assert!((share - want[i]).abs() <= 0.005, "{}: {share} vs {}", s.name, want[i]);
        assert!((s.target_share - want[i]).abs() < 1e-9);
    }
    assert!(a.max_share_error <= 0.005);
    assert!((total as f64 / 240000.0 - 1.0).abs() <= 0.005);
    assert_eq!(a.sources[0].full_epochs, 0);
    assert!(a.sources[1].full_epochs >= 2);
    assert!(a.sources[2].full_epochs >= 5);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("a/mix_manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["spec"]["seed"], 42);
    assert_eq!(manifest["sources"][1]["full_epochs"], a.sources[1].full_epochs);

    // Same seed → identical bytes; another seed → another partial epoch with the same proportions.
    run_mix(&spec, &dir.path().join("b"), &WhitespaceCounter).unwrap();
    assert_eq!(outputs(&dir.path().join("a")), outputs(&dir.path().join("b")));
    assert_eq!(
        std::fs::read(dir.path().join("a/mix_manifest.json")).unwrap(),
        std::fs::read(dir.path().join("b/mix_manifest.json")).unwrap()
    );
    assert!(dir.path().join("a").join(&a.sources[1].outputs[0]).is_file());
    let mut other = spec.clone();
    other.seed = 43;
    let c = run_mix(&other, &dir.path().join("c"), &WhitespaceCounter).unwrap();
    assert_ne!(outputs(&dir.path().join("a")), outputs(&dir.path().join("c")));
    assert!(c.max_share_error <= 0.005);

    // A pluggable counter (here: characters / 4, as a tokenizer stand-in) drives the budget.
    let chars = |t: &str| (t.len() as u64).div_ceil(4);
    let d = run_mix(&spec, &dir.path().join("d"), &chars).unwrap();
    let tokens = recount(&dir.path().join("d"), &names, &chars);
    let total: u64 = tokens.iter().sum();
    for (i, s) in d.sources.iter().enumerate() {
        assert!(
            (tokens[i] as f64 / total as f64 - s.target_share).abs() <= 0.005,
            "{}",
            s.name
        );
    }
    assert_eq!(d.token_counter, "custom");
}

#[test]
fn mix_rejects_sources_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.jsonl"), "").unwrap();
    let spec: MixSpec = serde_yaml_ng::from_str(&format!(
        "seed: 1\ntotal_tokens: 10\nsources:\n- {{name: e, inputs: ['{}'], weight: 1}}\n",
        dir.path().join("empty.jsonl").display()
    ))
    .unwrap();
    let e = run_mix(&spec, &dir.path().join("o"), &WhitespaceCounter)
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"e\"") && e.contains("no tokens"), "{e}");
}
