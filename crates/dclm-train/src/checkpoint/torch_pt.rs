//! PyTorch `.pt` files as `torch.save` writes them: a zip archive (stored, 64-byte aligned records) holding
//! `data.pkl` (pickle protocol 2) and one raw little-endian record per tensor storage. Reading goes through
//! candle's pickle reader; writing emits exactly the opcodes `torch.save` uses for a dict of tensors, so
//! `torch.load(..., weights_only=True)` accepts the result.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use candle_core::pickle::{Object, PthTensors, Stack};
use candle_core::{DType, Tensor};

use crate::error::{Result, TrainError};

/// What a `.pt` file holds besides the weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PtMeta {
    /// `epoch` of an open_lm checkpoint (absent for a bare state dict).
    pub epoch: Option<i64>,
    /// `step` of an open_lm checkpoint, when recorded.
    pub step: Option<i64>,
}

fn pt_err(path: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The top-level pickled object of a `.pt` zip (`*/data.pkl`).
fn top_object(path: &Path) -> Result<Object> {
    let file = std::fs::File::open(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        pt_err(
            path,
            format!("not a torch zip checkpoint ({e}); legacy non-zip .pt files are unsupported"),
        )
    })?;
    let name = zip
        .file_names()
        .find(|n| n.ends_with("data.pkl"))
        .map(str::to_string)
        .ok_or_else(|| pt_err(path, "no data.pkl record in the zip archive"))?;
    let mut bytes = Vec::new();
    zip.by_name(&name)
        .and_then(|mut f| f.read_to_end(&mut bytes).map_err(Into::into))
        .map_err(|e| pt_err(path, format!("reading {name}: {e}")))?;
    let mut stack = Stack::empty();
    stack
        .read_loop(&mut std::io::Cursor::new(bytes))
        .and_then(|_| stack.finalize())
        .map_err(|e| pt_err(path, format!("unreadable pickle in {name}: {e}")))
}

fn int_field(dict: &[(Object, Object)], key: &str) -> Option<i64> {
    dict.iter().find_map(|(k, v)| match (k, v) {
        (Object::Unicode(k), Object::Int(i)) if k == key => Some(i64::from(*i)),
        (Object::Unicode(k), Object::Long(i)) if k == key => Some(*i),
        _ => None,
    })
}

/// Read every tensor of a `.pt` file: the `state_dict` entry of an open_lm checkpoint
/// (`{"state_dict", "epoch", …}`) or a bare state dict. Names are returned as stored (prefixes included).
pub fn read_pt(path: &Path) -> Result<(HashMap<String, Tensor>, PtMeta)> {
    let top = top_object(path)?;
    let (key, meta) = match &top {
        Object::Dict(entries) if entries.iter().any(|(k, _)| *k == Object::Unicode("state_dict".into())) => (
            Some("state_dict"),
            PtMeta {
                epoch: int_field(entries, "epoch"),
                step: int_field(entries, "step"),
            },
        ),
        Object::Dict(_) => (None, PtMeta::default()),
        other => {
            let kind = format!("{other:?}");
            return Err(pt_err(
                path,
                format!(
                    "the pickled object is not a dict of tensors: {}",
                    kind.chars().take(120).collect::<String>()
                ),
            ));
        }
    };
    let pth = PthTensors::new(path, key).map_err(|e| pt_err(path, format!("reading tensor records: {e}")))?;
    let mut out = HashMap::with_capacity(pth.tensor_infos().len());
    let mut names: Vec<&String> = pth.tensor_infos().keys().collect();
    names.sort();
    for name in names {
        let t = pth
            .get(name)
            .map_err(|e| pt_err(path, format!("tensor `{name}`: {e}")))?
            .ok_or_else(|| pt_err(path, format!("tensor `{name}` listed but not readable")))?;
        out.insert(name.clone(), t);
    }
    if out.is_empty() {
        return Err(pt_err(
            path,
            "no tensors found (expected a state dict or {\"state_dict\": …})",
        ));
    }
    Ok((out, meta))
}

/// A pickle (protocol 2) writer for the handful of opcodes a torch state-dict checkpoint needs.
#[derive(Default)]
struct Pickler {
    buf: Vec<u8>,
}

impl Pickler {
    const MARK: u8 = b'(';
    const TUPLE: u8 = b't';
    const EMPTY_TUPLE: u8 = b')';
    const EMPTY_DICT: u8 = b'}';
    const SETITEMS: u8 = b'u';
    const REDUCE: u8 = b'R';
    const BINPERSID: u8 = b'Q';
    const NEWFALSE: u8 = 0x89;
    const STOP: u8 = b'.';

    fn op(&mut self, op: u8) {
        self.buf.push(op);
    }

    fn global(&mut self, module: &str, name: &str) {
        self.buf.push(b'c');
        self.buf.extend_from_slice(module.as_bytes());
        self.buf.push(b'\n');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b'\n');
    }

    fn unicode(&mut self, s: &str) {
        self.buf.push(b'X');
        self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// Python's `save_long` choice: BININT1, BININT2, BININT, else LONG1 (minimal two's complement).
    fn int(&mut self, v: i64) {
        if (0..256).contains(&v) {
            self.buf.extend_from_slice(&[b'K', v as u8]);
        } else if (0..65_536).contains(&v) {
            self.buf.push(b'M');
            self.buf.extend_from_slice(&(v as u16).to_le_bytes());
        } else if i32::try_from(v).is_ok() {
            self.buf.push(b'J');
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            let mut bytes = v.to_le_bytes().to_vec();
            while bytes.len() > 1 {
                let last = bytes[bytes.len() - 1];
                let prev_sign = bytes[bytes.len() - 2] & 0x80;
                if (last == 0 && prev_sign == 0) || (last == 0xff && prev_sign != 0) {
                    bytes.pop();
                } else {
                    break;
                }
            }
            self.buf.extend_from_slice(&[0x8a, bytes.len() as u8]);
            self.buf.extend_from_slice(&bytes);
        }
    }

    fn int_tuple(&mut self, xs: &[usize]) {
        self.op(Self::MARK);
        for &x in xs {
            self.int(x as i64);
        }
        self.op(Self::TUPLE);
    }

    fn empty_ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.op(Self::EMPTY_TUPLE);
        self.op(Self::REDUCE);
    }

    /// `torch._utils._rebuild_tensor_v2(storage, 0, shape, stride, False, OrderedDict())` with the
    /// storage as persistent id `("storage", torch.<Kind>Storage, key, "cpu", numel)`.
    fn tensor(&mut self, storage_class: &str, key: &str, shape: &[usize]) {
        let numel: usize = shape.iter().product();
        let mut stride = vec![1usize; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            stride[i] = stride[i + 1] * shape[i + 1];
        }
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.op(Self::MARK);
        self.op(Self::MARK);
        self.unicode("storage");
        self.global("torch", storage_class);
        self.unicode(key);
        self.unicode("cpu");
        self.int(numel as i64);
        self.op(Self::TUPLE);
        self.op(Self::BINPERSID);
        self.int(0);
        self.int_tuple(shape);
        self.int_tuple(&stride);
        self.op(Self::NEWFALSE);
        self.empty_ordered_dict();
        self.op(Self::TUPLE);
        self.op(Self::REDUCE);
    }
}

fn storage_class(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F32 => "FloatStorage",
        DType::BF16 => "BFloat16Storage",
        DType::F16 => "HalfStorage",
        DType::F64 => "DoubleStorage",
        DType::I64 => "LongStorage",
        _ => return None,
    })
}

/// Little-endian bytes of a tensor in row-major order.
fn tensor_bytes(t: &Tensor) -> candle_core::Result<Vec<u8>> {
    let flat = t.flatten_all()?;
    Ok(match t.dtype() {
        DType::F32 => flat.to_vec1::<f32>()?.iter().flat_map(|x| x.to_le_bytes()).collect(),
        DType::F64 => flat.to_vec1::<f64>()?.iter().flat_map(|x| x.to_le_bytes()).collect(),
        DType::BF16 => flat
            .to_vec1::<half::bf16>()?
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect(),
        DType::F16 => flat
            .to_vec1::<half::f16>()?
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect(),
        DType::I64 => flat.to_vec1::<i64>()?.iter().flat_map(|x| x.to_le_bytes()).collect(),
        other => candle_core::bail!("dtype {other:?} cannot be written to a .pt file"),
    })
}

/// Write `{"state_dict": OrderedDict(tensors in the given order), "epoch": epoch}` as `torch.save` does
/// (zip with records under `archive/`, stored, 64-byte aligned; written to a temporary name, then renamed).
pub fn write_pt(path: &Path, tensors: &[(String, Tensor)], epoch: i64) -> Result<()> {
    let mut p = Pickler::default();
    p.buf.extend_from_slice(&[0x80, 2]);
    p.op(Pickler::EMPTY_DICT);
    p.op(Pickler::MARK);
    p.unicode("state_dict");
    p.empty_ordered_dict();
    p.op(Pickler::MARK);
    for (i, (name, t)) in tensors.iter().enumerate() {
        let class = storage_class(t.dtype())
            .ok_or_else(|| pt_err(path, format!("tensor `{name}` has dtype {:?}, not writable", t.dtype())))?;
        p.unicode(name);
        p.tensor(class, &i.to_string(), t.dims());
    }
    p.op(Pickler::SETITEMS);
    p.unicode("epoch");
    p.int(epoch);
    p.op(Pickler::SETITEMS);
    p.op(Pickler::STOP);

    let tmp = path.with_extension("pt.tmp");
    let io = |source: std::io::Error| TrainError::Io {
        path: tmp.clone(),
        source,
    };
    let zerr = |e: zip::result::ZipError| pt_err(path, format!("writing the zip archive: {e}"));
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = |len: usize| {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(zip::DateTime::default())
            .with_alignment(64)
            .large_file(len as u64 >= u32::MAX as u64)
    };
    let record = |zip: &mut zip::ZipWriter<_>, name: &str, bytes: &[u8]| -> Result<()> {
        zip.start_file(format!("archive/{name}"), opts(bytes.len()))
            .map_err(zerr)?;
        zip.write_all(bytes).map_err(|source| TrainError::Io {
            path: tmp.clone(),
            source,
        })
    };
    record(&mut zip, "data.pkl", &p.buf)?;
    record(&mut zip, "byteorder", b"little")?;
    for (i, (name, t)) in tensors.iter().enumerate() {
        let bytes = tensor_bytes(t).map_err(|e| pt_err(path, format!("tensor `{name}`: {e}")))?;
        record(&mut zip, &format!("data/{i}"), &bytes)?;
    }
    record(&mut zip, "version", b"3\n")?;
    let mut w = zip.finish().map_err(zerr)?;
    w.flush().map_err(io)?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn long_ints_use_minimal_twos_complement() {
        let enc = |v: i64| {
            let mut p = Pickler::default();
            p.int(v);
            p.buf
        };
        assert_eq!(enc(7), vec![b'K', 7]);
        assert_eq!(enc(300), vec![b'M', 44, 1]);
        assert_eq!(enc(-1), vec![b'J', 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(enc(1 << 31), vec![0x8a, 5, 0, 0, 0, 0x80, 0]);
        assert_eq!(enc(1 << 40), vec![0x8a, 6, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn round_trip_through_candles_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt.pt");
        let dev = Device::Cpu;
        let a = Tensor::arange(0f32, 12.0, &dev).unwrap().reshape((3, 4)).unwrap();
        let b = Tensor::new(&[1.5f32, -2.0], &dev)
            .unwrap()
            .to_dtype(DType::BF16)
            .unwrap();
        let c = Tensor::new(&[5i64, -7, 1 << 40], &dev).unwrap();
        let tensors = vec![
            ("a.weight".to_string(), a.clone()),
            ("b".into(), b.clone()),
            ("c".into(), c.clone()),
        ];
        write_pt(&path, &tensors, 3).unwrap();
        let (got, meta) = read_pt(&path).unwrap();
        assert_eq!(meta.epoch, Some(3));
        assert_eq!(got.len(), 3);
        assert_eq!(got["a.weight"].dims(), &[3, 4]);
        assert_eq!(got["a.weight"].to_vec2::<f32>().unwrap(), a.to_vec2::<f32>().unwrap());
        assert_eq!(got["b"].dtype(), DType::BF16);
        assert_eq!(
            got["b"].to_dtype(DType::F32).unwrap().to_vec1::<f32>().unwrap(),
            vec![1.5, -2.0]
        );
        assert_eq!(got["c"].to_vec1::<i64>().unwrap(), vec![5, -7, 1 << 40]);
        // Every record is stored uncompressed at a 64-byte aligned offset, as torch writes them.
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        for i in 0..zip.len() {
            let f = zip.by_index(i).unwrap();
            assert!(f.name().starts_with("archive/"), "{}", f.name());
            assert_eq!(f.compression(), zip::CompressionMethod::Stored);
            assert_eq!(f.data_start().unwrap() % 64, 0, "{} not aligned", f.name());
        }
    }

    #[test]
    fn corrupt_files_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.pt");
        std::fs::write(&path, b"not a zip at all").unwrap();
        let e = read_pt(&path).unwrap_err().to_string();
        assert!(e.contains("bad.pt") && e.contains("zip"), "{e}");
        // A valid archive cut in the middle.
        let t = Tensor::zeros((64, 64), DType::F32, &Device::Cpu).unwrap();
        write_pt(&path, &[("w".into(), t)], 0).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let e = read_pt(&path).unwrap_err().to_string();
        assert!(e.contains("bad.pt"), "{e}");
    }
}
