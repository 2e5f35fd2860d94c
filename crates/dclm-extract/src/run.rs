//! The stage entry point: WARC files → one DCLM-Pool JSONL shard per WARC, via the dclm-core
//! executor (parallel over files, stats, resume, rank/world-size slicing).

use crate::extractor::{Decoding, Extractor, RawPage, ResiliparseExtractor};
use crate::warc::{WarcReader, DEFAULT_MAX_RECORD_BYTES};
use crate::ExtractError;
use dclm_core::Document;
use dclm_core::{Executor, ExecutorConfig, RunSummary, ShardTask, Stats, Verdict};
use std::path::PathBuf;
use std::time::Instant;

/// Name of the stage (in stats and the progress bar).
pub const STAGE: &str = "extract";

/// Configuration of [`run`].
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    /// WARC files (`.warc`, `.warc.gz`, `.warc.zst`).
    pub inputs: Vec<PathBuf>,
    /// Output folder; each WARC `x.warc.gz` becomes `x.<output_extension>`.
    pub output_dir: PathBuf,
    /// Output extension (default `jsonl.gz`, as DCLM-Pool; `jsonl.zst` also works).
    pub output_extension: String,
    /// Worker threads (0 = one per core). Files are the unit of parallelism.
    pub threads: usize,
    /// This task's rank.
    pub rank: usize,
    /// Number of tasks.
    pub world_size: usize,
    /// Show a progress bar.
    pub progress: bool,
    /// `main_content=True` (DCLM) or the no-boilerplate-removal variant.
    pub main_content: bool,
    /// Decoding mode (default DCLM's strict UTF-8).
    pub decoding: Decoding,
    /// Records whose block is larger than this are skipped and counted.
    pub max_record_bytes: u64,
    /// Discard earlier results in the output folder and redo every shard of this rank.
    pub fresh: bool,
    /// Mark shards whose WARC ends early or is corrupt as complete (see `dclm_core::ExecutorConfig`).
    pub accept_partial: bool,
}

impl ExtractConfig {
    /// DCLM defaults for the given inputs and output folder.
    pub fn new(inputs: Vec<PathBuf>, output_dir: impl Into<PathBuf>) -> Self {
        ExtractConfig {
            inputs,
            output_dir: output_dir.into(),
            output_extension: "jsonl.gz".into(),
            threads: 0,
            rank: 0,
            world_size: 1,
            progress: true,
            main_content: true,
            decoding: Decoding::StrictUtf8,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            fresh: false,
            accept_partial: false,
        }
    }

    /// The extractor these settings describe.
    pub fn extractor(&self) -> ResiliparseExtractor {
        let base = if self.main_content {
            ResiliparseExtractor::dclm()
        } else {
            ResiliparseExtractor::no_boilerplate_removal()
        };
        base.with_decoding(self.decoding)
    }
}

/// Run DCLM's extraction over `cfg.inputs`. See [`run_with`] for a custom extractor.
pub fn run(cfg: &ExtractConfig) -> Result<RunSummary, ExtractError> {
    run_with(cfg, &cfg.extractor())
}

/// Run any [`Extractor`] over the WARC files. Writes `<output_dir>/<name>.<ext>` per WARC, per-shard
/// markers under `_done/`, and `stats.json` (docs in = response records read; steps: `read`
/// (record errors by reason) and the extractor's step with drops by reason).
pub fn run_with(cfg: &ExtractConfig, extractor: &dyn Extractor) -> Result<RunSummary, ExtractError> {
    if cfg.inputs.is_empty() {
        return Err(ExtractError::Config("no input WARC files".into()));
    }
    let mut ecfg = ExecutorConfig::new(STAGE, &cfg.output_dir);
    ecfg.threads = cfg.threads;
    ecfg.rank = cfg.rank;
    ecfg.world_size = cfg.world_size;
    ecfg.progress = cfg.progress;
    ecfg.output_extension = Some(cfg.output_extension.clone());
    ecfg.fresh = cfg.fresh;
    ecfg.accept_partial = cfg.accept_partial;
    ecfg.settings = dclm_core::Fingerprint::new(STAGE)
        .add("extractor", extractor.name().as_bytes())
        .add("version", env!("CARGO_PKG_VERSION").as_bytes())
        .add_debug("main_content", &cfg.main_content)
        .add_debug("decoding", &cfg.decoding)
        .add_debug("max_record_bytes", &cfg.max_record_bytes)
        .add("output_extension", cfg.output_extension.as_bytes())
        .finish();
    let exec = Executor::new(ecfg)?;
    let summary = exec.run_shards(&cfg.inputs, |task| {
        extract_shard(task, extractor, cfg.max_record_bytes).map_err(|e| match e {
            ExtractError::Core(c) => c,
            other => dclm_core::CoreError::Config(other.to_string()),
        })
    })?;
    Ok(summary)
}

/// Say on stderr why a page was skipped (it is counted in the step's drops).
fn print_skip(task: &ShardTask<'_>, e: &ExtractError) {
    task.note(&e.to_string());
}

/// Record-level errors become stats entries (with examples naming file, record and offset).
fn report(stats: &mut Stats, e: &ExtractError) {
    stats.record_error(e.reason(), e.to_string());
}

fn extract_shard(task: &ShardTask<'_>, extractor: &dyn Extractor, max_record: u64) -> Result<Stats, ExtractError> {
    let mut stats = Stats::new(STAGE);
    let pages = WarcPages::open(task.input, extractor, max_record, task.raw_bytes.clone())?;
    let mut writer = task.writer()?;
    let step = extractor.name().to_string();
    let mut pending = 0u64;
    for item in pages {
        let (result, secs) = match item {
            WarcPage::ReadError(e) => {
                report(&mut stats, &e);
                continue;
            }
            WarcPage::Page { result, seconds } => (result, seconds),
        };
        stats.docs_in += 1;
        match result {
            Ok(Some(doc)) => {
                stats.step_mut(&step).record(Verdict::Keep, secs);
                writer.write(&doc)?;
                stats.docs_out += 1;
            }
            Ok(None) => stats.step_mut(&step).record(Verdict::Drop("no_output"), secs),
            Err(e) => {
                let reason = e.reason();
                stats.step_mut(&step).record(Verdict::Drop(reason), secs);
                if reason == "output_too_large" {
                    print_skip(task, &e);
                } else if !is_expected_drop(&e) {
                    report(&mut stats, &e);
                }
            }
        }
        pending += 1;
        if pending == 64 {
            task.add_docs(pending);
            pending = 0;
        }
    }
    task.add_docs(pending);
    stats.bytes_out = writer.bytes_written();
    writer.finish()?;
    Ok(stats)
}

/// Whether a page-level error is a drop DCLM makes by design (not UTF-8) or one that keeps memory bounded
/// (the text would exceed its limit), rather than an input error.
pub fn is_expected_drop(e: &ExtractError) -> bool {
    matches!(e.reason(), "non_utf8" | "output_too_large")
}

/// One item of [`WarcPages`].
#[derive(Debug)]
pub enum WarcPage {
    /// A `response` record: the extractor's result and the seconds it took.
    Page {
        /// `Ok(Some(doc))` a document, `Ok(None)` nothing worth keeping, `Err` a page-level failure
        /// (see [`is_expected_drop`]).
        result: Result<Option<Document>, ExtractError>,
        /// Seconds inside the extractor.
        seconds: f64,
    },
    /// A record that could not be read (malformed, oversized, corrupt stream), with file and offset.
    ReadError(ExtractError),
}

/// The pages of one WARC file as the extract stage reads them: `response` records in file order, each
/// with the body of the latest `warcinfo` record before it, through an [`Extractor`].
pub struct WarcPages<E> {
    reader: WarcReader<Box<dyn std::io::BufRead + Send>>,
    path: PathBuf,
    extractor: E,
    warcinfo: Option<String>,
}

impl<E: Extractor> WarcPages<E> {
    /// Open `path` (`.warc`, `.warc.gz`, `.warc.zst`); records with a block over `max_record_bytes` are
    /// reported as read errors. Raw bytes read are added to `raw_bytes`.
    pub fn open(
        path: &std::path::Path,
        extractor: E,
        max_record_bytes: u64,
        raw_bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> Result<Self, ExtractError> {
        let reader = WarcReader::open(path, raw_bytes)?
            .with_types(&["response", "warcinfo"])
            .with_max_record_bytes(max_record_bytes);
        Ok(WarcPages {
            reader,
            path: path.to_path_buf(),
            extractor,
            warcinfo: None,
        })
    }
}

impl<E: Extractor> Iterator for WarcPages<E> {
    type Item = WarcPage;

    fn next(&mut self) -> Option<WarcPage> {
        loop {
            let record = match self.reader.next()? {
                Ok(r) => r,
                Err(e) => return Some(WarcPage::ReadError(e)),
            };
            if record.record_type() == "warcinfo" {
                self.warcinfo = Some(String::from_utf8_lossy(&record.body).trim().to_string());
                continue;
            }
            let http = record.http();
            let payload = match &http {
                Some(h) => h.body,
                None => &record.body[..],
            };
            let page = RawPage {
                path: &self.path,
                record: &record,
                http: http.as_ref(),
                payload,
                warcinfo: self.warcinfo.as_deref(),
            };
            let t0 = Instant::now();
            let result = self.extractor.extract(&page);
            let seconds = t0.elapsed().as_secs_f64();
            return Some(WarcPage::Page { result, seconds });
        }
    }
}
