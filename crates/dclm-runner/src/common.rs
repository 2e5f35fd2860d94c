//! Shared CLI pieces of the runner: shard arguments, input expansion (globs, folders), asset discovery,
//! the one-line summary of a stage run, and [`StageIo`], which lets shard stages read from and write to
//! `s3://` object storage, and read `hf://datasets/…` Hugging Face Hub inputs, through local staging folders.

use anyhow::{bail, Context, Result};
use clap::Args;
use dclm_core::executor::{common_parent, replace_extension, slice_for_rank, DONE_DIR};
use dclm_core::{RunSummary, Stats};
use dclm_fetch::hub::{HubConfig, HubFile, HubUrl};
use dclm_objstore::{ObjectUrl, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments every shard stage takes.
#[derive(Args, Debug, Clone)]
pub struct ShardArgs {
    /// Input shards: files, folders (searched recursively) or glob patterns (`'in/*.jsonl.gz'`); for extract,
    /// filter and quality also `s3://bucket/prefix/` (every shard object under it) and
    /// `hf://datasets/<owner>/<name>[@revision]/<path-glob>` (Hugging Face Hub, at one commit; `HF_TOKEN`,
    /// `HF_ENDPOINT`).
    #[arg(long = "input", short = 'i', required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// Output folder; for extract, filter and quality also `s3://bucket/prefix`.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// This task's rank (for Slurm arrays / Kubernetes indexed jobs).
    #[arg(long, default_value_t = 0)]
    pub rank: usize,
    /// Number of tasks the shards are split over.
    #[arg(long, default_value_t = 1)]
    pub world_size: usize,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Fraction of input records that may be unreadable (broken JSON, truncated gzip, malformed WARC records)
    /// before the task exits non-zero. They are always skipped, counted and reported; the default 0 fails the
    /// task on any, which a cluster run over thousands of shards may want to relax (e.g. 0.0001).
    #[arg(long, default_value_t = 0.0)]
    pub max_error_rate: f64,
    /// Discard this task's earlier results in the output folder (markers and outputs of its shards) and redo
    /// every shard. Needed after changing settings: a folder holding shards made with other settings is refused.
    #[arg(long)]
    pub fresh: bool,
    /// Mark shards whose input ends early or is corrupt (truncated gzip, cut WARC) as complete, keeping what
    /// was read; by default they make the task fail and are redone on every rerun until the input is whole.
    #[arg(long)]
    pub accept_partial: bool,
}

impl ShardArgs {
    /// Executor settings for one stage from these arguments (threads, slice, progress, rerun policy).
    pub fn executor_config(&self, stage: &str) -> dclm_core::ExecutorConfig {
        let mut e = dclm_core::ExecutorConfig::new(stage, &self.out);
        e.threads = self.threads;
        e.rank = self.rank;
        e.world_size = self.world_size;
        e.progress = !self.no_progress;
        e.fresh = self.fresh;
        e.accept_partial = self.accept_partial;
        e
    }
}

const SHARD_SUFFIXES: &[&str] = &[
    ".jsonl",
    ".jsonl.gz",
    ".jsonl.zst",
    ".jsonl.zstd",
    ".json.gz",
    ".parquet",
    ".warc",
    ".warc.gz",
    ".warc.zst",
    ".tar",
];

fn is_shard(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    is_shard_name(name)
}

fn is_shard_name(name: &str) -> bool {
    !name.starts_with('.') && !name.starts_with('_') && SHARD_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Expand files, folders and glob patterns into a sorted, deduplicated list of shard files.
pub fn expand_inputs(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for pat in patterns {
        if ObjectUrl::is_object_url(pat) || HubUrl::is_hub_url(pat) {
            bail!("{pat}: object-store inputs are read by the shard stages through StageIo, not as local files");
        }
        let p = Path::new(pat);
        if p.is_dir() {
            out.extend(dclm_core::io::shard_files(&[p.to_path_buf()], SHARD_SUFFIXES)?);
        } else if p.is_file() {
            out.push(p.to_path_buf());
        } else {
            let mut n = 0;
            for entry in glob::glob(pat).with_context(|| format!("bad glob pattern {pat:?}"))? {
                let path = entry?;
                if path.is_file() {
                    out.push(path);
                    n += 1;
                }
            }
            if n == 0 {
                bail!("no input matches {pat:?}");
            }
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        bail!("no input shards found in {patterns:?}");
    }
    Ok(out)
}

/// The DCLM assets folder: `--assets`, else `$DCLM_ASSETS`, else none (built-in stand-ins are used).
pub fn assets_dir(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("DCLM_ASSETS").map(PathBuf::from))
}

/// Print a stage summary and turn input errors, failed shards or shards whose input was cut into a non-zero
/// exit (`shards.max_error_rate` tolerates record errors; `shards.accept_partial` cut inputs).
pub fn report_summary(stage: &str, s: &RunSummary, shards: &ShardArgs) -> Result<()> {
    report_summary_with(stage, s, shards.max_error_rate, shards.accept_partial)
}

/// [`report_summary`] with the two tolerances given directly.
pub fn report_summary_with(stage: &str, s: &RunSummary, max_error_rate: f64, accept_partial: bool) -> Result<()> {
    let st = &s.stats;
    eprintln!(
        "{stage}: {} shards run, {} skipped (already complete); docs in {} → out {}; {} input errors; stats: {}",
        s.shards_run,
        s.shards_skipped,
        st.docs_in,
        st.docs_out,
        st.error_count(),
        s.stats_path.display()
    );
    for step in &st.steps {
        let dropped: u64 = step.dropped.values().sum();
        if dropped > 0 {
            eprintln!("  {:<40} dropped {:>8}  {:?}", step.name, dropped, step.dropped);
        }
    }
    for (input, why) in &s.redone {
        eprintln!("  redone {}: {why}", input.display());
    }
    for (input, err) in &s.failed {
        eprintln!("  FAILED {}: {err}", input.display());
    }
    for (input, note) in &s.partial {
        eprintln!("  PARTIAL {}: {note}", input.display());
    }
    if !s.failed.is_empty() {
        bail!(
            "{stage}: {} shard(s) failed; rerun to retry them (completed shards are skipped)",
            s.failed.len()
        );
    }
    if !s.partial.is_empty() && !accept_partial {
        bail!(
            "{stage}: {} shard(s) could not be read to their end ({} raw bytes unread after the break; a truncated \
             file's missing tail is not counted); their outputs hold what was read and they are not marked complete, \
             so a rerun redoes them. Replace the inputs, or pass --accept-partial to keep them as they are",
            s.partial.len(),
            st.bytes_unread
        );
    }
    // Stream breaks are judged above as partial shards; the rate is about unreadable records.
    let errors = st.error_count()
        - dclm_core::executor::STREAM_ERROR_REASONS
            .iter()
            .map(|r| st.errors.get(*r).copied().unwrap_or(0))
            .sum::<u64>();
    let seen = st.docs_in + errors;
    if errors > 0 && errors as f64 > max_error_rate * seen as f64 {
        bail!(
            "{stage}: finished, but {} input record(s) could not be read ({:?}); see {} (--max-error-rate {} \
             tolerates up to that fraction)",
            errors,
            st.errors,
            s.stats_path.display(),
            max_error_rate
        );
    }
    if errors > 0 {
        eprintln!(
            "{stage}: {errors} unreadable input record(s) skipped (within --max-error-rate {max_error_rate}); see {}",
            s.stats_path.display()
        );
    }
    Ok(())
}

/// Where one input shard comes from.
#[derive(Debug, Clone)]
enum Source {
    /// A local file, used in place.
    Local(PathBuf),
    /// An object, downloaded into the staging folder before its batch runs, with its listed size when known
    /// (a marker made from an object of another size is not reused).
    Remote(ObjectUrl, Option<u64>),
    /// A file of a Hugging Face Hub dataset at a pinned commit, downloaded like an object.
    Hub(HubFile),
}

/// One input shard with its path relative to the inputs' common root (this names its output).
#[derive(Debug, Clone)]
struct Item {
    source: Source,
    rel: PathBuf,
}

impl Item {
    fn label(&self) -> String {
        match &self.source {
            Source::Local(p) => p.display().to_string(),
            Source::Remote(u, _) => u.to_string(),
            Source::Hub(f) => f.hf_url(),
        }
    }
}

/// Where a stage's outputs go.
#[derive(Debug, Clone)]
enum Sink {
    Local(PathBuf),
    Remote { store: Store, url: ObjectUrl },
}

/// One run of a stage function over local files (see [`StageIo`]).
#[derive(Debug, Clone)]
pub struct Batch {
    /// Local input files.
    pub inputs: Vec<PathBuf>,
    /// Local output folder.
    pub out: PathBuf,
    /// Rank to pass to the stage.
    pub rank: usize,
    /// World size to pass to the stage.
    pub world_size: usize,
}

/// Local inputs/outputs or `s3://` ones for a shard stage.
///
/// With local inputs and output, [`StageIo::run_batched`] runs the stage once, unchanged. With an `s3://` input
/// or output, this task's shards (every `world_size`-th from `rank`, as the executor slices them) run in batches
/// of one shard per thread: a batch's objects are streamed into a staging folder, the stage runs on them with
/// rank 0 of 1 into a fresh local folder, then each finished shard's output and its `_done/` marker (last) are
/// uploaded (or moved, for a local output) to the same names a local run gives, and the staging folder is
/// emptied, so disk use stays at one batch. Shards whose marker already exists at the output are skipped before
/// anything is downloaded, so a rerun after preemption resumes against object storage too. The merged stats go
/// to `stats.json` (`stats.rank-R-of-W.json` for world size > 1) at the output.
///
/// Staging goes to `$DCLM_STAGING_DIR` (default: the system temp folder) or, for a local output, to
/// `<out>/_staging.rank-R`. Stages with a global step use [`StageIo::run_whole`] instead.
#[derive(Debug)]
pub struct StageIo {
    stage: String,
    items: Vec<Item>,
    sink: Sink,
    rank: usize,
    world_size: usize,
    batch_size: usize,
    output_extension: Option<String>,
    remote_inputs: bool,
    top_level: Vec<String>,
    accept_partial: bool,
}

impl StageIo {
    /// Resolve `--input`/`--out` of a shard stage. `output_extension` is the stage's output-name rule
    /// (`Some("jsonl.gz")` for extract; `None` keeps input names).
    pub fn new(stage: &str, shards: &ShardArgs, output_extension: Option<&str>) -> Result<Self> {
        let remote: Vec<&String> = shards.inputs.iter().filter(|p| ObjectUrl::is_object_url(p)).collect();
        let hub = shards.inputs.iter().filter(|p| HubUrl::is_hub_url(p)).count();
        let (paths, remote_inputs): (Vec<(PathBuf, Source)>, bool) = if hub > 0 {
            if hub != shards.inputs.len() {
                bail!("--input: mix of hf:// URLs and other inputs; give one kind");
            }
            (list_hub_inputs(&shards.inputs)?, true)
        } else if remote.is_empty() {
            let local = expand_inputs(&shards.inputs)?;
            (
                local.into_iter().map(|p| (p.clone(), Source::Local(p))).collect(),
                false,
            )
        } else {
            if remote.len() != shards.inputs.len() {
                bail!("--input: mix of local paths and s3:// URLs; give one kind");
            }
            (list_remote_inputs(&shards.inputs)?, true)
        };
        check_io_overlap(&shards.inputs, &paths, shards.out.to_str().unwrap_or_default())?;
        let full: Vec<PathBuf> = paths.iter().map(|(p, _)| p.clone()).collect();
        let root = common_parent(&full);
        let items = paths
            .into_iter()
            .map(|(p, source)| Item {
                rel: p.strip_prefix(&root).map(Path::to_path_buf).unwrap_or(p.clone()),
                source,
            })
            .collect();
        let out_str = shards.out.to_str().unwrap_or_default();
        let sink = if ObjectUrl::is_object_url(out_str) {
            let url = ObjectUrl::parse(out_str)?;
            let store = Store::from_env(&url).with_context(|| format!("object store for {url}"))?;
            Sink::Remote { store, url }
        } else {
            Sink::Local(shards.out.clone())
        };
        let threads = if shards.threads > 0 {
            shards.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        if shards.world_size == 0 || shards.rank >= shards.world_size {
            bail!("rank {} is not in 0..{} (world size)", shards.rank, shards.world_size);
        }
        Ok(StageIo {
            stage: stage.to_string(),
            items,
            sink,
            rank: shards.rank,
            world_size: shards.world_size,
            batch_size: threads.max(1),
            output_extension: output_extension.map(str::to_string),
            remote_inputs,
            top_level: Vec::new(),
            accept_partial: shards.accept_partial,
        })
    }

    /// Shards per staged batch (default: the thread count).
    pub fn set_batch_size(&mut self, n: usize) {
        self.batch_size = n.max(1);
    }

    /// Top-level files a batch writes besides stats (e.g. `quality_threshold.json`) that are the same for every
    /// batch and should be published to the output too (the last batch's copy wins).
    pub fn publish_top_level(&mut self, names: &[&str]) {
        self.top_level = names.iter().map(|n| n.to_string()).collect();
    }

    /// The input shards: local paths, or object URLs as strings.
    pub fn input_labels(&self) -> Vec<String> {
        self.items.iter().map(Item::label).collect()
    }

    fn full_paths(&self) -> Vec<PathBuf> {
        self.items
            .iter()
            .map(|i| match &i.source {
                Source::Local(p) => p.clone(),
                Source::Remote(u, _) => PathBuf::from(&u.key),
                Source::Hub(f) => PathBuf::from(format!("{}/{}", f.repo, f.path)),
            })
            .collect()
    }

    /// This rank's items, in executor order.
    fn my_items(&self) -> Vec<Item> {
        let full = self.full_paths();
        let mine = slice_for_rank(&full, self.rank, self.world_size);
        let by_path: BTreeMap<&PathBuf, &Item> = full.iter().zip(&self.items).collect();
        mine.iter().map(|p| by_path[p].clone()).collect()
    }

    fn out_rel(&self, rel: &Path) -> PathBuf {
        match &self.output_extension {
            Some(ext) => replace_extension(rel, ext),
            None => rel.to_path_buf(),
        }
    }

    fn stats_name(&self) -> String {
        if self.world_size == 1 {
            "stats.json".to_string()
        } else {
            format!("stats.rank-{}-of-{}.json", self.rank, self.world_size)
        }
    }

    fn staging_root(&self) -> Result<StagingDir> {
        let dir = match &self.sink {
            Sink::Local(out) => out.join(format!("_staging.rank-{}", self.rank)),
            Sink::Remote { .. } => std::env::var_os("DCLM_STAGING_DIR")
                .map_or_else(std::env::temp_dir, PathBuf::from)
                .join(format!("dclm-{}-{}-rank{}", self.stage, std::process::id(), self.rank)),
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing staging folder {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating staging folder {}", dir.display()))?;
        Ok(StagingDir(dir))
    }

    /// When inputs and output are all local: the whole run as one batch with the real rank and world size
    /// (the stage runs exactly as without StageIo).
    fn local_batch(&self) -> Option<Batch> {
        match &self.sink {
            Sink::Local(out) if !self.remote_inputs => Some(Batch {
                inputs: self.full_paths(),
                out: out.clone(),
                rank: self.rank,
                world_size: self.world_size,
            }),
            _ => None,
        }
    }

    /// Run a per-shard stage. `f` runs the stage on a [`Batch`] and returns its summary; an `Err` from `f`
    /// (a configuration error) stops the run.
    pub fn run_batched(&self, mut f: impl FnMut(&Batch) -> Result<RunSummary>) -> Result<RunSummary> {
        if let Some(batch) = self.local_batch() {
            return f(&batch);
        }
        let mut summary = RunSummary::default();
        let mut merged = Stats::new(&self.stage);
        let existing = self.sink.list()?;
        let mut todo = Vec::new();
        for item in self.my_items() {
            let out_rel = self.out_rel(&item.rel);
            match self.sink.completed(&existing, &out_rel, &item, self.accept_partial)? {
                Some(s) => {
                    merged.merge(&s);
                    summary.shards_skipped += 1;
                }
                None => todo.push(item),
            }
        }
        let staging = self.staging_root()?;
        for (bi, chunk) in todo.chunks(self.batch_size).enumerate() {
            let bdir = staging.0.join(format!("batch-{bi}"));
            let in_dir = bdir.join("in");
            let out_dir = bdir.join("out");
            let mut local: Vec<(Item, PathBuf)> = Vec::new();
            for (item, r) in fetch_batch(chunk, &in_dir) {
                match r {
                    Ok(p) => local.push((item, p)),
                    Err(e) => summary.failed.push((PathBuf::from(item.label()), format!("{e:#}"))),
                }
            }
            if local.is_empty() {
                continue;
            }
            let batch = Batch {
                inputs: local.iter().map(|(_, p)| p.clone()).collect(),
                out: out_dir.clone(),
                rank: 0,
                world_size: 1,
            };
            let s = f(&batch)?;
            let failed: BTreeMap<PathBuf, String> = s.failed.into_iter().collect();
            let base = common_parent(&batch.inputs);
            for (item, path) in &local {
                if let Some(e) = failed.get(path) {
                    summary.failed.push((PathBuf::from(item.label()), e.clone()));
                    continue;
                }
                let local_rel = self.out_rel(path.strip_prefix(&base).unwrap_or(path));
                let out_rel = self.out_rel(&item.rel);
                match self.publish_shard(item, path, &out_dir, &local_rel, &out_rel) {
                    Ok(st) => {
                        merged.merge(&st);
                        summary.shards_run += 1;
                    }
                    Err(e) => summary.failed.push((PathBuf::from(item.label()), format!("{e:#}"))),
                }
            }
            for name in &self.top_level {
                let p = out_dir.join(name);
                if p.is_file() {
                    self.sink.put_file(&p, name)?;
                }
            }
            std::fs::remove_dir_all(&bdir).with_context(|| format!("removing {}", bdir.display()))?;
        }
        drop(staging);
        let name = self.stats_name();
        self.sink.put_bytes(&name, serde_json::to_vec_pretty(&merged)?)?;
        summary.stats_path = self.sink.display_path(&name);
        summary.stats = merged;
        Ok(summary)
    }

    /// Copy one finished shard of a batch to the sink: output first, then its marker (with staged paths in
    /// error examples replaced by the object URL). Returns the shard's stats.
    fn publish_shard(
        &self,
        item: &Item,
        staged: &Path,
        out_dir: &Path,
        local_rel: &Path,
        out_rel: &Path,
    ) -> Result<Stats> {
        let marker = marker_rel(local_rel);
        let marker_local = out_dir.join(&marker);
        let bytes = std::fs::read(&marker_local)
            .with_context(|| format!("{}: no completion marker after the stage ran", item.label()))?;
        let mut stats: Stats =
            serde_json::from_slice(&bytes).with_context(|| format!("reading marker {}", marker_local.display()))?;
        if !matches!(item.source, Source::Local(_)) {
            let from = staged.display().to_string();
            let to = item.label();
            for ex in &mut stats.error_examples {
                ex.message = ex.message.replace(&from, &to);
            }
        }
        let output_local = out_dir.join(local_rel);
        if output_local.exists() {
            self.sink.put_file(&output_local, &rel_str(out_rel))?;
        }
        self.sink
            .put_bytes(&rel_str(&marker_rel(out_rel)), serde_json::to_vec_pretty(&stats)?)?;
        Ok(stats)
    }

    /// Run a stage with a global step (a threshold over all inputs, a cross-shard filter) once over every
    /// input: remote inputs are all staged first (disk holds every input), the stage gets the real rank and
    /// world size, and for an `s3://` output everything it wrote (outputs, then markers, then top-level files
    /// such as stats) is uploaded. When every shard of this rank already has a marker at an `s3://` output,
    /// nothing runs.
    pub fn run_whole(&self, f: impl FnOnce(&Batch) -> Result<RunSummary>) -> Result<RunSummary> {
        if let Some(batch) = self.local_batch() {
            return f(&batch);
        }
        if let Sink::Remote { .. } = &self.sink {
            let existing = self.sink.list()?;
            let mut merged = Stats::new(&self.stage);
            let mine = self.my_items();
            let mut done = 0;
            for item in &mine {
                if let Some(s) = self
                    .sink
                    .completed(&existing, &self.out_rel(&item.rel), item, self.accept_partial)?
                {
                    merged.merge(&s);
                    done += 1;
                }
            }
            if done == mine.len() {
                let name = self.stats_name();
                return Ok(RunSummary {
                    stats: merged,
                    shards_run: 0,
                    shards_skipped: done,
                    stats_path: self.sink.display_path(&name),
                    ..Default::default()
                });
            }
        }
        let staging = self.staging_root()?;
        let in_dir = staging.0.join("in");
        let mut inputs = Vec::new();
        for (item, r) in fetch_batch(&self.items, &in_dir) {
            inputs.push(r.with_context(|| format!("staging {}", item.label()))?);
        }
        let out = match &self.sink {
            Sink::Local(out) => out.clone(),
            Sink::Remote { .. } => staging.0.join("out"),
        };
        let mut s = f(&Batch {
            inputs,
            out: out.clone(),
            rank: self.rank,
            world_size: self.world_size,
        })?;
        if let Sink::Remote { .. } = &self.sink {
            let mut files = Vec::new();
            walk_all(&out, &mut files)?;
            let class = |rel: &Path| {
                if rel.starts_with(DONE_DIR) {
                    1
                } else if rel.components().count() == 1 && !is_shard(rel) {
                    2
                } else {
                    0
                }
            };
            let mut rels: Vec<PathBuf> = files
                .iter()
                .map(|p| p.strip_prefix(&out).unwrap_or(p).to_path_buf())
                .filter(|r| !r.to_string_lossy().ends_with(".tmp"))
                .collect();
            rels.sort_by_key(|r| (class(r), r.clone()));
            for rel in &rels {
                self.sink.put_file(&out.join(rel), &rel_str(rel))?;
            }
            let name = s.stats_path.file_name().map(|n| n.to_string_lossy().to_string());
            s.stats_path = self.sink.display_path(&name.unwrap_or_else(|| self.stats_name()));
        }
        drop(staging);
        Ok(s)
    }
}

/// Refuse a stage whose output overlaps its inputs (see [`dclm_core::provenance::check_disjoint`]): for local
/// paths, input folders containing the output (or inside it) and input files inside it; for `s3://`, an output
/// prefix equal to, inside or around an input prefix of the same bucket.
fn check_io_overlap(patterns: &[String], paths: &[(PathBuf, Source)], out: &str) -> Result<()> {
    if ObjectUrl::is_object_url(out) {
        let o = ObjectUrl::parse(out)?;
        let op = o.dir_prefix();
        for p in patterns.iter().filter(|p| ObjectUrl::is_object_url(p)) {
            let i = ObjectUrl::parse(p)?;
            let ip = i.dir_prefix();
            if i.bucket == o.bucket && (op.starts_with(&ip) || ip.starts_with(&op) || i.key.starts_with(&op)) {
                bail!(
                    "the output {out} overlaps the input {p}: outputs would be read back as inputs (or inputs \
                     overwritten); write to a prefix outside the inputs"
                );
            }
        }
        return Ok(());
    }
    let dirs: Vec<PathBuf> = patterns
        .iter()
        .filter(|p| !ObjectUrl::is_object_url(p))
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect();
    let files: Vec<PathBuf> = paths
        .iter()
        .filter_map(|(_, s)| match s {
            Source::Local(p) => Some(p.clone()),
            Source::Remote(..) | Source::Hub(_) => None,
        })
        .collect();
    dclm_core::provenance::check_disjoint(&dirs, &files, Path::new(out))?;
    Ok(())
}

/// `_done/<rel>.json`.
fn marker_rel(out_rel: &Path) -> PathBuf {
    let mut m = Path::new(DONE_DIR).join(out_rel).into_os_string();
    m.push(".json");
    PathBuf::from(m)
}

fn rel_str(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A staging folder, removed when dropped.
struct StagingDir(PathBuf);

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir` (recursively).
fn walk_all(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            walk_all(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Make a batch's inputs local: local files as they are, objects streamed into `in_dir/<rel>` in parallel.
fn fetch_batch(items: &[Item], in_dir: &Path) -> Vec<(Item, Result<PathBuf>)> {
    let mut stores: BTreeMap<String, Store> = BTreeMap::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| {
                let store = match &item.source {
                    Source::Remote(u, _) => Some(match stores.get(&u.bucket) {
                        Some(s) => Ok(s.clone()),
                        None => Store::from_env(u).inspect(|s| {
                            stores.insert(u.bucket.clone(), s.clone());
                        }),
                    }),
                    Source::Local(_) | Source::Hub(_) => None,
                };
                let dest = in_dir.join(&item.rel);
                scope.spawn(move || -> Result<PathBuf> {
                    match (&item.source, store) {
                        (Source::Local(p), _) => Ok(p.clone()),
                        (Source::Hub(f), _) => {
                            let cfg = HubConfig::from_env();
                            dclm_fetch::hub::download(&cfg.downloader(), &cfg, f, &dest)?;
                            Ok(dest)
                        }
                        (Source::Remote(u, _), Some(store)) => {
                            store?.download_to(u, &dest)?;
                            Ok(dest)
                        }
                        (Source::Remote(u, _), None) => bail!("{u}: no store"),
                    }
                })
            })
            .collect();
        items
            .iter()
            .cloned()
            .zip(handles)
            .map(|(item, h)| {
                let r = h
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("download thread panicked")));
                (item, r)
            })
            .collect()
    })
}

/// Every shard object named by `s3://` inputs: an exact object key, or every object under a prefix whose name
/// is a shard (same suffix rules as local folders; keys with a `_` or `.` path segment are skipped).
fn list_remote_inputs(urls: &[String]) -> Result<Vec<(PathBuf, Source)>> {
    let mut out: Vec<(PathBuf, Source)> = Vec::new();
    let mut bucket: Option<String> = None;
    let mut store: Option<Store> = None;
    for s in urls {
        let url = ObjectUrl::parse(s)?;
        if bucket.as_ref().is_some_and(|b| *b != url.bucket) {
            bail!(
                "--input: all s3:// inputs must be in one bucket ({s} is not in {})",
                bucket.unwrap()
            );
        }
        bucket = Some(url.bucket.clone());
        let st = match &store {
            Some(st) => st.clone(),
            None => {
                let st = Store::from_env(&url).with_context(|| format!("object store for {url}"))?;
                store = Some(st.clone());
                st
            }
        };
        if !url.key.is_empty() && !url.key.ends_with('/') && st.exists(&url)? {
            out.push((PathBuf::from(&url.key), Source::Remote(url, None)));
            continue;
        }
        let prefix = url.dir_prefix();
        let mut n = 0;
        for o in st.list(&url).with_context(|| format!("listing {url}"))? {
            let rel = o.key.strip_prefix(&prefix).unwrap_or(&o.key);
            let mut segs: Vec<&str> = rel.split('/').collect();
            let name = segs.pop().unwrap_or_default();
            if segs.iter().any(|d| d.starts_with('_') || d.starts_with('.')) || !is_shard_name(name) {
                continue;
            }
            out.push((
                PathBuf::from(&o.key),
                Source::Remote(url.with_key(o.key.clone()), Some(o.size)),
            ));
            n += 1;
        }
        if n == 0 {
            bail!("no input shards found under {url}");
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// Every shard file selected by `hf://datasets/…` inputs, each listed at the commit its revision resolves to
/// (same shard-name rules as folders; paths with a `_` or `.` segment are skipped).
fn list_hub_inputs(urls: &[String]) -> Result<Vec<(PathBuf, Source)>> {
    let cfg = HubConfig::from_env();
    let dl = cfg.downloader();
    let mut out: Vec<(PathBuf, Source)> = Vec::new();
    for s in urls {
        let url = HubUrl::parse(s)?;
        let listing = dclm_fetch::hub::list(&dl, &cfg, &url).with_context(|| format!("listing {s}"))?;
        let mut n = 0;
        for f in listing.files {
            let mut segs: Vec<&str> = f.path.split('/').collect();
            let name = segs.pop().unwrap_or_default();
            if segs.iter().any(|d| d.starts_with('_') || d.starts_with('.')) || !is_shard_name(name) {
                continue;
            }
            out.push((PathBuf::from(format!("{}/{}", f.repo, f.path)), Source::Hub(f)));
            n += 1;
        }
        if n == 0 {
            bail!("no input shards among the files {s} selects");
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

impl Sink {
    /// What exists at the output: relative name → size.
    fn list(&self) -> Result<BTreeMap<String, u64>> {
        match self {
            Sink::Local(_) => Ok(BTreeMap::new()),
            Sink::Remote { store, url } => {
                let prefix = url.dir_prefix();
                Ok(store
                    .list(url)
                    .with_context(|| format!("listing the output {url}"))?
                    .into_iter()
                    .map(|o| (o.key.strip_prefix(&prefix).unwrap_or(&o.key).to_string(), o.size))
                    .collect())
            }
        }
    }

    /// The stats of a completed shard, as the executor decides: marker present with provenance, complete (or
    /// partial shards accepted), made from an input of the same bytes (local) or size (object), and the output
    /// present or empty. Settings are checked by the stage itself when it runs on the staged batch.
    fn completed(
        &self,
        listing: &BTreeMap<String, u64>,
        out_rel: &Path,
        item: &Item,
        accept_partial: bool,
    ) -> Result<Option<Stats>> {
        let marker = rel_str(&marker_rel(out_rel));
        let output = rel_str(out_rel);
        let (bytes, output_exists) = match self {
            Sink::Local(dir) => match std::fs::read(dir.join(&marker)) {
                Ok(b) => (b, dir.join(&output).exists()),
                Err(_) => return Ok(None),
            },
            Sink::Remote { store, url } => {
                if !listing.contains_key(&marker) {
                    return Ok(None);
                }
                (store.get_bytes(&url.join(&marker))?, listing.contains_key(&output))
            }
        };
        let Ok(s) = serde_json::from_slice::<Stats>(&bytes) else {
            return Ok(None);
        };
        let Some(p) = &s.provenance else {
            return Ok(None);
        };
        let same_input = match &item.source {
            Source::Local(path) => p.input.matches(path).unwrap_or(false),
            Source::Remote(_, size) => size.is_none_or(|n| n == p.input.size),
            Source::Hub(f) => f.size.is_none_or(|n| n == p.input.size),
        };
        if (p.complete || accept_partial) && same_input && (output_exists || s.docs_out == 0) {
            Ok(Some(s))
        } else {
            Ok(None)
        }
    }

    fn put_file(&self, local: &Path, rel: &str) -> Result<()> {
        match self {
            Sink::Local(dir) => {
                let dest = dir.join(rel);
                if let Some(p) = dest.parent() {
                    std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
                }
                std::fs::rename(local, &dest)
                    .with_context(|| format!("moving {} to {}", local.display(), dest.display()))
            }
            Sink::Remote { store, url } => store.upload_from(local, &url.join(rel)).map(|_| ()).map_err(Into::into),
        }
    }

    fn put_bytes(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        match self {
            Sink::Local(dir) => dclm_core::io::write_atomic(&dir.join(rel), &bytes).map_err(Into::into),
            Sink::Remote { store, url } => store.put_bytes(&url.join(rel), bytes).map_err(Into::into),
        }
    }

    fn display_path(&self, rel: &str) -> PathBuf {
        match self {
            Sink::Local(dir) => dir.join(rel),
            Sink::Remote { url, .. } => PathBuf::from(url.join(rel).to_string()),
        }
    }
}
