//! GPQA for DCLM's `heavy.yaml`: turn the GPQA authors' password-protected release zip (`eval/gpqa/dataset.zip`
//! in DCLM, password [`GPQA_PASSWORD`]) into the LLM-Foundry multiple-choice JSONL files the YAML names
//! (`gpqa_data/gpqa_main.jsonl`, `gpqa_data/gpqa_diamond.jsonl`, and `gpqa_extended.jsonl`).
//!
//! Each CSV row (columns `Question`, `Correct Answer`, `Incorrect Answer 1..3`; the others are ignored) becomes
//! `{"query": Question, "choices": [...], "gold": k}` with every text trimmed of surrounding whitespace. The choice
//! order is a seeded shuffle that Python reproduces: one `random.Random(1234)` per file, advanced over the rows
//! in file order, `rng.shuffle([correct, incorrect_1, incorrect_2, incorrect_3])`, `gold` = where the correct
//! answer landed. Shuffled rather than fixed because LLM-Foundry's multiple-choice metric breaks perplexity
//! ties towards the first choice: a fixed gold position would turn ties into systematic hits or misses. JSONL
//! files already in the archive (`gpqa_*.jsonl`) are written unchanged and take precedence over a CSV of the
//! same name. `gpqa_experts.csv` (the question writers, no questions) is not a task and is skipped.

use crate::pyrandom::PyRandom;
use crate::EvalError;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The password the GPQA authors publish for their release zip (it only keeps the questions out of web crawls).
pub const GPQA_PASSWORD: &str = "deserted-untie-orchid";

/// Seed of the per-file `random.Random` that orders the choices.
pub const GPQA_SHUFFLE_SEED: u64 = 1234;

/// The question sets of the release; `gpqa_experts` is the roster of question writers.
const QUESTION_SETS: [&str; 3] = ["gpqa_main", "gpqa_diamond", "gpqa_extended"];

const COLUMNS: [&str; 5] = [
    "Question",
    "Correct Answer",
    "Incorrect Answer 1",
    "Incorrect Answer 2",
    "Incorrect Answer 3",
];

/// One file written by [`prepare_gpqa`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpqaFile {
    /// The JSONL written (`<data_dir>/gpqa_data/<name>.jsonl`).
    pub path: PathBuf,
    /// Where it came from inside the archive.
    pub source: String,
    /// Questions in it.
    pub questions: usize,
    /// `true` when the archive held the JSONL itself (copied unchanged), `false` when converted from the CSV.
    pub copied: bool,
}

/// GPQA files found in the source: (set name, `"csv"` | `"jsonl"`) → (the entry's name, its bytes).
type Found = BTreeMap<(String, &'static str), (String, Vec<u8>)>;

fn archive_err(path: &Path, message: impl Into<String>) -> EvalError {
    EvalError::Archive {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The file name without folders, and its set name and extension when it is a GPQA file (`gpqa_*.csv|jsonl`).
fn gpqa_entry(name: &str) -> Option<(String, &'static str)> {
    let base = name.rsplit(['/', '\\']).next()?;
    if !base.starts_with("gpqa_") || name.contains("__MACOSX") || base.starts_with("._") {
        return None;
    }
    if let Some(stem) = base.strip_suffix(".jsonl") {
        return Some((stem.to_string(), "jsonl"));
    }
    base.strip_suffix(".csv").map(|stem| (stem.to_string(), "csv"))
}

/// Read every GPQA file (`gpqa_*.csv`, `gpqa_*.jsonl`) of the zip, decrypting with `password` where needed.
fn read_zip(zip_path: &Path, password: &[u8]) -> Result<Found, EvalError> {
    let file = std::fs::File::open(zip_path).map_err(|e| EvalError::io(zip_path, e))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| archive_err(zip_path, format!("not a readable zip archive: {e}")))?;
    let mut found = BTreeMap::new();
    for i in 0..archive.len() {
        let (name, encrypted) = {
            let raw = archive
                .by_index_raw(i)
                .map_err(|e| archive_err(zip_path, format!("entry {i}: {e}")))?;
            if raw.is_dir() {
                continue;
            }
            (raw.name().to_string(), raw.encrypted())
        };
        let Some(key) = gpqa_entry(&name) else { continue };
        let entry = if encrypted {
            archive.by_index_decrypt(i, password)
        } else {
            archive.by_index(i)
        };
        let wrong_password = || {
            archive_err(
                zip_path,
                format!("{name}: wrong password (the GPQA release's is {GPQA_PASSWORD:?})"),
            )
        };
        let mut entry = match entry {
            Ok(e) => e,
            Err(zip::result::ZipError::InvalidPassword) => return Err(wrong_password()),
            Err(zip::result::ZipError::UnsupportedArchive(m)) => {
                return Err(archive_err(zip_path, format!("{name}: {m}")))
            }
            Err(e) => return Err(archive_err(zip_path, format!("{name}: {e}"))),
        };
        let mut bytes = Vec::new();
        // ZipCrypto's header check lets about one wrong password in 256 through; the data then fails to inflate
        // or fails the CRC check.
        if let Err(e) = entry.read_to_end(&mut bytes) {
            return Err(if encrypted {
                archive_err(zip_path, format!("{name}: wrong password or damaged entry ({e})"))
            } else {
                archive_err(zip_path, format!("{name}: {e}"))
            });
        }
        found.insert(key, (name, bytes));
    }
    Ok(found)
}

/// Read every GPQA file of an already extracted folder (searched recursively).
fn read_dir(dir: &Path) -> Result<Found, EvalError> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| EvalError::io(&d, e))?;
        for entry in entries {
            let p = entry.map_err(|e| EvalError::io(&d, e))?.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.to_string_lossy().into_owned();
            if let Some(key) = gpqa_entry(&name) {
                let bytes = std::fs::read(&p).map_err(|e| EvalError::io(&p, e))?;
                found.insert(key, (name, bytes));
            }
        }
    }
    Ok(found)
}

/// Convert one GPQA CSV to LLM-Foundry multiple-choice JSONL lines (see the module docs for the rules).
/// `origin` names the file in errors (`dataset.zip:dataset/gpqa_main.csv`).
pub fn gpqa_csv_to_jsonl(origin: &Path, csv_bytes: &[u8]) -> Result<(String, usize), EvalError> {
    let csv_err = |line: u64, message: String| EvalError::Csv {
        path: origin.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(csv_bytes);
    let headers = reader
        .headers()
        .map_err(|e| csv_err(1, format!("header: {e}")))?
        .clone();
    let mut idx = [0usize; 5];
    let mut missing = Vec::new();
    for (slot, col) in idx.iter_mut().zip(COLUMNS) {
        match headers
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == col)
        {
            Some(i) => *slot = i,
            None => missing.push(col),
        }
    }
    if !missing.is_empty() {
        return Err(csv_err(
            1,
            format!("header row lacks the column(s) {missing:?} (GPQA needs {COLUMNS:?})"),
        ));
    }
    let mut rng = PyRandom::new(GPQA_SHUFFLE_SEED);
    let mut out = String::new();
    let mut n = 0;
    for (k, record) in reader.records().enumerate() {
        let row = k + 1;
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            csv_err(line, format!("row {row}: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let mut texts: Vec<String> = Vec::with_capacity(5);
        for (&i, col) in idx.iter().zip(COLUMNS) {
            let v = record.get(i).unwrap_or("").trim();
            if v.is_empty() {
                return Err(csv_err(line, format!("row {row}: column {col:?} is empty")));
            }
            texts.push(v.to_string());
        }
        let query = texts.remove(0);
        // texts = [correct, incorrect 1..3]; shuffle positions, then find where the correct one (0) went.
        let mut order: Vec<usize> = (0..4).collect();
        rng.shuffle(&mut order);
        let gold = order.iter().position(|&o| o == 0).unwrap_or(0);
        let choices: Vec<&str> = order.iter().map(|&o| texts[o].as_str()).collect();
        out += &json!({"query": query, "choices": choices, "gold": gold}).to_string();
        out.push('\n');
        n += 1;
    }
    Ok((out, n))
}

/// Write the GPQA task files under `<data_dir>/gpqa_data/` from `source`: the release zip (entries decrypted
/// with `password`; [`GPQA_PASSWORD`] is the published one) or a folder holding the extracted files.
/// Errors when the source holds no GPQA question set.
pub fn prepare_gpqa(source: &Path, password: &str, data_dir: &Path) -> Result<Vec<GpqaFile>, EvalError> {
    let found = if source.is_dir() {
        read_dir(source)?
    } else {
        read_zip(source, password.as_bytes())?
    };
    let out_dir = data_dir.join("gpqa_data");
    let mut written = Vec::new();
    let mut names: Vec<&String> = found.keys().map(|(n, _)| n).collect();
    names.dedup();
    for name in names {
        let jsonl = found.get(&(name.clone(), "jsonl"));
        let csv = found.get(&(name.clone(), "csv"));
        let (text, source_name, questions, copied) = match (jsonl, csv) {
            (Some((entry, bytes)), _) => {
                let text =
                    String::from_utf8(bytes.clone()).map_err(|_| archive_err(source, format!("{entry}: not UTF-8")))?;
                let n = text.lines().filter(|l| !l.trim().is_empty()).count();
                (text, entry.clone(), n, true)
            }
            (None, Some((entry, bytes))) => {
                if !QUESTION_SETS.contains(&name.as_str()) {
                    continue;
                }
                let origin = if source.is_dir() {
                    PathBuf::from(entry)
                } else {
                    PathBuf::from(format!("{}:{entry}", source.display()))
                };
                let (text, n) = gpqa_csv_to_jsonl(&origin, bytes)?;
                (text, entry.clone(), n, false)
            }
            (None, None) => continue,
        };
        std::fs::create_dir_all(&out_dir).map_err(|e| EvalError::io(&out_dir, e))?;
        let path = out_dir.join(format!("{name}.jsonl"));
        dclm_core::io::write_atomic(&path, text.as_bytes()).map_err(|e| archive_err(&path, e.to_string()))?;
        written.push(GpqaFile {
            path,
            source: source_name,
            questions,
            copied,
        });
    }
    if written.is_empty() {
        return Err(archive_err(
            source,
            "no GPQA question set in it (expected gpqa_main.csv, gpqa_diamond.csv, gpqa_extended.csv or gpqa_*.jsonl)",
        ));
    }
    Ok(written)
}
