//! The shard executor: runs a per-document (or per-shard) function over many shards on a rayon
//! pool, mirrors input names under the output folder, writes per-shard stats and a completion
//! marker last, skips completed shards on rerun, and selects a `--rank R --world-size W` slice.
//!
//! Layout of an output folder:
//! ```text
//! out/<same relative path as the input shard>   the output shard (written as .tmp, then renamed)
//! out/_done/<relative path>.json                per-shard Stats + provenance, written last
//! out/stats.json                                merged Stats of every complete shard (world size 1)
//! out/stats.rank-R-of-W.json                    the same for one rank (world size > 1)
//! ```
//!
//! A marker proves that this tool, with the settings whose fingerprint it records, read the input whose size,
//! modification time and content hash it records to its end and wrote the output beside it. A rerun skips a
//! shard only when all of that still holds; it redoes a shard whose input changed, whose marker is older than
//! provenance records, or whose input stream was cut (a partial shard); and it refuses to run when a shard of
//! the folder was made with other settings (mixing two configurations in one folder), unless `fresh` asks to
//! discard the earlier results. Inputs inside the output folder are refused up front.

use crate::io::{tmp_path, write_atomic, ShardReader, ShardWriter};
use crate::provenance::{check_disjoint, Fingerprint, InputIdentity, Provenance, TOOL};
use crate::{CoreError, Document, Result, Stats};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Name of the folder holding completion markers.
pub const DONE_DIR: &str = "_done";

/// How an [`Executor`] runs.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Stage name written into the stats.
    pub stage: String,
    /// Output folder.
    pub output_dir: PathBuf,
    /// Input names are mirrored relative to this folder (default: the inputs' common parent).
    pub input_root: Option<PathBuf>,
    /// Worker threads (0 = rayon's default: one per core).
    pub threads: usize,
    /// This task's rank, `0..world_size`.
    pub rank: usize,
    /// Number of tasks the shards are split over.
    pub world_size: usize,
    /// Show a progress bar (it is hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Replace the output file's compression extension (e.g. `Some("jsonl.zst")`); `None` keeps the input's name.
    pub output_extension: Option<String>,
    /// Documents per parallel batch inside one shard.
    pub batch_size: usize,
    /// Print each input error (file:line: message) to stderr, up to this many per shard.
    pub max_printed_errors: usize,
    /// Fingerprint of every setting that changes the output (see [`Fingerprint`]); recorded in each marker.
    pub settings: String,
    /// Discard this rank's earlier results (markers and outputs of its shards) and redo every shard.
    pub fresh: bool,
    /// Mark shards whose input stream was cut as complete anyway (their loss stays in the stats); by default
    /// they are redone on every rerun and reported in [`RunSummary::partial`].
    pub accept_partial: bool,
    /// Longest JSONL line read (bytes, decompressed); a longer one is skipped and counted as `line_too_long`.
    pub max_line_bytes: usize,
    /// Pass pages whose `text` is missing or not a string to the per-document function (DCLM's page model,
    /// used by the filter stage) instead of counting them as input errors.
    pub any_text: bool,
}

/// Error reasons that mean a shard's input stream ended early or broke: the rest of the file was not read.
pub const STREAM_ERROR_REASONS: &[&str] = &["corrupt_stream", "truncated_record"];

impl ExecutorConfig {
    /// Defaults: all cores, rank 0 of 1, progress on, names kept, batches of 1024 documents.
    pub fn new(stage: impl Into<String>, output_dir: impl Into<PathBuf>) -> Self {
        ExecutorConfig {
            stage: stage.into(),
            output_dir: output_dir.into(),
            input_root: None,
            threads: 0,
            rank: 0,
            world_size: 1,
            progress: true,
            output_extension: None,
            batch_size: 1024,
            max_printed_errors: 10,
            settings: String::new(),
            fresh: false,
            accept_partial: false,
            max_line_bytes: crate::io::DEFAULT_MAX_LINE_BYTES,
            any_text: false,
        }
    }

    /// The settings fingerprint markers carry: [`ExecutorConfig::settings`], or the tool and stage when unset.
    pub fn settings_fingerprint(&self) -> String {
        if self.settings.is_empty() {
            Fingerprint::new(&self.stage).finish()
        } else {
            self.settings.clone()
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Merged stats of every complete shard of this rank (including ones completed earlier).
    pub stats: Stats,
    /// Shards processed in this run.
    pub shards_run: usize,
    /// Shards skipped because a completion marker existed.
    pub shards_skipped: usize,
    /// Shards that failed (could not be opened or written), with the error; they have no marker.
    pub failed: Vec<(PathBuf, String)>,
    /// Shards whose input could not be read to its end (this run or an earlier one), with what was lost; their
    /// output holds what was read, and unless the run accepted partial shards they are redone on rerun.
    pub partial: Vec<(PathBuf, String)>,
    /// Shards redone because their input changed (or their marker predates provenance), with the reason.
    pub redone: Vec<(PathBuf, String)>,
    /// Where the merged stats were written.
    pub stats_path: PathBuf,
}

impl RunSummary {
    /// True when every shard completed and no input record was bad.
    pub fn is_clean(&self) -> bool {
        self.failed.is_empty() && self.partial.is_empty() && self.stats.error_count() == 0
    }
}

/// One shard's unit of work, handed to [`Executor::run_shards`] callbacks.
pub struct ShardTask<'a> {
    /// Input shard.
    pub input: &'a Path,
    /// Final output path (write it through [`ShardTask::writer`]).
    pub output: PathBuf,
    /// Raw input bytes consumed; readers should count into it (see [`crate::io::CountingReader`]).
    pub raw_bytes: Arc<AtomicU64>,
    /// The input's size and content hash, taken before the shard function runs (recorded in the marker).
    pub identity: &'a InputIdentity,
    docs_done: &'a AtomicU64,
    printed: AtomicU64,
    max_printed: usize,
    bar: &'a ProgressBar,
}

impl ShardTask<'_> {
    /// An atomic writer for this shard's output.
    pub fn writer(&self) -> Result<ShardWriter> {
        ShardWriter::create(&self.output)
    }

    /// Report progress: `n` more input documents handled.
    pub fn add_docs(&self, n: u64) {
        let total = self.docs_done.fetch_add(n, Ordering::Relaxed) + n;
        let secs = self.bar.elapsed().as_secs_f64().max(1e-3);
        self.bar
            .set_message(format!("{total} docs, {:.0} docs/s", total as f64 / secs));
    }

    /// Print a warning about this shard (counted against the same per-shard print limit as errors).
    pub fn note(&self, msg: &str) {
        if (self.printed.fetch_add(1, Ordering::Relaxed) as usize) < self.max_printed {
            self.bar.suspend(|| eprintln!("warning: {msg}"));
        }
    }

    /// Count an input error in `stats` and print it (up to the configured number per shard).
    pub fn report_error(&self, stats: &mut Stats, err: &CoreError) {
        let msg = err.to_string();
        if (self.printed.fetch_add(1, Ordering::Relaxed) as usize) < self.max_printed {
            self.bar.suspend(|| eprintln!("warning: {msg}"));
        }
        stats.record_error(err.reason(), msg);
    }
}

/// Runs stage functions over shards. See the module docs for the output layout.
#[derive(Debug, Clone)]
pub struct Executor {
    cfg: ExecutorConfig,
}

impl Executor {
    /// A new executor; rejects `rank >= world_size` and `world_size == 0`.
    pub fn new(cfg: ExecutorConfig) -> Result<Self> {
        if cfg.world_size == 0 || cfg.rank >= cfg.world_size {
            return Err(CoreError::Config(format!(
                "rank {} is not in 0..{} (world size)",
                cfg.rank, cfg.world_size
            )));
        }
        Ok(Executor { cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &ExecutorConfig {
        &self.cfg
    }

    /// The shards this rank owns: inputs sorted and deduplicated, every `world_size`-th from `rank`.
    pub fn shards_for_rank(&self, inputs: &[PathBuf]) -> Vec<PathBuf> {
        slice_for_rank(inputs, self.cfg.rank, self.cfg.world_size)
    }

    /// Output path for an input shard.
    pub fn output_path(&self, input: &Path, root: &Path) -> PathBuf {
        let rel = input.strip_prefix(root).unwrap_or(input);
        let rel = rel
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .collect::<PathBuf>();
        let out = self.cfg.output_dir.join(rel);
        match &self.cfg.output_extension {
            Some(ext) => replace_extension(&out, ext),
            None => out,
        }
    }

    /// The completion marker of an output shard: `<out>/_done/<relative output path>.json`.
    pub fn marker_path(&self, output: &Path) -> PathBuf {
        let rel = output.strip_prefix(&self.cfg.output_dir).unwrap_or(output);
        let mut m = self.cfg.output_dir.join(DONE_DIR).join(rel).into_os_string();
        m.push(".json");
        PathBuf::from(m)
    }

    /// Run a per-document function over JSONL shards. `f` returns the document to write, or `None`
    /// to drop it; it records its step counters in the `Stats` it is given. Output order within a
    /// shard equals input order for any thread count.
    pub fn run_docs<F>(&self, inputs: &[PathBuf], f: F) -> Result<RunSummary>
    where
        F: Fn(Document, &mut Stats) -> Option<Document> + Sync,
    {
        self.run_docs_many(inputs, |doc, stats, out| out.extend(f(doc, stats)))
    }

    /// Like [`Executor::run_docs`], for functions that may turn one document into several (DCLM mappers
    /// return a list of pages): `f` appends its outputs, in order, to the vector it is given.
    pub fn run_docs_many<F>(&self, inputs: &[PathBuf], f: F) -> Result<RunSummary>
    where
        F: Fn(Document, &mut Stats, &mut Vec<Document>) + Sync,
    {
        let batch_size = self.cfg.batch_size.max(1);
        self.run_shards(inputs, |task| {
            let mut stats = Stats::new(&self.cfg.stage);
            let reader = ShardReader::open_counted(task.input, task.raw_bytes.clone())?
                .with_max_line_bytes(self.cfg.max_line_bytes)
                .with_any_text(self.cfg.any_text);
            let mut writer = task.writer()?;
            let mut batch: Vec<Document> = Vec::with_capacity(batch_size);
            let flush = |batch: &mut Vec<Document>, stats: &mut Stats, writer: &mut ShardWriter| -> Result<()> {
                let n = batch.len() as u64;
                for d in process_batch(std::mem::take(batch), stats, &f) {
                    writer.write(&d)?;
                    stats.docs_out += 1;
                }
                task.add_docs(n);
                Ok(())
            };
            for item in reader {
                match item {
                    Ok((_, doc)) => {
                        stats.docs_in += 1;
                        batch.push(doc);
                        if batch.len() >= batch_size {
                            flush(&mut batch, &mut stats, &mut writer)?;
                        }
                    }
                    Err(e) => task.report_error(&mut stats, &e),
                }
            }
            flush(&mut batch, &mut stats, &mut writer)?;
            stats.bytes_out = writer.bytes_written();
            writer.finish()?;
            Ok(stats)
        })
    }

    /// Run a per-shard function (for inputs that are not JSONL, e.g. WARC). The function reads
    /// `task.input`, writes through `task.writer()` (and must `finish` it), and returns its stats;
    /// the executor adds timing and `bytes_in`, then writes the completion marker.
    pub fn run_shards<F>(&self, inputs: &[PathBuf], f: F) -> Result<RunSummary>
    where
        F: Fn(&ShardTask<'_>) -> Result<Stats> + Sync,
    {
        let root = match &self.cfg.input_root {
            Some(r) => r.clone(),
            None => common_parent(inputs),
        };
        let mine = self.shards_for_rank(inputs);
        check_disjoint(&[], &mine, &self.cfg.output_dir)?;
        std::fs::create_dir_all(&self.cfg.output_dir).map_err(|e| CoreError::io(&self.cfg.output_dir, e))?;
        let settings = self.cfg.settings_fingerprint();

        let mut todo = Vec::new();
        let mut summary = RunSummary::default();
        let mut merged = Stats::new(&self.cfg.stage);
        let mut other_settings = Vec::new();
        for input in &mine {
            let output = self.output_path(input, &root);
            let marker = self.marker_path(&output);
            if self.cfg.fresh {
                remove_if_exists(&marker)?;
                remove_if_exists(&output)?;
                todo.push((input.clone(), output, marker));
                continue;
            }
            match check_marker(&marker, &output, input, &settings, self.cfg.accept_partial) {
                MarkerCheck::Reuse(s) => {
                    if s.partial_shards > 0 {
                        summary.partial.push((input.clone(), partial_note(&s)));
                    }
                    merged.merge(&s);
                    summary.shards_skipped += 1;
                }
                MarkerCheck::Missing => todo.push((input.clone(), output, marker)),
                MarkerCheck::Redo(why) => {
                    summary.redone.push((input.clone(), why));
                    todo.push((input.clone(), output, marker));
                }
                MarkerCheck::OtherSettings(m) => other_settings.push(m),
            }
        }
        if let Some(first) = other_settings.first() {
            return Err(CoreError::Config(format!(
                "{}: {} shard(s) in this folder were made with other settings or another tool version (first: \
                 {}); their results would be mixed with this run's. Rerun with --fresh to discard them, or write \
                 to another folder",
                self.cfg.output_dir.display(),
                other_settings.len(),
                first
            )));
        }

        let total_bytes: u64 = todo
            .iter()
            .map(|(i, _, _)| std::fs::metadata(i).map(|m| m.len()).unwrap_or(0))
            .sum();
        let bar = if self.cfg.progress {
            ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} (ETA {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(self.cfg.stage.clone());
        let docs_done = AtomicU64::new(0);
        let results: Mutex<Vec<(PathBuf, Result<Stats>)>> = Mutex::new(Vec::new());

        let work = || {
            todo.par_iter().for_each(|(input, output, marker)| {
                let raw = Arc::new(AtomicU64::new(0));
                let start = Instant::now();
                let ticker = ProgressTicker::new(&bar, raw.clone());
                let r = InputIdentity::of(input).and_then(|identity| {
                    let task = ShardTask {
                        input,
                        output: output.clone(),
                        raw_bytes: raw.clone(),
                        identity: &identity,
                        docs_done: &docs_done,
                        printed: AtomicU64::new(0),
                        max_printed: self.cfg.max_printed_errors,
                        bar: &bar,
                    };
                    let mut s = f(&task)?;
                    s.stage = self.cfg.stage.clone();
                    s.shards = 1;
                    s.seconds = start.elapsed().as_secs_f64();
                    s.bytes_in = raw.load(Ordering::Relaxed);
                    if !identity.matches(input)? {
                        return Err(CoreError::Config(format!(
                            "{}: the input changed while it was read; rerun",
                            input.display()
                        )));
                    }
                    mark_partial(&mut s, identity.size);
                    let complete = s.partial_shards == 0 || self.cfg.accept_partial;
                    let marker_stats = with_provenance(&s, &settings, identity.clone(), complete);
                    write_atomic(marker, &serde_json::to_vec_pretty(&marker_stats)?)?;
                    Ok(s)
                });
                ticker.finish();
                if r.is_err() {
                    let _ = std::fs::remove_file(tmp_path(output));
                }
                results.lock().expect("results lock").push((input.clone(), r));
            })
        };
        if self.cfg.threads > 0 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.cfg.threads)
                .build()
                .map_err(|e| CoreError::Config(format!("thread pool: {e}")))?
                .install(work);
        } else {
            work();
        }
        bar.finish_and_clear();

        let mut results = results.into_inner().expect("results lock");
        results.sort_by(|a, b| a.0.cmp(&b.0));
        for (input, r) in results {
            match r {
                Ok(s) => {
                    if s.partial_shards > 0 {
                        summary.partial.push((input, partial_note(&s)));
                    }
                    merged.merge(&s);
                    summary.shards_run += 1;
                }
                Err(e) => summary.failed.push((input, e.to_string())),
            }
        }
        let stats_path = if self.cfg.world_size == 1 {
            self.cfg.output_dir.join("stats.json")
        } else {
            self.cfg
                .output_dir
                .join(format!("stats.rank-{}-of-{}.json", self.cfg.rank, self.cfg.world_size))
        };
        write_atomic(&stats_path, &serde_json::to_vec_pretty(&merged)?)?;
        summary.stats = merged;
        summary.stats_path = stats_path;
        Ok(summary)
    }
}

/// Adds a shard's raw-byte counter to the progress bar as it grows.
struct ProgressTicker<'a> {
    bar: &'a ProgressBar,
    raw: Arc<AtomicU64>,
    reported: u64,
}

impl<'a> ProgressTicker<'a> {
    fn new(bar: &'a ProgressBar, raw: Arc<AtomicU64>) -> Self {
        ProgressTicker { bar, raw, reported: 0 }
    }

    fn finish(mut self) {
        let now = self.raw.load(Ordering::Relaxed);
        self.bar.inc(now.saturating_sub(self.reported));
        self.reported = now;
    }
}

/// Read a completion marker (a shard's stats with its provenance).
pub fn read_marker(marker: &Path) -> Option<Stats> {
    let bytes = std::fs::read(marker).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What a rerun does with one shard, judged from its marker.
#[derive(Debug, Clone, PartialEq)]
pub enum MarkerCheck {
    /// No marker: run it.
    Missing,
    /// Complete, same settings, same input, output present: reuse these stats.
    Reuse(Box<Stats>),
    /// Run it again, for the reason given (input changed, partial, output missing, marker without provenance).
    Redo(String),
    /// Made with other settings or another tool version: refuse rather than mix (the message names the marker).
    OtherSettings(String),
}

/// Judge a shard's marker against the input it would be made from and the run's settings fingerprint.
pub fn check_marker(marker: &Path, output: &Path, input: &Path, settings: &str, accept_partial: bool) -> MarkerCheck {
    let Some(stats) = read_marker(marker) else {
        return if marker.exists() {
            MarkerCheck::Redo(format!("unreadable marker {}", marker.display()))
        } else {
            MarkerCheck::Missing
        };
    };
    let Some(p) = &stats.provenance else {
        return MarkerCheck::Redo(format!(
            "marker {} records no provenance (made by an older version)",
            marker.display()
        ));
    };
    if p.settings != settings {
        return MarkerCheck::OtherSettings(format!(
            "{} made by {} with settings {}, this run has {} with settings {}",
            marker.display(),
            p.tool,
            p.settings,
            TOOL,
            settings
        ));
    }
    if !p.complete && !accept_partial {
        return MarkerCheck::Redo("its input could not be read to its end last time".into());
    }
    match p.input.matches(input) {
        Ok(true) => {}
        Ok(false) => return MarkerCheck::Redo("the input changed since it was processed".into()),
        Err(e) => return MarkerCheck::Redo(format!("input not readable: {e}")),
    }
    if stats.docs_out > 0 && !output.exists() {
        return MarkerCheck::Redo(format!("output {} is missing", output.display()));
    }
    MarkerCheck::Reuse(Box::new(stats))
}

/// Mark a shard partial when a stream error ended its reading (see [`STREAM_ERROR_REASONS`]); what was not
/// read is the part of the input (`input_size` raw bytes) after the bytes consumed (`stats.bytes_in`), a lower
/// bound since decoders read ahead.
pub fn mark_partial(stats: &mut Stats, input_size: u64) {
    if stats.partial_shards == 0 && STREAM_ERROR_REASONS.iter().any(|r| stats.errors.contains_key(*r)) {
        stats.partial_shards = 1;
    }
    if stats.partial_shards > 0 && stats.bytes_unread == 0 {
        stats.bytes_unread = input_size.saturating_sub(stats.bytes_in);
    }
}

/// A shard's stats as its marker records them: with the provenance of the output.
pub fn with_provenance(stats: &Stats, settings: &str, input: InputIdentity, complete: bool) -> Stats {
    let mut m = stats.clone();
    m.provenance = Some(Provenance {
        tool: TOOL.to_string(),
        settings: settings.to_string(),
        input,
        complete,
    });
    m
}

fn partial_note(s: &Stats) -> String {
    let reasons: Vec<String> = s
        .errors
        .keys()
        .filter(|k| STREAM_ERROR_REASONS.contains(&k.as_str()))
        .cloned()
        .collect();
    format!(
        "input not read to its end ({}): {} documents read before the cut, {} raw bytes after it unread",
        reasons.join(", "),
        s.docs_in,
        s.bytes_unread
    )
}

fn remove_if_exists(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CoreError::io(p, e)),
        _ => Ok(()),
    }
}

/// Run a per-document function over a batch in memory on the current rayon pool, as the shard stages do:
/// chunks of 32 documents in parallel, outputs in input order (for any thread count), and each chunk's step
/// counters and input errors added to `stats` (not its `docs_in`/`docs_out`: the caller counts those).
/// `f` appends the documents it keeps (none, one or several) to the vector it is given.
pub fn process_batch<F>(docs: Vec<Document>, stats: &mut Stats, f: &F) -> Vec<Document>
where
    F: Fn(Document, &mut Stats, &mut Vec<Document>) + Sync,
{
    let n = docs.len();
    let results: Vec<(Vec<Document>, Stats)> = chunk(docs, 32)
        .into_par_iter()
        .map(|docs| {
            let mut s = Stats::default();
            let mut out = Vec::with_capacity(docs.len());
            for d in docs {
                f(d, &mut s, &mut out);
            }
            (out, s)
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for (docs, s) in results {
        merge_steps(stats, &s);
        out.extend(docs);
    }
    out
}

fn merge_steps(into: &mut Stats, from: &Stats) {
    for s in &from.steps {
        into.step_mut(&s.name).merge(s);
    }
    for (k, v) in &from.errors {
        *into.errors.entry(k.clone()).or_default() += v;
    }
    into.error_examples.extend(from.error_examples.iter().cloned());
}

fn chunk(mut v: Vec<Document>, size: usize) -> Vec<Vec<Document>> {
    let mut out = Vec::with_capacity(v.len() / size + 1);
    while v.len() > size {
        let rest = v.split_off(size);
        out.push(v);
        v = rest;
    }
    if !v.is_empty() {
        out.push(v);
    }
    out
}

/// Sorted, deduplicated inputs; every `world_size`-th starting at `rank`.
pub fn slice_for_rank(inputs: &[PathBuf], rank: usize, world_size: usize) -> Vec<PathBuf> {
    let mut all = inputs.to_vec();
    all.sort();
    all.dedup();
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| i % world_size.max(1) == rank)
        .map(|(_, p)| p)
        .collect()
}

/// The deepest folder containing every input (for one input: its folder).
pub fn common_parent(inputs: &[PathBuf]) -> PathBuf {
    let mut iter = inputs.iter().filter_map(|p| p.parent());
    let Some(first) = iter.next() else {
        return PathBuf::new();
    };
    let mut common: Vec<_> = first.components().collect();
    for p in iter {
        let n = common.iter().zip(p.components()).take_while(|(a, b)| **a == *b).count();
        common.truncate(n);
    }
    common.into_iter().collect()
}

/// Replace a shard's extension chain (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`, `.warc.gz`, …) by `ext`.
pub fn replace_extension(path: &Path, ext: &str) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let stem = strip_shard_extension(name);
    path.with_file_name(format!("{stem}.{}", ext.trim_start_matches('.')))
}

/// A shard name without its data and compression extensions: `a.jsonl.gz` → `a`, `b.warc.gz` → `b`,
/// `c.parquet` → `c`.
pub fn strip_shard_extension(name: &str) -> &str {
    let mut stem = name;
    for ext in [".gz", ".gzip", ".zst", ".zstd"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    for ext in [".jsonl", ".json", ".warc", ".wet", ".txt", ".parquet"] {
        if let Some(s) = stem.strip_suffix(ext) {
            return s;
        }
    }
    stem
}

/// Merge the per-rank `stats.rank-*-of-*.json` (or `stats.json`) files of an output folder.
pub fn merge_rank_stats(output_dir: &Path) -> Result<Stats> {
    let mut merged = Stats::default();
    let rd = std::fs::read_dir(output_dir).map_err(|e| CoreError::io(output_dir, e))?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("stats.rank-") && n.ends_with(".json"))
        })
        .collect();
    paths.sort();
    for p in paths {
        let bytes = std::fs::read(&p).map_err(|e| CoreError::io(&p, e))?;
        let s: Stats = serde_json::from_slice(&bytes).map_err(|e| CoreError::BadLine {
            path: p.clone(),
            line: e.line() as u64,
            kind: "invalid_json",
            message: e.to_string(),
        })?;
        merged.merge(&s);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Verdict;

    #[test]
    fn extensions() {
        assert_eq!(strip_shard_extension("a.jsonl.gz"), "a");
        assert_eq!(strip_shard_extension("CC-1.warc.gz"), "CC-1");
        assert_eq!(
            replace_extension(Path::new("x/a.jsonl.gz"), "jsonl.zst"),
            PathBuf::from("x/a.jsonl.zst")
        );
    }

    #[test]
    fn process_batch_keeps_order_and_counts_steps_for_any_thread_count() {
        let docs: Vec<Document> = (0..100).map(|i| Document::new(format!("doc {i}"))).collect();
        let f = |d: Document, s: &mut Stats, out: &mut Vec<Document>| {
            let keep = !d.text.ends_with('3');
            s.step_mut("odd3").record(Verdict::keep_if(keep, "ends_in_3"), 0.0);
            if keep {
                out.push(d.clone());
                if d.text.ends_with('5') {
                    out.push(Document::new(format!("{} again", d.text)));
                }
            }
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut stats = Stats::new("t");
            let out = pool.install(|| process_batch(docs.clone(), &mut stats, &f));
            (out.into_iter().map(|d| d.text).collect::<Vec<_>>(), stats)
        };
        let (one, s1) = run(1);
        let (three, s3) = run(3);
        assert_eq!(one, three);
        assert_eq!(one.len(), 100 - 10 + 10);
        assert_eq!(one[0], "doc 0");
        assert_eq!(one[5], "doc 5 again");
        assert_eq!(s1.steps[0].docs_in, 100);
        assert_eq!(s1.steps[0].dropped["ends_in_3"], 10);
        assert_eq!(s3.steps[0].dropped, s1.steps[0].dropped);
        assert_eq!(s1.docs_in, 0, "the caller counts docs in");
    }

    #[test]
    fn common_parent_of_nested() {
        let p = common_parent(&[PathBuf::from("/d/a/x.jsonl"), PathBuf::from("/d/b/y.jsonl")]);
        assert_eq!(p, PathBuf::from("/d"));
    }
}
