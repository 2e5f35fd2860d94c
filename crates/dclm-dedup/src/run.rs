//! The stage entry point: [`run`] deduplicates JSONL shards with BFF, MinHash-LSH or exact dedup and
//! writes output shards (names mirrored under the output folder), `_done/` markers, `stats.json`
//! (dclm-core's `Stats`) and `dedup_report.json` (the method's own counters and the filter plan).
//!
//! BFF across shards (the default) reads the shards in sorted order. Within a batch of documents,
//! parsing, tokenizing and n-gram hashing run in parallel, then the filter decisions are made in
//! document order on one thread while the next batch is being prepared, then the output lines are
//! rendered in parallel and written in order. Output is therefore identical for every thread count.

use crate::bff::{Bff, BffConfig, Decision, Prepared, DROP_DUPLICATE, DROP_EMPTY};
use crate::bloom::{system_memory_bytes, BloomFilter, BloomPlan, DEFAULT_SEEDS};
use crate::error::{DedupError, Result};
use crate::exact::{ExactDedup, ExactKey};
use crate::global::{self, GlobalDeduplicator};
use crate::json::{write_line, KeyOrder};
use crate::minhash::{MinHashConfig, MinHashLsh};
use crate::tokenize::Hasher;
use dclm_core::executor::common_parent;
use dclm_core::io::{open_decompressed, write_atomic, ShardReader, ShardWriter};
use dclm_core::io::{read_line_capped, LineRead, DEFAULT_MAX_LINE_BYTES};
use dclm_core::{CoreError, Document, Executor, ExecutorConfig, InputIdentity, RunSummary, Stats, Verdict};
use rayon::prelude::*;
use serde::Serialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

/// Settings of a BFF run.
#[derive(Debug, Clone)]
pub struct BffRunConfig {
    /// The algorithm's settings (mode, n-gram sizes, threshold, annotate, read-only).
    pub bff: BffConfig,
    /// Expected number of n-grams (`--expected-ngram-count`): sizes the filter. Per shard when
    /// `cross_shard` is false.
    pub expected_ngrams: u64,
    /// Target per-n-gram false-positive rate (`--fp-rate`; DCLM: 0.01).
    pub fp_rate: f64,
    /// Hash functions (0 = optimal, BFF's default).
    pub num_hashers: u32,
    /// Token and n-gram hash seeds of a new filter (a loaded filter brings its own).
    pub seeds: (u64, u64),
    /// Load the filter from this file if it exists (BFF's `--bloom-filter-file`) ...
    pub filter_file: Option<PathBuf>,
    /// ... and save it there after the run (cross-shard runs only).
    pub save_filter: bool,
    /// Refuse to start when the filter(s) need more bytes than this. `None` = no limit;
    /// [`BffRunConfig::new`] sets 90% of physical memory, like BFF's cap.
    pub memory_budget: Option<u64>,
    /// One filter for all shards (default). `false` = a fresh filter per shard, shards in parallel
    /// (DCLM's per-unit runs).
    pub cross_shard: bool,
}

impl BffRunConfig {
    /// DCLM-Baseline settings for `expected_ngrams` n-grams: old-both, 13-grams, threshold 0.8,
    /// fp 0.01, cross-shard, budget 90% of RAM.
    pub fn new(expected_ngrams: u64) -> Self {
        BffRunConfig {
            bff: BffConfig::default(),
            expected_ngrams,
            fp_rate: 0.01,
            num_hashers: 0,
            seeds: DEFAULT_SEEDS,
            filter_file: None,
            save_filter: true,
            memory_budget: system_memory_bytes().map(|m| m / 10 * 9),
            cross_shard: true,
        }
    }
}

/// Which dedup to run.
#[derive(Debug, Clone)]
pub enum Method {
    /// BFF Bloom-filter n-gram dedup.
    Bff(BffRunConfig),
    /// MinHash-LSH near-duplicate dedup (global, two-phase).
    MinHash(MinHashConfig),
    /// Exact dedup on text or URL (global, two-phase).
    Exact(ExactKey),
}

/// Settings of a dedup run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The method.
    pub method: Method,
    /// Output folder.
    pub output_dir: PathBuf,
    /// Input names are mirrored relative to this folder (default: the inputs' common parent).
    pub input_root: Option<PathBuf>,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Key order of output documents (default: sorted, as BFF writes them).
    pub key_order: KeyOrder,
    /// Show progress bars (global methods' apply phase).
    pub progress: bool,
    /// Uncompressed bytes per BFF batch.
    pub batch_bytes: usize,
    /// Where global methods keep signature files and the drop set (default `<output>/_signatures`).
    pub work_dir: Option<PathBuf>,
    /// This task's rank in `0..world_size`: it processes every `world_size`-th shard in sorted order
    /// (BFF's `--shard-num`; a BFF rank keeps its own filter, like BFF's virtual shards).
    pub rank: usize,
    /// Number of tasks (BFF's `--total-shards`). Global methods with more than one task run
    /// [`global_signatures`] on every rank, [`global_merge`] once, then [`apply_drop_set`] on every rank.
    pub world_size: usize,
    /// Discard earlier results of this rank in the output folder (markers, outputs, signatures).
    pub fresh: bool,
    /// Mark shards whose input ends early or is corrupt as complete (see `dclm_core::ExecutorConfig`).
    pub accept_partial: bool,
}

impl RunConfig {
    /// Fingerprint of every setting that changes the output (not the thread count, progress or memory budget).
    pub fn settings_fingerprint(&self) -> String {
        let mut fp = dclm_core::Fingerprint::new("dedup");
        fp.add("version", env!("CARGO_PKG_VERSION").as_bytes())
            .add_debug("key_order", &self.key_order);
        match &self.method {
            Method::Bff(b) => {
                fp.add("method", b"bff")
                    .add_debug("bff", &b.bff)
                    .add_debug("expected_ngrams", &b.expected_ngrams)
                    .add_debug("fp_rate", &b.fp_rate.to_bits())
                    .add_debug("num_hashers", &b.num_hashers)
                    .add_debug("seeds", &b.seeds)
                    .add_debug("cross_shard", &b.cross_shard)
                    .add_debug("filter_file", &b.filter_file);
            }
            Method::MinHash(m) => {
                fp.add("method", b"minhash").add_debug("minhash", m);
            }
            Method::Exact(k) => {
                fp.add("method", b"exact").add_debug("key", k);
            }
        }
        fp.finish()
    }
}

impl RunConfig {
    /// Defaults for `method` writing to `output_dir`.
    pub fn new(method: Method, output_dir: impl Into<PathBuf>) -> Self {
        RunConfig {
            method,
            output_dir: output_dir.into(),
            input_root: None,
            threads: 0,
            key_order: KeyOrder::Sorted,
            progress: false,
            batch_bytes: 1 << 20,
            work_dir: None,
            rank: 0,
            world_size: 1,
            fresh: false,
            accept_partial: false,
        }
    }
}

/// The method's own counters, written to `dedup_report.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DedupReport {
    /// `bff`, `minhash` or `exact`.
    pub method: String,
    /// BFF remove type.
    pub mode: Option<String>,
    /// Filter bytes.
    pub filter_bytes: Option<u64>,
    /// Filter hashers.
    pub filter_hashers: Option<u32>,
    /// Predicted per-n-gram fp rate at the expected load.
    pub predicted_fp: Option<f64>,
    /// Fraction of filter bits set at the end.
    pub filter_fill: Option<f64>,
    /// Documents read.
    pub docs_in: u64,
    /// Documents written.
    pub docs_out: u64,
    /// Documents removed whole (BFF: document ratio over the threshold; global: duplicates).
    pub docs_removed: u64,
    /// BFF: units (paragraph windows) seen.
    pub units: u64,
    /// BFF: units removed.
    pub units_removed: u64,
    /// BFF: n-grams checked.
    pub ngrams: u64,
    /// BFF: n-grams found in the filter.
    pub ngrams_contained: u64,
    /// BFF: text bytes in removed units.
    pub removed_bytes: u64,
    /// BFF: documents by the fraction of their n-grams already in the filter (contained / checked), in
    /// [`CONTAINMENT_BINS`] equal bins over [0, 1]; documents without an n-gram are not counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containment: Vec<u64>,
    /// Global: documents with a signature.
    pub signed_docs: u64,
    /// Global: clusters of two or more documents.
    pub clusters: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Threads used.
    pub threads: usize,
}

impl DedupReport {
    fn add_decision(&mut self, d: &Decision) {
        if d.total_ngrams > 0 {
            let f = d.contained_ngrams as f64 / d.total_ngrams as f64;
            let bin = ((f * CONTAINMENT_BINS as f64) as usize).min(CONTAINMENT_BINS - 1);
            self.containment.resize(CONTAINMENT_BINS, 0);
            self.containment[bin] += 1;
        }
        self.units += d.units;
        self.units_removed += d.units_removed;
        self.ngrams += d.total_ngrams;
        self.ngrams_contained += d.contained_ngrams;
        self.removed_bytes += d.removed_bytes;
        self.docs_removed += d.doc_removed as u64;
    }

    fn merge(&mut self, o: &DedupReport) {
        self.docs_in += o.docs_in;
        self.docs_out += o.docs_out;
        self.docs_removed += o.docs_removed;
        self.units += o.units;
        self.units_removed += o.units_removed;
        self.ngrams += o.ngrams;
        self.ngrams_contained += o.ngrams_contained;
        self.removed_bytes += o.removed_bytes;
        if !o.containment.is_empty() {
            self.containment.resize(CONTAINMENT_BINS, 0);
            for (a, b) in self.containment.iter_mut().zip(&o.containment) {
                *a += b;
            }
        }
    }
}

/// Bins of [`DedupReport::containment`].
pub const CONTAINMENT_BINS: usize = 20;

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct DedupSummary {
    /// Shards, stats and failures (dclm-core's summary).
    pub run: RunSummary,
    /// The method's counters (also in `dedup_report.json`).
    pub report: DedupReport,
}

/// The JSONL shards under `paths` ([`dclm_core::io::shard_files`] with [`dclm_core::io::JSONL_SUFFIXES`]):
/// folders searched recursively (skipping `_`/`.` entries), files taken as given; sorted, without repeats.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    Ok(dclm_core::io::shard_files(paths, dclm_core::io::JSONL_SUFFIXES)?)
}

/// n-grams per uncompressed byte of JSONL, measured on English web and chat text (269,981 13-grams in
/// the 1.9 MB conformance corpus; 28.4 M in the 200 MB benchmark input: 0.141-0.142).
pub const NGRAMS_PER_BYTE: f64 = 0.142;

/// A quick `expected_ngrams` for [`BffRunConfig::new`] from the shards' sizes, times [`NGRAMS_PER_BYTE`]:
/// plain size; the decoded size of `.zst` shards (zstd decodes at memory speed, and its ratio on JSONL ranges
/// from 3x on unique pages to 100x and more on repeated ones, so no fixed factor fits); 4x the size of `.gz`
/// shards (gzip's ratio on JSONL stays near 3-4x, and decoding them twice would double the stage's reading).
/// Pass an exact count when known.
pub fn estimate_ngrams(inputs: &[PathBuf]) -> Result<u64> {
    let mut bytes = 0u64;
    for p in expand_inputs(inputs)? {
        let len = std::fs::metadata(&p).map_err(|e| DedupError::io(&p, e))?.len();
        bytes += match p.extension().and_then(|e| e.to_str()) {
            Some("zst" | "zstd") => decoded_len(&p)?,
            Some("gz") => 4 * len,
            _ => len,
        };
    }
    Ok(ngrams_for_bytes(bytes))
}

/// `expected_ngrams` for `bytes` of uncompressed JSONL: [`NGRAMS_PER_BYTE`] per byte, at least 1.
pub fn ngrams_for_bytes(bytes: u64) -> u64 {
    ((bytes as f64 * NGRAMS_PER_BYTE) as u64).max(1)
}

/// Decompressed length of a compressed shard. A broken stream counts what decodes before the break: the
/// stage itself reports the break when it reads the shard.
fn decoded_len(path: &Path) -> Result<u64> {
    let mut r = open_decompressed(path, Default::default())?;
    let mut n = 0u64;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c.len(),
            Err(_) => return Ok(n),
        };
        if chunk == 0 {
            return Ok(n);
        }
        n += chunk as u64;
        r.consume(chunk);
    }
}

/// Run the dedup stage over `inputs` (shard files; see [`expand_inputs`] for folders).
pub fn run(cfg: &RunConfig, inputs: &[PathBuf]) -> Result<DedupSummary> {
    let inputs = expand_inputs(inputs)?;
    if inputs.is_empty() {
        return Err(DedupError::Config(
            "no input shards (*.jsonl, *.jsonl.gz, *.jsonl.zst)".into(),
        ));
    }
    dclm_core::provenance::check_disjoint(&[], &inputs, &cfg.output_dir)?;
    std::fs::create_dir_all(&cfg.output_dir).map_err(|e| DedupError::io(&cfg.output_dir, e))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| DedupError::Config(format!("thread pool: {e}")))?;
    let threads = pool.current_num_threads();
    let start = Instant::now();
    let mut summary = pool.install(|| match &cfg.method {
        Method::Bff(b) if b.cross_shard => run_bff_cross_shard(cfg, b, &inputs),
        Method::Bff(b) => run_bff_per_shard(cfg, b, &inputs, threads),
        Method::MinHash(m) => run_global(cfg, &MinHashLsh::new(m.clone())?, &inputs),
        Method::Exact(k) => run_global(cfg, &ExactDedup { key: *k }, &inputs),
    })?;
    summary.report.seconds = start.elapsed().as_secs_f64();
    summary.report.threads = threads;
    let report_json = serde_json::to_vec_pretty(&summary.report)
        .map_err(|e| DedupError::Config(format!("serializing report: {e}")))?;
    write_atomic(&cfg.output_dir.join("dedup_report.json"), &report_json)?;
    if let Some((path, err)) = summary.run.failed.first() {
        return Err(DedupError::ShardsFailed {
            failed: summary.run.failed.len(),
            first_path: path.clone(),
            first_error: err.clone(),
        });
    }
    Ok(summary)
}

fn new_or_loaded_filter(b: &BffRunConfig, copies: u64, announce: bool) -> Result<(BloomFilter, BloomPlan)> {
    let plan = BloomPlan::new(b.expected_ngrams, b.fp_rate, b.num_hashers)?;
    if let Some(path) = b.filter_file.as_ref().filter(|p| p.exists()) {
        let f = BloomFilter::load(path, b.memory_budget)?;
        if b.bff.mode != crate::RemoveMode::Exact && f.params() != b.bff.filter_params() {
            let p = f.params();
            return Err(DedupError::FilterMismatch {
                path: path.clone(),
                found: format!("n-gram size {} (min {})", p.ngram_size, p.min_ngram_size),
                wanted: format!("n-gram size {} (min {})", b.bff.ngram_size, b.bff.min_ngram_size),
            });
        }
        if announce {
            eprintln!(
                "dedup: loaded Bloom filter {} ({} bytes, {} hashers)",
                path.display(),
                f.size_in_bytes(),
                f.hashers()
            );
        }
        return Ok((f, plan));
    }
    plan.check_budget(copies, b.memory_budget)?;
    if announce {
        eprintln!("dedup: {} (x {copies} at once)", plan.describe());
    }
    let (s1, s2) = b.seeds;
    Ok((
        BloomFilter::new(&plan, Hasher::new(s1, s2), b.bff.filter_params()),
        plan,
    ))
}

fn bff_report(b: &BffRunConfig, f: &BloomFilter, plan: &BloomPlan) -> DedupReport {
    DedupReport {
        method: "bff".into(),
        mode: Some(b.bff.mode.name().into()),
        filter_bytes: Some(f.size_in_bytes()),
        filter_hashers: Some(f.hashers()),
        predicted_fp: Some(plan.predicted_fp),
        ..Default::default()
    }
}

/// The inputs whose n-grams a saved Bloom filter holds: `<filter>.inputs.json` beside it.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct FilterInputs {
    /// Settings fingerprint of the runs that filled it.
    settings: String,
    /// Every input inserted, by name and content hash.
    inputs: Vec<FilterInput>,
}

#[derive(Debug, Serialize, serde::Deserialize)]
struct FilterInput {
    name: String,
    xxh3: String,
}

fn filter_inputs_path(filter: &Path) -> PathBuf {
    let mut s = filter.as_os_str().to_os_string();
    s.push(".inputs.json");
    PathBuf::from(s)
}

/// Refuse to dedup inputs against a saved filter that already holds their n-grams (every document would be
/// found "duplicate" of itself). A filter without the record beside it (e.g. written by BFF) is used with a
/// warning, as BFF would.
fn check_filter_inputs(b: &BffRunConfig, inputs: &[(PathBuf, InputIdentity)]) -> Result<()> {
    let Some(path) = b.filter_file.as_ref().filter(|p| p.exists()) else {
        return Ok(());
    };
    let rec_path = filter_inputs_path(path);
    let Ok(bytes) = std::fs::read(&rec_path) else {
        eprintln!(
            "warning: Bloom filter {} has no record of the inputs it holds ({} missing); if it already holds these \
             inputs, every document will be removed",
            path.display(),
            rec_path.display()
        );
        return Ok(());
    };
    let rec: FilterInputs = serde_json::from_slice(&bytes)
        .map_err(|e| DedupError::Config(format!("{}: not a filter input record: {e}", rec_path.display())))?;
    for (p, id) in inputs {
        if let Some(seen) = rec.inputs.iter().find(|i| i.xxh3 == id.xxh3) {
            return Err(DedupError::Config(format!(
                "Bloom filter {} already holds the n-grams of {} (inserted as {} by an earlier run; see {}): \
                 deduplicating it against them again would remove nearly every document. Use another \
                 --filter-file, or --fresh to start from an empty filter",
                path.display(),
                p.display(),
                seen.name,
                rec_path.display()
            )));
        }
    }
    Ok(())
}

fn record_filter_inputs(cfg: &RunConfig, path: &Path, inputs: &[(PathBuf, InputIdentity)], fresh: bool) -> Result<()> {
    let rec_path = filter_inputs_path(path);
    let mut rec: FilterInputs = if fresh {
        FilterInputs::default()
    } else {
        std::fs::read(&rec_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    rec.settings = cfg.settings_fingerprint();
    for (p, id) in inputs {
        rec.inputs.push(FilterInput {
            name: p.display().to_string(),
            xxh3: id.xxh3.clone(),
        });
    }
    let json = serde_json::to_vec_pretty(&rec).map_err(CoreError::from)?;
    write_atomic(&rec_path, &json)?;
    Ok(())
}

fn run_bff_cross_shard(cfg: &RunConfig, b: &BffRunConfig, inputs: &[PathBuf]) -> Result<DedupSummary> {
    let mut b = b.clone();
    let fresh_filter = cfg.fresh && b.filter_file.is_some();
    if fresh_filter {
        // Start from an empty filter; the file is replaced when this run saves.
        b.filter_file = None;
    }
    let b = &b;
    let exec = Executor::new(exec_config(cfg, "dedup"))?;
    let mine = exec.shards_for_rank(inputs);
    let identities: Vec<(PathBuf, InputIdentity)> = mine
        .iter()
        .map(|p| Ok((p.clone(), InputIdentity::of(p)?)))
        .collect::<Result<_>>()?;
    if !fresh_filter {
        check_filter_inputs(b, &identities)?;
    }
    let (filter, plan) = new_or_loaded_filter(b, 1, true)?;
    let bff = Bff::new(b.bff.clone(), filter)?;
    let root = cfg.input_root.clone().unwrap_or_else(|| common_parent(inputs));
    let mut report = bff_report(b, bff.filter(), &plan);
    let mut merged = Stats::new("dedup");
    let mut summary = RunSummary::default();
    for (input, identity) in identities.iter().cloned() {
        let output = exec.output_path(&input, &root);
        let start = Instant::now();
        match process_bff_shard(&bff, &input, &output, cfg) {
            Ok((mut stats, rep)) => {
                stats.shards = 1;
                stats.seconds = start.elapsed().as_secs_f64();
                dclm_core::executor::mark_partial(&mut stats, identity.size);
                if stats.partial_shards > 0 {
                    summary
                        .partial
                        .push((input.clone(), "input not read to its end".into()));
                }
                write_marker(cfg, &exec.marker_path(&output), &input, identity, &stats)?;
                merged.merge(&stats);
                report.merge(&rep);
                summary.shards_run += 1;
            }
            Err(e) => summary.failed.push((input.clone(), e.to_string())),
        }
    }
    report.filter_fill = Some(bff.filter().fill_ratio());
    let save_to = if fresh_filter {
        cfg_filter_file(cfg)
    } else {
        b.filter_file.clone()
    };
    if let (Some(path), true) = (&save_to, b.save_filter) {
        if b.bff.update_filter {
            bff.filter().save(path)?;
            record_filter_inputs(cfg, path, &identities, fresh_filter)?;
        }
    }
    finish(cfg, merged, summary, report)
}

fn cfg_filter_file(cfg: &RunConfig) -> Option<PathBuf> {
    match &cfg.method {
        Method::Bff(b) => b.filter_file.clone(),
        _ => None,
    }
}

fn run_bff_per_shard(cfg: &RunConfig, b: &BffRunConfig, inputs: &[PathBuf], threads: usize) -> Result<DedupSummary> {
    if b.filter_file.is_some() {
        let mine = dclm_core::executor::slice_for_rank(inputs, cfg.rank, cfg.world_size);
        let ids: Vec<(PathBuf, InputIdentity)> = mine
            .iter()
            .map(|p| Ok((p.clone(), InputIdentity::of(p)?)))
            .collect::<Result<_>>()?;
        check_filter_inputs(b, &ids)?;
    }
    let copies = threads.min(inputs.len()).max(1) as u64;
    // Plan and budget once, up front, for all filters held at the same time.
    let (probe, plan) = new_or_loaded_filter(b, copies, true)?;
    let mut report = bff_report(b, &probe, &plan);
    drop(probe);
    let exec = Executor::new(exec_config(cfg, "dedup"))?;
    let reports = std::sync::Mutex::new(DedupReport::default());
    let run = exec.run_shards(inputs, |task| {
        let (filter, _) = new_or_loaded_filter(b, copies, false).map_err(|e| CoreError::Config(e.to_string()))?;
        let bff = Bff::new(b.bff.clone(), filter).map_err(|e| CoreError::Config(e.to_string()))?;
        let (stats, rep) = process_bff_shard_counted(&bff, task.input, &task.output, cfg, task.raw_bytes.clone())
            .map_err(|e| match e {
                DedupError::Core(c) => c,
                other => CoreError::Config(other.to_string()),
            })?;
        reports.lock().expect("report lock").merge(&rep);
        Ok(stats)
    })?;
    report.merge(&reports.into_inner().expect("report lock"));
    Ok(DedupSummary { run, report })
}

fn exec_config(cfg: &RunConfig, stage: &str) -> ExecutorConfig {
    let mut e = ExecutorConfig::new(stage, &cfg.output_dir);
    e.input_root = cfg.input_root.clone();
    e.threads = cfg.threads;
    e.progress = cfg.progress;
    e.rank = cfg.rank;
    e.world_size = cfg.world_size;
    e.fresh = cfg.fresh;
    e.accept_partial = cfg.accept_partial;
    e.settings = cfg.settings_fingerprint();
    e
}

fn write_marker(cfg: &RunConfig, marker: &Path, input: &Path, identity: InputIdentity, stats: &Stats) -> Result<()> {
    if !identity.matches(input)? {
        return Err(DedupError::Config(format!(
            "{}: the input changed while it was read; rerun",
            input.display()
        )));
    }
    let complete = stats.partial_shards == 0 || cfg.accept_partial;
    let marked = dclm_core::executor::with_provenance(stats, &cfg.settings_fingerprint(), identity, complete);
    let json = serde_json::to_vec_pretty(&marked).map_err(CoreError::from)?;
    write_atomic(marker, &json)?;
    Ok(())
}

fn finish(cfg: &RunConfig, merged: Stats, mut summary: RunSummary, report: DedupReport) -> Result<DedupSummary> {
    let stats_path = if cfg.world_size <= 1 {
        cfg.output_dir.join("stats.json")
    } else {
        cfg.output_dir
            .join(format!("stats.rank-{}-of-{}.json", cfg.rank, cfg.world_size))
    };
    let json = serde_json::to_vec_pretty(&merged).map_err(CoreError::from)?;
    write_atomic(&stats_path, &json)?;
    summary.stats = merged;
    summary.stats_path = stats_path;
    Ok(DedupSummary { run: summary, report })
}

/// One input line: its number and bytes (newline stripped).
type RawLine = (u64, Vec<u8>);

/// Reads raw lines of a shard in batches of about `max_bytes`.
struct LineBatcher {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    line: u64,
    done: bool,
}

impl LineBatcher {
    fn next_batch(&mut self, max_bytes: usize, errors: &mut Vec<CoreError>) -> Vec<RawLine> {
        let mut out = Vec::new();
        let mut bytes = 0;
        while !self.done && bytes < max_bytes && out.len() < 65536 {
            let mut buf = Vec::new();
            match read_line_capped(&mut *self.inner, &mut buf, DEFAULT_MAX_LINE_BYTES) {
                Ok(LineRead::Eof) => self.done = true,
                Ok(LineRead::TooLong(n)) => {
                    self.line += 1;
                    errors.push(CoreError::BadLine {
                        path: self.path.clone(),
                        line: self.line,
                        kind: "line_too_long",
                        message: format!("line of {n} bytes is over the {DEFAULT_MAX_LINE_BYTES}-byte limit; skipped"),
                    });
                }
                Ok(LineRead::Line) => {
                    self.line += 1;
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    bytes += buf.len();
                    out.push((self.line, buf));
                }
                Err(e) => {
                    self.done = true;
                    errors.push(CoreError::Corrupt {
                        path: self.path.clone(),
                        format: if self.path.extension().is_some_and(|e| e == "gz") {
                            "gzip"
                        } else {
                            "zstd"
                        },
                        line: self.line,
                        message: e.to_string(),
                    });
                }
            }
        }
        out
    }
}

/// A rendered output line (if written) with its decision, or an input error.
/// A rendered line (none when the document is removed), its decision, and an example of a removed document.
type Rendered = std::result::Result<(Option<Vec<u8>>, Decision, Option<dclm_core::DropExample>), CoreError>;

/// One parsed input line of a batch. Items live in the batch's vector only until they are rendered, so the
/// size of the document variant costs nothing next to a heap allocation per document that boxing would add.
#[allow(clippy::large_enum_variant)]
enum Item {
    Doc(Document, Prepared),
    Bad(CoreError),
}

fn parse_prepare(bff: &Bff, path: &Path, lines: Vec<RawLine>) -> Vec<Item> {
    lines
        .into_par_iter()
        .map(|(line, bytes)| {
            let bad = |kind, message| {
                Item::Bad(CoreError::BadLine {
                    path: path.to_path_buf(),
                    line,
                    kind,
                    message,
                })
            };
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) => t,
                Err(e) => {
                    return bad(
                        "invalid_utf8",
                        format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
                    )
                }
            };
            match Document::from_json_line(text) {
                Ok(doc) => {
                    let p = bff.prepare(&doc.text);
                    Item::Doc(doc, p)
                }
                Err((kind, msg)) => bad(kind, msg),
            }
        })
        .collect()
}

fn process_bff_shard(bff: &Bff, input: &Path, output: &Path, cfg: &RunConfig) -> Result<(Stats, DedupReport)> {
    let raw = Arc::new(AtomicU64::new(0));
    let r = process_bff_shard_counted(bff, input, output, cfg, raw.clone());
    r.map(|(mut s, rep)| {
        s.bytes_in = raw.load(std::sync::atomic::Ordering::Relaxed);
        (s, rep)
    })
}

/// Dedup one shard with `bff` (see the module docs for the pipeline). Writes `output` unless no
/// document survives (as BFF does).
fn process_bff_shard_counted(
    bff: &Bff,
    input: &Path,
    output: &Path,
    cfg: &RunConfig,
    raw: Arc<AtomicU64>,
) -> Result<(Stats, DedupReport)> {
    let mut stats = Stats::new("dedup");
    let mut report = DedupReport::default();
    let step = format!("bff_{}", bff.config().mode.name());
    let mut lines = LineBatcher {
        path: input.to_path_buf(),
        inner: open_decompressed(input, raw)?,
        line: 0,
        done: false,
    };
    let mut writer: Option<ShardWriter> = None;
    let mut errors = Vec::new();
    let first = lines.next_batch(cfg.batch_bytes, &mut errors);
    let mut cur = parse_prepare(bff, input, first);
    let parallel_decide = !bff.config().update_filter;
    let mut out_buf: Vec<u8> = Vec::new();
    while !cur.is_empty() {
        let decide = |items: &Vec<Item>| -> Vec<Option<Decision>> {
            if parallel_decide {
                items
                    .par_iter()
                    .map(|it| match it {
                        Item::Doc(_, p) => Some(bff.decide(p)),
                        Item::Bad(_) => None,
                    })
                    .collect()
            } else {
                items
                    .iter()
                    .map(|it| match it {
                        Item::Doc(_, p) => Some(bff.decide(p)),
                        Item::Bad(_) => None,
                    })
                    .collect()
            }
        };
        let mut next_errors = Vec::new();
        let (decisions, next) = rayon::join(
            || decide(&cur),
            || {
                let batch = lines.next_batch(cfg.batch_bytes, &mut next_errors);
                parse_prepare(bff, input, batch)
            },
        );
        let rendered: Vec<Rendered> = cur
            .into_par_iter()
            .zip(decisions)
            .map(|(item, dec)| match (item, dec) {
                (Item::Doc(doc, _), Some(d)) => {
                    let example = d.doc_removed.then(|| dclm_core::DropExample::of(&doc));
                    let out = bff.render(doc, &d).map(|doc| {
                        let mut v = Vec::with_capacity(doc.text.len() + 64);
                        write_line(&doc, cfg.key_order, &mut v);
                        v
                    });
                    Ok((out, d, example))
                }
                (Item::Bad(e), _) => Err(e),
                (Item::Doc(..), None) => Err(CoreError::Config("internal: missing decision".into())),
            })
            .collect();
        out_buf.clear();
        for r in rendered {
            match r {
                Ok((out, d, example)) => {
                    stats.docs_in += 1;
                    report.docs_in += 1;
                    report.add_decision(&d);
                    let verdict = match &out {
                        Some(_) => Verdict::Keep,
                        None if d.doc_removed => Verdict::Drop(DROP_DUPLICATE),
                        None => Verdict::Drop(DROP_EMPTY),
                    };
                    let st = stats.step_mut(&step);
                    st.record(verdict, 0.0);
                    if let (Verdict::Drop(reason), Some(e)) = (verdict, example) {
                        st.add_example(reason, || e);
                    }
                    if let Some(line) = out {
                        out_buf.extend_from_slice(&line);
                        stats.docs_out += 1;
                        report.docs_out += 1;
                    }
                }
                Err(e) => stats.record_error(e.reason(), e.to_string()),
            }
        }
        if !out_buf.is_empty() {
            if writer.is_none() {
                writer = Some(ShardWriter::create(output)?);
            }
            if let Some(w) = writer.as_mut() {
                w.write_raw(&out_buf)?;
            }
        }
        for e in errors.drain(..) {
            stats.record_error(e.reason(), e.to_string());
        }
        errors = next_errors;
        cur = next;
    }
    for e in errors.drain(..) {
        stats.record_error(e.reason(), e.to_string());
    }
    if let Some(w) = writer {
        stats.bytes_out = w.bytes_written();
        w.finish()?;
    }
    Ok((stats, report))
}

fn work_dir(cfg: &RunConfig) -> PathBuf {
    cfg.work_dir
        .clone()
        .unwrap_or_else(|| cfg.output_dir.join("_signatures"))
}

fn rel_name(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect::<PathBuf>()
        .to_string_lossy()
        .into_owned()
}

/// Phase 1 of global dedup for this rank's shards (in parallel): one `<work>/<shard>.sig` per shard.
/// `inputs` must be the full shard list (the same on every rank).
pub fn global_signatures(cfg: &RunConfig, dedup: &dyn GlobalDeduplicator, inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let inputs = expand_inputs(inputs)?;
    let root = cfg.input_root.clone().unwrap_or_else(|| common_parent(&inputs));
    let work = work_dir(cfg);
    let mine = dclm_core::executor::slice_for_rank(&inputs, cfg.rank, cfg.world_size);
    mine.par_iter()
        .map(|input| {
            let rel = rel_name(&root, input);
            let path = global::sig_path(&work, &rel);
            let mut s = Stats::default();
            global::write_signatures(dedup, input, &rel, &path, &mut s)?;
            Ok(path)
        })
        .collect()
}

/// Phase 2 of global dedup (one process, after every rank's phase 1): merge every `*.sig` file under
/// the work folder and write the drop set to `<work>/drops.json`.
pub fn global_merge(cfg: &RunConfig, dedup: &dyn GlobalDeduplicator) -> Result<global::DropSet> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for e in std::fs::read_dir(dir).map_err(|e| DedupError::io(dir, e))? {
            let p = e.map_err(|e| DedupError::io(dir, e))?.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|x| x == "sig") {
                out.push(p);
            }
        }
        Ok(())
    }
    let work = work_dir(cfg);
    let mut sig_paths = Vec::new();
    walk(&work, &mut sig_paths)?;
    sig_paths.sort();
    let shards = sig_paths
        .par_iter()
        .map(|p| global::read_signatures(dedup, p))
        .collect::<Result<Vec<_>>>()?;
    let drops = global::merge(dedup, shards);
    global::save_drop_set(&drops, &work.join("drops.json"))?;
    Ok(drops)
}

fn run_global(cfg: &RunConfig, dedup: &dyn GlobalDeduplicator, inputs: &[PathBuf]) -> Result<DedupSummary> {
    if cfg.world_size > 1 {
        return Err(DedupError::Config(
            "global dedup over several tasks: call global_signatures on every rank, global_merge once, \
             then apply_drop_set on every rank"
                .into(),
        ));
    }
    let work = work_dir(cfg);
    if work.exists() {
        // Signatures of an earlier run with other inputs must not join this merge.
        std::fs::remove_dir_all(&work).map_err(|e| DedupError::io(&work, e))?;
    }
    global_signatures(cfg, dedup, inputs)?;
    let drops = global_merge(cfg, dedup)?;
    let run = apply_drop_set(cfg, dedup.name(), &drops, inputs)?;
    let report = DedupReport {
        method: dedup.name().into(),
        docs_in: run.stats.docs_in,
        docs_out: run.stats.docs_out,
        docs_removed: drops.dropped(),
        signed_docs: drops.docs,
        clusters: drops.clusters,
        ..Default::default()
    };
    Ok(DedupSummary { run, report })
}

/// Phase 3 of global dedup: copy the shards without the documents in `drops` (keys in `key_order`).
pub fn apply_drop_set(cfg: &RunConfig, name: &str, drops: &global::DropSet, inputs: &[PathBuf]) -> Result<RunSummary> {
    let inputs = &expand_inputs(inputs)?;
    let root = cfg.input_root.clone().unwrap_or_else(|| common_parent(inputs));
    let exec = Executor::new(exec_config(cfg, "dedup"))?;
    let reason: &'static str = if name == "exact" {
        "exact_duplicate"
    } else {
        "near_duplicate"
    };
    let empty = Vec::new();
    Ok(exec.run_shards(inputs, |task| {
        let rel: String = task
            .input
            .strip_prefix(&root)
            .unwrap_or(task.input)
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .collect::<PathBuf>()
            .to_string_lossy()
            .into_owned();
        let drop_lines = drops.shards.get(&rel).unwrap_or(&empty);
        // Drops are line numbers of the bytes that were signed: any other bytes (a reordered or rewritten
        // shard) would lose unique documents and keep duplicates.
        match drops.inputs.get(&rel) {
            Some(id) if id.same_content(task.identity) => {}
            Some(_) => {
                return Err(CoreError::Config(format!(
                    "{}: this shard differs from the one that was signed (size and content hash); rerun \
                     the map and reduce phases",
                    task.input.display()
                )))
            }
            None => {
                return Err(CoreError::Config(format!(
                    "{}: the drop set has no record of this shard's signed bytes (written by an older version or \
                     for other inputs); rerun the map and reduce phases",
                    task.input.display()
                )))
            }
        }
        let mut stats = Stats::new("dedup");
        let reader = ShardReader::open_counted(task.input, task.raw_bytes.clone())?;
        let mut writer = task.writer()?;
        let mut line_buf = Vec::new();
        for item in reader {
            match item {
                Ok((line, doc)) => {
                    stats.docs_in += 1;
                    let keep = drop_lines.binary_search(&line).is_err();
                    stats
                        .step_mut(name)
                        .record_doc(Verdict::keep_if(keep, reason), 0.0, &doc);
                    if keep {
                        line_buf.clear();
                        write_line(&doc, cfg.key_order, &mut line_buf);
                        writer.write_raw(&line_buf)?;
                        stats.docs_out += 1;
                    }
                }
                Err(e) => task.report_error(&mut stats, &e),
            }
        }
        stats.bytes_out = writer.bytes_written();
        writer.finish()?;
        Ok(stats)
    })?)
}

/// One shard's signature file in a global dedup split over tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFile {
    /// The input shard.
    pub input: PathBuf,
    /// Its path relative to the input root (its name in the merge).
    pub rel: String,
    /// Where the map phase writes its signatures (`<work>/<rel>.sig`).
    pub path: PathBuf,
}

/// The signature file of every input shard, in sorted input order: where the map phase writes it and
/// where the reduce phase expects it. `inputs` must be the full shard list (the same on every rank).
pub fn signature_files(cfg: &RunConfig, inputs: &[PathBuf]) -> Result<Vec<SignatureFile>> {
    let inputs = expand_inputs(inputs)?;
    let root = cfg.input_root.clone().unwrap_or_else(|| common_parent(&inputs));
    let work = work_dir(cfg);
    Ok(inputs
        .into_iter()
        .map(|input| {
            let rel = rel_name(&root, &input);
            let path = global::sig_path(&work, &rel);
            SignatureFile { input, rel, path }
        })
        .collect())
}

/// Where the reduce phase writes the drop set and the apply phase reads it (`<work>/drops.json`).
pub fn drop_set_path(cfg: &RunConfig) -> PathBuf {
    work_dir(cfg).join("drops.json")
}

/// What [`global_map`] did on one rank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalMapSummary {
    /// Shards whose signatures were written.
    pub shards_run: usize,
    /// Shards skipped: a signature file of the same bytes with the same settings was there.
    pub shards_skipped: usize,
    /// Documents read.
    pub docs_in: u64,
    /// Documents with a signature.
    pub signed: u64,
    /// Input records that could not be read.
    pub errors: u64,
}

fn global_dedup(method: &Method) -> Result<Box<dyn GlobalDeduplicator>> {
    match method {
        Method::MinHash(m) => Ok(Box::new(MinHashLsh::new(m.clone())?)),
        Method::Exact(k) => Ok(Box::new(ExactDedup { key: *k })),
        Method::Bff(_) => Err(DedupError::Config(
            "BFF has no map/reduce phases: it runs as one task (cross-shard filter)".into(),
        )),
    }
}

fn with_pool<T: Send>(cfg: &RunConfig, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| DedupError::Config(format!("thread pool: {e}")))?
        .install(f)
}

/// Whether `sig` holds signatures of `input` made with `dedup`'s settings: it exists, is not older than
/// the shard, and its header names the same settings (a complete file is only ever renamed into place).
fn signature_up_to_date(dedup: &dyn GlobalDeduplicator, input: &Path, sig: &Path) -> bool {
    match (global::read_signature_header(dedup, sig), InputIdentity::of(input)) {
        (Ok(signed), Ok(now)) => signed.same_content(&now),
        _ => false,
    }
}

/// Map phase of a global dedup over `cfg.world_size` tasks: the signature files of this rank's shards
/// (every `world_size`-th in sorted order), on `cfg.threads` threads. Shards whose signature file records the
/// same settings and the same input bytes are skipped (unless `cfg.fresh`), so a rerun after preemption does
/// only the rest.
pub fn global_map(cfg: &RunConfig, inputs: &[PathBuf]) -> Result<GlobalMapSummary> {
    let dedup = global_dedup(&cfg.method)?;
    let files = signature_files(cfg, inputs)?;
    let ws = cfg.world_size.max(1);
    let mine: Vec<&SignatureFile> = files
        .iter()
        .enumerate()
        .filter(|(i, _)| i % ws == cfg.rank)
        .map(|(_, f)| f)
        .collect();
    let (todo, done): (Vec<&SignatureFile>, Vec<&SignatureFile>) = mine
        .into_iter()
        .partition(|f| cfg.fresh || !signature_up_to_date(dedup.as_ref(), &f.input, &f.path));
    let results = with_pool(cfg, || {
        todo.par_iter()
            .map(|f| {
                let mut s = Stats::default();
                let signed = global::write_signatures(dedup.as_ref(), &f.input, &f.rel, &f.path, &mut s)?;
                Ok((s.docs_in, signed, s.error_count()))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let mut summary = GlobalMapSummary {
        shards_run: results.len(),
        shards_skipped: done.len(),
        ..Default::default()
    };
    for (docs, signed, errors) in results {
        summary.docs_in += docs;
        summary.signed += signed;
        summary.errors += errors;
    }
    Ok(summary)
}

/// Reduce phase (one task, after every rank's map): merge the signature files of exactly `inputs` (the
/// full shard list) and write the drop set to [`drop_set_path`]. Refuses when some shard has none.
pub fn global_reduce(cfg: &RunConfig, inputs: &[PathBuf]) -> Result<global::DropSet> {
    let dedup = global_dedup(&cfg.method)?;
    let files = signature_files(cfg, inputs)?;
    let missing: Vec<&SignatureFile> = files.iter().filter(|f| !f.path.is_file()).collect();
    if let Some(first) = missing.first() {
        return Err(DedupError::Config(format!(
            "{} of {} input shards have no signature file (first: {} → {} missing); run the map phase on every \
             rank first",
            missing.len(),
            files.len(),
            first.input.display(),
            first.path.display()
        )));
    }
    let drops = with_pool(cfg, || {
        let shards = files
            .par_iter()
            .map(|f| global::read_signatures(dedup.as_ref(), &f.path))
            .collect::<Result<Vec<_>>>()?;
        Ok(global::merge(dedup.as_ref(), shards))
    })?;
    global::save_drop_set(&drops, &drop_set_path(cfg))?;
    Ok(drops)
}

/// Apply phase of a global dedup over `cfg.world_size` tasks: this rank's shards without the documents of
/// the drop set the reduce phase wrote (executor markers and per-rank stats as usual).
pub fn global_apply(cfg: &RunConfig, inputs: &[PathBuf]) -> Result<RunSummary> {
    let dedup = global_dedup(&cfg.method)?;
    let path = drop_set_path(cfg);
    if !path.is_file() {
        return Err(DedupError::Config(format!(
            "no drop set at {}: run the reduce phase first",
            path.display()
        )));
    }
    let drops = global::load_drop_set(&path)?;
    apply_drop_set(cfg, dedup.name(), &drops, inputs)
}
