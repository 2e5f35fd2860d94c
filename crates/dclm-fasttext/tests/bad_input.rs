//! Bad input: truncated, corrupt and wrong-version model files give clear errors (with offsets) and never
//! panic; `predict` never panics on any string. Uses a tiny model trained in-process, so it needs no shared data.

use std::path::Path;

use dclm_fasttext::train::train_on_bytes;
use dclm_fasttext::{FastText, FastTextError, Loss, TrainArgs};
use proptest::prelude::*;

fn tiny_model_bytes(loss: Loss, maxn: i32) -> Vec<u8> {
    let data = "__label__hq how do rainbows form in the sky\n__label__cc buy now cheap click here\n\
                __label__hq explain gravity to a child please\n__label__cc login register home contact\n\
                __label__x rare label line\n"
        .repeat(5);
    let args = TrainArgs {
        dim: 8,
        epoch: 2,
        word_ngrams: 2,
        bucket: 1000,
        minn: if maxn > 0 { 2 } else { 0 },
        maxn,
        loss,
        thread: 1,
        ..TrainArgs::default()
    };
    let t = train_on_bytes(data.as_bytes(), Path::new("tiny.txt"), &args).unwrap();
    t.model.to_bytes().unwrap()
}

fn load(bytes: &[u8]) -> Result<FastText, FastTextError> {
    FastText::from_bytes(bytes, Path::new("m.bin"))
}

#[test]
fn every_truncation_is_a_clear_error() {
    let bytes = tiny_model_bytes(Loss::Softmax, 0);
    assert!(load(&bytes).is_ok());
    for cut in 0..bytes.len() {
        match load(&bytes[..cut]) {
            Err(FastTextError::Truncated { offset, len, .. }) => {
                assert_eq!(len, cut as u64);
                assert!(offset <= cut as u64);
            }
            Err(e) => panic!("cut at {cut}: unexpected error kind {e}"),
            Ok(_) => panic!("cut at {cut}: loaded a truncated model"),
        }
    }
    let msg = load(&bytes[..100]).unwrap_err().to_string();
    assert!(msg.contains("truncated") && msg.contains("offset"), "{msg}");
}

#[test]
fn wrong_magic_version_and_trailing_bytes() {
    let bytes = tiny_model_bytes(Loss::Softmax, 0);
    let mut b = bytes.clone();
    b[0] ^= 0xff;
    assert!(matches!(load(&b), Err(FastTextError::BadMagic { .. })));
    let mut b = bytes.clone();
    b[4..8].copy_from_slice(&13i32.to_le_bytes());
    let e = load(&b).unwrap_err();
    assert!(matches!(e, FastTextError::UnsupportedVersion { found: 13, .. }), "{e}");
    assert!(e.to_string().contains("version 13"));
    let mut b = bytes.clone();
    b.extend_from_slice(b"junk");
    assert!(matches!(load(&b), Err(FastTextError::Invalid { .. })));
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let e = FastText::load(&empty).unwrap_err();
    assert!(matches!(e, FastTextError::Truncated { offset: 0, .. }), "{e}");
    let e = FastText::load(Path::new("/nonexistent/model.bin")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/model.bin"));
}

#[test]
fn every_loss_round_trips_through_bytes() {
    for (loss, maxn) in [
        (Loss::Softmax, 0),
        (Loss::HierarchicalSoftmax, 3),
        (Loss::NegativeSampling, 0),
        (Loss::OneVsAll, 0),
    ] {
        let bytes = tiny_model_bytes(loss, maxn);
        let m = load(&bytes).unwrap();
        assert_eq!(m.args().loss, loss);
        let p = m.predict("how do rainbows form", 3, 0.0);
        assert!(!p.is_empty(), "{loss:?}");
        assert!(p.windows(2).all(|w| w[0].prob >= w[1].prob));
        assert_eq!(m.to_bytes().unwrap(), bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn predict_never_panics(text in any::<String>(), k in 0usize..6, threshold in -1.0f32..2.0) {
        let m = load(&tiny_model_bytes(Loss::HierarchicalSoftmax, 3)).unwrap();
        let preds = m.predict(&text, k, threshold);
        prop_assert!(preds.len() <= k);
        for p in &preds {
            prop_assert!(p.prob >= threshold.min(1.0) - 1e-6 || threshold <= 0.0 || p.prob.is_nan());
        }
        let _ = dclm_fasttext::prepare_text(&text);
    }

    #[test]
    fn corrupt_bytes_never_panic(pos in 0usize..4096, val in any::<u8>(), text in "[a-z ]{0,40}") {
        let mut bytes = tiny_model_bytes(Loss::Softmax, 0);
        let i = pos % bytes.len();
        bytes[i] = val;
        if let Ok(m) = load(&bytes) {
            let _ = m.predict(&text, 2, 0.0);
        }
    }
}
