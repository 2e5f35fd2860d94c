//! The reference tools `dclm bench` compares against: which Python package each needs (pinned where the
//! comparison is about one release), how to find an interpreter that imports it, and how to install one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A reference tool run under Python.
#[derive(Debug, Clone, Copy)]
pub struct PyRef {
    /// Short id, usable as `--ref-python ID=PATH`.
    pub id: &'static str,
    /// The stage it is compared on (also usable as `--ref-python STAGE=PATH`).
    pub stage: &'static str,
    /// Row label.
    pub label: &'static str,
    /// Distribution whose version the row reports.
    pub dist: &'static str,
    /// The exact version required, when the row is about one release.
    pub pin: Option<&'static str>,
    /// Python statements that must run without error (imports, version bounds).
    pub check: &'static str,
    /// The venv under `~/.cache/dclm-rs/` the install command creates (also searched by default).
    pub venv: &'static str,
    /// pip arguments that install it.
    pub pip: &'static str,
    /// Only its own venv (or `--ref-python KEY=PATH`) is tried: the check cannot tell it from other
    /// interpreters (a script that puts its library on `sys.path` itself).
    pub own_venv_only: bool,
}

/// Every Python reference, in report order.
pub const PY_REFS: &[PyRef] = &[
    PyRef {
        id: "resiliparse-2.0.1",
        stage: "extract",
        label: "resiliparse + FastWARC",
        dist: "resiliparse",
        pin: Some("2.0.1"),
        check: "import fastwarc, resiliparse.extract.html2text",
        venv: "resiliparse-2.0.1-venv",
        pip: "'resiliparse==2.0.1' 'fastwarc==2.0.1'",
        own_venv_only: false,
    },
    PyRef {
        id: "resiliparse-0.14.5",
        stage: "extract",
        label: "resiliparse + FastWARC (DCLM's release)",
        dist: "resiliparse",
        pin: Some("0.14.5"),
        check: "import fastwarc, resiliparse.extract.html2text",
        venv: "resiliparse-0.14.5-venv",
        pip: "'resiliparse==0.14.5' 'fastwarc==0.14.5'",
        own_venv_only: false,
    },
    PyRef {
        id: "datatrove",
        stage: "filter",
        label: "datatrove Gopher rep. + Gopher quality + C4",
        dist: "datatrove",
        pin: None,
        check: "import nltk, datatrove.pipeline.filters",
        venv: "bench-venv",
        pip: "'datatrove==0.4.0' 'xxhash<4' nltk spacy tokenizers",
        own_venv_only: false,
    },
    PyRef {
        id: "datatrove-minhash",
        stage: "minhash",
        label: "datatrove MinhashDedupSignature",
        dist: "datatrove",
        pin: None,
        // datatrove 0.4.0 hashes str with xxhash, which xxhash 4 refuses.
        check: "import xxhash, datatrove.pipeline.dedup.minhash; xxhash.xxh64_intdigest('x')",
        venv: "bench-venv",
        pip: "'datatrove==0.4.0' 'xxhash<4' nltk spacy tokenizers",
        own_venv_only: false,
    },
    PyRef {
        id: "fasttext",
        stage: "quality",
        label: "official fastText (Python binding)",
        dist: "fasttext-wheel",
        pin: None,
        check: "import fasttext, numpy; assert int(numpy.__version__.split('.')[0]) < 2, 'fastText 0.9.2 predict needs numpy<2'",
        venv: "fasttext-venv",
        pip: "'fasttext-wheel==0.9.2' 'numpy<2'",
        own_venv_only: false,
    },
    PyRef {
        id: "tokenizers",
        stage: "tokenize",
        label: "HF tokenizers (GPT-NeoX)",
        dist: "tokenizers",
        pin: None,
        check: "import tokenizers",
        venv: "bench-venv",
        pip: "'datatrove==0.4.0' 'xxhash<4' nltk spacy tokenizers",
        own_venv_only: false,
    },
    PyRef {
        id: "torch",
        stage: "train",
        label: "PyTorch + open_lm Transformer",
        dist: "torch",
        pin: None,
        // open_lm's model module imports xformers, which the script stubs on a CPU.
        check: "import torch, importlib.util as u; assert u.find_spec('open_lm'), 'no open_lm'",
        venv: "torch-venv",
        pip: "'torch==2.15.0' pyyaml && (the open_lm source: .ci/run installs ../shared/tools/open_lm with pip -e)",
        own_venv_only: false,
    },
    PyRef {
        id: "llmfoundry",
        stage: "eval",
        label: "LLM-Foundry + torch",
        dist: "torch",
        pin: None,
        // The script brings LLM-Foundry itself (its --help says from where); the venv needs torch.
        check: "import torch",
        venv: "llmfoundry-venv",
        pip: "torch 'llm-foundry==0.9.0'",
        own_venv_only: true,
    },
];

impl PyRef {
    /// The command that installs this reference into its default venv.
    pub fn install_command(&self) -> String {
        let v = format!("~/.cache/dclm-rs/{}", self.venv);
        format!("python3 -m venv {v} && {v}/bin/pip install {}", self.pip)
    }
}

/// Interpreters to try, from `--ref-python` (`PATH` joins every reference's search; `KEY=PATH` is the only
/// interpreter tried for reference id or stage `KEY`), then the default venvs, then `python3`.
#[derive(Debug, Default)]
pub struct Pythons {
    forced: HashMap<String, PathBuf>,
    pool: Vec<PathBuf>,
    cache: Option<PathBuf>,
    verdicts: HashMap<(PathBuf, &'static str), Result<String, String>>,
}

/// Where a reference's Python was looked for and what was found.
#[derive(Debug, Clone)]
pub enum Found {
    /// An interpreter that imports it, and the distribution's version.
    Yes(PathBuf, String),
    /// None does; the interpreters tried and why each failed.
    No(String),
}

impl Pythons {
    /// From the `--ref-python` values.
    pub fn new(flags: &[String]) -> anyhow::Result<Self> {
        let mut p = Pythons::default();
        for f in flags {
            match f.split_once('=') {
                Some((k, v)) => {
                    let known = PY_REFS.iter().any(|r| r.id == k || r.stage == k);
                    if !known {
                        let keys: Vec<&str> = PY_REFS.iter().map(|r| r.id).collect();
                        anyhow::bail!(
                            "--ref-python {f}: {k} is neither a reference ({}) nor a stage",
                            keys.join(", ")
                        );
                    }
                    p.forced.insert(k.to_string(), PathBuf::from(v));
                }
                None => p.pool.push(PathBuf::from(f)),
            }
        }
        if let Some(v) = std::env::var_os("DCLM_BENCH_PYTHON") {
            p.pool.push(PathBuf::from(v));
        }
        if let Some(home) = std::env::var_os("HOME") {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map_or_else(|| Path::new(&home).join(".cache"), PathBuf::from)
                .join("dclm-rs");
            p.cache = Some(cache.clone());
            for r in PY_REFS {
                let py = cache.join(r.venv).join("bin/python");
                if !p.pool.contains(&py) {
                    p.pool.push(py);
                }
            }
        }
        p.pool.push(PathBuf::from("python3"));
        Ok(p)
    }

    /// The first interpreter that imports `r` at its pinned version.
    pub fn find(&mut self, r: &PyRef) -> Found {
        let forced = self.forced.get(r.id).or_else(|| self.forced.get(r.stage)).cloned();
        let candidates = match (forced, &self.cache) {
            (Some(p), _) => vec![p],
            (None, Some(c)) if r.own_venv_only => vec![c.join(r.venv).join("bin/python")],
            (None, None) if r.own_venv_only => vec![],
            (None, _) => self.pool.clone(),
        };
        let mut why = Vec::new();
        for py in candidates {
            let verdict = self
                .verdicts
                .entry((py.clone(), r.id))
                .or_insert_with(|| check(&py, r))
                .clone();
            match verdict {
                Ok(v) => return Found::Yes(py, v),
                Err(e) => why.push(format!("{}: {e}", py.display())),
            }
        }
        Found::No(why.join("; "))
    }
}

/// Run the import check of `r` under `py`; Ok(version) when it passes.
fn check(py: &Path, r: &PyRef) -> Result<String, String> {
    if py.components().count() > 1 && !py.exists() {
        return Err("absent".into());
    }
    let code = format!(
        "{}\nimport importlib.metadata as m\nprint(m.version({:?}))",
        r.check, r.dist
    );
    let out = Command::new(py)
        .args(["-c", &code])
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("import failed").trim().to_string();
        return Err(last);
    }
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match r.pin {
        Some(pin) if pin != version => Err(format!("{} {version}, not {pin}", r.dist)),
        _ => Ok(version),
    }
}
