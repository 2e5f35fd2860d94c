//! The token-shard format shared by DCLM's tokshuf and open_lm: webdataset tars whose entries are
//! `<key>.json.gz` (a gzip of the JSON array of one context's token ids), plus `manifest.jsonl` with one
//! `{"shard": "shard_00000000", "num_sequences": N}` line per tar. Written deterministically: tar headers carry
//! no time, owner or host information and gzip headers have mtime 0, so equal inputs give equal bytes.

use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Name of the manifest file in a token-shard folder.
pub const MANIFEST: &str = "manifest.jsonl";

/// The data key of every context entry (`--data-key json.gz` in open_lm).
pub const DATA_KEY: &str = "json.gz";

/// One line of `manifest.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Shard name without `.tar` (`shard_00000000`).
    pub shard: String,
    /// Number of contexts in the shard.
    pub num_sequences: u64,
}

/// File name of output shard `id` (`shard_%08d.tar`, as DCLM).
pub fn shard_file_name(id: u64) -> String {
    format!("shard_{id:08}.tar")
}

/// Serialize one context as DCLM does (`serde_json::to_string(&Vec<usize>)`: `[1,2,3]`), gzip it (level 6,
/// mtime 0).
pub fn encode_context(tokens: &[u32], out: &mut Vec<u8>) {
    use std::fmt::Write as _;
    let mut json = String::with_capacity(tokens.len() * 6 + 2);
    json.push('[');
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        let _ = write!(json, "{t}");
    }
    json.push(']');
    out.clear();
    let mut enc = flate2::write::GzEncoder::new(std::mem::take(out), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(json.as_bytes());
    *out = enc.finish().unwrap_or_default();
}

/// Decode one `*.json.gz` entry into token ids.
pub fn decode_context(bytes: &[u8]) -> std::result::Result<Vec<u32>, String> {
    let mut json = Vec::with_capacity(bytes.len() * 3);
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(|e| format!("gzip: {e}"))?;
    serde_json::from_slice::<Vec<u32>>(&json).map_err(|e| format!("json: {e}"))
}

/// A deterministic tar header for a regular file of `size` bytes (mode 0644, mtime 0, uid/gid 0).
pub(crate) fn tar_header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// Where one entry's data lies inside a tar file.
#[derive(Debug, Clone)]
pub(crate) struct TarEntry {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// List the regular-file entries of a tar (names and data positions) without reading their data.
pub(crate) fn index_tar(path: &Path) -> Result<Vec<TarEntry>> {
    let shard_err = |entry: String, reason: String| TrainError::TokenShard {
        path: path.to_path_buf(),
        entry,
        reason,
    };
    let file = File::open(path).map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut ar = tar::Archive::new(BufReader::with_capacity(1 << 16, file));
    let mut out = Vec::new();
    let entries = ar
        .entries_with_seek()
        .map_err(|e| shard_err(String::new(), e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| shard_err(format!("#{}", out.len()), e.to_string()))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = match entry.path() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(e) => return Err(shard_err(format!("#{}", out.len()), format!("bad entry name: {e}"))),
        };
        out.push(TarEntry {
            name,
            offset: entry.raw_file_position(),
            size: entry.size(),
        });
    }
    Ok(out)
}

/// Read `size` bytes at `offset` of an open file.
pub(crate) fn read_at(file: &File, path: &Path, offset: u64, size: u64, buf: &mut Vec<u8>) -> Result<()> {
    use std::os::unix::fs::FileExt;
    buf.resize(size as usize, 0);
    file.read_exact_at(buf, offset).map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Streaming writer of one tar with deterministic headers, written to `<name>.tmp` and renamed on finish.
pub(crate) struct TarWriter {
    path: PathBuf,
    tmp: PathBuf,
    builder: Option<tar::Builder<BufWriter<File>>>,
    pub(crate) count: u64,
}

impl TarWriter {
    pub(crate) fn create(path: PathBuf) -> Result<Self> {
        let tmp = dclm_core::io::tmp_path(&path);
        let file = File::create(&tmp).map_err(|e| TrainError::Io {
            path: tmp.clone(),
            source: e,
        })?;
        let builder = tar::Builder::new(BufWriter::with_capacity(1 << 16, file));
        Ok(TarWriter {
            path,
            tmp,
            builder: Some(builder),
            count: 0,
        })
    }

    pub(crate) fn append(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let mut h = tar_header(data.len() as u64);
        let b = self
            .builder
            .as_mut()
            .ok_or_else(|| TrainError::DataConfig("tar written after finish".into()))?;
        b.append_data(&mut h, name, data).map_err(|e| TrainError::Io {
            path: self.tmp.clone(),
            source: e,
        })?;
        self.count += 1;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<(PathBuf, u64)> {
        let io = |p: &Path, e| TrainError::Io {
            path: p.to_path_buf(),
            source: e,
        };
        let b = self
            .builder
            .take()
            .ok_or_else(|| TrainError::DataConfig("tar finished twice".into()))?;
        let w = b.into_inner().map_err(|e| io(&self.tmp, e))?;
        w.into_inner().map_err(|e| io(&self.tmp, e.into_error()))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| io(&self.path, e))?;
        Ok((self.path.clone(), self.count))
    }
}

impl Drop for TarWriter {
    fn drop(&mut self) {
        if self.builder.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Read `manifest.jsonl` of a token-shard folder.
pub fn read_manifest(dir: impl AsRef<Path>) -> Result<Vec<ManifestEntry>> {
    let path = dir.as_ref().join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::Io {
        path: path.clone(),
        source: e,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: ManifestEntry = serde_json::from_str(line).map_err(|e| TrainError::TokenShard {
            path: path.clone(),
            entry: format!("line {}", i + 1),
            reason: e.to_string(),
        })?;
        out.push(e);
    }
    Ok(out)
}

/// Write `manifest.jsonl` atomically (one compact JSON object per line, `shard` first).
pub fn write_manifest(dir: impl AsRef<Path>, entries: &[ManifestEntry]) -> Result<()> {
    let mut s = String::new();
    for e in entries {
        s.push_str(&format!(
            "{{\"shard\":\"{}\",\"num_sequences\":{}}}\n",
            e.shard, e.num_sequences
        ));
    }
    dclm_core::io::write_atomic(&dir.as_ref().join(MANIFEST), s.as_bytes()).map_err(TrainError::from)
}

/// Read every `*.json.gz` context of one shard tar, in tar order, as (entry name, token ids).
pub fn read_shard(path: impl AsRef<Path>) -> Result<Vec<(String, Vec<u32>)>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| TrainError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for e in index_tar(path)? {
        if !e.name.ends_with(".json.gz") {
            continue;
        }
        read_at(&file, path, e.offset, e.size, &mut buf)?;
        let ids = decode_context(&buf).map_err(|reason| TrainError::TokenShard {
            path: path.to_path_buf(),
            entry: e.name.clone(),
            reason,
        })?;
        out.push((e.name, ids));
    }
    Ok(out)
}

/// Write already-packed contexts as token shards (`chunk_size` contexts per tar, in the given order, no
/// shuffle) plus `manifest.jsonl` — for fixtures and for data tokenized elsewhere. Returns the manifest.
pub fn write_shards(dir: impl AsRef<Path>, contexts: &[Vec<u32>], chunk_size: usize) -> Result<Vec<ManifestEntry>> {
    let dir = dir.as_ref();
    if chunk_size == 0 {
        return Err(TrainError::DataConfig("chunk_size must be > 0".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| TrainError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut manifest = Vec::new();
    let mut buf = Vec::new();
    for (id, chunk) in contexts.chunks(chunk_size).enumerate() {
        let mut w = TarWriter::create(dir.join(shard_file_name(id as u64)))?;
        for (i, ctx) in chunk.iter().enumerate() {
            encode_context(ctx, &mut buf);
            w.append(&format!("{id:08}_{i:08}.{DATA_KEY}"), &buf)?;
        }
        let (_, n) = w.finish()?;
        manifest.push(ManifestEntry {
            shard: format!("shard_{id:08}"),
            num_sequences: n,
        });
    }
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_round_trip_and_dclm_json() {
        let mut buf = Vec::new();
        encode_context(&[0, 5, 50256], &mut buf);
        let mut json = String::new();
        flate2::read::GzDecoder::new(&buf[..])
            .read_to_string(&mut json)
            .unwrap();
        assert_eq!(json, "[0,5,50256]");
        assert_eq!(decode_context(&buf).unwrap(), vec![0, 5, 50256]);
        assert!(decode_context(b"not gzip").is_err());
    }

    #[test]
    fn shards_and_manifest_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let ctxs: Vec<Vec<u32>> = (0..5).map(|i| vec![i; 4]).collect();
        let m = write_shards(dir.path(), &ctxs, 2).unwrap();
        assert_eq!(m.iter().map(|e| e.num_sequences).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(read_manifest(dir.path()).unwrap(), m);
        let s1 = read_shard(dir.path().join("shard_00000001.tar")).unwrap();
        assert_eq!(
            s1.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
            vec![vec![2; 4], vec![3; 4]]
        );
        assert!(s1[0].0.ends_with(".json.gz"));
    }
}
