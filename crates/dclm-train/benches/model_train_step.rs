//! Train-step throughput on CPU (forward + backward + clipping + AdamW) for the `micro` and `tiny` presets,
//! reported by criterion as tokens/s (elements = predicted tokens per step). Divide by the threads used
//! (`RAYON_NUM_THREADS`, candle's CPU thread count) for tokens/s/core. The ratio to the same model in PyTorch
//! comes from `benches/torch_compare.sh` (example `train_step_bench` against `benches/torch_tiny_step.py`).

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dclm_train::train::{Preset, TrainOptions, Trainer};

fn bench_preset(c: &mut Criterion, name: &str, rows: usize) {
    let mut preset = Preset::by_name(name).unwrap();
    preset.global_batch = rows;
    preset.accum = 1;
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = TrainOptions::new(tmp.path());
    opts.log_every = 0;
    let mut trainer = Trainer::new(preset.clone(), opts, &Device::Cpu).unwrap();
    let len = preset.model.seq_len + 1;
    let vocab = preset.model.vocab_size as u64;
    let mut x: u64 = 12345;
    let batch: Vec<Vec<u32>> = (0..rows)
        .map(|_| {
            (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((x >> 33) % vocab) as u32
                })
                .collect()
        })
        .collect();
    let mut g = c.benchmark_group("train_step");
    g.throughput(Throughput::Elements((rows * preset.model.seq_len) as u64));
    g.sample_size(10);
    g.bench_function(format!("{name}_{rows}x{}", preset.model.seq_len), |b| {
        b.iter(|| trainer.train_step(&batch).unwrap())
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_preset(c, "micro", 8);
    bench_preset(c, "tiny", 4);
}

criterion_group!(model_benches, benches);
criterion_main!(model_benches);
