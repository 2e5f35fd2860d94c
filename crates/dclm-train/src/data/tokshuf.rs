//! Tokenize + two-stage shuffle (DCLM's `tokshuf-rs`), made deterministic: the output bytes are a pure
//! function of the input files (their contents and sorted paths' order), the tokenizer, the configuration
//! and the seed — never of thread count or timing.
//!
//! Stage 1 (input files in sorted order; within a file, documents are tokenized and contexts compressed in
//! parallel batches): every document's ids are followed by EOT (id 0) and concatenated; the stream is cut into
//! `seqlen` (2049) contexts, the last one right-padded with PAD (DCLM: base vocabulary + 2 = 50256); each
//! context is gzipped JSON and appended to a random "local cell" tar, drawn from an RNG seeded by (seed, file
//! index). Entry names carry (file index, context index) so that a cell's contents can be put back into a
//! canonical order whatever order the threads appended them in.
//!
//! Stage 2 (rounds): each cell is indexed (names and offsets only — the data stays on disk), sorted into the
//! canonical order, shuffled with an RNG seeded by (seed, round, cell), and cut into `wds_chunk_size` (8192)
//! chunks. Full chunks become `shard_%08d.tar` with ids fixed in advance from the cell sizes; the leftover
//! contexts go to random overflow cells (cells / 16, at least 1) and the next round repeats until a single
//! cell remains, whose last chunk may be short.
//!
//! Memory: one document batch in stage 1, one cell's index (≈ 100 bytes per context) per thread in stage 2;
//! it does not grow with the number of files. Disk: the cells (≈ the output size) plus the output; a cell is
//! deleted as soon as it has been processed.

use super::rng::{derive_seed, SplitMix64};
use super::shards::{
    encode_context, index_tar, read_at, shard_file_name, write_manifest, ManifestEntry, TarWriter, MANIFEST,
};
use crate::error::{Result, TrainError};
use dclm_core::Stats;
use dclm_tokenizer::{Tokenizer, TokenizerSpec};
use rayon::prelude::*;
use serde::Serialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// DCLM's end-of-text id, appended after every document.
pub const EOT_ID: u32 = 0;
/// DCLM's offset of the PAD id above the base vocabulary (`PAD = vocab + 2`).
pub const PAD_OFFSET: u32 = 2;
/// DCLM's overflow reduction factor between shuffle rounds.
pub const OVERFLOW_REDUCTION: usize = 16;

const STAGE1_TAG: u64 = 0x7331;
const STAGE2_TAG: u64 = 0x7332;

/// Configuration of [`tokenize_shuffle`]; [`TokshufConfig::new`] gives DCLM's defaults.
#[derive(Debug, Clone)]
pub struct TokshufConfig {
    /// The tokenizer (DCLM: GPT-NeoX `tokenizer.json`; `--use-tiktoken`: the `.tiktoken` ranks).
    pub tokenizer: TokenizerSpec,
    /// Where `shard_*.tar`, `manifest.jsonl` and `stats.json` go. Must not hold a manifest already.
    pub output_dir: PathBuf,
    /// Scratch folder for the local cells (`--local-cell-dir`); default `<output_dir>/_tokshuf_cells`.
    pub work_dir: Option<PathBuf>,
    /// Tokens per context (`--seqlen`, 2049 = 2048 + 1 shifted target).
    pub seqlen: usize,
    /// Contexts per output shard (`--wds-chunk-size`, 8192).
    pub wds_chunk_size: usize,
    /// Local cells of the coarse shuffle (`--num-local-cells`, DCLM default 128, README uses 512).
    pub num_local_cells: usize,
    /// Shuffle seed (`--seed`, 1234).
    pub seed: u64,
    /// Worker threads; 0 = all cores. Does not change the output.
    pub threads: usize,
    /// End-of-text id appended after each document (DCLM: 0).
    pub eot_id: u32,
    /// PAD id; `None` = the tokenizer's base vocabulary + 2 (DCLM; 50256 for GPT-NeoX).
    pub pad_id: Option<u32>,
    /// Id prepended to every document (DCLM's Llama-3 path uses BOS 128000); `None` for GPT-NeoX.
    pub bos_id: Option<u32>,
    /// DCLM's tokshuf-rs quirk: emit an all-PAD context when a file's token count is an exact multiple of
    /// `seqlen` (or the file is empty). Off by default, as in the Ray version.
    pub pad_empty_remainder: bool,
    /// Documents tokenized per parallel batch (bounds stage-1 memory).
    pub batch_docs: usize,
}

impl TokshufConfig {
    /// DCLM's defaults (seqlen 2049, 8192 contexts per shard, 128 cells, seed 1234, EOT 0, PAD = vocab + 2).
    pub fn new(tokenizer: TokenizerSpec, output_dir: impl Into<PathBuf>) -> Self {
        TokshufConfig {
            tokenizer,
            output_dir: output_dir.into(),
            work_dir: None,
            seqlen: 2049,
            wds_chunk_size: 8192,
            num_local_cells: 128,
            seed: 1234,
            threads: 0,
            eot_id: EOT_ID,
            pad_id: None,
            bos_id: None,
            pad_empty_remainder: false,
            batch_docs: 512,
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(TrainError::DataConfig(m.to_string()));
        if self.seqlen == 0 {
            return bad("seqlen must be > 0");
        }
        if self.wds_chunk_size == 0 {
            return bad("wds_chunk_size must be > 0");
        }
        if self.num_local_cells == 0 {
            return bad("num_local_cells must be > 0");
        }
        if self.batch_docs == 0 {
            return bad("batch_docs must be > 0");
        }
        Ok(())
    }
}

/// What a [`tokenize_shuffle`] run did.
#[derive(Debug, Clone, Serialize)]
pub struct TokshufSummary {
    /// Input files read (after expanding folders).
    pub files: u64,
    /// Documents tokenized.
    pub docs: u64,
    /// Input lines skipped (invalid JSON, no `text`, tokenizer failure, truncated stream), see `stats.errors`.
    pub bad_lines: u64,
    /// Document tokens written, including the EOT (and BOS) ids.
    pub doc_tokens: u64,
    /// PAD tokens written.
    pub pad_tokens: u64,
    /// Contexts written (each `seqlen` ids).
    pub contexts: u64,
    /// Shard tars written.
    pub shards: u64,
    /// Tokens per context.
    pub seqlen: usize,
    /// EOT id used.
    pub eot_id: u32,
    /// PAD id used.
    pub pad_id: u32,
    /// Seed used.
    pub seed: u64,
    /// Tokenizer name.
    pub tokenizer: String,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// dclm-core stats (docs, bytes, errors with examples), also written to `stats.json`.
    pub stats: Stats,
}

/// Tokenize and shuffle `inputs` (JSONL files, `.gz`/`.zst`, or folders of them) into `cfg.output_dir`, loading
/// `cfg.tokenizer`.
pub fn tokenize_shuffle(cfg: &TokshufConfig, inputs: &[PathBuf]) -> Result<TokshufSummary> {
    let enc = cfg.tokenizer.load()?;
    tokenize_shuffle_with(cfg, enc.as_ref(), inputs)
}

/// As [`tokenize_shuffle`] with any [`Tokenizer`] (`cfg.tokenizer` is not used).
pub fn tokenize_shuffle_with(cfg: &TokshufConfig, enc: &dyn Tokenizer, inputs: &[PathBuf]) -> Result<TokshufSummary> {
    cfg.validate()?;
    let start = Instant::now();
    let files = expand_inputs(inputs)?;
    let out = &cfg.output_dir;
    if out.join(MANIFEST).exists() {
        return Err(TrainError::DataConfig(format!(
            "{} already holds {MANIFEST}",
            out.display()
        )));
    }
    let io = |p: &Path, e| TrainError::Io {
        path: p.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let work = cfg.work_dir.clone().unwrap_or_else(|| out.join("_tokshuf_cells"));
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|e| io(&work, e))?;
    }
    std::fs::create_dir_all(&work).map_err(|e| io(&work, e))?;
    let pad_id = cfg.pad_id.unwrap_or(enc.base_vocab_size() as u32 + PAD_OFFSET);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| TrainError::DataConfig(format!("thread pool: {e}")))?;
    let run = Run {
        cfg,
        enc,
        pad_id,
        work: &work,
    };
    let (stats, counts, manifest) = pool.install(|| -> Result<_> {
        let cells = CellSet::create(&work, "local_cell", 0, cfg.num_local_cells)?;
        // Files one after another, each one's documents in parallel batches: memory stays at one batch
        // whatever the number of files (rayon would otherwise start new files while a thread waits).
        let mut stats = Stats::new("tokshuf");
        let mut counts = Counts::default();
        for (fi, path) in files.iter().enumerate() {
            let f = run.stage1_file(fi as u64, path, &cells)?;
            stats.merge(&f.stats);
            counts.add(&f.counts);
        }
        let cells = cells.finish()?;
        let manifest = run.stage2(cells)?;
        Ok((stats, counts, manifest))
    })?;
    write_manifest(out, &manifest)?;
    let _ = std::fs::remove_dir_all(&work);

    let mut stats = stats;
    stats.seconds = start.elapsed().as_secs_f64();
    stats.bytes_out = manifest
        .iter()
        .map(|m| {
            std::fs::metadata(out.join(format!("{}.tar", m.shard)))
                .map(|md| md.len())
                .unwrap_or(0)
        })
        .sum();
    let summary = TokshufSummary {
        files: files.len() as u64,
        docs: counts.docs,
        bad_lines: stats.error_count(),
        doc_tokens: counts.doc_tokens,
        pad_tokens: counts.pad_tokens,
        contexts: manifest.iter().map(|m| m.num_sequences).sum(),
        shards: manifest.len() as u64,
        seqlen: cfg.seqlen,
        eot_id: cfg.eot_id,
        pad_id,
        seed: cfg.seed,
        tokenizer: enc.name().to_string(),
        seconds: stats.seconds,
        stats,
    };
    let json = serde_json::to_vec_pretty(&summary.stats).map_err(|e| TrainError::Json {
        path: out.join("stats.json"),
        source: e,
    })?;
    dclm_core::io::write_atomic(&out.join("stats.json"), &json)?;
    Ok(summary)
}

/// Expand folders into their JSONL shards ([`dclm_core::io::shard_files`]: recursive, `_`/`.` entries
/// skipped), then sort and de-duplicate.
/// A named file that does not exist is kept: reading it fails later and is counted as an input error.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let (dirs, files): (Vec<PathBuf>, Vec<PathBuf>) = inputs.iter().cloned().partition(|p| p.is_dir());
    let mut out = dclm_core::io::shard_files(&dirs, dclm_core::io::JSONL_SUFFIXES)?;
    out.extend(files);
    out.sort();
    out.dedup();
    Ok(out)
}

#[derive(Debug, Default, Clone)]
struct Counts {
    docs: u64,
    doc_tokens: u64,
    pad_tokens: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.docs += o.docs;
        self.doc_tokens += o.doc_tokens;
        self.pad_tokens += o.pad_tokens;
    }
}

struct FileStats {
    stats: Stats,
    counts: Counts,
}
type FileOutcome = Result<FileStats>;

/// A set of cell tars appended to by many threads.
struct CellSet {
    writers: Vec<Mutex<TarWriter>>,
}

impl CellSet {
    fn create(dir: &Path, prefix: &str, round: u64, n: usize) -> Result<Self> {
        let writers = (0..n)
            .map(|i| TarWriter::create(dir.join(format!("{prefix}_{round:04}_{i:08}.tar"))).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(CellSet { writers })
    }

    fn append(&self, cell: usize, name: &str, data: &[u8]) -> Result<()> {
        let mut w = self.writers[cell]
            .lock()
            .map_err(|_| TrainError::DataConfig("a worker panicked".into()))?;
        w.append(name, data)
    }

    fn finish(self) -> Result<Vec<(PathBuf, u64)>> {
        self.writers
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .map_err(|_| TrainError::DataConfig("a worker panicked".into()))?
                    .finish()
            })
            .collect()
    }
}

struct Run<'a> {
    cfg: &'a TokshufConfig,
    enc: &'a dyn Tokenizer,
    pad_id: u32,
    work: &'a Path,
}

/// Extract and tokenize the `text` of one JSONL line; `Err((reason, message))` for a bad line.
fn encode_line(enc: &dyn Tokenizer, line: &[u8]) -> std::result::Result<Vec<u32>, (&'static str, String)> {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        text: Option<std::borrow::Cow<'a, str>>,
    }
    if let Err(e) = std::str::from_utf8(line) {
        return Err(("invalid_utf8", format!("invalid UTF-8 at byte {}", e.valid_up_to())));
    }
    let parsed: Line<'_> = serde_json::from_slice(line).map_err(|e| ("invalid_json", e.to_string()))?;
    let text = parsed.text.ok_or(("missing_text", "no \"text\" field".to_string()))?;
    enc.encode(&text).map_err(|e| ("tokenize_error", e.to_string()))
}

impl Run<'_> {
    fn stage1_file(&self, fi: u64, path: &Path, cells: &CellSet) -> FileOutcome {
        let cfg = self.cfg;
        let mut stats = Stats::new("tokshuf");
        stats.shards = 1;
        let mut counts = Counts::default();
        let raw = Arc::new(AtomicU64::new(0));
        let mut reader = match dclm_core::io::open_decompressed(path, raw.clone()) {
            Ok(r) => r,
            Err(e) => {
                stats.record_error(e.reason(), e.to_string());
                return Ok(FileStats { stats, counts });
            }
        };
        let mut rng = SplitMix64::new(derive_seed(&[cfg.seed, STAGE1_TAG, fi]));
        let n_cells = cfg.num_local_cells as u64;
        let mut pending: Vec<u32> = Vec::with_capacity(cfg.seqlen * 2);
        let mut ctx_idx: u64 = 0;
        let mut line_no: u64 = 0;
        let mut eof = false;
        let mut write_contexts = |pending: &mut Vec<u32>, flush: bool, counts: &mut Counts| -> Result<()> {
            if flush && (!pending.is_empty() || cfg.pad_empty_remainder) {
                let fill = (cfg.seqlen - pending.len() % cfg.seqlen) % cfg.seqlen;
                let fill = if pending.is_empty() { cfg.seqlen } else { fill };
                counts.pad_tokens += fill as u64;
                pending.resize(pending.len() + fill, self.pad_id);
            }
            let n = pending.len() / cfg.seqlen;
            let blobs: Vec<Vec<u8>> = pending[..n * cfg.seqlen]
                .par_chunks_exact(cfg.seqlen)
                .map(|c| {
                    let mut b = Vec::new();
                    encode_context(c, &mut b);
                    b
                })
                .collect();
            for b in blobs {
                let cell = rng.below(n_cells) as usize;
                let name = format!("{fi:08}_{ctx_idx:010}_{}.json.gz", rng.uuid4());
                cells.append(cell, &name, &b)?;
                ctx_idx += 1;
            }
            pending.drain(..n * cfg.seqlen);
            Ok(())
        };
        let mut lines: Vec<(u64, Vec<u8>)> = Vec::with_capacity(cfg.batch_docs);
        while !eof {
            lines.clear();
            while lines.len() < cfg.batch_docs {
                let mut buf = Vec::new();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(_) => {
                        line_no += 1;
                        if !buf.iter().all(u8::is_ascii_whitespace) {
                            lines.push((line_no, buf));
                        }
                    }
                    Err(e) => {
                        let msg = format!(
                            "{}: truncated or corrupt stream after line {line_no}: {e}",
                            path.display()
                        );
                        stats.record_error("corrupt_stream", msg);
                        eof = true;
                        break;
                    }
                }
            }
            let encoded: Vec<_> = lines.par_iter().map(|(_, l)| encode_line(self.enc, l)).collect();
            for ((ln, _), r) in lines.iter().zip(encoded) {
                match r {
                    Ok(ids) => {
                        counts.docs += 1;
                        let before = pending.len();
                        if let Some(b) = cfg.bos_id {
                            pending.push(b);
                        }
                        pending.extend_from_slice(&ids);
                        pending.push(cfg.eot_id);
                        counts.doc_tokens += (pending.len() - before) as u64;
                    }
                    Err((kind, msg)) => stats.record_error(kind, format!("{}:{ln}: {msg}", path.display())),
                }
            }
            write_contexts(&mut pending, false, &mut counts)?;
        }
        write_contexts(&mut pending, true, &mut counts)?;
        stats.docs_in = counts.docs;
        stats.docs_out = counts.docs;
        stats.bytes_in = raw.load(Ordering::Relaxed);
        Ok(FileStats { stats, counts })
    }

    /// Shuffle rounds over the cells; returns the manifest in shard-id order.
    fn stage2(&self, mut cells: Vec<(PathBuf, u64)>) -> Result<Vec<ManifestEntry>> {
        let chunk = self.cfg.wds_chunk_size as u64;
        let mut manifest = Vec::new();
        let mut next_id = 0u64;
        let mut round = 0u64;
        while !cells.is_empty() {
            let n = cells.len();
            let n_over = if n == 1 { 0 } else { (n / OVERFLOW_REDUCTION).max(1) };
            let last = n_over == 0;
            let mut first_ids = Vec::with_capacity(n);
            for (_, count) in &cells {
                first_ids.push(next_id);
                next_id += if last { count.div_ceil(chunk) } else { count / chunk };
            }
            let overflow = CellSet::create(self.work, "overflow", round + 1, n_over)?;
            let results: Vec<Result<Vec<ManifestEntry>>> = cells
                .par_iter()
                .enumerate()
                .map(|(c, (path, count))| {
                    self.process_cell(path, *count, round, c as u64, first_ids[c], &overflow, n_over)
                })
                .collect();
            for r in results {
                manifest.extend(r?);
            }
            cells = overflow.finish()?;
            round += 1;
        }
        Ok(manifest)
    }

    #[allow(clippy::too_many_arguments)]
    fn process_cell(
        &self,
        path: &Path,
        count: u64,
        round: u64,
        cell: u64,
        first_id: u64,
        overflow: &CellSet,
        n_over: usize,
    ) -> Result<Vec<ManifestEntry>> {
        let chunk = self.cfg.wds_chunk_size;
        let bad = |entry: &str, reason: String| TrainError::TokenShard {
            path: path.to_path_buf(),
            entry: entry.to_string(),
            reason,
        };
        let mut entries = Vec::with_capacity(count as usize);
        for e in index_tar(path)? {
            let mut it = e.name.splitn(3, '_');
            let (Some(a), Some(b), Some(rest)) = (it.next(), it.next(), it.next()) else {
                return Err(bad(&e.name, "not a tokshuf cell entry name".into()));
            };
            let (Ok(fi), Ok(ci)) = (a.parse::<u64>(), b.parse::<u64>()) else {
                return Err(bad(&e.name, "not a tokshuf cell entry name".into()));
            };
            let suffix_at = e.name.len() - rest.len();
            entries.push(((fi, ci), suffix_at, e));
        }
        if entries.len() as u64 != count {
            return Err(bad(
                "",
                format!("cell has {} entries, {count} were written", entries.len()),
            ));
        }
        entries.sort_unstable_by_key(|(k, _, _)| *k);
        let mut rng = SplitMix64::new(derive_seed(&[self.cfg.seed, STAGE2_TAG, round, cell]));
        rng.shuffle(&mut entries);
        let file = std::fs::File::open(path).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let last = n_over == 0;
        let full = entries.len() / chunk;
        let n_out = if last { entries.len().div_ceil(chunk) } else { full };
        let mut manifest = Vec::with_capacity(n_out);
        let mut buf = Vec::new();
        for k in 0..n_out {
            let id = first_id + k as u64;
            let mut w = TarWriter::create(self.cfg.output_dir.join(shard_file_name(id)))?;
            for (j, (_, suffix_at, e)) in entries[k * chunk..((k + 1) * chunk).min(entries.len())]
                .iter()
                .enumerate()
            {
                read_at(&file, path, e.offset, e.size, &mut buf)?;
                w.append(&format!("{id:08}_{j:08}_{}", &e.name[*suffix_at..]), &buf)?;
            }
            let (_, n) = w.finish()?;
            manifest.push(ManifestEntry {
                shard: format!("shard_{id:08}"),
                num_sequences: n,
            });
        }
        if !last {
            for (_, _, e) in &entries[full * chunk..] {
                read_at(&file, path, e.offset, e.size, &mut buf)?;
                overflow.append(rng.below(n_over as u64) as usize, &e.name, &buf)?;
            }
        }
        drop(file);
        std::fs::remove_file(path).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Ok(manifest)
    }
}
