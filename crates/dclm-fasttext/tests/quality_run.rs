//! End-to-end run of the quality stage over a small JSONL shard: score key, fixed and top-fraction thresholds,
//! stats and the threshold record.

use dclm_core::testdata::shared;
use dclm_core::{Document, ExecutorConfig};
use dclm_fasttext::quality::{run, QualityConfig, ThresholdMode, ThresholdRecord};

fn write_shard(dir: &std::path::Path) -> std::path::PathBuf {
    let texts = [
        "Please explain how a rainbow forms, step by step.",
        "BUY CHEAP WATCHES click here best price free shipping",
        "The committee met on Tuesday.\nMinutes are attached.",
        "",
        "Write a short story about a dragon who learns to cook.",
        "Home | About | Contact | Login | Register",
    ];
    let docs: Vec<Document> = texts.iter().map(|t| Document::new(*t)).collect();
    let p = dir.join("in").join("shard0.jsonl");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    dclm_core::io::write_all(&p, &docs).unwrap();
    p
}

#[test]
fn run_adds_scores_and_filters() {
    let Some(model) = shared("conformance/fasttext/bigram_e25.bin", "run_adds_scores_and_filters") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let shard = write_shard(tmp.path());
    let scorer = dclm_fasttext::QualityScorer::load(&model).unwrap();

    // Enrich only: every document gets the key with the scorer's value.
    let cfg = QualityConfig {
        model: model.clone(),
        key: "q".into(),
        overwrite: false,
        mode: ThresholdMode::EnrichOnly,
    };
    let mut ex = ExecutorConfig::new("quality", tmp.path().join("enrich"));
    ex.progress = false;
    let res = run(&cfg, ex, std::slice::from_ref(&shard)).unwrap();
    assert!(res.summary.is_clean());
    let (docs, errs) = dclm_core::io::read_all(tmp.path().join("enrich").join("shard0.jsonl")).unwrap();
    assert!(errs.is_empty());
    assert_eq!(docs.len(), 6);
    for d in &docs {
        assert_eq!(d.get("q").unwrap().as_f64().unwrap(), scorer.score(&d.text));
    }

    // Top 50%: exactly three documents survive (scores are distinct) and the threshold is recorded.
    let cfg = QualityConfig {
        mode: ThresholdMode::TopFraction {
            keep_fraction: 0.5,
            sample: None,
        },
        ..cfg
    };
    let mut ex = ExecutorConfig::new("quality", tmp.path().join("top"));
    ex.progress = false;
    let res = run(&cfg, ex, std::slice::from_ref(&shard)).unwrap();
    let rec = res.threshold.unwrap();
    assert_eq!(rec.scored_docs, 6);
    let (kept, _) = dclm_core::io::read_all(tmp.path().join("top").join("shard0.jsonl")).unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept
        .iter()
        .all(|d| d.get("q").unwrap().as_f64().unwrap() >= rec.threshold));
    let on_disk: ThresholdRecord =
        serde_json::from_slice(&std::fs::read(tmp.path().join("top").join("quality_threshold.json")).unwrap()).unwrap();
    assert_eq!(on_disk, rec);
    let step = res
        .summary
        .stats
        .steps
        .iter()
        .find(|s| s.name == "quality_filter")
        .unwrap();
    assert_eq!((step.docs_in, step.docs_out), (6, 3));
}

#[test]
fn model_without_hq_label_is_rejected() {
    let Some(model) = shared("data/lid/lid.176.ftz", "model_without_hq_label_is_rejected") else {
        return;
    };
    let err = dclm_fasttext::QualityScorer::load(&model).unwrap_err().to_string();
    assert!(err.contains("__label__hq"), "{err}");
}

#[test]
fn dclm_fasttext_filter_yaml_is_accepted() {
    let Some(yaml) = shared(
        "data/dclm/configs/fasttext_filter.yaml",
        "dclm_fasttext_filter_yaml_is_accepted",
    ) else {
        return;
    };
    let cfg = QualityConfig::from_dclm_yaml(&yaml, std::path::Path::new("/models")).unwrap();
    assert_eq!(cfg.model, std::path::Path::new("/models/fasttext_oh_eli5.bin"));
    assert_eq!(cfg.key, "fasttext_oh_eli5_vs_rw_v2_prob");
    assert_eq!(
        cfg.mode,
        ThresholdMode::Fixed {
            threshold: 0.018112,
            lower_better: false
        }
    );
}

#[test]
fn train_and_evaluate_from_jsonl() {
    let tmp = tempfile::tempdir().unwrap();
    let pos: Vec<Document> = (0..40)
        .map(|i| {
            Document::new(format!(
                "Please explain step {i} of how photosynthesis works in plants."
            ))
        })
        .collect();
    let neg: Vec<Document> = (0..40)
        .map(|i| Document::new(format!("Home | Login | Cart {i} | cheap deals click here")))
        .collect();
    let (p, n) = (tmp.path().join("pos.jsonl"), tmp.path().join("neg.jsonl"));
    dclm_core::io::write_all(&p, &pos).unwrap();
    dclm_core::io::write_all(&n, &neg).unwrap();
    let args = dclm_fasttext::TrainArgs {
        dim: 10,
        epoch: 20,
        lr: 0.5,
        word_ngrams: 2,
        bucket: 10_000,
        thread: 1,
        ..Default::default()
    };
    let out = tmp.path().join("clf.bin");
    let t = dclm_fasttext::train::train_classifier(
        std::slice::from_ref(&p),
        std::slice::from_ref(&n),
        &out,
        &args,
        Some(1),
    )
    .unwrap();
    let back = dclm_fasttext::FastText::load(&out).unwrap();
    assert_eq!(back.to_bytes().unwrap(), t.model.to_bytes().unwrap());
    let report = dclm_fasttext::train::evaluate_jsonl(&back, &[p], &[n]).unwrap();
    assert_eq!(report.examples, 80);
    assert!(report.precision_at_1 > 0.95, "{report:?}");
}
