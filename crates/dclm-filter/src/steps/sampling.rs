//! `random_sampling_filter` from DCLM's `metadata_filters.py`, and the seeded per-page coin that it and
//! `starcoder_v2_format_modifier` use in place of Python's global `random.random()`.
//!
//! DCLM draws from the process-wide `random` module, so which pages survive depends on worker count and page
//! order. Here the draw is a pure function of `(seed, step salt, page)`: the page is hashed as the JSON line it
//! would be written as at that point of the pipeline, so a page gets the same draw for any thread count,
//! shard order or rank split, and two steps with different salts draw independently.

use crate::error::Result;
use crate::pipeline::Filter;
use crate::registry::{BuildContext, Params};
use dclm_core::{Document, Verdict};

/// 64-bit FNV-1a over bytes, finished with the SplitMix64 mixer (stable across platforms and releases).
struct PageHasher(u64);

impl std::io::Write for PageHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut h = self.0;
        for &b in buf {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` that depends only on `seed`, `salt` (one per step kind) and the page's content.
pub fn page_uniform(seed: u64, salt: u64, doc: &Document) -> f64 {
    let mut h = PageHasher(0xcbf2_9ce4_8422_2325 ^ splitmix64(seed ^ splitmix64(salt)));
    serde_json::to_writer(&mut h, doc).expect("hashing a Document cannot fail");
    // 53 random bits, as Python's `random.random()` has.
    (splitmix64(h.0) >> 11) as f64 / (1u64 << 53) as f64
}

/// `random_sampling_filter`: keep a page with probability `keep_probability` (default 0.1, must be in
/// `[0, 1]`). DCLM flips `random.random() < keep_probability`; here the coin is [`page_uniform`] with the
/// extra parameter `seed` (default 0), so the kept subset is reproducible. Reads no `text`.
#[derive(Debug)]
pub struct RandomSamplingFilter {
    keep_probability: f64,
    seed: u64,
}

/// Salt of `random_sampling_filter`'s draw.
const SAMPLING_SALT: u64 = 0x5a4d_504c_494e_4731;

impl RandomSamplingFilter {
    /// A sampler keeping `keep_probability` of the pages under `seed`.
    pub fn new(keep_probability: f64, seed: u64) -> Self {
        RandomSamplingFilter { keep_probability, seed }
    }
}

impl Filter for RandomSamplingFilter {
    fn name(&self) -> &str {
        "random_sampling_filter"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn check(&self, doc: &Document) -> Verdict {
        Verdict::keep_if(
            page_uniform(self.seed, SAMPLING_SALT, doc) < self.keep_probability,
            "not_sampled",
        )
    }
}

/// The `seed` parameter every seeded step takes (a non-negative integer, default 0).
pub(crate) fn seed_param(p: &Params<'_>) -> Result<u64> {
    Ok(p.usize_or("seed", 0)? as u64)
}

pub(crate) fn random_sampling(p: &Params<'_>, _: &BuildContext) -> Result<RandomSamplingFilter> {
    p.allow_only(&["keep_probability", "seed"])?;
    Ok(RandomSamplingFilter {
        keep_probability: p.f64_in("keep_probability", 0.1, 0.0, 1.0)?,
        seed: seed_param(p)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(i: usize) -> Document {
        Document::with_url(format!("page {i}"), format!("http://x/{i}"))
    }

    #[test]
    fn keeps_about_the_requested_share_deterministically() {
        let f = RandomSamplingFilter::new(0.5, 7);
        let kept: Vec<bool> = (0..4000).map(|i| f.check(&page(i)).is_keep()).collect();
        let n = kept.iter().filter(|k| **k).count();
        // Binomial(4000, 0.5): 5 sigma is about 160.
        assert!((1840..=2160).contains(&n), "{n}");
        // The same page gets the same draw, in any order.
        let again: Vec<bool> = (0..4000).rev().map(|i| f.check(&page(i)).is_keep()).collect();
        assert!(kept.iter().eq(again.iter().rev()));
        // Another seed keeps another subset.
        let g = RandomSamplingFilter::new(0.5, 8);
        assert!((0..4000).any(|i| g.check(&page(i)).is_keep() != kept[i]));
        // The ends of the range.
        assert!((0..100).all(|i| RandomSamplingFilter::new(1.0, 0).check(&page(i)).is_keep()));
        assert!((0..100).all(|i| !RandomSamplingFilter::new(0.0, 0).check(&page(i)).is_keep()));
        // A page without text is sampled too.
        let meta = Document::without_text(page(1).fields);
        let _ = f.check(&meta);
    }

    #[test]
    fn draws_are_uniform_in_unit_interval() {
        let mut buckets = [0usize; 10];
        for i in 0..10_000 {
            let u = page_uniform(1, 2, &page(i));
            assert!((0.0..1.0).contains(&u));
            buckets[(u * 10.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|b| (850..=1150).contains(b)), "{buckets:?}");
    }
}
