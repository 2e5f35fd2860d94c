//! Trains a supervised classifier on a fastText-format file and reports the time, like
//! `fasttext.train_supervised` (for side-by-side timing with official fastText).
//!
//! `cargo run --release -p dclm-fasttext --example train_classifier -- TRAIN.txt OUT.bin [key=value ...]`
//! with keys `lr dim epoch wordNgrams bucket thread minCount loss seed`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut it = std::env::args().skip(1);
    let (Some(input), Some(out)) = (it.next(), it.next()) else {
        eprintln!("usage: train_classifier TRAIN.txt OUT.bin [lr=0.1 dim=100 epoch=5 wordNgrams=1 bucket=2000000 thread=N minCount=1 loss=softmax seed=0]");
        std::process::exit(2);
    };
    let mut a = dclm_fasttext::TrainArgs::default();
    for kv in it {
        let (k, v) = kv.split_once('=').ok_or(format!("expected key=value, got {kv}"))?;
        match k {
            "lr" => a.lr = v.parse()?,
            "dim" => a.dim = v.parse()?,
            "epoch" => a.epoch = v.parse()?,
            "wordNgrams" => a.word_ngrams = v.parse()?,
            "bucket" => a.bucket = v.parse()?,
            "thread" => a.thread = v.parse()?,
            "minCount" => a.min_count = v.parse()?,
            "seed" => a.seed = v.parse()?,
            "loss" => a.loss = dclm_fasttext::Loss::from_name(v).ok_or(format!("unknown loss {v}"))?,
            _ => return Err(format!("unknown key {k}").into()),
        }
    }
    let t0 = std::time::Instant::now();
    let trained = dclm_fasttext::train_supervised(&PathBuf::from(&input), &a)?;
    let total = t0.elapsed().as_secs_f64();
    trained.model.save(&PathBuf::from(&out))?;
    println!(
        "trained {} words, {} labels: sgd_s={:.3} total_s={total:.3} loss={:.4}",
        trained.model.nwords(),
        trained.model.labels().len(),
        trained.seconds,
        trained.loss
    );
    Ok(())
}
