//! [`TokenSource`]: streams training batches of `seqlen`-token sequences (u32 ids) from token shards, in a
//! seeded order with an exact, resumable position.

use super::rng::{derive_seed, SplitMix64};
use super::shards::{decode_context, index_tar, read_at, read_manifest, TarEntry, DATA_KEY};
use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

const ORDER_TAG: u64 = 0x5eed;

/// Where a [`TokenSource`] stands: the next sequence it will return. Save it with a checkpoint and hand it to
/// [`TokenSource::seek`] to resume exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourcePosition {
    /// Pass over the data (0-based); only grows past 0 when cycling.
    pub epoch: u64,
    /// Index of the shard in this epoch's shard order.
    pub shard: usize,
    /// Index of the sequence in this shard's order.
    pub sequence: usize,
}

/// Reads `manifest.jsonl` + `shard_*.tar` (as written by [`super::tokenize_shuffle`] or DCLM's tokshuf) and
/// yields sequences. Without a seed, shards come in manifest order and sequences in tar order; with
/// [`TokenSource::with_seed`], each epoch visits shards, and sequences within each shard, in an order drawn
/// from (seed, epoch). Only one shard's index (names and offsets) is held in memory.
pub struct TokenSource {
    dir: PathBuf,
    shards: Vec<(String, u64)>,
    seed: Option<u64>,
    cycle: bool,
    seq_len: Option<usize>,
    pos: SourcePosition,
    shard_order: Vec<usize>,
    current: Option<OpenShard>,
}

struct OpenShard {
    path: PathBuf,
    file: File,
    entries: Vec<TarEntry>,
}

impl TokenSource {
    /// Open a token-shard folder (reads its manifest; shards are opened lazily).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let shards: Vec<(String, u64)> = read_manifest(&dir)?
            .into_iter()
            .map(|e| (e.shard, e.num_sequences))
            .collect();
        let mut s = TokenSource {
            dir,
            shards,
            seed: None,
            cycle: false,
            seq_len: None,
            pos: SourcePosition::default(),
            shard_order: Vec::new(),
            current: None,
        };
        s.shard_order = s.order_for_epoch(0);
        Ok(s)
    }

    /// Shuffle shard order and sequence order per epoch with `seed` (resets the position to the start).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self.pos = SourcePosition::default();
        self.shard_order = self.order_for_epoch(0);
        self.current = None;
        self
    }

    /// Start a new epoch instead of ending when the data is exhausted.
    pub fn cycle(mut self, yes: bool) -> Self {
        self.cycle = yes;
        self
    }

    /// Require every sequence to have `n` ids (default: whatever the first sequence has; DCLM: 2049).
    pub fn expect_seq_len(mut self, n: usize) -> Self {
        self.seq_len = Some(n);
        self
    }

    /// Sequences per epoch, from the manifest.
    pub fn num_sequences(&self) -> u64 {
        self.shards.iter().map(|s| s.1).sum()
    }

    /// Number of shards in the manifest.
    pub fn num_shards(&self) -> usize {
        self.shards.len()
    }

    /// Sequence length seen or required so far (`None` before the first sequence without
    /// [`TokenSource::expect_seq_len`]).
    pub fn seq_len(&self) -> Option<usize> {
        self.seq_len
    }

    /// The position of the next sequence.
    pub fn position(&self) -> SourcePosition {
        self.pos
    }

    /// Continue from a saved position.
    pub fn seek(&mut self, pos: SourcePosition) -> Result<()> {
        if pos.shard > self.shards.len() {
            return Err(TrainError::DataConfig(format!(
                "position shard {} is past the {} shards of {}",
                pos.shard,
                self.shards.len(),
                self.dir.display()
            )));
        }
        self.pos = pos;
        self.shard_order = self.order_for_epoch(pos.epoch);
        self.current = None;
        Ok(())
    }

    fn order_for_epoch(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.shards.len()).collect();
        if let Some(seed) = self.seed {
            SplitMix64::new(derive_seed(&[seed, ORDER_TAG, epoch])).shuffle(&mut order);
        }
        order
    }

    fn open_shard(&self, idx: usize) -> Result<OpenShard> {
        let name = &self.shards[idx].0;
        let path = self.dir.join(format!("{name}.tar"));
        let file = File::open(&path).map_err(|e| TrainError::Io {
            path: path.clone(),
            source: e,
        })?;
        let mut entries: Vec<TarEntry> = index_tar(&path)?
            .into_iter()
            .filter(|e| e.name.ends_with(&format!(".{DATA_KEY}")))
            .collect();
        if let Some(seed) = self.seed {
            SplitMix64::new(derive_seed(&[seed, ORDER_TAG, self.pos.epoch, idx as u64 + 1])).shuffle(&mut entries);
        }
        Ok(OpenShard { path, file, entries })
    }

    /// The next sequence, or `None` at the end of the data (never, when cycling over non-empty data).
    pub fn next_sequence(&mut self) -> Result<Option<Vec<u32>>> {
        loop {
            if self.pos.shard >= self.shards.len() {
                if !self.cycle || self.num_sequences() == 0 {
                    return Ok(None);
                }
                self.pos = SourcePosition {
                    epoch: self.pos.epoch + 1,
                    shard: 0,
                    sequence: 0,
                };
                self.shard_order = self.order_for_epoch(self.pos.epoch);
                self.current = None;
            }
            if self.current.is_none() {
                self.current = Some(self.open_shard(self.shard_order[self.pos.shard])?);
            }
            let Some(sh) = self.current.as_ref() else { continue };
            let Some(e) = sh.entries.get(self.pos.sequence) else {
                self.pos.shard += 1;
                self.pos.sequence = 0;
                self.current = None;
                continue;
            };
            let mut buf = Vec::new();
            read_at(&sh.file, &sh.path, e.offset, e.size, &mut buf)?;
            let bad = |reason: String| TrainError::TokenShard {
                path: sh.path.clone(),
                entry: e.name.clone(),
                reason,
            };
            let ids = decode_context(&buf).map_err(bad)?;
            match self.seq_len {
                Some(n) if n != ids.len() => {
                    return Err(bad(format!("sequence has {} ids, expected {n}", ids.len())));
                }
                None => self.seq_len = Some(ids.len()),
                _ => {}
            }
            self.pos.sequence += 1;
            return Ok(Some(ids));
        }
    }

    /// Up to `batch_size` sequences: a full batch, a shorter last batch at the end of the data, or `None`
    /// once nothing is left.
    pub fn next_batch(&mut self, batch_size: usize) -> Result<Option<Vec<Vec<u32>>>> {
        let mut batch = Vec::with_capacity(batch_size);
        while batch.len() < batch_size {
            match self.next_sequence()? {
                Some(s) => batch.push(s),
                None => break,
            }
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}

impl Iterator for TokenSource {
    type Item = Result<Vec<u32>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_sequence().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::super::shards::write_shards;
    use super::*;

    fn fixture(n: u32, chunk: usize) -> (tempfile::TempDir, Vec<Vec<u32>>) {
        let dir = tempfile::tempdir().unwrap();
        let ctxs: Vec<Vec<u32>> = (0..n).map(|i| vec![i, i + 1, i + 2]).collect();
        write_shards(dir.path(), &ctxs, chunk).unwrap();
        (dir, ctxs)
    }

    #[test]
    fn unseeded_reads_in_order_with_short_last_batch() {
        let (dir, ctxs) = fixture(7, 3);
        let mut s = TokenSource::open(dir.path()).unwrap();
        assert_eq!(s.num_sequences(), 7);
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while let Some(b) = s.next_batch(4).unwrap() {
            sizes.push(b.len());
            got.extend(b);
        }
        assert_eq!(sizes, vec![4, 3]);
        assert_eq!(got, ctxs);
        assert_eq!(s.seq_len(), Some(3));
    }

    #[test]
    fn seeded_is_a_permutation_and_resumes_exactly() {
        let (dir, ctxs) = fixture(10, 3);
        let all: Vec<Vec<u32>> = TokenSource::open(dir.path())
            .unwrap()
            .with_seed(5)
            .map(|r| r.unwrap())
            .collect();
        assert_ne!(all, ctxs);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(sorted, ctxs);
        let mut s = TokenSource::open(dir.path()).unwrap().with_seed(5);
        s.next_batch(4).unwrap();
        let pos = s.position();
        let rest_a: Vec<_> = s.map(|r| r.unwrap()).collect();
        let mut t = TokenSource::open(dir.path()).unwrap().with_seed(5);
        t.seek(pos).unwrap();
        let rest_b: Vec<_> = t.map(|r| r.unwrap()).collect();
        assert_eq!(rest_a, rest_b);
        assert_eq!(rest_a, all[4..].to_vec());
    }

    #[test]
    fn cycling_starts_a_new_epoch_in_another_order() {
        let (dir, _) = fixture(6, 2);
        let mut s = TokenSource::open(dir.path()).unwrap().with_seed(1).cycle(true);
        let e0 = s.next_batch(6).unwrap().unwrap();
        let e1 = s.next_batch(6).unwrap().unwrap();
        assert_eq!(s.position().epoch, 1);
        assert_ne!(e0, e1);
        let (mut a, mut b) = (e0.clone(), e1.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn wrong_length_and_missing_manifest_are_errors() {
        let (dir, _) = fixture(2, 2);
        let mut s = TokenSource::open(dir.path()).unwrap().expect_seq_len(2049);
        assert!(matches!(s.next_sequence(), Err(TrainError::TokenShard { .. })));
        let empty = tempfile::tempdir().unwrap();
        assert!(TokenSource::open(empty.path()).is_err());
    }
}
