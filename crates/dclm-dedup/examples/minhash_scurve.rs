//! The MinHash-LSH S-curve: measured probability that a pair of shingle sets with Jaccard similarity s
//! becomes a candidate (shares a band), against the theoretical `1 − (1 − s^r)^b`.
//!
//! The `removed` column also applies the preset's pair check (estimated Jaccard ≥ `jaccard_threshold`), which is
//! what decides removal in the `dclm-ablation` preset.
//!
//! `cargo run --release -p dclm-dedup --example minhash_scurve -- [bands rows pairs]` (default 93 15 300).

use dclm_dedup::minhash::{MinHashConfig, MinHashLsh};

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (bands, rows, pairs) = (
        args.first().copied().unwrap_or(93),
        args.get(1).copied().unwrap_or(15),
        args.get(2).copied().unwrap_or(300),
    );
    let cfg = MinHashConfig {
        bands,
        rows,
        ..Default::default()
    };
    let m = MinHashLsh::new(cfg.clone()).expect("valid settings");
    println!("bands {bands} rows {rows}: LSH threshold {:.3}", cfg.lsh_threshold());
    println!("jaccard  candidate  theory  removed");
    let size = 200u64; // shingles per set
    let mut next = 1u64;
    for step in 0..=20 {
        let s = step as f64 * 0.05;
        // |A ∩ B| = c, |A ∪ B| = 2·size − c, so s = c / (2·size − c) → c = 2·size·s / (1 + s).
        let common = ((2.0 * size as f64 * s) / (1.0 + s)).round() as u64;
        let mut hits = 0;
        let mut removed = 0;
        for _ in 0..pairs {
            let mut fresh = |n: u64| -> Vec<u64> {
                // Shingle hashes in real use are xxh3 outputs: model them as well-mixed 64-bit values.
                let v: Vec<u64> = (next..next + n).map(mix).collect();
                next += n;
                v
            };
            let shared = fresh(common);
            let mut a = shared.clone();
            a.extend(fresh(size - common));
            let mut b = shared;
            b.extend(fresh(size - common));
            let (ma, mb) = (m.minhashes(&a), m.minhashes(&b));
            let (ka, kb) = (m.band_keys(&ma), m.band_keys(&mb));
            let candidate = ka.iter().zip(&kb).any(|(x, y)| x == y);
            hits += candidate as usize;
            removed += (candidate && MinHashLsh::estimate(&ma, &mb) >= cfg.jaccard_threshold) as usize;
        }
        let exact_s = common as f64 / (2 * size - common) as f64;
        println!(
            "{exact_s:.3}    {:.3}      {:.3}   {:.3}",
            hits as f64 / pairs as f64,
            cfg.candidate_probability(exact_s),
            removed as f64 / pairs as f64
        );
    }
}
