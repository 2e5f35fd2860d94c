//! `dclm_rs._dclm_rs`: the dclm-rs crates as a Python extension module (PyO3, abi3). A thin layer: each call
//! converts Python values to the crates' types, runs the crates' own code (batches on a rayon pool, with the
//! GIL released) and converts the results back. Every error is a `dclm_rs.DclmError` carrying the message the
//! `dclm` CLI prints (file, line, step). Pages cross as dicts, or stay in Rust as a `Pages` batch (read and
//! written by the CLI's JSONL shard reader and writer) when Python does not need to look inside them.

use dclm_core::{Document, Stats, StepStats, Verdict};
use dclm_filter::{fasttext_lid_loader, BuildContext, FilterRunConfig, LanguageId, Registry, StepLoc};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pyo3::create_exception!(
    dclm_rs,
    DclmError,
    PyException,
    "An error of dclm-rs (bad config, model, input or step), with the message the `dclm` CLI prints."
);

fn err(e: impl std::fmt::Display) -> PyErr {
    DclmError::new_err(e.to_string())
}

/// The rayon pool batch calls run on: the global one (`threads=0`: one thread per core, or
/// `RAYON_NUM_THREADS`) or an own pool of `threads` threads.
struct Threads(Option<rayon::ThreadPool>);

impl Threads {
    fn new(threads: usize) -> PyResult<Self> {
        if threads == 0 {
            return Ok(Threads(None));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map(|p| Threads(Some(p)))
            .map_err(err)
    }

    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.0 {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Pages: dict ↔ Document

/// A page dict as a document. `any_text`: DCLM's page model (`text` may be missing or any value until a
/// step needs it); otherwise `text` must be a string, as the dedup stage reads shards.
fn doc_from_py(obj: &Bound<'_, PyAny>, what: &str, i: usize, any_text: bool) -> PyResult<Document> {
    if !obj.is_instance_of::<PyDict>() {
        return Err(err(format!(
            "{what}[{i}]: a page must be a dict, got {}",
            obj.get_type().name()?
        )));
    }
    let value: serde_json::Value =
        pythonize::depythonize(obj).map_err(|e| err(format!("{what}[{i}]: not JSON-like: {e}")))?;
    let doc = if any_text {
        Document::from_value_any(value)
    } else {
        Document::from_value(value)
    };
    doc.map_err(|(kind, message)| err(format!("{what}[{i}]: {kind}: {message}")))
}

fn docs_from_py(docs: &Bound<'_, PyAny>, any_text: bool) -> PyResult<Vec<Document>> {
    let mut out = Vec::with_capacity(docs.len().unwrap_or(0));
    for (i, item) in docs.try_iter()?.enumerate() {
        out.push(doc_from_py(&item?, "docs", i, any_text)?);
    }
    Ok(out)
}

fn doc_to_py<'py>(py: Python<'py>, doc: &Document) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, doc).map_err(err)
}

fn docs_to_py<'py>(py: Python<'py>, docs: &[Document]) -> PyResult<Bound<'py, PyList>> {
    let items = docs.iter().map(|d| doc_to_py(py, d)).collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// The pages of a batch argument, and whether it was a [`Pages`] (a call returns the type it was given).
/// A `Pages` is copied (it stays as it was); anything else is an iterable of page dicts, converted.
fn batch_from_py(docs: &Bound<'_, PyAny>, any_text: bool) -> PyResult<(Vec<Document>, bool)> {
    if let Ok(pages) = docs.cast::<Pages>() {
        let docs = pages.get().docs.clone();
        if !any_text {
            if let Some((i, kind)) = docs
                .iter()
                .enumerate()
                .find_map(|(i, d)| d.text_problem().map(|k| (i, k)))
            {
                return Err(err(format!("docs[{i}]: {kind}: the page has no string `text`")));
            }
        }
        return Ok((docs, true));
    }
    Ok((docs_from_py(docs, any_text)?, false))
}

/// The pages a call returns: a [`Pages`] when it was given one, else a list of dicts.
fn batch_to_py<'py>(py: Python<'py>, docs: Vec<Document>, as_pages: bool) -> PyResult<Bound<'py, PyAny>> {
    if as_pages {
        Ok(Bound::new(py, Pages { docs })?.into_any())
    } else {
        Ok(docs_to_py(py, &docs)?.into_any())
    }
}

// ---------------------------------------------------------------------------------------------------------
// Pages and JSONL shards

/// `Pages`: a batch of pages held in Rust (the documents the crates work on), as `read_jsonl` yields them.
/// `Pipeline.process`, `Bff.dedup` and `write_jsonl` take it without converting pages to dicts and back;
/// indexing and iterating give page dicts (copies: a `Pages` does not change). `Pages.from_dicts(list)` and
/// `to_dicts()` convert; `a + b` joins two batches.
#[pyclass(frozen, sequence, module = "dclm_rs")]
struct Pages {
    docs: Vec<Document>,
}

impl Pages {
    /// The index `i` of a page, Python style (negative counts from the end).
    fn index(&self, i: isize) -> PyResult<usize> {
        let n = self.docs.len() as isize;
        let j = if i < 0 { i + n } else { i };
        if (0..n).contains(&j) {
            Ok(j as usize)
        } else {
            Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "Pages index {i} out of range ({n} pages)"
            )))
        }
    }
}

#[pymethods]
impl Pages {
    /// `Pages.from_dicts(pages)`: page dicts (DCLM's page model: `text` may be missing or any JSON value).
    #[staticmethod]
    fn from_dicts(pages: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Pages {
            docs: docs_from_py(pages, true)?,
        })
    }

    /// `to_dicts() -> list[dict]`: every page as a dict.
    fn to_dicts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        docs_to_py(py, &self.docs)
    }

    fn __len__(&self) -> usize {
        self.docs.len()
    }

    /// `pages[i]` → a page dict; `pages[a:b:c]` → a `Pages`.
    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(slice) = key.cast::<pyo3::types::PySlice>() {
            use pyo3::types::PySliceMethods;
            let ix = slice.indices(self.docs.len() as isize)?;
            let docs = (0..ix.slicelength)
                .map(|k| self.docs[(ix.start + k as isize * ix.step) as usize].clone())
                .collect();
            return Ok(Bound::new(py, Pages { docs })?.into_any());
        }
        let i = self.index(key.extract::<isize>()?)?;
        doc_to_py(py, &self.docs[i])
    }

    fn __iter__(slf: Bound<'_, Self>) -> PagesIter {
        PagesIter {
            pages: slf.unbind(),
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn __add__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let Ok(other) = other.cast::<Pages>() else {
            return Ok(py.NotImplemented().into_bound(py));
        };
        let mut docs = Vec::with_capacity(self.docs.len() + other.get().docs.len());
        docs.extend(self.docs.iter().cloned());
        docs.extend(other.get().docs.iter().cloned());
        Ok(Bound::new(py, Pages { docs })?.into_any())
    }

    fn __repr__(&self) -> String {
        format!("Pages({} pages)", self.docs.len())
    }
}

/// Iterator over the page dicts of a [`Pages`].
#[pyclass(frozen, module = "dclm_rs")]
struct PagesIter {
    pages: Py<Pages>,
    next: std::sync::atomic::AtomicUsize,
}

#[pymethods]
impl PagesIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.pages.get().docs.get(i) {
            Some(doc) => doc_to_py(py, doc).map(Some),
            None => Ok(None),
        }
    }
}

/// An open JSONL shard: `dclm_core::io::ShardReader` (the CLI's reader), reading pages in DCLM's page model.
struct JsonlReader {
    reader: dclm_core::io::ShardReader,
    raise_errors: bool,
}

impl JsonlReader {
    fn open(path: &std::path::Path, errors: &str) -> PyResult<Self> {
        let raise_errors = match errors {
            "raise" => true,
            "skip" => false,
            other => {
                return Err(err(format!(
                    "errors={other:?}: accepted values are \"raise\" and \"skip\""
                )))
            }
        };
        let reader = dclm_core::io::ShardReader::open(path).map_err(err)?.with_any_text(true);
        Ok(JsonlReader { reader, raise_errors })
    }

    /// Up to `n` pages (fewer at the end of the shard). A bad line is an error naming the file and line,
    /// or is skipped with `errors="skip"`; a corrupt or truncated compressed stream is always an error.
    fn read(&mut self, n: usize) -> Result<Vec<Document>, dclm_core::CoreError> {
        let mut docs = Vec::with_capacity(n.min(1 << 16));
        while docs.len() < n {
            match self.reader.next() {
                None => break,
                Some(Ok((_, doc))) => docs.push(doc),
                Some(Err(e @ dclm_core::CoreError::BadLine { .. })) if !self.raise_errors => drop(e),
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(docs)
    }
}

/// The batches of a JSONL shard, as `read_jsonl(path, batch_size=n)` yields them.
#[pyclass(module = "dclm_rs")]
struct PagesReader {
    reader: Mutex<JsonlReader>,
    batch_size: usize,
}

#[pymethods]
impl PagesReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Pages>> {
        let docs = py
            .detach(|| {
                let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
                reader.read(self.batch_size)
            })
            .map_err(err)?;
        Ok((!docs.is_empty()).then_some(Pages { docs }))
    }
}

/// `read_jsonl(path, batch_size=None, errors="raise")`: the pages of a JSONL shard (`.jsonl`, `.jsonl.gz`,
/// `.jsonl.zst`/`.zstd`, by extension) read by the CLI's shard reader: a `Pages` of the whole shard, or with
/// `batch_size` an iterator of `Pages` of up to that many pages. A bad line raises `DclmError` naming the
/// file and line (`errors="skip"` skips it, as the CLI counts and skips it); a truncated compressed stream
/// always raises.
#[pyfunction]
#[pyo3(signature = (path, batch_size = None, errors = "raise"))]
fn read_jsonl<'py>(
    py: Python<'py>,
    path: PathBuf,
    batch_size: Option<usize>,
    errors: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let mut reader = JsonlReader::open(&path, errors)?;
    match batch_size {
        None => {
            let docs = py.detach(|| reader.read(usize::MAX)).map_err(err)?;
            Ok(Bound::new(py, Pages { docs })?.into_any())
        }
        Some(0) => Err(err("batch_size must be at least 1")),
        Some(n) => Ok(Bound::new(
            py,
            PagesReader {
                reader: Mutex::new(reader),
                batch_size: n,
            },
        )?
        .into_any()),
    }
}

/// `write_jsonl(path, pages) -> int`: write pages to a JSONL shard with the CLI's shard writer (compression by
/// extension, `.gz` at the CLI's level; written to `<path>.tmp` and renamed when complete, so a failure leaves
/// no partial file under `path`). `pages` is a `Pages`, a list of page dicts, or an iterable of either (e.g.
/// the kept batches of `Pipeline.process`), streamed into one shard. Returns the number of pages written.
#[pyfunction]
fn write_jsonl(py: Python<'_>, path: PathBuf, pages: &Bound<'_, PyAny>) -> PyResult<u64> {
    use dclm_core::io::ShardWriter;
    let mut writer = py.detach(|| ShardWriter::create(&path)).map_err(err)?;
    let write = |w: &mut ShardWriter, docs: &[Document]| -> PyResult<()> {
        py.detach(|| docs.iter().try_for_each(|d| w.write(d))).map_err(err)
    };
    if let Ok(p) = pages.cast::<Pages>() {
        write(&mut writer, &p.get().docs)?;
    } else {
        // Page dicts are converted and written in runs, so a stream of dicts is not held whole.
        let mut run = Vec::new();
        for (i, item) in pages.try_iter()?.enumerate() {
            let item = item?;
            if let Ok(p) = item.cast::<Pages>() {
                write(&mut writer, &std::mem::take(&mut run))?;
                write(&mut writer, &p.get().docs)?;
            } else {
                run.push(doc_from_py(&item, "pages", i, true)?);
                if run.len() == 1024 {
                    write(&mut writer, &std::mem::take(&mut run))?;
                }
            }
        }
        write(&mut writer, &run)?;
    }
    let n = writer.docs_written();
    py.detach(|| writer.finish()).map_err(err)?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------------------------
// extract

/// `extract_html(html, main_content=True)`: resiliparse-faithful `extract_plain_text` (DCLM's extractor).
/// `bytes` are decoded as strict UTF-8 as DCLM does: `None` when they are not UTF-8 (DCLM drops the page),
/// and `None` when the text would exceed the extractor's output limit.
#[pyfunction]
#[pyo3(signature = (html, main_content = true))]
fn extract_html(py: Python<'_>, html: &Bound<'_, PyAny>, main_content: bool) -> PyResult<Option<String>> {
    let text: String = if let Ok(b) = html.cast::<PyBytes>() {
        match std::str::from_utf8(b.as_bytes()) {
            Ok(s) => s.to_owned(),
            Err(_) => return Ok(None),
        }
    } else {
        html.extract::<String>()?
    };
    let opts = dclm_extract::html::ExtractOptions {
        main_content,
        ..Default::default()
    };
    Ok(py.detach(|| {
        dclm_extract::html::extract_plain_text_limited(
            &text,
            &opts,
            dclm_extract::html::default_output_limit(text.len()),
        )
    }))
}

/// The documents of one WARC file, as `dclm extract` writes them (DCLM-Pool dicts: `text`, `metadata`,
/// `warcinfo`).
#[pyclass(module = "dclm_rs")]
struct WarcDocuments {
    pages: Mutex<dclm_extract::WarcPages<dclm_extract::ResiliparseExtractor>>,
    raise_errors: bool,
}

#[pymethods]
impl WarcDocuments {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        use dclm_extract::WarcPage;
        loop {
            let item = py.detach(|| self.pages.lock().unwrap_or_else(|e| e.into_inner()).next());
            let e = match item {
                None => return Ok(None),
                Some(WarcPage::Page {
                    result: Ok(Some(doc)), ..
                }) => return doc_to_py(py, &doc).map(Some),
                Some(WarcPage::Page { result: Ok(None), .. }) => continue,
                Some(WarcPage::Page { result: Err(e), .. }) if dclm_extract::is_expected_drop(&e) => continue,
                Some(WarcPage::Page { result: Err(e), .. }) | Some(WarcPage::ReadError(e)) => e,
            };
            if self.raise_errors {
                return Err(err(e));
            }
        }
    }
}

/// `extract_warc(path, main_content=True, errors="raise")`: iterate over the documents of a WARC file
/// (`.warc`, `.warc.gz`, `.warc.zst`). Pages DCLM drops (not UTF-8) are skipped; a record that cannot be
/// read raises `DclmError` naming the file and offset, or is skipped with `errors="skip"`.
#[pyfunction]
#[pyo3(signature = (path, main_content = true, errors = "raise"))]
fn extract_warc(path: PathBuf, main_content: bool, errors: &str) -> PyResult<WarcDocuments> {
    let raise_errors = match errors {
        "raise" => true,
        "skip" => false,
        other => {
            return Err(err(format!(
                "errors={other:?}: accepted values are \"raise\" and \"skip\""
            )))
        }
    };
    let mut cfg = dclm_extract::ExtractConfig::new(vec![path.clone()], PathBuf::new());
    cfg.main_content = main_content;
    let pages = dclm_extract::WarcPages::open(
        &path,
        cfg.extractor(),
        cfg.max_record_bytes,
        Arc::new(std::sync::atomic::AtomicU64::new(0)),
    )
    .map_err(err)?;
    Ok(WarcDocuments {
        pages: Mutex::new(pages),
        raise_errors,
    })
}

// ---------------------------------------------------------------------------------------------------------
// Pipeline

/// A Python callable run as a step of a [`Pipeline`].
struct PythonStep {
    name: String,
    func: Py<PyAny>,
    /// Runs before the Rust step at this position (`len` = after the last one).
    before: usize,
}

/// One part of the chain as it runs: a range of Rust steps, run as one batch with the GIL released, or a
/// Python step, run page by page with the GIL.
enum Part {
    Rust(Range<usize>),
    Python(usize),
}

/// `Pipeline.from_yaml(path, assets=None, skip_steps=(), source=None, threads=0)`: a DCLM YAML pipeline
/// (e.g. `dclm_baseline_refinedweb.yaml`), built and checked as `dclm filter` builds it.
#[pyclass(module = "dclm_rs")]
struct Pipeline {
    rust: dclm_filter::Pipeline,
    python: Vec<PythonStep>,
    skipped: Vec<String>,
    pool: Threads,
}

impl Pipeline {
    /// Rust ranges and Python steps in chain order.
    fn parts(&self) -> Vec<Part> {
        let mut parts = Vec::new();
        let mut start = 0;
        let mut order: Vec<usize> = (0..self.python.len()).collect();
        order.sort_by_key(|&k| self.python[k].before); // stable: insertion order among equals
        for k in order {
            let at = self.python[k].before;
            if at > start {
                parts.push(Part::Rust(start..at));
                start = at;
            }
            parts.push(Part::Python(k));
        }
        if start < self.rust.len() {
            parts.push(Part::Rust(start..self.rust.len()));
        }
        parts
    }

    fn chain_labels(&self) -> Vec<String> {
        let rust = self.rust.labels();
        let mut out = Vec::new();
        for part in self.parts() {
            match part {
                Part::Rust(r) => out.extend(rust[r].iter().map(|s| s.to_string())),
                Part::Python(k) => out.push(self.python[k].name.clone()),
            }
        }
        out
    }

    /// Run a Python step over the pages that reached it (with the GIL), counting it like any step.
    fn run_python_step(
        &self,
        py: Python<'_>,
        k: usize,
        docs: Vec<Document>,
        stats: &mut Stats,
    ) -> PyResult<Vec<Document>> {
        let step = &self.python[k];
        let func = step.func.bind(py);
        let mut st = StepStats::new(&step.name);
        let mut out = Vec::with_capacity(docs.len());
        let fail = |i: usize, msg: String| err(format!("step `{}` (Python), page {i} reaching it: {msg}", step.name));
        for (i, doc) in docs.into_iter().enumerate() {
            let t0 = Instant::now();
            let page = doc_to_py(py, &doc)?;
            let result = func.call1((page,)).map_err(|e| {
                let wrapped = fail(i, e.to_string());
                wrapped.set_cause(py, Some(e));
                wrapped
            })?;
            let returned: Vec<Document> = if result.is_none() {
                Vec::new()
            } else if result.is_instance_of::<PyDict>() {
                vec![doc_from_py(&result, "returned", 0, true).map_err(|e| fail(i, e.to_string()))?]
            } else if result.is_instance_of::<PyList>() {
                let mut pages = Vec::new();
                for (j, p) in result.try_iter()?.enumerate() {
                    pages.push(doc_from_py(&p?, "returned", j, true).map_err(|e| fail(i, e.to_string()))?);
                }
                pages
            } else {
                return Err(fail(
                    i,
                    format!(
                        "a step returns a page dict, a list of page dicts, or None; got {}",
                        result.get_type().name()?
                    ),
                ));
            };
            let secs = t0.elapsed().as_secs_f64();
            if returned.is_empty() {
                st.record_doc(Verdict::Drop("python_step_dropped"), secs, &doc);
            } else {
                st.record(Verdict::Keep, secs);
                st.docs_out += returned.len() as u64 - 1;
                out.extend(returned);
            }
        }
        stats.step_mut(&step.name).merge(&st);
        Ok(out)
    }
}

#[pymethods]
impl Pipeline {
    #[staticmethod]
    #[pyo3(signature = (path, assets = None, skip_steps = Vec::new(), source = None, threads = 0))]
    fn from_yaml(
        py: Python<'_>,
        path: PathBuf,
        assets: Option<PathBuf>,
        skip_steps: Vec<usize>,
        source: Option<String>,
        threads: usize,
    ) -> PyResult<Self> {
        // The same defaults and build as `dclm filter` (assets from `$DCLM_ASSETS` when not given).
        let mut cfg = FilterRunConfig::new(&path, Vec::new(), PathBuf::new());
        if let Some(a) = assets {
            cfg.assets_dir = a;
        }
        cfg.load.skip_steps = skip_steps;
        cfg.load.source = source;
        let (rust, skipped) = py
            .detach(|| {
                let ctx = BuildContext::new(&cfg.assets_dir).with_lid_loader(fasttext_lid_loader());
                dclm_filter::run::build(&cfg, &Registry::dclm(), ctx)
            })
            .map_err(|e| err(format!("filter stage with config {}: {e}", path.display())))?;
        Ok(Pipeline {
            rust,
            python: Vec::new(),
            skipped,
            pool: Threads::new(threads)?,
        })
    }

    /// `add_python_step(name, fn, after=None)`: run `fn(page: dict) -> dict | list[dict] | None` as a step
    /// named `name`, after the config step `after` (its 1-based index in the YAML, or its stats label such
    /// as `"8:detect_lang_whole_page_enricher"`, or the name of an earlier Python step), or at the end.
    #[pyo3(signature = (name, func, after = None))]
    fn add_python_step(
        &mut self,
        name: String,
        func: Bound<'_, PyAny>,
        after: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if !func.is_callable() {
            return Err(err(format!(
                "step `{name}`: {} is not callable",
                func.get_type().name()?
            )));
        }
        if self.chain_labels().contains(&name) {
            return Err(err(format!("step `{name}`: the chain already has a step of that name")));
        }
        let labels = self.rust.labels();
        let before = match after {
            None => labels.len(),
            Some(a) => {
                let found = if let Ok(index) = a.extract::<usize>() {
                    let prefix = format!("{index}:");
                    labels.iter().position(|l| l.starts_with(&prefix)).map(|p| p + 1)
                } else {
                    let s: String = a.extract()?;
                    labels
                        .iter()
                        .position(|l| *l == s)
                        .map(|p| p + 1)
                        .or_else(|| self.python.iter().find(|p| p.name == s).map(|p| p.before))
                };
                found.ok_or_else(|| {
                    err(format!(
                        "step `{name}`: after={a} names no step of the chain; its steps are {}",
                        self.chain_labels().join(", ")
                    ))
                })?
            }
        };
        self.python.push(PythonStep {
            name,
            func: func.unbind(),
            before,
        });
        Ok(())
    }

    /// `process(docs) -> (kept, stats)`: run a batch of pages (page dicts, or a `Pages`) through the chain;
    /// `kept` is of the type given (a list of dicts, or a `Pages`). The Rust steps run on the pipeline's
    /// threads with the GIL released; Python steps get page dicts. `stats` is the `stats.json` of
    /// `dclm filter` for the batch (steps in chain order, Python steps included).
    fn process<'py>(
        &self,
        py: Python<'py>,
        docs: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let start = Instant::now();
        let (mut docs, as_pages) = batch_from_py(docs, true)?;
        let n = docs.len() as u64;
        let mut stats = Stats::new("filter");
        stats.steps = self.chain_labels().iter().map(StepStats::new).collect();
        for part in self.parts() {
            let batch = std::mem::take(&mut docs);
            docs = match part {
                Part::Rust(range) => {
                    let (rust, pool, st) = (&self.rust, &self.pool, &mut stats);
                    py.detach(move || pool.install(|| rust.process_batch_steps(range, batch, st)))
                }
                Part::Python(k) => self.run_python_step(py, k, batch, &mut stats)?,
            };
        }
        stats.docs_in = n;
        stats.docs_out = docs.len() as u64;
        stats.seconds = start.elapsed().as_secs_f64();
        let kept = batch_to_py(py, docs, as_pages)?;
        Ok((kept, pythonize::pythonize(py, &stats).map_err(err)?))
    }

    /// Step labels in chain order (`"<index>:<func>"` for config steps, the name for Python steps).
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.chain_labels()
    }

    /// Config steps skipped on request (`skip_steps`), as `"<index>:<func>"`.
    #[getter]
    fn skipped(&self) -> Vec<String> {
        self.skipped.clone()
    }

    fn __len__(&self) -> usize {
        self.rust.len() + self.python.len()
    }

    fn __repr__(&self) -> String {
        format!("Pipeline({})", self.chain_labels().join(" → "))
    }
}

// ---------------------------------------------------------------------------------------------------------
// fastText

enum Model {
    /// A classifier with `__label__hq`: DCLM's quality score is available.
    Scorer(dclm_fasttext::QualityScorer),
    Plain(dclm_fasttext::FastText),
}

/// `FastText.load(path)`: a fastText `.bin` or quantized `.ftz` model (bit-compatible with fastText 0.9.2).
#[pyclass(frozen, module = "dclm_rs")]
struct FastText {
    model: Model,
    pool: Threads,
}

impl FastText {
    fn model(&self) -> &dclm_fasttext::FastText {
        match &self.model {
            Model::Scorer(s) => s.model(),
            Model::Plain(m) => m,
        }
    }
}

#[pymethods]
impl FastText {
    #[staticmethod]
    #[pyo3(signature = (path, threads = 0))]
    fn load(py: Python<'_>, path: PathBuf, threads: usize) -> PyResult<Self> {
        let model = py.detach(|| dclm_fasttext::FastText::load(&path)).map_err(err)?;
        let model = if model.label_index(dclm_fasttext::quality::HQ_LABEL).is_some() {
            Model::Scorer(dclm_fasttext::QualityScorer::new(model).map_err(err)?)
        } else {
            Model::Plain(model)
        };
        Ok(FastText {
            model,
            pool: Threads::new(threads)?,
        })
    }

    /// `predict(texts, k=1, threshold=0.0)`: fastText's `predict` on each line (as the Python binding, on
    /// the text as given): a list of `(label, prob)` per text, most likely first.
    #[pyo3(signature = (texts, k = 1, threshold = 0.0))]
    fn predict(&self, py: Python<'_>, texts: Vec<String>, k: usize, threshold: f32) -> Vec<Vec<(String, f64)>> {
        let preds = py.detach(|| self.pool.install(|| self.model().predict_batch(&texts, k, threshold)));
        preds
            .into_iter()
            .map(|p| p.into_iter().map(|p| (p.label, f64::from(p.prob))).collect())
            .collect()
    }

    /// `quality_score(texts)`: DCLM's quality score of raw page texts (text prepared as
    /// `" ".join(text.strip().splitlines())`, P(`__label__hq`), `1 - p` when `__label__cc` is on top).
    fn quality_score(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<f64>> {
        match &self.model {
            Model::Scorer(s) => Ok(py.detach(|| self.pool.install(|| s.score_batch(&texts)))),
            // The crate's own error for a model without `__label__hq`.
            Model::Plain(m) => Err(err(dclm_fasttext::QualityScorer::load(m.path())
                .err()
                .map_or_else(|| "not a quality classifier".to_string(), |e| e.to_string()))),
        }
    }

    /// The model's labels.
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.model().labels().to_vec()
    }
}

/// Loaded language-ID models by path (lid.176 is loaded once per process).
static LID_MODELS: Mutex<Option<HashMap<PathBuf, Arc<dyn LanguageId>>>> = Mutex::new(None);

/// `language_id(texts, model=None, assets=None, threads=0)`: DCLM's whole-page language ID
/// (`detect_lang_whole_page_enricher`): `{lang: prob}` of fastText's top-1 on the text with every `\n`
/// deleted, `{}` for empty or punctuation-only text, `None` when the model gives no prediction. `model` is a
/// `lid.176.bin`/`.ftz`; by default DCLM's path under `assets` (else `$DCLM_ASSETS`).
#[pyfunction]
#[pyo3(signature = (texts, model = None, assets = None, threads = 0))]
fn language_id<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    model: Option<PathBuf>,
    assets: Option<PathBuf>,
    threads: usize,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let pool = Threads::new(threads)?;
    let results = py.detach(|| -> Result<_, String> {
        let mut cfg = FilterRunConfig::new("", Vec::new(), PathBuf::new());
        if let Some(a) = &assets {
            cfg.assets_dir = a.clone();
        }
        // Cached by the model file, or by the assets folder DCLM's default path is resolved in.
        let key = model.clone().unwrap_or_else(|| cfg.assets_dir.join("\0default-lid"));
        let mut cache = LID_MODELS.lock().unwrap_or_else(|e| e.into_inner());
        let cache = cache.get_or_insert_with(HashMap::new);
        let lid: Arc<dyn LanguageId> = match (cache.get(&key), &model) {
            (Some(l), _) => l.clone(),
            (None, Some(path)) => fasttext_lid_loader()(path).map_err(|e| format!("model {}: {e}", path.display()))?,
            (None, None) => {
                let loc = StepLoc {
                    index: 1,
                    func: "detect_lang_whole_page_enricher".into(),
                    line: None,
                };
                BuildContext::new(&cfg.assets_dir)
                    .with_lid_loader(fasttext_lid_loader())
                    .language_id_for(&loc)
                    .map_err(|e| e.to_string())?
            }
        };
        cache.insert(key, lid.clone());
        let enricher = dclm_filter::steps::meta::DetectLangEnricher::new("language_id_whole_page", lid);
        Ok(pool.install(|| enricher.detect_batch(&texts)))
    });
    let results = results.map_err(err)?;
    results
        .into_iter()
        .map(|r| match r {
            Ok(m) => pythonize::pythonize(py, &m).map_err(err),
            Err(_) => Ok(py.None().into_bound(py)),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// dedup

/// `Bff(expected_ngrams, fp_rate=0.01, ngram_size=13, threshold=0.8, mode="old-both", annotate=False,
/// threads=0)`: DCLM's Bloom-filter dedup (BFF) with one filter across every `dedup` call.
#[pyclass(frozen, module = "dclm_rs")]
struct Bff {
    bff: dclm_dedup::Bff,
    pool: Threads,
}

#[pymethods]
impl Bff {
    #[new]
    #[pyo3(signature = (expected_ngrams, fp_rate = 0.01, ngram_size = 13, threshold = 0.8, mode = "old-both", annotate = false, threads = 0))]
    fn new(
        expected_ngrams: u64,
        fp_rate: f64,
        ngram_size: usize,
        threshold: f64,
        mode: &str,
        annotate: bool,
        threads: usize,
    ) -> PyResult<Self> {
        // The settings `dclm dedup --method bff` builds from the same flags.
        let mut b = dclm_dedup::run::BffRunConfig::new(expected_ngrams);
        b.bff.mode = mode
            .parse::<dclm_dedup::RemoveMode>()
            .map_err(|e| err(format!("mode: {e}")))?;
        b.bff.ngram_size = ngram_size;
        b.bff.min_ngram_size = ngram_size;
        b.bff.threshold = threshold;
        b.bff.annotate = annotate;
        b.fp_rate = fp_rate;
        let bff = dclm_dedup::bff_for_run(b.bff, b.expected_ngrams, b.fp_rate).map_err(err)?;
        Ok(Bff {
            bff,
            pool: Threads::new(threads)?,
        })
    }

    /// `dedup(docs) -> kept`: the pages BFF writes, in order (duplicate paragraphs cut, duplicate pages
    /// dropped; `bff_contained_ngram_count_before_dedupe` added in old-both mode). Pages need a string `text`.
    /// `docs`: page dicts, or a `Pages` (then `kept` is a `Pages`).
    fn dedup<'py>(&self, py: Python<'py>, docs: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (docs, as_pages) = batch_from_py(docs, false)?;
        let out = py.detach(|| self.pool.install(|| self.bff.dedup_batch(docs)));
        let kept: Vec<Document> = out.into_iter().filter_map(|(d, _)| d).collect();
        batch_to_py(py, kept, as_pages)
    }
}

/// `MinHash(preset="dclm-ablation", shingle_size=None, bands=None, rows=None, seed=None,
/// jaccard_threshold=None, threads=0)`: the MinHash-LSH settings of `dclm dedup --method minhash`.
#[pyclass(frozen, module = "dclm_rs")]
struct MinHash {
    lsh: dclm_dedup::minhash::MinHashLsh,
    pool: Threads,
}

#[pymethods]
impl MinHash {
    #[new]
    #[pyo3(signature = (preset = "dclm-ablation", shingle_size = None, bands = None, rows = None, seed = None, jaccard_threshold = None, threads = 0))]
    fn new(
        preset: &str,
        shingle_size: Option<usize>,
        bands: Option<usize>,
        rows: Option<usize>,
        seed: Option<u64>,
        jaccard_threshold: Option<f64>,
        threads: usize,
    ) -> PyResult<Self> {
        let mut c = dclm_dedup::minhash::MinHashConfig::preset(preset).map_err(err)?;
        c.shingle_size = shingle_size.unwrap_or(c.shingle_size);
        c.bands = bands.unwrap_or(c.bands);
        c.rows = rows.unwrap_or(c.rows);
        c.seed = seed.unwrap_or(c.seed);
        c.jaccard_threshold = jaccard_threshold.unwrap_or(c.jaccard_threshold);
        Ok(MinHash {
            lsh: dclm_dedup::minhash::MinHashLsh::new(c).map_err(err)?,
            pool: Threads::new(threads)?,
        })
    }

    /// `signatures(texts)`: the `bands × rows` MinHash values of each text.
    fn signatures(&self, py: Python<'_>, texts: Vec<String>) -> Vec<Vec<u32>> {
        py.detach(|| self.pool.install(|| self.lsh.signatures_batch(&texts)))
    }

    /// `band_keys(signature)`: the LSH bucket key of each band.
    fn band_keys(&self, signature: Vec<u32>) -> Vec<u64> {
        self.lsh.band_keys(&signature)
    }

    /// `MinHash.jaccard(a, b)`: the estimated Jaccard similarity of two signatures.
    #[staticmethod]
    fn jaccard(a: Vec<u32>, b: Vec<u32>) -> f64 {
        dclm_dedup::minhash::MinHashLsh::estimate(&a, &b)
    }
}

// ---------------------------------------------------------------------------------------------------------
// tokenize + shuffle

/// `tokenize_shuffle(inputs, output, tokenizer, seqlen=2049, wds_chunk_size=8192, num_local_cells=128,
/// seed=1234, use_tiktoken=False, bos_id=None, threads=0) -> summary`: DCLM's tokenize + global shuffle
/// (tokshuf-rs) of JSONL files or folders into open_lm webdataset shards, as `dclm tokshuf`.
#[pyfunction]
#[pyo3(signature = (inputs, output, tokenizer, seqlen = 2049, wds_chunk_size = 8192, num_local_cells = 128, seed = 1234, use_tiktoken = false, bos_id = None, threads = 0))]
#[allow(clippy::too_many_arguments)]
fn tokenize_shuffle<'py>(
    py: Python<'py>,
    inputs: Vec<PathBuf>,
    output: PathBuf,
    tokenizer: String,
    seqlen: usize,
    wds_chunk_size: usize,
    num_local_cells: usize,
    seed: u64,
    use_tiktoken: bool,
    bos_id: Option<u32>,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    use dclm_train::data::{TokenizerSpec, TokshufConfig};
    let spec = if use_tiktoken {
        TokenizerSpec::Tiktoken(PathBuf::from(&tokenizer))
    } else {
        TokenizerSpec::from_name_or_path(&tokenizer).map_err(err)?
    };
    let mut cfg = TokshufConfig::new(spec, &output);
    cfg.seqlen = seqlen;
    cfg.wds_chunk_size = wds_chunk_size;
    cfg.num_local_cells = num_local_cells;
    cfg.seed = seed;
    cfg.bos_id = bos_id;
    cfg.threads = threads;
    let summary = py
        .detach(|| dclm_train::data::tokenize_shuffle(&cfg, &inputs))
        .map_err(|e| err(format!("tokshuf: {e}")))?;
    pythonize::pythonize(py, &summary).map_err(err)
}

#[pymodule]
fn _dclm_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DclmError", m.py().get_type::<DclmError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(extract_html, m)?)?;
    m.add_function(wrap_pyfunction!(extract_warc, m)?)?;
    m.add_function(wrap_pyfunction!(language_id, m)?)?;
    m.add_function(wrap_pyfunction!(tokenize_shuffle, m)?)?;
    m.add_function(wrap_pyfunction!(read_jsonl, m)?)?;
    m.add_function(wrap_pyfunction!(write_jsonl, m)?)?;
    m.add_class::<Pages>()?;
    m.add_class::<PagesIter>()?;
    m.add_class::<PagesReader>()?;
    m.add_class::<WarcDocuments>()?;
    m.add_class::<Pipeline>()?;
    m.add_class::<FastText>()?;
    m.add_class::<Bff>()?;
    m.add_class::<MinHash>()?;
    Ok(())
}
