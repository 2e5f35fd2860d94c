//! Train a preset on synthetic token data and print its parameters, throughput and loss curve:
//! `cargo run --release -p dclm-train --example model_train_preset -- tiny 20 /tmp/tiny-run`.
//! The batches come from a plain iterator, the same seam a token-shard reader plugs into.

use candle_core::Device;
use dclm_train::train::{Preset, TrainOptions, Trainer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("micro", String::as_str);
    let steps: u64 = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let out = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| std::env::temp_dir().join("dclm-train-example").display().to_string());
    let preset = Preset::by_name(name)?;
    println!(
        "preset {}: {} params (d={}, layers={}, heads={}, ffn={}, vocab={}, seq_len={}), global batch {} x {} tokens",
        preset.name,
        preset.model.n_params(),
        preset.model.hidden_dim,
        preset.model.n_layers,
        preset.model.n_heads,
        preset.model.ffn_hidden(),
        preset.model.vocab_size,
        preset.model.seq_len,
        preset.global_batch,
        preset.model.seq_len,
    );
    let mut opts = TrainOptions::new(&out);
    opts.max_steps = Some(steps);
    opts.log_every = 1;
    let mut trainer = Trainer::new(preset.clone(), opts, &Device::Cpu)?;
    // A Zipf-like synthetic stream: a small repeating "corpus" of 64 sequences.
    let len = preset.model.seq_len + 1;
    let vocab = preset.model.vocab_size as u64;
    let mut x: u64 = 7;
    let corpus: Vec<Vec<u32>> = (0..64)
        .map(|_| {
            (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let u = ((x >> 11) as f64) / ((1u64 << 53) as f64);
                    ((u * u * u * vocab as f64) as u64).min(vocab - 1) as u32
                })
                .collect()
        })
        .collect();
    let gb = preset.global_batch;
    let batches = (0..).map(|i: usize| (0..gb).map(|j| corpus[(i * gb + j) % corpus.len()].clone()).collect());
    let record = trainer.fit(batches)?;
    for h in trainer.history() {
        println!(
            "step {:4}  loss {:.4}  lr {:.2e}  |g| {:.3}  {:.0} tok/s",
            h.step, h.loss, h.lr, h.grad_norm, h.tokens_per_s
        );
    }
    println!(
        "{} steps, {} tokens in {:.1}s: {:.0} tokens/s; final loss {:?}; outputs in {out}",
        record.steps, record.tokens_seen, record.wall_seconds, record.tokens_per_s, record.final_loss
    );
    Ok(())
}
