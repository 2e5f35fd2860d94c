//! Conformance of the tokenizer backends with HF tokenizers (Python 0.23.3) on
//! `shared/conformance/tokenize/tokenize.jsonl`, and of the tiktoken backend with HF where they should agree.

use dclm_core::testdata::shared;
use dclm_train::data::{HfTokenizer, TiktokenBpe, Tokenizer};
use tokenizers::{NormalizedString, Normalizer};

struct Row {
    id: String,
    text: String,
    ids: Vec<u32>,
}

fn rows(test: &str) -> Option<Vec<Row>> {
    let p = shared("conformance/tokenize/tokenize.jsonl", test)?;
    let text = std::fs::read_to_string(p).unwrap();
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                Row {
                    id: v["id"].as_str().unwrap().to_string(),
                    text: v["text"].as_str().unwrap().to_string(),
                    ids: v["ids"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_u64().unwrap() as u32)
                        .collect(),
                }
            })
            .collect(),
    )
}

#[test]
fn hf_backend_matches_hf_python_on_every_row() {
    let Some(rows) = rows("hf_backend_matches_hf_python_on_every_row") else {
        return;
    };
    let Some(tok) = shared(
        "data/tokenizers/gpt-neox-20b.tokenizer.json",
        "hf_backend_matches_hf_python_on_every_row",
    ) else {
        return;
    };
    let tok = HfTokenizer::from_file(tok).unwrap();
    assert_eq!(tok.base_vocab_size(), 50254, "DCLM's PAD = base vocab + 2 = 50256");
    let mut bad = Vec::new();
    for r in &rows {
        let got = tok.encode(&r.text).unwrap();
        if got != r.ids {
            bad.push(r.id.clone());
        }
    }
    eprintln!("hf backend: {}/{} rows identical", rows.len() - bad.len(), rows.len());
    assert!(rows.len() >= 500, "expected the 575-row dev split");
    assert!(bad.is_empty(), "mismatching rows: {bad:?}");
}

#[test]
fn tiktoken_backend_matches_hf_except_on_whitespace_runs_and_normalization() {
    let test = "tiktoken_backend_matches_hf_except_on_whitespace_runs_and_normalization";
    let Some(rows) = rows(test) else { return };
    let (Some(hf), Some(tt)) = (
        shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test),
        shared("data/tokenizers/gpt-neox-20b.tiktoken", test),
    ) else {
        return;
    };
    let hf = HfTokenizer::from_file(hf).unwrap();
    let tt = TiktokenBpe::from_file(tt).unwrap();
    assert_eq!(tt.base_vocab_size(), 50254);
    let nfc = hf.inner().get_normalizer().expect("GPT-NeoX has an NFC normalizer");
    let (mut comparable, mut same, mut differ_expected) = (0, 0, 0);
    let mut bad = Vec::new();
    for r in &rows {
        let mut n = NormalizedString::from(r.text.as_str());
        nfc.normalize(&mut n).unwrap();
        let is_nfc = n.get() == r.text;
        // Ids HF gives only through its added tokens: special literals (0, 1) and space runs (50254..=50276).
        let added = r.ids.iter().any(|&i| i <= 1 || (50254..=50276).contains(&i));
        let got = tt.encode(&r.text).unwrap();
        if is_nfc && !added {
            comparable += 1;
            if got == r.ids {
                same += 1;
            } else {
                bad.push(r.id.clone());
            }
        } else if got != r.ids {
            differ_expected += 1;
        }
    }
    eprintln!(
        "tiktoken backend: {same}/{comparable} comparable rows identical to HF; {differ_expected} of {} rows with \
         space runs / special literals / non-NFC text differ (expected)",
        rows.len() - comparable
    );
    assert!(comparable > 300);
    assert!(differ_expected > 0, "the whitespace difference should be visible");
    assert!(
        bad.is_empty(),
        "rows where tiktoken should equal HF but does not: {bad:?}"
    );
}

#[test]
fn documented_whitespace_behaviour() {
    let test = "documented_whitespace_behaviour";
    let (Some(hf), Some(tt)) = (
        shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test),
        shared("data/tokenizers/gpt-neox-20b.tiktoken", test),
    ) else {
        return;
    };
    let hf = HfTokenizer::from_file(hf).unwrap();
    let tt = TiktokenBpe::from_file(tt).unwrap();
    // HF splits space runs out with its added tokens first (24 spaces = 50254, which is not a tiktoken rank);
    // tiktoken's regex leaves the last space for the next word and BPE-merges the rest.
    let s = format!("a{}b", " ".repeat(25));
    assert_eq!(hf.encode(&s).unwrap(), vec![66, 50254, 270]);
    let t = tt.encode(&s).unwrap();
    eprintln!("tiktoken a+25 spaces+b: {t:?}");
    assert_ne!(t, vec![66, 50254, 270]);
    assert!(!t.contains(&50254));
    // HF matches the special literal; tiktoken splits it like text.
    assert_eq!(hf.encode("<|endoftext|>").unwrap(), vec![0]);
    assert_ne!(tt.encode("<|endoftext|>").unwrap(), vec![0]);
    // Both: ordinary text.
    assert_eq!(hf.encode("Hello world").unwrap(), tt.encode("Hello world").unwrap());
}
