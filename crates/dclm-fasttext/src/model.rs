//! The [`FastText`] model: loading `.bin` / `.ftz` files, and `predictLine` with the softmax,
//! hierarchical-softmax, negative-sampling and one-vs-all heads, reproducing C++ fastText 0.9.2's float
//! arithmetic so that probabilities agree bit for bit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::args::{Loss, ModelArgs, MODEL_SUP};
use crate::dictionary::{DictParams, Dictionary, LineBuf};
use crate::matrix::Matrix;
use crate::reader::Reader;
use crate::stdalgo;
use crate::FastTextError;

/// fastText's file magic (`FASTTEXT_FILEFORMAT_MAGIC_INT32`).
pub(crate) const MAGIC: i32 = 793_712_314;
/// fastText's current file format version.
pub(crate) const VERSION: i32 = 12;

const SIGMOID_TABLE_SIZE: usize = 512;
const MAX_SIGMOID: f32 = 8.0;

/// One predicted label with its probability, as `predict` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The full label, e.g. `"__label__en"`.
    pub label: String,
    /// fastText's probability: `exp(log(p + 1e-5))` in f32, so it can exceed 1 by up to 1e-5.
    pub prob: f32,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    left: i32,
    right: i32,
}

/// A supervised fastText model (`.bin` or quantized `.ftz`), ready for prediction. Cheap to share between
/// threads (`Send + Sync`); prediction takes `&self`.
#[derive(Debug)]
pub struct FastText {
    pub(crate) args: ModelArgs,
    pub(crate) dict: Dictionary,
    pub(crate) input: Matrix,
    pub(crate) output: Matrix,
    quant: bool,
    qout: bool,
    tree: Vec<Node>,
    sigmoid: Vec<f32>,
    labels: Vec<String>,
    path: PathBuf,
}

fn sigmoid_table() -> Vec<f32> {
    (0..=SIGMOID_TABLE_SIZE)
        .map(|i| {
            let x = (i as f32 * 2.0 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE as f32 - MAX_SIGMOID;
            (1.0 / (1.0 + f64::from((-x).exp()))) as f32
        })
        .collect()
}

/// `std_log`: `std::log(x + 1e-5)` computed in double, returned as float.
#[inline]
pub(crate) fn std_log(x: f32) -> f32 {
    (f64::from(x) + 1e-5).ln() as f32
}

#[inline]
fn greater(a: &(f32, i32), b: &(f32, i32)) -> bool {
    a.0 > b.0
}

/// Huffman tree over label counts (`HierarchicalSoftmaxLoss::buildTree`).
fn build_tree(counts: &[i64]) -> (Vec<Node>, Vec<i32>, Vec<bool>) {
    let osz = counts.len();
    if osz == 0 {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let n = 2 * osz - 1;
    let mut tree = vec![Node { left: -1, right: -1 }; n];
    let mut count = vec![1_000_000_000_000_000i64; n];
    let mut parent = vec![-1i32; n];
    let mut binary = vec![false; n];
    count[..osz].copy_from_slice(counts);
    let mut leaf = osz as i64 - 1;
    let mut node = osz;
    for i in osz..n {
        let mut mini = [0usize; 2];
        for m in mini.iter_mut() {
            if leaf >= 0 && count[leaf as usize] < count[node] {
                *m = leaf as usize;
                leaf -= 1;
            } else {
                *m = node;
                node += 1;
            }
        }
        tree[i].left = mini[0] as i32;
        tree[i].right = mini[1] as i32;
        count[i] = count[mini[0]].saturating_add(count[mini[1]]);
        parent[mini[0]] = i as i32;
        parent[mini[1]] = i as i32;
        binary[mini[1]] = true;
    }
    (tree, parent, binary)
}

/// Paths and codes from each label's leaf to the root (for training with hs).
pub(crate) fn hs_paths(counts: &[i64]) -> Vec<Vec<(i32, bool)>> {
    let osz = counts.len();
    let (_, parent, binary) = build_tree(counts);
    (0..osz)
        .map(|i| {
            let mut path = Vec::new();
            let mut j = i;
            while parent[j] != -1 {
                path.push((parent[j] - osz as i32, binary[j]));
                j = parent[j] as usize;
            }
            path
        })
        .collect()
}

impl FastText {
    /// Loads a `.bin` or quantized `.ftz` model. Dense matrices are memory-mapped and read in place, so a
    /// 2.4 GB model costs about its dictionary in heap memory plus the pages actually touched.
    ///
    /// The file must not be modified while the model is alive.
    pub fn load(path: &Path) -> Result<FastText, FastTextError> {
        let file = std::fs::File::open(path).map_err(|e| FastTextError::io(path, e))?;
        // SAFETY: the map is read-only; the documented contract is that the model file is not modified
        // while the model is loaded (as with any memory-mapped model format).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| FastTextError::io(path, e))?;
        let map = Arc::new(map);
        Self::parse(&map[..], Some(&map), path)
    }

    /// Parses a model from bytes (copied into owned matrices); `name` is used in error messages.
    pub fn from_bytes(bytes: &[u8], name: &Path) -> Result<FastText, FastTextError> {
        Self::parse(bytes, None, name)
    }

    fn parse(data: &[u8], map: Option<&Arc<memmap2::Mmap>>, path: &Path) -> Result<FastText, FastTextError> {
        let mut r = Reader::new(data, path);
        let magic = r.i32("magic number")?;
        if magic != MAGIC {
            return Err(FastTextError::BadMagic {
                path: path.to_path_buf(),
                found: magic as u32,
            });
        }
        let version = r.i32("version")?;
        if version != 11 && version != VERSION {
            return Err(FastTextError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
            });
        }
        let at = r.pos();
        let mut ints = [0i32; 12];
        const NAMES: [&str; 12] = [
            "args.dim",
            "args.ws",
            "args.epoch",
            "args.minCount",
            "args.neg",
            "args.wordNgrams",
            "args.loss",
            "args.model",
            "args.bucket",
            "args.minn",
            "args.maxn",
            "args.lrUpdateRate",
        ];
        for (v, name) in ints.iter_mut().zip(NAMES) {
            *v = r.i32(name)?;
        }
        let t = r.f64("args.t")?;
        let [dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket, minn, mut maxn, lr_update_rate] = ints;
        let loss = Loss::from_code(loss).ok_or_else(|| r.invalid(at + 24, format!("unknown loss code {loss}")))?;
        if model != MODEL_SUP {
            return Err(r.invalid(
                at + 28,
                format!("model kind {model} is not a supervised classifier (3); word-vector models cannot predict"),
            ));
        }
        if version == 11 {
            // Old supervised models do not use character n-grams.
            maxn = 0;
        }
        if dim <= 0 || bucket < 0 || (maxn > 0 && (minn <= 0 || minn > maxn || bucket == 0)) {
            return Err(r.invalid(
                at,
                format!("bad args: dim {dim}, bucket {bucket}, minn {minn}, maxn {maxn}"),
            ));
        }
        let args = ModelArgs {
            dim,
            ws,
            epoch,
            min_count,
            neg,
            word_ngrams,
            loss,
            model,
            bucket,
            minn,
            maxn,
            lr_update_rate,
            t,
        };
        let params = DictParams {
            word_ngrams,
            bucket,
            minn,
            maxn,
        };
        let dict_at = r.pos();
        let dict = Dictionary::load(&mut r, params)?;
        if dict.nlabels() == 0 {
            return Err(r.invalid(dict_at, "dictionary has no labels: not a supervised model"));
        }
        let quant = r.bool("quant_input flag")?;
        let in_at = r.pos();
        let input = Matrix::load(&mut r, quant, map, "input matrix")?;
        if !quant && dict.is_pruned() {
            return Err(r.invalid(
                in_at,
                "pruned dictionary with a dense input matrix (C++: \"Invalid model file\")",
            ));
        }
        let need_rows = i64::from(dict.nwords())
            + if dict.is_pruned() {
                dict.pruneidx_size()
            } else {
                i64::from(bucket)
            };
        if input.cols() != dim as usize || (input.rows() as i64) < need_rows {
            return Err(r.invalid(
                in_at,
                format!(
                    "input matrix is {} x {}, expected at least {need_rows} x {dim}",
                    input.rows(),
                    input.cols()
                ),
            ));
        }
        let qout = r.bool("qout flag")?;
        let out_at = r.pos();
        let output = Matrix::load(&mut r, quant && qout, map, "output matrix")?;
        let nl = dict.nlabels() as usize;
        // C++ allocates one row per label for every loss; hierarchical softmax uses the first nl - 1.
        let want_rows = nl;
        let rows_ok = if loss == Loss::HierarchicalSoftmax {
            output.rows() + 1 >= nl
        } else {
            output.rows() == nl
        };
        if output.cols() != dim as usize || !rows_ok {
            return Err(r.invalid(
                out_at,
                format!(
                    "output matrix is {} x {}, expected {want_rows} x {dim} for {nl} labels with {} loss",
                    output.rows(),
                    output.cols(),
                    loss.name()
                ),
            ));
        }
        if r.remaining() != 0 {
            return Err(r.invalid(
                r.pos(),
                format!("{} unexpected bytes after the output matrix", r.remaining()),
            ));
        }
        Ok(Self::assemble(args, dict, input, output, quant, qout, path))
    }

    pub(crate) fn assemble(
        args: ModelArgs,
        dict: Dictionary,
        input: Matrix,
        output: Matrix,
        quant: bool,
        qout: bool,
        path: &Path,
    ) -> FastText {
        let tree = if args.loss == Loss::HierarchicalSoftmax {
            build_tree(&dict.label_counts()).0
        } else {
            Vec::new()
        };
        let labels = (0..dict.nlabels() as usize)
            .map(|i| String::from_utf8_lossy(dict.label(i)).into_owned())
            .collect();
        FastText {
            args,
            dict,
            input,
            output,
            quant,
            qout,
            tree,
            sigmoid: sigmoid_table(),
            labels,
            path: path.to_path_buf(),
        }
    }

    /// The hyper-parameters stored in the model header.
    pub fn args(&self) -> &ModelArgs {
        &self.args
    }

    /// The model's labels in label-id order (e.g. `["__label__hq", "__label__cc"]`).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Index of a label (full string with prefix), if the model has it.
    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }

    /// Number of dictionary words (not labels).
    pub fn nwords(&self) -> usize {
        self.dict.nwords() as usize
    }

    /// Whether the input matrix is product-quantized (`.ftz`).
    pub fn is_quantized(&self) -> bool {
        self.quant
    }

    /// The file this model was loaded from (or the name given to [`FastText::from_bytes`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Words of the dictionary with their counts, in id order (words, then labels).
    pub fn words(&self) -> impl Iterator<Item = (&[u8], i64)> + '_ {
        (0..self.dict.size()).map(move |i| (self.dict.word(i), self.dict.counts()[i]))
    }

    /// Predicts the `k` most likely labels of one line of text, like C++ `FastText::predictLine` on
    /// `text + "\n"` (what the Python binding's `predict` does): tokens are split on ASCII whitespace,
    /// `</s>` ends the line, text after the first `\n` or a literal `</s>` token is ignored, and labels below
    /// `threshold` are left out. Results are sorted by decreasing probability. Never panics; returns an
    /// empty list for `k == 0` (C++ throws) or a line without any feature.
    pub fn predict(&self, text: &str, k: usize, threshold: f32) -> Vec<Prediction> {
        let mut buf = PredictBuf::default();
        self.predict_ids(text.as_bytes(), k, threshold, &mut buf);
        buf.heap
            .iter()
            .map(|&(lp, id)| Prediction {
                label: self.labels[id as usize].clone(),
                prob: lp.exp(),
            })
            .collect()
    }

    /// [`FastText::predict`] for many lines on the current rayon pool; results in input order.
    pub fn predict_batch<S: AsRef<str> + Sync>(&self, texts: &[S], k: usize, threshold: f32) -> Vec<Vec<Prediction>> {
        use rayon::prelude::*;
        texts
            .par_iter()
            .map_init(PredictBuf::default, |buf, text| {
                self.predict_ids(text.as_ref().as_bytes(), k, threshold, buf);
                buf.heap
                    .iter()
                    .map(|&(lp, id)| Prediction {
                        label: self.labels[id as usize].clone(),
                        prob: lp.exp(),
                    })
                    .collect()
            })
            .collect()
    }

    /// Allocation-free variant of [`FastText::predict`]: fills `buf` and returns `(label index, prob)` pairs.
    pub fn predict_with<'b>(
        &self,
        text: &[u8],
        k: usize,
        threshold: f32,
        buf: &'b mut PredictBuf,
    ) -> impl Iterator<Item = (usize, f32)> + 'b {
        self.predict_ids(text, k, threshold, buf);
        buf.heap.iter().map(|&(lp, id)| (id as usize, lp.exp()))
    }

    /// The averaged input vector of a line (`computeHidden`), for inspection and tests.
    pub fn sentence_vector(&self, text: &str) -> Vec<f32> {
        let mut buf = PredictBuf::default();
        self.dict.line_features(text.as_bytes(), &mut buf.line);
        self.compute_hidden(&buf.line.words, &mut buf.hidden);
        buf.hidden
    }

    pub(crate) fn compute_hidden(&self, words: &[i32], hidden: &mut Vec<f32>) {
        hidden.clear();
        hidden.resize(self.args.dim as usize, 0.0);
        if words.is_empty() {
            return;
        }
        self.input.add_rows_to(hidden, words);
        let a = (1.0f64 / words.len() as f64) as f32;
        for h in hidden.iter_mut() {
            *h *= a;
        }
    }

    /// For evaluation: reads one labelled line like `getLine` and returns its label ids and the top-1
    /// prediction; `None` when the line has no label or no feature (C++ `test` skips those).
    pub(crate) fn predict_labeled_line(
        &self,
        s: &mut crate::dictionary::ByteStream<'_>,
        buf: &mut PredictBuf,
    ) -> Option<(Vec<usize>, Option<usize>)> {
        self.dict.stream_line(s, &mut buf.line);
        if buf.line.labels.is_empty() || buf.line.words.is_empty() {
            return None;
        }
        let labels = buf.line.labels.iter().map(|&l| l as usize).collect();
        self.run_heads(1, 0.0, buf);
        Some((labels, buf.heap.first().map(|p| p.1 as usize)))
    }

    fn predict_ids(&self, text: &[u8], k: usize, threshold: f32, buf: &mut PredictBuf) {
        buf.heap.clear();
        self.dict.line_features(text, &mut buf.line);
        self.run_heads(k, threshold, buf);
    }

    fn run_heads(&self, k: usize, threshold: f32, buf: &mut PredictBuf) {
        buf.heap.clear();
        if buf.line.words.is_empty() || k == 0 {
            return;
        }
        let k = k.min(self.labels.len());
        let PredictBuf {
            line,
            hidden,
            output,
            heap,
        } = buf;
        self.compute_hidden(&line.words, hidden);
        match self.args.loss {
            Loss::HierarchicalSoftmax => {
                if !self.tree.is_empty() {
                    let root = self.tree.len() - 1;
                    self.dfs(k, threshold, root, 0.0, heap, hidden);
                }
            }
            Loss::Softmax => {
                self.softmax(hidden, output);
                find_k_best(k, threshold, heap, output);
            }
            Loss::NegativeSampling | Loss::OneVsAll => {
                output.clear();
                output.extend((0..self.output.rows()).map(|i| self.sigmoid(self.output.dot_row(hidden, i))));
                find_k_best(k, threshold, heap, output);
            }
        }
        stdalgo::sort_heap(heap, &greater);
    }

    pub(crate) fn softmax(&self, hidden: &[f32], output: &mut Vec<f32>) {
        output.clear();
        output.extend((0..self.output.rows()).map(|i| self.output.dot_row(hidden, i)));
        softmax_in_place(output);
    }

    #[inline]
    pub(crate) fn sigmoid(&self, x: f32) -> f32 {
        sigmoid_lookup(&self.sigmoid, x)
    }

    fn dfs(&self, k: usize, threshold: f32, node: usize, score: f32, heap: &mut Vec<(f32, i32)>, hidden: &[f32]) {
        if score < std_log(threshold) {
            return;
        }
        if heap.len() == k && score < heap[0].0 {
            return;
        }
        let n = self.tree[node];
        if n.left == -1 && n.right == -1 {
            heap.push((score, node as i32));
            stdalgo::push_heap(heap, &greater);
            if heap.len() > k {
                stdalgo::pop_heap(heap, &greater);
                heap.pop();
            }
            return;
        }
        let osz = self.labels.len();
        let mut f = self.output.dot_row(hidden, node - osz);
        f = (1.0f64 / f64::from(1.0 + (-f).exp())) as f32;
        self.dfs(
            k,
            threshold,
            n.left as usize,
            score + std_log((1.0 - f64::from(f)) as f32),
            heap,
            hidden,
        );
        self.dfs(k, threshold, n.right as usize, score + std_log(f), heap, hidden);
    }

    /// Whether the output matrix is quantized too (`-qout`).
    pub fn is_output_quantized(&self) -> bool {
        self.qout
    }
}

/// `Loss::sigmoid` with fastText's 512-entry lookup table.
#[inline]
pub(crate) fn sigmoid_lookup(table: &[f32], x: f32) -> f32 {
    if x < -MAX_SIGMOID {
        0.0
    } else if x > MAX_SIGMOID {
        1.0
    } else if x.is_nan() {
        // C++ would index with an undefined value; a NaN score carries no information.
        0.0
    } else {
        let i = ((x + MAX_SIGMOID) * SIGMOID_TABLE_SIZE as f32 / MAX_SIGMOID / 2.0) as usize;
        table[i.min(SIGMOID_TABLE_SIZE)]
    }
}

/// `SoftmaxLoss::computeOutput` after the matrix product: subtract the max, exponentiate, normalise.
#[inline]
pub(crate) fn softmax_in_place(output: &mut [f32]) {
    if output.is_empty() {
        return;
    }
    let mut max = output[0];
    for &o in output.iter() {
        max = if o > max { o } else { max };
    }
    let mut z = 0.0f32;
    for o in output.iter_mut() {
        // The C++ calls unqualified `exp` on a float, which resolves to the double-precision `::exp`.
        *o = f64::from(*o - max).exp() as f32;
        z += *o;
    }
    for o in output.iter_mut() {
        *o /= z;
    }
}

/// `Loss::findKBest` with libstdc++'s heap operations.
fn find_k_best(k: usize, threshold: f32, heap: &mut Vec<(f32, i32)>, output: &[f32]) {
    for (i, &o) in output.iter().enumerate() {
        if o < threshold {
            continue;
        }
        let lp = std_log(o);
        if heap.len() == k && lp < heap[0].0 {
            continue;
        }
        heap.push((lp, i as i32));
        stdalgo::push_heap(heap, &greater);
        if heap.len() > k {
            stdalgo::pop_heap(heap, &greater);
            heap.pop();
        }
    }
}

/// Reusable buffers for [`FastText::predict_with`].
#[derive(Debug, Default)]
pub struct PredictBuf {
    line: LineBuf,
    hidden: Vec<f32>,
    output: Vec<f32>,
    heap: Vec<(f32, i32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huffman_tree_shape() {
        let paths = hs_paths(&[5, 3, 2]);
        assert_eq!(paths.len(), 3);
        // The most frequent label has the shortest path.
        assert!(paths[0].len() <= paths[2].len());
    }

    #[test]
    fn fasttext_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<FastText>();
    }
}
