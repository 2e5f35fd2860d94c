//! Conformance against official fastText 0.9.2: the quality-classifier models and predictions in
//! `shared/conformance/fasttext/` and the `lid.176.ftz` predictions in `shared/conformance/lid/`.

use std::path::Path;

use dclm_core::testdata::shared;
use dclm_fasttext::FastText;
use serde_json::Value;

/// Match statistics of one model over a reference file.
#[derive(Default, Debug)]
struct Tally {
    rows: usize,
    label_match: usize,
    bit_exact: usize,
    max_abs_diff: f64,
    worst: String,
}

impl Tally {
    fn add(&mut self, id: &str, ours: &[(String, f32)], theirs: &[(String, f64)]) {
        self.rows += 1;
        let labels_ok = ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(a, b)| a.0 == b.0);
        if labels_ok {
            self.label_match += 1;
        }
        let mut exact = labels_ok;
        for ((_, p), (_, q)) in ours.iter().zip(theirs) {
            let d = (f64::from(*p) - q).abs();
            if d > self.max_abs_diff {
                self.max_abs_diff = d;
                self.worst = id.to_string();
            }
            if f64::from(*p) != *q {
                exact = false;
            }
        }
        if exact {
            self.bit_exact += 1;
        }
    }

    fn report(&self, name: &str) {
        eprintln!(
            "{name}: rows {}, label match {}/{} ({:.4}), bit-exact {}/{}, max |dp| {:.3e} (worst {})",
            self.rows,
            self.label_match,
            self.rows,
            self.label_match as f64 / self.rows.max(1) as f64,
            self.bit_exact,
            self.rows,
            self.max_abs_diff,
            self.worst
        );
    }
}

fn pairs(v: &Value) -> Vec<(String, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            if let Some(a) = p.as_array() {
                (a[0].as_str().unwrap().to_string(), a[1].as_f64().unwrap())
            } else {
                (
                    format!("__label__{}", p["label"].as_str().unwrap()),
                    p["prob"].as_f64().unwrap(),
                )
            }
        })
        .collect()
}

fn ours(ft: &FastText, text: &str, k: usize) -> Vec<(String, f32)> {
    ft.predict(text, k, 0.0)
        .into_iter()
        .map(|p| (p.label, p.prob))
        .collect()
}

fn read_rows(path: &Path) -> Vec<Value> {
    // Split on '\n' only: the texts contain raw U+2028 and friends.
    std::fs::read_to_string(path)
        .unwrap()
        .split('\n')
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn quality_models_match_official_fasttext() {
    let Some(dir) = shared(
        "conformance/fasttext/predictions.jsonl",
        "quality_models_match_official_fasttext",
    ) else {
        return;
    };
    let dir = dir.parent().unwrap().to_path_buf();
    let rows = read_rows(&dir.join("predictions.jsonl"));
    for (key, file) in [
        ("bigram", "bigram.bin"),
        ("unigram", "unigram.bin"),
        ("ftz", "bigram.ftz"),
        ("bigram_e25", "bigram_e25.bin"),
    ] {
        let ft = FastText::load(&dir.join(file)).unwrap();
        let mut t = Tally::default();
        for r in &rows {
            let text = r["text_prepared"].as_str().unwrap();
            t.add(
                r["id"].as_str().unwrap(),
                &ours(&ft, text, 2),
                &pairs(&r[format!("top2_{key}")]),
            );
        }
        t.report(file);
        assert_eq!(t.label_match, t.rows, "{file}: label mismatch");
        assert!(t.max_abs_diff < 1e-5, "{file}: max |dp| {}", t.max_abs_diff);
        assert_eq!(t.bit_exact, t.rows, "{file}: not bit-exact");
    }
}

#[test]
fn lid176_matches_official_fasttext() {
    let Some(model) = shared("data/lid/lid.176.ftz", "lid176_matches_official_fasttext") else {
        return;
    };
    let Some(preds) = shared("conformance/lid/lid.jsonl", "lid176_matches_official_fasttext") else {
        return;
    };
    let ft = FastText::load(&model).unwrap();
    let rows = read_rows(&preds);
    let mut top1 = Tally::default();
    let mut top5 = Tally::default();
    for r in &rows {
        let id = r["id"].as_str().unwrap();
        let text = r["text"].as_str().unwrap();
        let want1 = pairs(&Value::Array(vec![r["top1"].clone()]));
        top1.add(id, &ours(&ft, &text.replace('\n', ""), 1), &want1);
        top5.add(
            id,
            &ours(&ft, &text.replace('\n', " "), 5),
            &pairs(&r["top5_space_joined"]),
        );
    }
    top1.report("lid.176.ftz top1 (newlines deleted)");
    top5.report("lid.176.ftz top5 (newlines as spaces)");
    for t in [&top1, &top5] {
        assert_eq!(t.label_match, t.rows);
        assert!(t.max_abs_diff < 1e-5, "max |dp| {}", t.max_abs_diff);
        assert_eq!(t.bit_exact, t.rows);
    }
}

#[test]
fn dclm_preparation_and_score_match_python() {
    let Some(preds) = shared(
        "conformance/fasttext/predictions.jsonl",
        "dclm_preparation_and_score_match_python",
    ) else {
        return;
    };
    let dir = preds.parent().unwrap();
    let rows = read_rows(&preds);
    for r in &rows {
        let raw = r["text"].as_str().unwrap();
        assert_eq!(
            dclm_fasttext::prepare_text(raw),
            r["text_prepared"].as_str().unwrap(),
            "{}",
            r["id"]
        );
    }
    for (key, file) in [
        ("bigram", "bigram.bin"),
        ("ftz", "bigram.ftz"),
        ("bigram_e25", "bigram_e25.bin"),
    ] {
        let scorer = dclm_fasttext::QualityScorer::load(&dir.join(file)).unwrap();
        let mut exact = 0;
        for r in &rows {
            let want = r[format!("dclm_score_{key}")].as_f64().unwrap();
            let got = scorer.score(r["text"].as_str().unwrap());
            if got == want {
                exact += 1;
            }
        }
        eprintln!("{file}: DCLM score exact on {exact}/{} rows", rows.len());
        assert_eq!(exact, rows.len(), "{file}");
    }
}
