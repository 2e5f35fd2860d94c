//! Training parity with official fastText 0.9.2: with one thread, our `train_supervised` on the conformance
//! training file must write byte-identical `.bin` files to the reference models.

use std::path::{Path, PathBuf};

use dclm_core::testdata::shared;
use dclm_fasttext::{train_supervised, FastText, TrainArgs};

/// Rebuilds `train.txt` from `train.jsonl` (`label + " " + text + "\n"` per row).
fn train_txt(dir: &Path, out: &Path) {
    let text = std::fs::read_to_string(dir.join("train.jsonl")).unwrap();
    let mut s = String::new();
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        s.push_str(v["label"].as_str().unwrap());
        s.push(' ');
        s.push_str(v["text"].as_str().unwrap());
        s.push('\n');
    }
    std::fs::write(out, s).unwrap();
}

fn conformance_args(word_ngrams: i32, epoch: i32) -> TrainArgs {
    TrainArgs {
        lr: 0.1,
        dim: 32,
        ws: 5,
        epoch,
        min_count: 1,
        word_ngrams,
        bucket: 200_000,
        thread: 1,
        ..TrainArgs::default()
    }
}

fn setup(test: &str) -> Option<(PathBuf, tempfile::TempDir, PathBuf)> {
    let dir = shared("conformance/fasttext/train.jsonl", test)?
        .parent()?
        .to_path_buf();
    let tmp = tempfile::tempdir().unwrap();
    let txt = tmp.path().join("train.txt");
    train_txt(&dir, &txt);
    Some((dir, tmp, txt))
}

#[test]
fn trained_bigram_model_is_byte_identical_to_official() {
    let Some((dir, tmp, txt)) = setup("trained_bigram_model_is_byte_identical_to_official") else {
        return;
    };
    for (ngrams, reference) in [(2, "bigram.bin"), (1, "unigram.bin")] {
        let trained = train_supervised(&txt, &conformance_args(ngrams, 5)).unwrap();
        let out = tmp.path().join(reference);
        trained.model.save(&out).unwrap();
        let ours = std::fs::read(&out).unwrap();
        let theirs = std::fs::read(dir.join(reference)).unwrap();
        eprintln!(
            "{reference}: trained in {:.2}s, loss {:.4}",
            trained.seconds, trained.loss
        );
        assert_eq!(ours.len(), theirs.len(), "{reference}: size");
        let first_diff = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        assert_eq!(first_diff, None, "{reference}: first differing byte");
        // And the saved file loads back and predicts.
        let back = FastText::load(&out).unwrap();
        assert_eq!(back.labels(), ["__label__hq", "__label__cc"]);
    }
}

#[test]
fn evaluate_matches_fasttext_test_on_training_set() {
    let Some((dir, _tmp, txt)) = setup("evaluate_matches_fasttext_test_on_training_set") else {
        return;
    };
    // Training-set P@1 of official `model.test` (conformance README).
    for (file, p1) in [
        ("bigram.bin", 0.7972),
        ("unigram.bin", 0.8337),
        ("bigram.ftz", 0.7967),
        ("bigram_e25.bin", 0.9961),
    ] {
        let m = FastText::load(&dir.join(file)).unwrap();
        let r = dclm_fasttext::evaluate(&m, &txt).unwrap();
        assert_eq!(r.examples, 1810);
        assert!(
            (r.precision_at_1 - p1).abs() < 5e-5,
            "{file}: {} vs {p1}",
            r.precision_at_1
        );
    }
}

fn slow() -> bool {
    let on = std::env::var_os("DCLM_SLOW_TESTS").is_some_and(|v| v == "1");
    if !on {
        eprintln!("SKIP: set DCLM_SLOW_TESTS=1 to run this test");
    }
    on
}

#[test]
fn trained_epoch25_model_is_byte_identical_to_official() {
    if !slow() {
        return;
    }
    let Some((dir, tmp, txt)) = setup("trained_epoch25_model_is_byte_identical_to_official") else {
        return;
    };
    let trained = train_supervised(&txt, &conformance_args(2, 25)).unwrap();
    let out = tmp.path().join("e25.bin");
    trained.model.save(&out).unwrap();
    assert!(std::fs::read(&out).unwrap() == std::fs::read(dir.join("bigram_e25.bin")).unwrap());
}

#[test]
fn hogwild_training_runs_and_learns() {
    if !slow() {
        return;
    }
    let Some((_dir, _tmp, txt)) = setup("hogwild_training_runs_and_learns") else {
        return;
    };
    let mut args = conformance_args(2, 25);
    args.thread = 2;
    let trained = train_supervised(&txt, &args).unwrap();
    let report = dclm_fasttext::evaluate(&trained.model, &txt).unwrap();
    eprintln!("2-thread epoch-25 training P@1 {:.4}", report.precision_at_1);
    assert_eq!(report.examples, 1810);
    assert!(report.precision_at_1 > 0.95, "{report:?}");
}
