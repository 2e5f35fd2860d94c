//! What produced an output, so that a rerun can tell a result it may reuse from one it must redo or refuse:
//! the identity of an input file (size, modification time, content hash), a fingerprint of the settings
//! (configuration, parameters, tool version), and the check that a stage's inputs and its output folder do not
//! overlap (a stage writing into the folder it reads would overwrite or re-ingest its own inputs).

use crate::{CoreError, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use xxhash_rust::xxh3::Xxh3;

/// Name and version of the tool, part of every settings fingerprint: an upgrade may change outputs.
pub const TOOL: &str = concat!("dclm-rs ", env!("CARGO_PKG_VERSION"));

/// Which bytes an input file held when a stage read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputIdentity {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 when the file system has none).
    pub mtime_ns: u64,
    /// xxh3-128 of the whole file, hex.
    pub xxh3: String,
}

fn stat(path: &Path) -> Result<(u64, u64)> {
    let m = std::fs::metadata(path).map_err(|e| CoreError::io(path, e))?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    Ok((m.len(), mtime))
}

/// xxh3-128 of a file's bytes, hex (streamed; about 10 GB/s, so cheap next to any stage's work).
pub fn hash_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| CoreError::io(path, e))?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| CoreError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:032x}", h.digest128()))
}

impl InputIdentity {
    /// Size, modification time and content hash of `path`.
    pub fn of(path: &Path) -> Result<Self> {
        let (size, mtime_ns) = stat(path)?;
        let xxh3 = hash_file(path)?;
        Ok(InputIdentity { size, mtime_ns, xxh3 })
    }

    /// Same size and content hash (modification times aside).
    pub fn same_content(&self, other: &InputIdentity) -> bool {
        self.size == other.size && self.xxh3 == other.xxh3
    }

    /// Whether `path` holds the same bytes now: same size, and the same modification time or (when the file
    /// was rewritten or copied) the same content hash.
    pub fn matches(&self, path: &Path) -> Result<bool> {
        let (size, mtime_ns) = stat(path)?;
        if size != self.size {
            return Ok(false);
        }
        if mtime_ns == self.mtime_ns {
            return Ok(true);
        }
        Ok(hash_file(path)? == self.xxh3)
    }
}

/// What a completion marker proves: this tool, with these settings, read this input to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// [`TOOL`] at the time.
    pub tool: String,
    /// The stage's settings fingerprint (see [`Fingerprint`]).
    pub settings: String,
    /// The input shard as it was read.
    pub input: InputIdentity,
    /// False when the input could not be read to its end (truncated or corrupt stream): such a shard is
    /// redone on every rerun until its input is whole (or the run accepts partial shards).
    pub complete: bool,
}

/// A stage's settings fingerprint: every setting that changes its output, fed in order, plus [`TOOL`].
pub struct Fingerprint(Xxh3);

impl Fingerprint {
    /// Start a fingerprint for a stage.
    pub fn new(stage: &str) -> Self {
        let mut f = Fingerprint(Xxh3::new());
        f.add("tool", TOOL.as_bytes());
        f.add("stage", stage.as_bytes());
        f
    }

    /// Add a named value (length-prefixed, so `("ab","c")` and `("a","bc")` differ).
    pub fn add(&mut self, key: &str, value: &[u8]) -> &mut Self {
        for part in [key.as_bytes(), value] {
            self.0.update(&(part.len() as u64).to_le_bytes());
            self.0.update(part);
        }
        self
    }

    /// Add a value through its `Debug` form (for plain settings structs).
    pub fn add_debug(&mut self, key: &str, value: &impl std::fmt::Debug) -> &mut Self {
        self.add(key, format!("{value:?}").as_bytes())
    }

    /// Add a file's identity (configs, models, word lists): its content hash up to 256 MiB; for larger files
    /// (a 7 GB fastText model) its size, modification time and the hash of its first and last MiB. A missing
    /// file adds a marker saying so.
    pub fn add_file(&mut self, key: &str, path: &Path) -> Result<&mut Self> {
        const WHOLE: u64 = 256 << 20;
        let h = if !path.is_file() {
            "missing".to_string()
        } else {
            let (size, mtime) = stat(path)?;
            if size <= WHOLE {
                hash_file(path)?
            } else {
                use std::io::{Seek, SeekFrom};
                let mut f = std::fs::File::open(path).map_err(|e| CoreError::io(path, e))?;
                let mut h = Xxh3::new();
                let mut buf = vec![0u8; 1 << 20];
                f.read_exact(&mut buf).map_err(|e| CoreError::io(path, e))?;
                h.update(&buf);
                f.seek(SeekFrom::End(-(1 << 20))).map_err(|e| CoreError::io(path, e))?;
                f.read_exact(&mut buf).map_err(|e| CoreError::io(path, e))?;
                h.update(&buf);
                format!("{size}:{mtime}:{:032x}", h.digest128())
            }
        };
        Ok(self.add(key, h.as_bytes()))
    }

    /// The fingerprint, hex.
    pub fn finish(&self) -> String {
        format!("{:032x}", self.0.digest128())
    }
}

/// `path` made absolute, `.`/`..` resolved, and symbolic links resolved for the longest part that exists
/// (an output folder may not exist yet).
pub fn resolve_path(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lexical = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other.as_os_str()),
        }
    }
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(n) => rest.push(n.to_os_string()),
            None => break,
        }
        if !existing.pop() {
            break;
        }
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    for n in rest.into_iter().rev() {
        out.push(n);
    }
    out
}

/// Refuse a run whose output folder overlaps its inputs: an input file inside (or equal to) the output folder
/// would be overwritten or read back as input on the next run; an input folder that contains the output folder
/// (or lies inside it) would re-ingest the outputs. `input_dirs` are folders named as inputs (searched
/// recursively); `input_files` the files actually read.
pub fn check_disjoint(input_dirs: &[PathBuf], input_files: &[PathBuf], output_dir: &Path) -> Result<()> {
    let out = resolve_path(output_dir);
    for d in input_dirs {
        let d = resolve_path(d);
        if out.starts_with(&d) || d.starts_with(&out) {
            return Err(CoreError::Config(format!(
                "the output folder {} overlaps the input folder {}: outputs would be read back as inputs (or \
                 inputs overwritten); write to a folder outside the inputs",
                output_dir.display(),
                d.display()
            )));
        }
    }
    for f in input_files {
        let r = resolve_path(f);
        if r.starts_with(&out) {
            return Err(CoreError::Config(format!(
                "input {} lies inside the output folder {}: it would be overwritten or re-ingested; write to a \
                 folder outside the inputs",
                f.display(),
                output_dir.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sees_rewrites_and_ignores_touches() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        std::fs::write(&p, b"{\"text\":\"a\"}\n").unwrap();
        let id = InputIdentity::of(&p).unwrap();
        assert!(id.matches(&p).unwrap());
        // Same bytes, new mtime: still the same input.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&p, b"{\"text\":\"a\"}\n").unwrap();
        assert!(id.matches(&p).unwrap());
        // Same size, other bytes.
        std::fs::write(&p, b"{\"text\":\"b\"}\n").unwrap();
        assert!(!id.matches(&p).unwrap());
    }

    #[test]
    fn fingerprints_separate_fields() {
        let a = Fingerprint::new("s").add("k", b"ab").add("c", b"").finish();
        let b = Fingerprint::new("s").add("k", b"a").add("bc", b"").finish();
        assert_ne!(a, b);
        assert_eq!(a, Fingerprint::new("s").add("k", b"ab").add("c", b"").finish());
    }

    #[test]
    fn overlap_is_refused_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("a.jsonl");
        std::fs::write(&f, b"").unwrap();
        assert!(check_disjoint(std::slice::from_ref(&d), std::slice::from_ref(&f), &d).is_err());
        assert!(check_disjoint(std::slice::from_ref(&d), std::slice::from_ref(&f), &d.join("out")).is_err());
        assert!(check_disjoint(&[d.join("sub")], &[], &d).is_err());
        assert!(check_disjoint(&[], std::slice::from_ref(&f), &d.join("..").join("d")).is_err());
        assert!(check_disjoint(
            std::slice::from_ref(&d),
            std::slice::from_ref(&f),
            &dir.path().join("out")
        )
        .is_ok());
        // A sibling whose name starts like the input folder is not inside it.
        assert!(check_disjoint(std::slice::from_ref(&d), &[f], &dir.path().join("d2")).is_ok());
    }
}
