//! The Bloom filter: a lock-free atomic bit array with seeded double hashing, BFF's sizing rule,
//! a memory-budget check before allocation, and a versioned, checksummed file format.
//!
//! Sizing follows BFF's `compute_bloom_size` exactly (binary search over the byte size for the smallest
//! filter whose predicted per-item false-positive rate `(1 − (1 − 1/M)^(k·n))^k` is at most the target,
//! with `k = ceil(M/n · ln 2)`), so `--expected-ngram-count 2700000 --fp-rate 0.01` plans the same
//! 3.1 MiB, 7-hasher filter as BFF. Bit positions use Kirsch–Mitzenmacher double hashing from one
//! 128-bit item hash instead of BFF's k separate ahash passes over the token strings; the false-positive
//! behaviour is the same to first order and the hashing is k times cheaper.
//!
//! File layout (all integers little-endian):
//! ```text
//! 0   8  magic  b"DCLMBLOM"
//! 8   4  format version (1)
//! 12  4  hash scheme (1 = xxh3-64 tokens, xxh3-128 n-grams, double hashing)
//! 16  4  hashers k
//! 20  4  n-gram size       24  4  min n-gram size
//! 28  4  reserved (0)
//! 32  8  token seed        40  8  n-gram seed
//! 48  8  expected items    56  8  fp rate (f64 bits)
//! 64  8  number of u64 words W
//! 72  8·W bit words
//! end 8  xxh3-64 of the 72 header bytes followed by the words
//! ```

use crate::error::{DedupError, Result};
use crate::tokenize::{Hasher, ItemHash};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use xxhash_rust::xxh3::Xxh3;

const MAGIC: &[u8; 8] = b"DCLMBLOM";
/// Version of the filter file format written by this crate.
pub const FILE_VERSION: u32 = 1;
const HASH_SCHEME: u32 = 1;
const HEADER_LEN: usize = 72;

/// Default seeds (any fixed value gives a deterministic run; they are stored in saved filters).
pub const DEFAULT_SEEDS: (u64, u64) = (0x6463_6c6d_2d62_6666, 0x9e37_79b9_7f4a_7c15);

/// A filter size and hasher count computed from an expected item count and false-positive target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BloomPlan {
    /// Expected number of distinct items (n-grams) the filter will hold.
    pub expected_items: u64,
    /// Target per-item false-positive rate.
    pub fp_rate: f64,
    /// Size BFF's binary search arrives at, in bytes.
    pub bff_bytes: u64,
    /// Allocated size in bytes (BFF's size rounded up to whole 64-bit words).
    pub bytes: u64,
    /// Number of hash functions.
    pub hashers: u32,
    /// Predicted false-positive rate of this size at the expected load.
    pub predicted_fp: f64,
}

impl BloomPlan {
    /// Plan a filter as BFF does: smallest size meeting `fp_rate` for `expected_items`, with the
    /// optimal hasher count (or `num_hashers` when non-zero).
    pub fn new(expected_items: u64, fp_rate: f64, num_hashers: u32) -> Result<Self> {
        if expected_items == 0 {
            return Err(DedupError::Config("expected n-gram count must be at least 1".into()));
        }
        if !(fp_rate > 0.0 && fp_rate < 1.0) {
            return Err(DedupError::Config(format!("fp rate must be in (0, 1), got {fp_rate}")));
        }
        let n = expected_items as usize;
        let mut lo: usize = 1;
        let mut hi: usize = 420_744_073_709_551_615;
        while lo < hi - 1 {
            let mid = lo + (hi - lo) / 2;
            let k = if num_hashers == 0 {
                optimal_hashers(mid, n)
            } else {
                num_hashers as usize
            };
            if prob_false_positive(mid, n, k) > fp_rate {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        let bff_bytes = hi.max(8);
        let hashers = if num_hashers == 0 {
            optimal_hashers(bff_bytes, n)
        } else {
            num_hashers as usize
        }
        .clamp(1, 64);
        let bytes = bff_bytes.div_ceil(8) * 8;
        Ok(BloomPlan {
            expected_items,
            fp_rate,
            bff_bytes: bff_bytes as u64,
            bytes: bytes as u64,
            hashers: hashers as u32,
            predicted_fp: prob_false_positive(bytes, n, hashers),
        })
    }

    /// Fail with [`DedupError::OverBudget`] when `copies` filters of this size exceed `budget_bytes`.
    pub fn check_budget(&self, copies: u64, budget_bytes: Option<u64>) -> Result<()> {
        match budget_bytes {
            Some(budget) if self.bytes.saturating_mul(copies.max(1)) > budget => Err(DedupError::OverBudget {
                expected_ngrams: self.expected_items,
                fp_rate: self.fp_rate,
                needed_bytes: self.bytes,
                hashers: self.hashers,
                copies: copies.max(1),
                budget_bytes: budget,
            }),
            _ => Ok(()),
        }
    }

    /// One line for logs: size, hashers, predicted fp rate.
    pub fn describe(&self) -> String {
        format!(
            "Bloom filter plan: {} expected n-grams, fp target {} -> {} bytes ({:.1} MiB), {} hashers, predicted fp {:.3e}",
            self.expected_items,
            self.fp_rate,
            self.bytes,
            self.bytes as f64 / 1048576.0,
            self.hashers,
            self.predicted_fp
        )
    }
}

/// BFF's `optimal_number_of_hashers`: `ceil(bits / n · ln 2)`.
pub fn optimal_hashers(size_in_bytes: usize, expected: usize) -> usize {
    let k = (size_in_bytes as f64 * 8.0 / expected as f64) * std::f64::consts::LN_2;
    k.ceil() as usize
}

/// BFF's `prob_of_false_positive`: `(1 − (1 − 1/M)^(k·n))^k` with M bits.
pub fn prob_false_positive(size_in_bytes: usize, expected: usize, hashers: usize) -> f64 {
    let k = hashers as f64;
    let m = size_in_bytes as f64 * 8.0;
    let n = expected as f64;
    (1.0 - (1.0 - 1.0 / m).powf(k * n)).powf(k)
}

/// Physical memory of this machine (Linux `/proc/meminfo`), if it can be read.
pub fn system_memory_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Settings stored with a filter that must match the run using it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterParams {
    /// n-gram size.
    pub ngram_size: u32,
    /// Minimum n-gram size.
    pub min_ngram_size: u32,
}

/// A Bloom filter over [`ItemHash`]es: `Sync`, lock-free (relaxed atomic loads and `fetch_or`), so any
/// number of threads may test and insert at once.
pub struct BloomFilter {
    words: Vec<AtomicU64>,
    bits: u64,
    hashers: u32,
    hasher: Hasher,
    params: FilterParams,
    expected_items: u64,
    fp_rate: f64,
}

impl std::fmt::Debug for BloomFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BloomFilter")
            .field("bytes", &self.size_in_bytes())
            .field("hashers", &self.hashers)
            .field("hasher", &self.hasher)
            .field("params", &self.params)
            .finish()
    }
}

impl BloomFilter {
    /// An empty filter of the planned size with the given seeds.
    pub fn new(plan: &BloomPlan, hasher: Hasher, params: FilterParams) -> Self {
        let n_words = (plan.bytes / 8).max(1) as usize;
        let mut words = Vec::with_capacity(n_words);
        words.resize_with(n_words, || AtomicU64::new(0));
        BloomFilter {
            words,
            bits: n_words as u64 * 64,
            hashers: plan.hashers,
            hasher,
            params,
            expected_items: plan.expected_items,
            fp_rate: plan.fp_rate,
        }
    }

    /// Size of the bit array in bytes.
    pub fn size_in_bytes(&self) -> u64 {
        self.words.len() as u64 * 8
    }

    /// Number of hash functions.
    pub fn hashers(&self) -> u32 {
        self.hashers
    }

    /// The seeded hasher items must be hashed with.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// The n-gram settings the filter was built for.
    pub fn params(&self) -> FilterParams {
        self.params
    }

    #[inline]
    fn positions(&self, h: ItemHash) -> impl Iterator<Item = u64> {
        let m = self.bits;
        let mut g = h.h1 % m;
        let step = (h.h2 % m).max(1);
        (0..self.hashers).map(move |_| {
            let p = g;
            g += step;
            if g >= m {
                g -= m;
            }
            p
        })
    }

    /// True when every bit of `h` is set (the item was probably inserted).
    #[inline]
    pub fn contains(&self, h: ItemHash) -> bool {
        self.positions(h)
            .all(|p| self.words[(p >> 6) as usize].load(Ordering::Relaxed) & (1u64 << (p & 63)) != 0)
    }

    /// Set every bit of `h`.
    #[inline]
    pub fn insert(&self, h: ItemHash) {
        for p in self.positions(h) {
            let w = &self.words[(p >> 6) as usize];
            let bit = 1u64 << (p & 63);
            if w.load(Ordering::Relaxed) & bit == 0 {
                w.fetch_or(bit, Ordering::Relaxed);
            }
        }
    }

    /// Fraction of bits set.
    pub fn fill_ratio(&self) -> f64 {
        let ones: u64 = self
            .words
            .iter()
            .map(|w| w.load(Ordering::Relaxed).count_ones() as u64)
            .sum();
        ones as f64 / self.bits as f64
    }

    /// Save to `path` (written to `<path>.tmp`, then renamed).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = dclm_core::io::tmp_path(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| DedupError::io(parent, e))?;
        }
        let file = std::fs::File::create(&tmp).map_err(|e| DedupError::io(&tmp, e))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        let header = self.header();
        let mut sum = Xxh3::new();
        sum.update(&header);
        let io = |e| DedupError::io(&tmp, e);
        w.write_all(&header).map_err(io)?;
        let mut buf = Vec::with_capacity(1 << 16);
        for chunk in self.words.chunks(8192) {
            buf.clear();
            for word in chunk {
                buf.extend_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
            }
            sum.update(&buf);
            w.write_all(&buf).map_err(io)?;
        }
        w.write_all(&sum.digest().to_le_bytes()).map_err(io)?;
        let file = w.into_inner().map_err(|e| DedupError::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| DedupError::io(path, e))
    }

    fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&FILE_VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&HASH_SCHEME.to_le_bytes());
        h[16..20].copy_from_slice(&self.hashers.to_le_bytes());
        h[20..24].copy_from_slice(&self.params.ngram_size.to_le_bytes());
        h[24..28].copy_from_slice(&self.params.min_ngram_size.to_le_bytes());
        h[32..40].copy_from_slice(&self.hasher.token_seed.to_le_bytes());
        h[40..48].copy_from_slice(&self.hasher.ngram_seed.to_le_bytes());
        h[48..56].copy_from_slice(&self.expected_items.to_le_bytes());
        h[56..64].copy_from_slice(&self.fp_rate.to_bits().to_le_bytes());
        h[64..72].copy_from_slice(&(self.words.len() as u64).to_le_bytes());
        h
    }

    /// Load a filter saved by [`BloomFilter::save`]. Wrong magic, another version, a size that does
    /// not match the header (truncation) or a failed checksum give [`DedupError::BadFilterFile`];
    /// `memory_budget` is checked before the bit array is allocated.
    pub fn load(path: &Path, memory_budget: Option<u64>) -> Result<Self> {
        let bad = |offset: u64, message: String| DedupError::BadFilterFile {
            path: path.to_path_buf(),
            offset,
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| DedupError::io(path, e))?;
        let len = file.metadata().map_err(|e| DedupError::io(path, e))?.len();
        let mut r = std::io::BufReader::with_capacity(1 << 20, file);
        let mut h = [0u8; HEADER_LEN];
        if len < HEADER_LEN as u64 {
            return Err(bad(
                len,
                format!("file is {len} bytes, shorter than the {HEADER_LEN}-byte header"),
            ));
        }
        r.read_exact(&mut h).map_err(|e| DedupError::io(path, e))?;
        if &h[0..8] != MAGIC {
            return Err(bad(0, "not a dclm-dedup Bloom filter (wrong magic)".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().expect("8 bytes"));
        let version = u32_at(8);
        if version != FILE_VERSION {
            return Err(bad(
                8,
                format!("format version {version}, this build reads version {FILE_VERSION}"),
            ));
        }
        let scheme = u32_at(12);
        if scheme != HASH_SCHEME {
            return Err(bad(
                12,
                format!("hash scheme {scheme}, this build knows scheme {HASH_SCHEME}"),
            ));
        }
        let hashers = u32_at(16);
        if hashers == 0 || hashers > 64 {
            return Err(bad(16, format!("{hashers} hashers (must be 1..=64)")));
        }
        let n_words = u64_at(64);
        let expected_len = (HEADER_LEN as u64)
            .checked_add(n_words.saturating_mul(8))
            .and_then(|v| v.checked_add(8));
        if n_words == 0 || expected_len != Some(len) {
            return Err(bad(
                len.min(64),
                format!(
                    "header says {n_words} words ({} bytes in all) but the file has {len} bytes (truncated or corrupt)",
                    expected_len.map_or("overflowing".to_string(), |v| v.to_string())
                ),
            ));
        }
        if let Some(budget) = memory_budget {
            if n_words * 8 > budget {
                return Err(DedupError::OverBudget {
                    expected_ngrams: u64_at(48),
                    fp_rate: f64::from_bits(u64_at(56)),
                    needed_bytes: n_words * 8,
                    hashers,
                    copies: 1,
                    budget_bytes: budget,
                });
            }
        }
        let mut sum = Xxh3::new();
        sum.update(&h);
        let mut words = Vec::with_capacity(n_words as usize);
        let mut buf = vec![0u8; 1 << 16];
        let mut left = n_words as usize * 8;
        while left > 0 {
            let n = left.min(buf.len());
            r.read_exact(&mut buf[..n]).map_err(|e| DedupError::io(path, e))?;
            sum.update(&buf[..n]);
            words.extend(
                buf[..n]
                    .chunks_exact(8)
                    .map(|c| AtomicU64::new(u64::from_le_bytes(c.try_into().expect("8 bytes")))),
            );
            left -= n;
        }
        let mut tail = [0u8; 8];
        r.read_exact(&mut tail).map_err(|e| DedupError::io(path, e))?;
        if u64::from_le_bytes(tail) != sum.digest() {
            return Err(bad(len - 8, "checksum mismatch: the file is corrupt".into()));
        }
        Ok(BloomFilter {
            bits: n_words * 64,
            words,
            hashers,
            hasher: Hasher::new(u64_at(32), u64_at(40)),
            params: FilterParams {
                ngram_size: u32_at(20),
                min_ngram_size: u32_at(24),
            },
            expected_items: u64_at(48),
            fp_rate: f64::from_bits(u64_at(56)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_matches_bff_sysreq_figures() {
        // conformance/dedup README: 2.7M n-grams at 0.01 -> 3.1 MiB, 7 hashers; 285,758,120 -> 326.8 MiB, 7.
        let p = BloomPlan::new(2_700_000, 0.01, 0).unwrap();
        assert_eq!(p.hashers, 7);
        assert!((p.bytes as f64 / 1048576.0 - 3.1).abs() < 0.05, "{}", p.describe());
        let p = BloomPlan::new(285_758_120, 0.01, 0).unwrap();
        assert_eq!(p.hashers, 7);
        assert!((p.bytes as f64 / 1048576.0 - 326.8).abs() < 0.1, "{}", p.describe());
        assert!(p.predicted_fp <= 0.0101);
    }

    #[test]
    fn budget_refusal_names_the_size() {
        let p = BloomPlan::new(285_758_120, 0.01, 0).unwrap();
        let e = p.check_budget(1, Some(100 << 20)).unwrap_err().to_string();
        assert!(e.contains(&p.bytes.to_string()), "{e}");
        assert!(p.check_budget(1, Some(1 << 30)).is_ok());
        assert!(BloomPlan::new(0, 0.01, 0).is_err());
        assert!(BloomPlan::new(10, 1.5, 0).is_err());
    }

    #[test]
    fn save_load_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let plan = BloomPlan::new(1000, 0.01, 0).unwrap();
        let params = FilterParams {
            ngram_size: 13,
            min_ngram_size: 13,
        };
        let f = BloomFilter::new(&plan, Hasher::new(3, 4), params);
        let items: Vec<ItemHash> = (0..500u64).map(|i| Hasher::new(3, 4).ngram(&[i])).collect();
        for &h in &items {
            f.insert(h);
        }
        let path = dir.path().join("f.bloom");
        f.save(&path).unwrap();
        let g = BloomFilter::load(&path, None).unwrap();
        assert_eq!(g.hasher(), f.hasher());
        assert_eq!(g.params(), params);
        assert!(items.iter().all(|&h| g.contains(h)));
        assert_eq!(g.fill_ratio(), f.fill_ratio());

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let e = BloomFilter::load(&path, None).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut flipped = bytes.clone();
        flipped[HEADER_LEN + 5] ^= 0x10;
        std::fs::write(&path, &flipped).unwrap();
        let e = BloomFilter::load(&path, None).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        let mut v2 = bytes.clone();
        v2[8] = 2;
        std::fs::write(&path, &v2).unwrap();
        assert!(BloomFilter::load(&path, None)
            .unwrap_err()
            .to_string()
            .contains("version 2"));
        std::fs::write(&path, b"hello").unwrap();
        assert!(BloomFilter::load(&path, None)
            .unwrap_err()
            .to_string()
            .contains("header"));
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            BloomFilter::load(&path, Some(8)),
            Err(DedupError::OverBudget { .. })
        ));
    }
}
