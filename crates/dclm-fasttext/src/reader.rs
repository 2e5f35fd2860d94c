//! A bounds-checked little-endian cursor over a model file's bytes: every read names the field it reads,
//! so a truncated or corrupt file yields an error with the byte offset instead of a panic.

use std::path::Path;

use crate::FastTextError;

/// Cursor over the bytes of one model file.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], path: &'a Path) -> Self {
        Reader { data, pos: 0, path }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn truncated(&self, what: &str, needed: u64) -> FastTextError {
        FastTextError::Truncated {
            path: self.path.to_path_buf(),
            what: what.to_string(),
            offset: self.pos as u64,
            needed,
            len: self.data.len() as u64,
        }
    }

    pub(crate) fn invalid(&self, offset: usize, message: impl Into<String>) -> FastTextError {
        FastTextError::Invalid {
            path: self.path.to_path_buf(),
            offset: offset as u64,
            message: message.into(),
        }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], FastTextError> {
        if n > self.remaining() as u64 {
            return Err(self.truncated(what, n));
        }
        let n = n as usize;
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FastTextError> {
        let s = self.take(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32, FastTextError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &str) -> Result<i64, FastTextError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f64(&mut self, what: &str) -> Result<f64, FastTextError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, FastTextError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A C++ `bool` (one byte, 0 or 1).
    pub(crate) fn bool(&mut self, what: &str) -> Result<bool, FastTextError> {
        let at = self.pos;
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.invalid(at, format!("{what}: expected a bool (0 or 1), found {b}"))),
        }
    }

    /// A NUL-terminated byte string (without the NUL).
    pub(crate) fn cstr(&mut self, what: &str) -> Result<&'a [u8], FastTextError> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                let s = &rest[..n];
                self.pos += n + 1;
                Ok(s)
            }
            None => Err(self.truncated(&format!("{what} (no terminating NUL)"), rest.len() as u64 + 1)),
        }
    }

    /// `n` little-endian f32 values, copied.
    pub(crate) fn f32s(&mut self, n: u64, what: &str) -> Result<Vec<f32>, FastTextError> {
        let bytes = self.take(n.saturating_mul(4), what)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}
