//! Two-phase global dedup (MinHash-LSH, exact): per-shard signature files (phase 1, parallel, can run
//! in separate processes), a merge that buckets band keys, links candidates with union-find and keeps
//! the first document of every cluster (phase 2), and an apply pass that drops the rest (phase 3).
//!
//! Documents are identified by `(shard, line)`; shards are ordered by their path relative to the input
//! root, so "first" means first in sorted shard order, then line order, whatever the thread count.
//!
//! Signature file (little-endian): `b"DCLMSIG2"`, params id u64, bands u32, sketch length u32, the shard's
//! relative path (u32 length + UTF-8), the identity of the shard that was signed (u32 length + JSON: size and
//! xxh3-128 of its bytes, modification time 0 so that copies of a shard sign alike; the apply phase refuses a
//! shard whose bytes differ, since drops are by line number), then per document: line u64, `bands` u64 keys, `sketch` u32
//! values; then the trailer `b"END!"`, the record count u64 and an xxh3-64 of everything before it.

use crate::error::{DedupError, Result};
use dclm_core::io::ShardReader;
use dclm_core::{Document, InputIdentity, Stats};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

const SIG_MAGIC: &[u8; 8] = b"DCLMSIG2";
const SIG_END: &[u8; 4] = b"END!";

/// One document's signature: LSH band keys (documents sharing any key are candidates) and an optional
/// sketch used to verify a candidate pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    /// Band keys.
    pub bands: Vec<u64>,
    /// Verification sketch (MinHash values or a full-width text hash); may be empty.
    pub sketch: Vec<u32>,
}

/// A global deduplicator: signatures per document, a pairwise check for candidates.
pub trait GlobalDeduplicator: Send + Sync {
    /// Short name for stats.
    fn name(&self) -> &str;
    /// A fingerprint of the settings; signature files of different settings are never merged.
    fn params_id(&self) -> u64;
    /// Number of band keys every signature has.
    fn num_bands(&self) -> usize;
    /// Length of every sketch.
    fn sketch_len(&self) -> usize;
    /// The signature of `doc`, or `None` when it takes no part (e.g. no words): such documents are kept.
    fn signature(&self, doc: &Document) -> Option<Signature>;
    /// Whether two candidates (sharing a band key) are duplicates. Default: yes.
    fn same_cluster(&self, _a: &Signature, _b: &Signature) -> bool {
        true
    }
}

/// Where a document is: shard index (in sorted order) and 1-based line.
pub type DocKey = (u32, u64);

/// Phase 1: write the signatures of one shard to `sig_path`. `rel` names the shard in the merge.
pub fn write_signatures(
    dedup: &dyn GlobalDeduplicator,
    shard: &Path,
    rel: &str,
    sig_path: &Path,
    stats: &mut Stats,
) -> Result<u64> {
    let identity = InputIdentity::of(shard)?;
    let reader = ShardReader::open(shard)?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(SIG_MAGIC);
    buf.extend_from_slice(&dedup.params_id().to_le_bytes());
    buf.extend_from_slice(&(dedup.num_bands() as u32).to_le_bytes());
    buf.extend_from_slice(&(dedup.sketch_len() as u32).to_le_bytes());
    buf.extend_from_slice(&(rel.len() as u32).to_le_bytes());
    buf.extend_from_slice(rel.as_bytes());
    // Size and content hash only: the signature file (and the drop set made from it) must be the same bytes
    // for the same shard wherever it was copied; a check then compares content hashes.
    let recorded = InputIdentity {
        mtime_ns: 0,
        ..identity.clone()
    };
    let id_json = serde_json::to_vec(&recorded).map_err(dclm_core::CoreError::from)?;
    buf.extend_from_slice(&(id_json.len() as u32).to_le_bytes());
    buf.extend_from_slice(&id_json);
    let mut count = 0u64;
    let mut batch: Vec<(u64, Document)> = Vec::with_capacity(1024);
    let mut flush = |batch: &mut Vec<(u64, Document)>, buf: &mut Vec<u8>| {
        let sigs: Vec<(u64, Option<Signature>)> =
            batch.par_iter().map(|(line, d)| (*line, dedup.signature(d))).collect();
        batch.clear();
        for (line, sig) in sigs {
            let Some(sig) = sig else { continue };
            buf.extend_from_slice(&line.to_le_bytes());
            for b in &sig.bands {
                buf.extend_from_slice(&b.to_le_bytes());
            }
            for s in &sig.sketch {
                buf.extend_from_slice(&s.to_le_bytes());
            }
            count += 1;
        }
    };
    for item in reader {
        match item {
            Ok((line, doc)) => {
                stats.docs_in += 1;
                batch.push((line, doc));
                if batch.len() == 1024 {
                    flush(&mut batch, &mut buf);
                }
            }
            Err(e) => stats.record_error(e.reason(), e.to_string()),
        }
    }
    flush(&mut batch, &mut buf);
    if !identity.matches(shard)? {
        return Err(DedupError::Config(format!(
            "{}: the shard changed while it was signed; rerun",
            shard.display()
        )));
    }
    buf.extend_from_slice(SIG_END);
    buf.extend_from_slice(&count.to_le_bytes());
    let sum = xxh3_64(&buf);
    buf.extend_from_slice(&sum.to_le_bytes());
    dclm_core::io::write_atomic(sig_path, &buf)?;
    Ok(count)
}

/// The signatures of one shard, read back.
#[derive(Debug, Clone)]
pub struct ShardSignatures {
    /// The shard's relative path.
    pub rel: String,
    /// The shard that was signed.
    pub input: InputIdentity,
    /// `(line, signature)` in line order.
    pub docs: Vec<(u64, Signature)>,
}

/// The identity of the shard a signature file was made from, read from its header alone (after checking magic
/// and settings); the map phase uses it to skip shards already signed without reading every record.
pub fn read_signature_header(dedup: &dyn GlobalDeduplicator, path: &Path) -> Result<InputIdentity> {
    use std::io::Read;
    let bad = |offset: usize, message: &str| DedupError::BadSignatureFile {
        path: path.to_path_buf(),
        offset: offset as u64,
        message: message.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(|e| DedupError::io(path, e))?;
    let mut read = |n: usize, at: usize| -> Result<Vec<u8>> {
        let mut b = vec![0u8; n];
        f.read_exact(&mut b).map_err(|_| bad(at, "header runs past the end"))?;
        Ok(b)
    };
    let head = read(28, 0)?;
    let u32_of = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize;
    if &head[..8] != SIG_MAGIC {
        return Err(bad(0, "not a signature file (wrong magic)"));
    }
    if u64::from_le_bytes(head[8..16].try_into().expect("8 bytes")) != dedup.params_id() {
        return Err(bad(8, "written with other dedup settings than this merge uses"));
    }
    let rel_len = u32_of(&head[24..28]);
    read(rel_len, 28)?;
    let id_len = u32_of(&read(4, 28 + rel_len)?);
    let id = read(id_len, 32 + rel_len)?;
    serde_json::from_slice(&id).map_err(|e| bad(32 + rel_len, &format!("input identity: {e}")))
}

/// Read a signature file, checking magic, settings, trailer and checksum.
pub fn read_signatures(dedup: &dyn GlobalDeduplicator, path: &Path) -> Result<ShardSignatures> {
    let bytes = std::fs::read(path).map_err(|e| DedupError::io(path, e))?;
    let bad = |offset: usize, message: &str| DedupError::BadSignatureFile {
        path: path.to_path_buf(),
        offset: offset as u64,
        message: message.to_string(),
    };
    if bytes.len() < 28 + 20 || &bytes[..8] != SIG_MAGIC {
        return Err(bad(0, "not a signature file (wrong magic or too short)"));
    }
    let body_end = bytes.len() - 8;
    let sum = u64::from_le_bytes(bytes[body_end..].try_into().expect("8 bytes"));
    if xxh3_64(&bytes[..body_end]) != sum || &bytes[body_end - 12..body_end - 8] != SIG_END {
        return Err(bad(body_end, "truncated or corrupt (trailer or checksum mismatch)"));
    }
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
    if u64_at(8) != dedup.params_id() {
        return Err(bad(8, "written with other dedup settings than this merge uses"));
    }
    let (nb, ns) = (u32_at(16) as usize, u32_at(20) as usize);
    if nb != dedup.num_bands() || ns != dedup.sketch_len() {
        return Err(bad(16, "band/sketch sizes differ from this merge's settings"));
    }
    let rel_len = u32_at(24) as usize;
    let mut o = 28 + rel_len;
    let records_end = body_end - 12;
    if o > records_end {
        return Err(bad(24, "path length runs past the end"));
    }
    let rel = String::from_utf8(bytes[28..o].to_vec()).map_err(|_| bad(28, "path is not UTF-8"))?;
    if o + 4 > records_end {
        return Err(bad(o, "input identity runs past the end"));
    }
    let id_len = u32_at(o) as usize;
    let id_end = o + 4 + id_len;
    if id_end > records_end {
        return Err(bad(o, "input identity runs past the end"));
    }
    let input: InputIdentity =
        serde_json::from_slice(&bytes[o + 4..id_end]).map_err(|e| bad(o + 4, &format!("input identity: {e}")))?;
    o = id_end;
    let rec = 8 + 8 * nb + 4 * ns;
    let count = u64_at(body_end - 8) as usize;
    if (records_end - o) != count * rec {
        return Err(bad(o, "record count does not match the file size"));
    }
    let mut docs = Vec::with_capacity(count);
    while o < records_end {
        let line = u64_at(o);
        let bands = (0..nb).map(|i| u64_at(o + 8 + 8 * i)).collect();
        let sketch = (0..ns).map(|i| u32_at(o + 8 + 8 * nb + 4 * i)).collect();
        docs.push((line, Signature { bands, sketch }));
        o += rec;
    }
    Ok(ShardSignatures { rel, input, docs })
}

/// Lines to drop per shard (relative path → sorted 1-based lines).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DropSet {
    /// Shard relative path → lines to drop.
    pub shards: BTreeMap<String, Vec<u64>>,
    /// Shard relative path → the bytes that were signed (lines are only meaningful for those bytes).
    #[serde(default)]
    pub inputs: BTreeMap<String, InputIdentity>,
    /// Documents that had a signature.
    pub docs: u64,
    /// Clusters of two or more documents.
    pub clusters: u64,
}

impl DropSet {
    /// Total documents to drop.
    pub fn dropped(&self) -> u64 {
        self.shards.values().map(|v| v.len() as u64).sum()
    }
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let p = self.0[x as usize];
            self.0[x as usize] = self.0[p as usize];
            x = p;
        }
        x
    }
    /// Union keeping the smaller index as root (the earliest document).
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi as usize] = lo;
        }
    }
}

/// Phase 2: merge the signatures of all shards (any order; sorted here by relative path) and decide
/// which documents to drop: candidates share a band key with the first document of that bucket and pass
/// [`GlobalDeduplicator::same_cluster`]; every connected cluster keeps its earliest document.
pub fn merge(dedup: &dyn GlobalDeduplicator, mut shards: Vec<ShardSignatures>) -> DropSet {
    shards.sort_by(|a, b| a.rel.cmp(&b.rel));
    let docs: Vec<(DocKey, &Signature)> = shards
        .iter()
        .enumerate()
        .flat_map(|(si, s)| s.docs.iter().map(move |(line, sig)| ((si as u32, *line), sig)))
        .collect();
    let n = docs.len();
    let mut uf = UnionFind((0..n as u32).collect());
    // Per band: bucket key -> first document. Bands are independent, so they are built in parallel; the
    // unions are applied in band order (the components do not depend on it).
    let nb = dedup.num_bands();
    let pairs: Vec<Vec<(u32, u32)>> = (0..nb)
        .into_par_iter()
        .map(|b| {
            let mut first: HashMap<u64, u32> = HashMap::with_capacity(n);
            let mut out = Vec::new();
            for (i, (_, sig)) in docs.iter().enumerate() {
                let Some(&key) = sig.bands.get(b) else { continue };
                match first.get(&key) {
                    Some(&rep) => {
                        if dedup.same_cluster(docs[rep as usize].1, sig) {
                            out.push((rep, i as u32));
                        }
                    }
                    None => {
                        first.insert(key, i as u32);
                    }
                }
            }
            out
        })
        .collect();
    for band in pairs {
        for (a, b) in band {
            uf.union(a, b);
        }
    }
    let mut set = DropSet {
        docs: n as u64,
        inputs: shards.iter().map(|s| (s.rel.clone(), s.input.clone())).collect(),
        ..Default::default()
    };
    let mut cluster_sizes: HashMap<u32, u32> = HashMap::new();
    for i in 0..n as u32 {
        let r = uf.find(i);
        *cluster_sizes.entry(r).or_default() += 1;
        if r != i {
            let ((si, line), _) = docs[i as usize];
            set.shards
                .entry(shards[si as usize].rel.clone())
                .or_default()
                .push(line);
        }
    }
    set.clusters = cluster_sizes.values().filter(|&&c| c > 1).count() as u64;
    set
}

/// Write a drop set as JSON (for the apply phase in another process).
pub fn save_drop_set(set: &DropSet, path: &Path) -> Result<()> {
    let json = serde_json::to_vec(set).map_err(|e| DedupError::Config(format!("serializing drop set: {e}")))?;
    dclm_core::io::write_atomic(path, &json)?;
    Ok(())
}

/// Read a drop set written by [`save_drop_set`].
pub fn load_drop_set(path: &Path) -> Result<DropSet> {
    let bytes = std::fs::read(path).map_err(|e| DedupError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| DedupError::BadSignatureFile {
        path: path.to_path_buf(),
        offset: e.column() as u64,
        message: e.to_string(),
    })
}

/// The signature file name for a shard's relative path under `dir`.
pub fn sig_path(dir: &Path, rel: &str) -> PathBuf {
    let mut p = dir.join(rel).into_os_string();
    p.push(".sig");
    PathBuf::from(p)
}
