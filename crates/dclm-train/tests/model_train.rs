//! CPU training tests on the `micro` preset: the loss falls well below the unigram entropy of a small
//! repeated dataset, runs are deterministic for a seed, and resuming from a mid-run checkpoint reproduces
//! the uninterrupted loss curve exactly.

use candle_core::Device;
use dclm_train::train::{Preset, RunRecord, StepLog, TrainOptions, Trainer};

/// Four fixed pseudo-random sequences (seq_len + 1 tokens each), cycled in global batches.
fn dataset(preset: &Preset, n_seqs: usize) -> Vec<Vec<u32>> {
    let len = preset.model.seq_len + 1;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n_seqs)
        .map(|_| {
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % preset.model.vocab_size as u64) as u32
                })
                .collect()
        })
        .collect()
}

fn batches<'a>(preset: &Preset, data: &'a [Vec<u32>]) -> impl Iterator<Item = Vec<Vec<u32>>> + 'a {
    let b = preset.global_batch;
    (0..).map(move |i: usize| (0..b).map(|j| data[(i * b + j) % data.len()].clone()).collect())
}

/// Unigram entropy (nats) of the target tokens of the dataset.
fn unigram_entropy(data: &[Vec<u32>]) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0f64;
    for s in data {
        for &t in &s[1..] {
            *counts.entry(t).or_insert(0f64) += 1.0;
            n += 1.0;
        }
    }
    counts.values().map(|c| -(c / n) * (c / n).ln()).sum()
}

fn micro(steps: u64) -> Preset {
    let mut p = Preset::by_name("micro").unwrap();
    p.steps = steps;
    p.warmup = 5;
    p
}

fn losses(h: &[StepLog]) -> Vec<f32> {
    h.iter().map(|l| l.loss).collect()
}

#[test]
fn model_train_loss_falls_below_unigram_entropy() {
    let p = micro(80);
    let data = dataset(&p, 16);
    let h = unigram_entropy(&data);
    let tmp = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(p.clone(), TrainOptions::new(tmp.path()), &Device::Cpu).unwrap();
    let rec: RunRecord = t.fit(batches(&p, &data)).unwrap();
    let first = t.history()[0].ce;
    let last = rec.final_ce.unwrap();
    eprintln!(
        "unigram entropy {h:.3} nats; ce first {first:.3}, last {last:.3}; {:.0} tokens/s",
        rec.tokens_per_s
    );
    assert!(
        first as f64 > h,
        "an untrained model is worse than the unigram model ({first} vs {h})"
    );
    assert!(
        (last as f64) < 0.5 * h,
        "ce {last} not well below the unigram entropy {h}"
    );
    assert_eq!(rec.steps, 80);
    assert_eq!(rec.tokens_seen, 80 * (p.global_batch * p.model.seq_len) as u64);
    // Outputs: log lines, final weights, run record, a complete checkpoint.
    let log = std::fs::read_to_string(tmp.path().join("train_log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 80);
    let line: StepLog = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(line.step, 80);
    assert!(line.lr > 0.0 && line.grad_norm > 0.0 && line.tokens_per_s > 0.0);
    assert!(tmp.path().join("model.safetensors").is_file());
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(run["scale"], "micro");
    assert!(Trainer::latest_checkpoint(tmp.path())
        .unwrap()
        .ends_with("step_00000080"));
    // The saved weights reload into a model that scores the data as well as the trained one.
    let m = dclm_train::train::load_model(&p, &tmp.path().join("model.safetensors"), &Device::Cpu).unwrap();
    let a = m.score_batch(&data[..2]).unwrap();
    let b = t.model().score_batch(&data[..2]).unwrap();
    assert_eq!(a, b);
}

#[test]
fn model_train_resume_reproduces_uninterrupted_curve() {
    let p = micro(24);
    let data = dataset(&p, 8);
    let full_dir = tempfile::tempdir().unwrap();
    let mut full = Trainer::new(p.clone(), TrainOptions::new(full_dir.path()), &Device::Cpu).unwrap();
    full.fit(batches(&p, &data)).unwrap();
    let full_curve = losses(full.history());
    assert_eq!(full_curve.len(), 24);

    // Same seed → identical run.
    let again_dir = tempfile::tempdir().unwrap();
    let mut again = Trainer::new(p.clone(), TrainOptions::new(again_dir.path()), &Device::Cpu).unwrap();
    again.fit(batches(&p, &data)).unwrap();
    assert_eq!(losses(again.history()), full_curve, "deterministic for a seed");

    // Interrupted at step 10 (checkpoint every 5), then resumed in a new trainer from the latest checkpoint.
    let dir = tempfile::tempdir().unwrap();
    let mut opts = TrainOptions::new(dir.path());
    opts.checkpoint_every = 5;
    opts.max_steps = Some(12);
    let mut first = Trainer::new(p.clone(), opts.clone(), &Device::Cpu).unwrap();
    first.fit(batches(&p, &data)).unwrap();
    let ckpt = dir.path().join("checkpoints/step_00000010");
    assert!(ckpt.join("state.json").is_file());
    opts.max_steps = None;
    let mut resumed = Trainer::resume(&ckpt, opts, &Device::Cpu).unwrap();
    assert_eq!((resumed.step(), resumed.batches_consumed()), (10, 10));
    resumed.fit(batches(&p, &data)).unwrap();
    let mut curve = losses(&first.history()[..10]);
    curve.extend(losses(resumed.history()));
    assert_eq!(curve, full_curve, "resumed curve equals the uninterrupted one");
    let w_full = full.params().named_tensors();
    let w_res = resumed.params().named_tensors();
    for ((n, a), (_, b)) in w_full.iter().zip(&w_res) {
        let d: f32 = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert_eq!(d, 0.0, "{n} differs after resume");
    }
}

#[test]
fn model_train_accumulation_equals_one_big_batch() {
    let mut p = micro(3);
    let data = dataset(&p, 8);
    let d1 = tempfile::tempdir().unwrap();
    let mut one = Trainer::new(p.clone(), TrainOptions::new(d1.path()), &Device::Cpu).unwrap();
    one.fit(batches(&p, &data)).unwrap();
    p.accum = 4;
    let d2 = tempfile::tempdir().unwrap();
    let mut four = Trainer::new(p.clone(), TrainOptions::new(d2.path()), &Device::Cpu).unwrap();
    four.fit(batches(&p, &data)).unwrap();
    for (a, b) in one.history().iter().zip(four.history()) {
        assert!((a.loss - b.loss).abs() < 1e-5, "{} vs {}", a.loss, b.loss);
        assert!((a.grad_norm - b.grad_norm).abs() < 1e-4 * a.grad_norm);
    }
}

#[test]
fn model_train_rejects_bad_batches() {
    let p = micro(3);
    let tmp = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(p.clone(), TrainOptions::new(tmp.path()), &Device::Cpu).unwrap();
    let ok = vec![1u32; p.model.seq_len + 1];
    assert!(t.train_step(&[]).is_err());
    assert!(t.train_step(&[vec![1]]).is_err());
    assert!(t.train_step(&[ok.clone(), vec![1u32; 5]]).is_err());
    assert!(t.train_step(&[vec![p.model.vocab_size as u32; 4]]).is_err());
    assert_eq!(t.step(), 0, "failed steps do not advance");
    assert!(t.train_step(&[ok]).is_ok());
    assert_eq!(t.step(), 1);
}

#[test]
fn model_train_run_entry_point_resumes() {
    // `run` trains from scratch, and a second call on the same folder resumes from its last checkpoint.
    let p = micro(6);
    let data = dataset(&p, 4);
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = TrainOptions::new(tmp.path());
    opts.max_steps = Some(4);
    let rec = dclm_train::train::run("micro", opts.clone(), batches(&p, &data).map(Ok), &Device::Cpu).unwrap();
    assert_eq!(rec.steps, 4);
    opts.max_steps = Some(6);
    let rec = dclm_train::train::run("micro", opts, batches(&p, &data).map(Ok), &Device::Cpu).unwrap();
    assert_eq!(rec.steps, 6);
    assert!(dclm_train::train::run("tiny", TrainOptions::new(tmp.path()), std::iter::empty(), &Device::Cpu).is_err());
}

/// bf16 autocast (`TrainOptions::compute_dtype`): the matrix products run in bf16 with f32 master weights,
/// so the first step's loss and gradient norm are close to the f32 run's but not bit-equal, the weights stay
/// f32, and training still drives the loss below the unigram entropy.
#[test]
fn model_train_bf16_autocast_tracks_f32() {
    use dclm_train::train::ComputeDtype;
    let p = micro(80);
    let data = dataset(&p, 16);
    let h = unigram_entropy(&data);
    let run = |dtype: ComputeDtype| {
        let tmp = tempfile::tempdir().unwrap();
        let mut opts = TrainOptions::new(tmp.path());
        opts.compute_dtype = dtype;
        let mut t = Trainer::new(p.clone(), opts, &Device::Cpu).unwrap();
        assert_eq!(t.model().compute_dtype(), dtype);
        t.fit(batches(&p, &data)).unwrap();
        for v in t.params().vars() {
            assert_eq!(v.dtype(), candle_core::DType::F32);
        }
        t.history().to_vec()
    };
    let f32_run = run(ComputeDtype::F32);
    let bf16_run = run(ComputeDtype::Bf16);
    let (a, b) = (&f32_run[0], &bf16_run[0]);
    assert_ne!(a.loss, b.loss, "bf16 products should round differently from f32");
    assert!(
        (a.loss - b.loss).abs() < 0.02 * a.loss,
        "step-1 loss f32 {} vs bf16 {}",
        a.loss,
        b.loss
    );
    assert!(
        (a.grad_norm - b.grad_norm).abs() < 0.05 * a.grad_norm,
        "step-1 grad norm f32 {} vs bf16 {}",
        a.grad_norm,
        b.grad_norm
    );
    let last = bf16_run.last().unwrap().ce as f64;
    assert!(
        last < 0.5 * h,
        "bf16 run: final CE {last} not below half the unigram entropy {h}"
    );
    assert_eq!("bf16".parse::<ComputeDtype>().unwrap(), ComputeDtype::Bf16);
    assert!("fp8".parse::<ComputeDtype>().is_err());
}
