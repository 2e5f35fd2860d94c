//! fastText's matrices: dense (owned, or read in place from a memory-mapped model file) and
//! product-quantized (`QuantMatrix` + `ProductQuantizer`), with the exact float operation order of C++.

use std::sync::Arc;

use crate::reader::Reader;
use crate::FastTextError;

/// Backing store of a dense matrix.
#[derive(Debug)]
pub(crate) enum Floats {
    /// Owned, e.g. produced by training.
    Owned(Vec<f32>),
    /// Little-endian f32 values at `offset` in a memory-mapped model file (no copy, no alignment needed).
    Mapped { map: Arc<memmap2::Mmap>, offset: usize },
}

/// A dense row-major `rows × cols` f32 matrix.
#[derive(Debug)]
pub(crate) struct DenseMatrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Floats,
}

#[inline]
fn le_f32(c: &[u8]) -> f32 {
    f32::from_le_bytes([c[0], c[1], c[2], c[3]])
}

/// `x += row(i)` for each `i` in `rows`, in order, each element getting the same f32 additions in the same order
/// whatever the storage: 16 columns (lid.176) are summed in registers from `row16(i)`, other widths added in place
/// by `add_row(i, x)`; `x` has one element per column.
#[inline]
fn add_rows_with(x: &mut [f32], rows: &[i32], row16: impl Fn(usize) -> [f32; 16], add_row: impl Fn(usize, &mut [f32])) {
    if x.len() == 16 {
        let mut acc = [0f32; 16];
        acc.copy_from_slice(x);
        for &i in rows {
            for (a, b) in acc.iter_mut().zip(row16(i as usize)) {
                *a += b;
            }
        }
        x.copy_from_slice(&acc);
    } else {
        for &i in rows {
            add_row(i as usize, x);
        }
    }
}

/// [`add_rows_with`] over a row-major owned `data` with `cols` columns.
fn add_owned_rows(x: &mut [f32], data: &[f32], cols: usize, rows: &[i32]) {
    debug_assert_eq!(x.len(), cols);
    add_rows_with(
        x,
        rows,
        |i| data[i * 16..i * 16 + 16].try_into().expect("a 16-float row"),
        |i, x| {
            for (a, b) in x.iter_mut().zip(&data[i * cols..(i + 1) * cols]) {
                *a += *b;
            }
        },
    );
}

impl DenseMatrix {
    pub(crate) fn owned(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        debug_assert_eq!(data.len(), rows * cols);
        DenseMatrix {
            rows,
            cols,
            data: Floats::Owned(data),
        }
    }

    #[inline]
    fn row_bytes<'m>(&self, map: &'m memmap2::Mmap, offset: usize, i: usize) -> &'m [u8] {
        let start = offset + i * self.cols * 4;
        &map[start..start + self.cols * 4]
    }

    /// `x += row(i)` for each `i` in `rows`, in order: the same f32 additions per element, row after row, as
    /// C++ `Vector::addRow`, with the storage resolved once and, for 16 columns (lid.176), the sums kept in
    /// registers.
    pub(crate) fn add_rows_to(&self, x: &mut [f32], rows: &[i32]) {
        let cols = self.cols;
        match &self.data {
            Floats::Owned(v) => add_owned_rows(x, v, cols, rows),
            Floats::Mapped { map, offset } => {
                let data = &map[*offset..*offset + self.rows * cols * 4];
                debug_assert_eq!(x.len(), cols);
                add_rows_with(
                    x,
                    rows,
                    |i| {
                        let row: &[u8; 64] = data[i * 64..i * 64 + 64].try_into().expect("a 64-byte row");
                        std::array::from_fn(|j| le_f32(&row[4 * j..4 * j + 4]))
                    },
                    |i, x| {
                        for (a, c) in x.iter_mut().zip(data[i * cols * 4..(i + 1) * cols * 4].chunks_exact(4)) {
                            *a += le_f32(c);
                        }
                    },
                );
            }
        }
    }

    /// `sum_j row(i)[j] * v[j]`, accumulated left to right in f32 as `DenseMatrix::dotRow`.
    #[inline]
    pub(crate) fn dot_row(&self, v: &[f32], i: usize) -> f32 {
        let mut d = 0.0f32;
        match &self.data {
            Floats::Owned(m) => {
                for (a, b) in m[i * self.cols..(i + 1) * self.cols].iter().zip(v) {
                    d += *a * *b;
                }
            }
            Floats::Mapped { map, offset } => {
                for (c, b) in self.row_bytes(map, *offset, i).chunks_exact(4).zip(v) {
                    d += le_f32(c) * *b;
                }
            }
        }
        d
    }

    /// Writes `DenseMatrix::save`'s format (rows, cols, data) in chunks, without a second copy in memory.
    pub(crate) fn write_to<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        out.write_all(&(self.rows as i64).to_le_bytes())?;
        out.write_all(&(self.cols as i64).to_le_bytes())?;
        match &self.data {
            Floats::Owned(v) => {
                let mut chunk = Vec::with_capacity(1 << 16);
                for block in v.chunks(1 << 14) {
                    chunk.clear();
                    for x in block {
                        chunk.extend_from_slice(&x.to_le_bytes());
                    }
                    out.write_all(&chunk)?;
                }
                Ok(())
            }
            Floats::Mapped { map, offset } => out.write_all(&map[*offset..*offset + self.rows * self.cols * 4]),
        }
    }
}

/// Product quantizer with 256 centroids per sub-quantizer.
#[derive(Debug)]
pub(crate) struct ProductQuantizer {
    nsubq: usize,
    dsub: usize,
    lastdsub: usize,
    centroids: Vec<f32>,
}

const KSUB: usize = 256;

impl ProductQuantizer {
    fn load(r: &mut Reader<'_>, what: &str) -> Result<Self, FastTextError> {
        let at = r.pos();
        let dim = r.i32(&format!("{what} quantizer dim"))?;
        let nsubq = r.i32(&format!("{what} quantizer nsubq"))?;
        let dsub = r.i32(&format!("{what} quantizer dsub"))?;
        let lastdsub = r.i32(&format!("{what} quantizer lastdsub"))?;
        let ok = dim > 0
            && nsubq > 0
            && dsub > 0
            && lastdsub > 0
            && lastdsub <= dsub
            && i64::from(dsub) * i64::from(nsubq - 1) + i64::from(lastdsub) == i64::from(dim);
        if !ok {
            return Err(r.invalid(
                at,
                format!(
                    "{what} quantizer shape inconsistent: dim {dim}, nsubq {nsubq}, dsub {dsub}, lastdsub {lastdsub}"
                ),
            ));
        }
        let c_at = r.pos();
        let centroids = r.f32s(dim as u64 * KSUB as u64, &format!("{what} quantizer centroids"))?;
        if let Some(i) = centroids.iter().position(|x| !x.is_finite()) {
            return Err(r.invalid(
                c_at + 4 * i,
                format!(
                    "{what} quantizer: non-finite centroid value (NaN or infinity) at index {i}: the model is corrupt"
                ),
            ));
        }
        Ok(ProductQuantizer {
            nsubq: nsubq as usize,
            dsub: dsub as usize,
            lastdsub: lastdsub as usize,
            centroids,
        })
    }

    fn dim(&self) -> usize {
        self.dsub * (self.nsubq - 1) + self.lastdsub
    }

    #[inline]
    fn centroid(&self, m: usize, i: u8) -> &[f32] {
        if m == self.nsubq - 1 {
            let s = m * KSUB * self.dsub + i as usize * self.lastdsub;
            &self.centroids[s..s + self.lastdsub]
        } else {
            let s = (m * KSUB + i as usize) * self.dsub;
            &self.centroids[s..s + self.dsub]
        }
    }

    #[inline]
    fn mulcode(&self, x: &[f32], code: &[u8], alpha: f32) -> f32 {
        let mut res = 0.0f32;
        for m in 0..self.nsubq {
            let c = self.centroid(m, code[m]);
            let xs = &x[m * self.dsub..m * self.dsub + c.len()];
            for (a, b) in xs.iter().zip(c) {
                res += *a * *b;
            }
        }
        res * alpha
    }

    /// Writes `alpha * centroid` of each sub-quantizer into `row` (`row` has the quantizer's dimension): the
    /// product `addcode` adds, computed once.
    fn decode_into(&self, row: &mut [f32], code: &[u8], alpha: f32) {
        for m in 0..self.nsubq {
            let c = self.centroid(m, code[m]);
            for (a, b) in row[m * self.dsub..m * self.dsub + c.len()].iter_mut().zip(c) {
                *a = alpha * *b;
            }
        }
    }

    #[inline]
    fn addcode(&self, x: &mut [f32], code: &[u8], alpha: f32) {
        for m in 0..self.nsubq {
            let c = self.centroid(m, code[m]);
            let xs = &mut x[m * self.dsub..m * self.dsub + c.len()];
            for (a, b) in xs.iter_mut().zip(c) {
                *a += alpha * *b;
            }
        }
    }
}

/// Product-quantized matrix (`QuantMatrix`), optionally with quantized row norms.
#[derive(Debug)]
pub(crate) struct QuantMatrix {
    pub rows: usize,
    pub cols: usize,
    codes: Vec<u8>,
    pq: ProductQuantizer,
    norm: Option<(Vec<u8>, ProductQuantizer)>,
    /// Every row decoded (`norm * centroid`, row-major), when that takes at most [`QuantMatrix::DECODE_LIMIT`]
    /// floats: adding a decoded row is the same f32 addition per element as `addcode`, without the per-row
    /// centroid and norm look-ups.
    decoded: Option<Vec<f32>>,
}

impl QuantMatrix {
    fn load(r: &mut Reader<'_>, what: &str) -> Result<Self, FastTextError> {
        let qnorm = r.bool(&format!("{what} qnorm flag"))?;
        let at = r.pos();
        let m = r.i64(&format!("{what} rows"))?;
        let n = r.i64(&format!("{what} cols"))?;
        let codesize = r.i32(&format!("{what} code size"))?;
        if m < 0 || n <= 0 || codesize < 0 {
            return Err(r.invalid(at, format!("{what}: bad shape {m} x {n}, code size {codesize}")));
        }
        let codes = r.take(codesize as u64, &format!("{what} codes"))?.to_vec();
        let pq = ProductQuantizer::load(r, what)?;
        if pq.dim() as i64 != n || pq.nsubq as i64 * m != i64::from(codesize) {
            return Err(r.invalid(
                at,
                format!(
                    "{what}: quantizer dim {} / {} sub-quantizers do not fit a {m} x {n} matrix with code size {codesize}",
                    pq.dim(),
                    pq.nsubq
                ),
            ));
        }
        let norm = if qnorm {
            let nc = r.take(m as u64, &format!("{what} norm codes"))?.to_vec();
            let nat = r.pos();
            let npq = ProductQuantizer::load(r, &format!("{what} norm"))?;
            if npq.dim() != 1 {
                return Err(r.invalid(nat, format!("{what}: norm quantizer has dim {}, expected 1", npq.dim())));
            }
            Some((nc, npq))
        } else {
            None
        };
        let mut q = QuantMatrix {
            rows: m as usize,
            cols: n as usize,
            codes,
            pq,
            norm,
            decoded: None,
        };
        if q.rows.saturating_mul(q.cols) <= Self::DECODE_LIMIT {
            let mut table = vec![0f32; q.rows * q.cols];
            for (i, row) in table.chunks_exact_mut(q.cols).enumerate() {
                q.pq.decode_into(row, q.code(i), q.norm(i));
            }
            q.decoded = Some(table);
        }
        Ok(q)
    }

    /// Largest decoded table kept (16 Mi floats, 64 MiB; lid.176.ftz needs a few MiB).
    const DECODE_LIMIT: usize = 1 << 24;

    #[inline]
    fn norm(&self, i: usize) -> f32 {
        match &self.norm {
            Some((codes, npq)) => npq.centroid(0, codes[i])[0],
            None => 1.0,
        }
    }

    #[inline]
    fn code(&self, i: usize) -> &[u8] {
        &self.codes[i * self.pq.nsubq..(i + 1) * self.pq.nsubq]
    }
}

/// Either kind of matrix.
#[derive(Debug)]
pub(crate) enum Matrix {
    Dense(DenseMatrix),
    Quant(QuantMatrix),
}

impl Matrix {
    pub(crate) fn rows(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.rows,
            Matrix::Quant(q) => q.rows,
        }
    }

    pub(crate) fn cols(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.cols,
            Matrix::Quant(q) => q.cols,
        }
    }

    /// `x += row(i)` for each `i` in `rows`, in order.
    pub(crate) fn add_rows_to(&self, x: &mut [f32], rows: &[i32]) {
        match self {
            Matrix::Dense(d) => d.add_rows_to(x, rows),
            Matrix::Quant(q) => match &q.decoded {
                Some(table) => add_owned_rows(x, table, q.cols, rows),
                None => {
                    for &i in rows {
                        q.pq.addcode(x, q.code(i as usize), q.norm(i as usize));
                    }
                }
            },
        }
    }

    #[inline]
    pub(crate) fn dot_row(&self, v: &[f32], i: usize) -> f32 {
        match self {
            Matrix::Dense(d) => d.dot_row(v, i),
            Matrix::Quant(q) => q.pq.mulcode(v, q.code(i), q.norm(i)),
        }
    }

    /// Reads a matrix: quantized if `quant`, else dense. Dense data of a mapped file stays in the map.
    pub(crate) fn load(
        r: &mut Reader<'_>,
        quant: bool,
        map: Option<&Arc<memmap2::Mmap>>,
        what: &str,
    ) -> Result<Matrix, FastTextError> {
        if quant {
            return Ok(Matrix::Quant(QuantMatrix::load(r, what)?));
        }
        let at = r.pos();
        let m = r.i64(&format!("{what} rows"))?;
        let n = r.i64(&format!("{what} cols"))?;
        if m < 0 || n <= 0 {
            return Err(r.invalid(at, format!("{what}: bad shape {m} x {n}")));
        }
        let bytes = (m as u64).checked_mul(n as u64).and_then(|x| x.checked_mul(4));
        let Some(bytes) = bytes else {
            return Err(r.invalid(at, format!("{what}: shape {m} x {n} overflows")));
        };
        let offset = r.pos();
        let data = match map {
            Some(map) => {
                r.take(bytes, &format!("{what} data ({m} x {n} f32)"))?;
                Floats::Mapped {
                    map: Arc::clone(map),
                    offset,
                }
            }
            None => Floats::Owned(r.f32s(bytes / 4, &format!("{what} data ({m} x {n} f32)"))?),
        };
        let bad = match &data {
            Floats::Mapped { map, offset } => first_non_finite_le(&map[*offset..*offset + bytes as usize]),
            Floats::Owned(v) => v.iter().position(|x| !x.is_finite()),
        };
        if let Some(i) = bad {
            let (row, col) = (i / n as usize, i % n as usize);
            return Err(r.invalid(
                offset + 4 * i,
                format!("{what}: non-finite weight (NaN or infinity) at row {row}, column {col}: the model is corrupt"),
            ));
        }
        Ok(Matrix::Dense(DenseMatrix {
            rows: m as usize,
            cols: n as usize,
            data,
        }))
    }
}

/// Index of the first little-endian f32 in `bytes` that is NaN or infinite (all exponent bits set). Scans in
/// blocks with a branch-free OR so that a multi-gigabyte model is checked at memory speed.
fn first_non_finite_le(bytes: &[u8]) -> Option<usize> {
    const EXP: u32 = 0x7f80_0000;
    const BLOCK: usize = 4096 * 4;
    for (bi, block) in bytes.chunks(BLOCK).enumerate() {
        let any = block.chunks_exact(4).fold(0u32, |acc, c| {
            acc | u32::from((u32::from_le_bytes([c[0], c[1], c[2], c[3]]) & EXP) == EXP)
        });
        if any != 0 {
            let j = block
                .chunks_exact(4)
                .position(|c| (u32::from_le_bytes([c[0], c[1], c[2], c[3]]) & EXP) == EXP)?;
            return Some(bi * BLOCK / 4 + j);
        }
    }
    None
}

#[cfg(test)]
mod nan_tests {
    use super::first_non_finite_le;

    #[test]
    fn finds_the_first_non_finite_value() {
        let mut v: Vec<f32> = (0..10_000).map(|i| i as f32 * 0.5).collect();
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        assert_eq!(first_non_finite_le(&bytes(&v)), None);
        v[7777] = f32::NAN;
        v[9000] = f32::INFINITY;
        assert_eq!(first_non_finite_le(&bytes(&v)), Some(7777));
    }
}

#[cfg(test)]
mod decoded_tests {
    use super::{Matrix, ProductQuantizer, QuantMatrix, KSUB};
    use proptest::prelude::*;

    /// A quantized matrix with arbitrary centroids, codes and (optionally) norms; `decoded` unset.
    fn quant(dim: usize, dsub: usize, rows: usize, seed: &[f32], qnorm: bool) -> QuantMatrix {
        let nsubq = dim.div_ceil(dsub);
        let lastdsub = dim - dsub * (nsubq - 1);
        let value = |k: usize| seed[k % seed.len()] * (1.0 + k as f32 * 1e-3);
        let pq = ProductQuantizer {
            nsubq,
            dsub,
            lastdsub,
            centroids: (0..dim * KSUB).map(value).collect(),
        };
        let codes = (0..rows * nsubq).map(|k| (k * 37 % 251) as u8).collect();
        let norm = qnorm.then(|| {
            let npq = ProductQuantizer {
                nsubq: 1,
                dsub: 1,
                lastdsub: 1,
                centroids: (0..KSUB).map(|k| value(k + 7)).collect(),
            };
            ((0..rows).map(|k| (k * 13 % 256) as u8).collect(), npq)
        });
        QuantMatrix {
            rows,
            cols: dim,
            codes,
            pq,
            norm,
            decoded: None,
        }
    }

    proptest! {
        /// Summing decoded rows gives the bits `addcode` gives, row order included, for 16 columns (the register
        /// path) and others, with and without quantized norms.
        #[test]
        fn decoded_rows_add_like_addcode(
            seed in prop::collection::vec(-3.0f32..3.0, 1..40),
            dim in prop::sample::select(vec![16usize, 10, 7]),
            qnorm in any::<bool>(),
            ids in prop::collection::vec(0i32..50, 0..60),
            start in prop::collection::vec(-1.0f32..1.0, 16),
        ) {
            let dsub = if dim == 7 { 3 } else { 2 };
            let q = quant(dim, dsub, 50, &seed, qnorm);
            let mut want = start[..dim].to_vec();
            Matrix::Quant(q).add_rows_to(&mut want, &ids);
            let mut q = quant(dim, dsub, 50, &seed, qnorm);
            let mut table = vec![0f32; q.rows * q.cols];
            for (i, row) in table.chunks_exact_mut(q.cols).enumerate() {
                q.pq.decode_into(row, q.code(i), q.norm(i));
            }
            q.decoded = Some(table);
            let mut got = start[..dim].to_vec();
            Matrix::Quant(q).add_rows_to(&mut got, &ids);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&got), bits(&want));
        }
    }
}
