//! Supervised training with fastText 0.9.2's semantics: dictionary built in file order and sorted with
//! libstdc++'s `std::sort`, input matrix initialised in 10 `minstd_rand` blocks, SGD with linearly decaying
//! learning rate over `epoch × ntokens` tokens, softmax / hs / ns / ova losses, and Hogwild threads that each
//! start at `thread_id × size / threads` in the input file. With `thread = 1` the weights are bit-identical
//! to official fastText's for the same data and arguments.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use crate::args::{Loss, ModelArgs, MODEL_SUP};
use crate::dictionary::{build_from_stream, ByteStream, DictParams, Dictionary, LineBuf};
use crate::matrix::{DenseMatrix, Matrix};
use crate::model::{hs_paths, sigmoid_lookup, softmax_in_place, FastText, MAGIC, VERSION};
use crate::stdalgo::MinstdRand;
use crate::FastTextError;

/// Arguments of [`train_supervised`], with the defaults of the Python binding's `train_supervised`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainArgs {
    /// Learning rate (0.1).
    pub lr: f64,
    /// Vector dimension (100).
    pub dim: i32,
    /// Context window, stored only (5).
    pub ws: i32,
    /// Epochs (5).
    pub epoch: i32,
    /// Minimal word count (1).
    pub min_count: i32,
    /// Minimal label count (0).
    pub min_count_label: i32,
    /// Min character n-gram length (0).
    pub minn: i32,
    /// Max character n-gram length (0).
    pub maxn: i32,
    /// Negatives sampled for `ns` (5).
    pub neg: i32,
    /// Max word n-gram length (1; DCLM uses 2).
    pub word_ngrams: i32,
    /// Loss (softmax).
    pub loss: Loss,
    /// Hash buckets (2,000,000). As in the Python binding, forced to 0 when `word_ngrams <= 1` and `maxn == 0`.
    pub bucket: i32,
    /// Hogwild threads (the binding's default: CPU count − 1, at least 1). Use 1 for reproducible models.
    pub thread: usize,
    /// Tokens between learning-rate updates (100).
    pub lr_update_rate: i32,
    /// Sampling threshold, stored only (1e-4).
    pub t: f64,
    /// Seed (0).
    pub seed: i32,
}

impl Default for TrainArgs {
    fn default() -> Self {
        TrainArgs {
            lr: 0.1,
            dim: 100,
            ws: 5,
            epoch: 5,
            min_count: 1,
            min_count_label: 0,
            minn: 0,
            maxn: 0,
            neg: 5,
            word_ngrams: 1,
            loss: Loss::Softmax,
            bucket: 2_000_000,
            thread: std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)),
            lr_update_rate: 100,
            t: 1e-4,
            seed: 0,
        }
    }
}

/// A weight cell: `Cell<f32>` for one thread (plain loads and stores), `AtomicU32` for Hogwild threads
/// (relaxed loads and stores of the f32 bits: the same unsynchronised updates as C++, without undefined
/// behaviour).
trait Slot {
    fn get(&self) -> f32;
    fn set(&self, v: f32);
}

impl Slot for Cell<f32> {
    #[inline(always)]
    fn get(&self) -> f32 {
        Cell::get(self)
    }
    #[inline(always)]
    fn set(&self, v: f32) {
        Cell::set(self, v)
    }
}

impl Slot for AtomicU32 {
    #[inline(always)]
    fn get(&self) -> f32 {
        f32::from_bits(self.load(Ordering::Relaxed))
    }
    #[inline(always)]
    fn set(&self, v: f32) {
        self.store(v.to_bits(), Ordering::Relaxed)
    }
}

struct Mat<'a, S> {
    data: &'a [S],
    cols: usize,
}

impl<S: Slot> Mat<'_, S> {
    #[inline]
    fn row(&self, i: usize) -> &[S] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    #[inline]
    fn dot_row(&self, v: &[f32], i: usize) -> f32 {
        let mut d = 0.0f32;
        for (a, b) in self.row(i).iter().zip(v) {
            d += a.get() * *b;
        }
        d
    }

    /// `x += a * row(i)`.
    #[inline]
    fn add_row_scaled(&self, x: &mut [f32], i: usize, a: f32) {
        for (x, r) in x.iter_mut().zip(self.row(i)) {
            *x += a * r.get();
        }
    }

    /// `row(i) += a * v`.
    #[inline]
    fn add_vector_to_row(&self, v: &[f32], i: usize, a: f32) {
        for (r, x) in self.row(i).iter().zip(v) {
            r.set(r.get() + a * *x);
        }
    }
}

/// What a loss needs besides the matrices.
enum LossState {
    Softmax,
    Hs(Vec<Vec<(i32, bool)>>),
    Ns { negatives: Vec<i32>, neg: i32 },
    Ova,
}

struct Shared<'a> {
    args: &'a TrainArgs,
    dict: &'a Dictionary,
    data: &'a [u8],
    loss: &'a LossState,
    sigmoid: Vec<f32>,
    log: Vec<f32>,
    token_count: AtomicI64,
    nan: AtomicBool,
}

fn log_table() -> Vec<f32> {
    (0..=512)
        .map(|i| {
            let x = (i as f32 + 1e-5) / 512.0;
            f64::from(x).ln() as f32
        })
        .collect()
}

fn sigmoid_table() -> Vec<f32> {
    (0..=512)
        .map(|i| {
            let x = (i as f32 * 2.0 * 8.0) / 512.0 - 8.0;
            (1.0 / (1.0 + f64::from((-x).exp()))) as f32
        })
        .collect()
}

impl Shared<'_> {
    fn table_log(&self, x: f32) -> f32 {
        if x > 1.0 {
            return 0.0;
        }
        let i = (x * 512.0) as i64;
        self.log[i.clamp(0, 512) as usize]
    }

    /// `binaryLogistic` with backprop; returns the loss.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn binary_logistic<S: Slot>(
        &self,
        wo: &Mat<'_, S>,
        target: usize,
        hidden: &[f32],
        grad: &mut [f32],
        positive: bool,
        lr: f32,
    ) -> Result<f32, ()> {
        let d = wo.dot_row(hidden, target);
        if d.is_nan() {
            return Err(());
        }
        let score = sigmoid_lookup(&self.sigmoid, d);
        let alpha = lr * (if positive { 1.0 } else { 0.0 } - score);
        wo.add_row_scaled(grad, target, alpha);
        wo.add_vector_to_row(hidden, target, alpha);
        Ok(if positive {
            -self.table_log(score)
        } else {
            -self.table_log((1.0 - f64::from(score)) as f32)
        })
    }

    /// One `trainThread`.
    fn train_thread<S: Slot>(&self, thread_id: usize, wi: &Mat<'_, S>, wo: &Mat<'_, S>) -> f64 {
        let args = self.args;
        let nthreads = args.thread.max(1);
        let start = (thread_id as u128 * self.data.len() as u128 / nthreads as u128) as usize;
        let mut stream = ByteStream::new(self.data, start);
        let mut rng = MinstdRand::new((thread_id as i64 + i64::from(args.seed)) as u64);
        let ntokens = self.dict.ntokens();
        let total = i64::from(args.epoch) * ntokens;
        let dim = args.dim as usize;
        let osz = self.dict.nlabels() as usize;
        let mut line = LineBuf::default();
        let mut hidden = vec![0.0f32; dim];
        let mut grad = vec![0.0f32; dim];
        let mut output = vec![0.0f32; osz];
        let mut local: i64 = 0;
        let (mut loss_sum, mut nexamples) = (0.0f64, 0u64);
        while self.token_count.load(Ordering::Relaxed) < total && !self.nan.load(Ordering::Relaxed) {
            let progress = self.token_count.load(Ordering::Relaxed) as f32 / total as f32;
            let lr = (args.lr * (1.0 - f64::from(progress))) as f32;
            local += self.dict.stream_line(&mut stream, &mut line);
            if !line.labels.is_empty() && !line.words.is_empty() {
                let target_index = if args.loss == Loss::OneVsAll {
                    None
                } else {
                    Some(rng.uniform_int(0, line.labels.len() as i64 - 1) as usize)
                };
                match self.update(
                    wi,
                    wo,
                    &line,
                    target_index,
                    lr,
                    &mut hidden,
                    &mut grad,
                    &mut output,
                    &mut rng,
                ) {
                    Ok(l) => {
                        loss_sum += f64::from(l);
                        nexamples += 1;
                    }
                    Err(()) => {
                        self.nan.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
            if local > i64::from(args.lr_update_rate) {
                self.token_count.fetch_add(local, Ordering::Relaxed);
                local = 0;
            }
        }
        if nexamples == 0 {
            0.0
        } else {
            loss_sum / nexamples as f64
        }
    }

    /// `Model::update` (normalised gradient, as for supervised models).
    #[allow(clippy::too_many_arguments)]
    fn update<S: Slot>(
        &self,
        wi: &Mat<'_, S>,
        wo: &Mat<'_, S>,
        line: &LineBuf,
        target_index: Option<usize>,
        lr: f32,
        hidden: &mut [f32],
        grad: &mut [f32],
        output: &mut [f32],
        rng: &mut MinstdRand,
    ) -> Result<f32, ()> {
        let input = &line.words;
        hidden.iter_mut().for_each(|h| *h = 0.0);
        for &w in input {
            for (h, r) in hidden.iter_mut().zip(wi.row(w as usize)) {
                *h += r.get();
            }
        }
        let inv = (1.0f64 / input.len() as f64) as f32;
        hidden.iter_mut().for_each(|h| *h *= inv);
        grad.iter_mut().for_each(|g| *g = 0.0);
        let targets = &line.labels;
        let loss = match self.loss {
            LossState::Softmax => {
                let target = targets[target_index.unwrap_or(0)] as usize;
                for (i, o) in output.iter_mut().enumerate() {
                    *o = wo.dot_row(hidden, i);
                    if o.is_nan() {
                        return Err(());
                    }
                }
                softmax_in_place(output);
                for (i, &o) in output.iter().enumerate() {
                    let label = if i == target { 1.0f32 } else { 0.0 };
                    let alpha = lr * (label - o);
                    wo.add_row_scaled(grad, i, alpha);
                    wo.add_vector_to_row(hidden, i, alpha);
                }
                -self.table_log(output[target])
            }
            LossState::Hs(paths) => {
                let target = targets[target_index.unwrap_or(0)] as usize;
                let mut l = 0.0f32;
                for &(node, code) in &paths[target] {
                    l += self.binary_logistic(wo, node as usize, hidden, grad, code, lr)?;
                }
                l
            }
            LossState::Ns { negatives, neg } => {
                let target = targets[target_index.unwrap_or(0)];
                let mut l = self.binary_logistic(wo, target as usize, hidden, grad, true, lr)?;
                for _ in 0..*neg {
                    let negative = loop {
                        let n = negatives[rng.uniform_int(0, negatives.len() as i64 - 1) as usize];
                        if n != target {
                            break n;
                        }
                    };
                    l += self.binary_logistic(wo, negative as usize, hidden, grad, false, lr)?;
                }
                l
            }
            LossState::Ova => {
                let mut l = 0.0f32;
                for i in 0..output.len() {
                    let is_match = targets.contains(&(i as i32));
                    l += self.binary_logistic(wo, i, hidden, grad, is_match, lr)?;
                }
                l
            }
        };
        let inv = (1.0f64 / input.len() as f64) as f32;
        grad.iter_mut().for_each(|g| *g *= inv);
        for &w in input {
            wi.add_vector_to_row(grad, w as usize, 1.0);
        }
        Ok(loss)
    }
}

/// `NegativeSamplingLoss`'s table of 10^7 label ids, proportional to √count.
fn negatives_table(counts: &[i64]) -> Vec<i32> {
    const NEGATIVE_TABLE_SIZE: f32 = 10_000_000.0;
    let mut z = 0.0f32;
    for &c in counts {
        z = (f64::from(z) + (c as f64).powf(0.5)) as f32;
    }
    let mut out = Vec::new();
    for (i, &c) in counts.iter().enumerate() {
        let c = (c as f64).powf(0.5) as f32;
        let n = c * NEGATIVE_TABLE_SIZE / z;
        let mut j = 0usize;
        while (j as f32) < n {
            out.push(i as i32);
            j += 1;
        }
    }
    out
}

/// fastText's input-matrix initialisation: `thread` blocks of a tenth of the elements each, block `b` drawn
/// from `uniform(-a, a)` with `minstd_rand(b + seed)`; the rest stays 0.
fn init_input(rows: usize, cols: usize, dim: i32, thread: usize, seed: i32) -> Vec<f32> {
    let a = (1.0f64 / f64::from(dim)) as f32;
    let total = rows * cols;
    let mut data = vec![0.0f32; total];
    let block_size = total / 10;
    for block in 0..thread.max(1) {
        let mut rng = MinstdRand::new((block as i64 + i64::from(seed)) as u64);
        let start = block_size * block;
        let end = total.min(block_size * (block + 1));
        for x in data.iter_mut().take(end).skip(start) {
            *x = rng.uniform_real(-f64::from(a), f64::from(a)) as f32;
        }
    }
    data
}

/// The outcome of [`train_supervised`].
#[derive(Debug)]
pub struct Trained {
    /// The model, ready to predict or save.
    pub model: FastText,
    /// Average training loss of thread 0 (as fastText prints it).
    pub loss: f64,
    /// Wall-clock seconds spent in SGD.
    pub seconds: f64,
}

/// Trains a supervised classifier on a fastText-format file (`__label__x word word …` per line), like the
/// Python binding's `fasttext.train_supervised(input=…, …)`.
pub fn train_supervised(input: &Path, args: &TrainArgs) -> Result<Trained, FastTextError> {
    let file = std::fs::File::open(input).map_err(|e| FastTextError::io(input, e))?;
    let len = file.metadata().map_err(|e| FastTextError::io(input, e))?.len();
    if len == 0 {
        return Err(FastTextError::BadInput {
            path: input.to_path_buf(),
            line: 0,
            message: "empty training file".into(),
        });
    }
    // SAFETY: read-only map of the training file, which must not change during training.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| FastTextError::io(input, e))?;
    train_on_bytes(&map, input, args)
}

fn check_args(a: &TrainArgs) -> Result<(), FastTextError> {
    let bad = |m: String| Err(FastTextError::Config(m));
    if a.dim <= 0 {
        return bad(format!("dim must be positive, got {}", a.dim));
    }
    if a.epoch <= 0 {
        return bad(format!("epoch must be positive, got {}", a.epoch));
    }
    if !(a.lr > 0.0 && a.lr.is_finite()) {
        return bad(format!("lr must be positive, got {}", a.lr));
    }
    if a.bucket < 0 || a.word_ngrams < 1 || a.lr_update_rate < 0 || a.neg < 0 {
        return bad(format!(
            "bucket {} / wordNgrams {} / lrUpdateRate {} / neg {} out of range",
            a.bucket, a.word_ngrams, a.lr_update_rate, a.neg
        ));
    }
    if a.maxn > 0 && (a.minn <= 0 || a.minn > a.maxn) {
        return bad(format!(
            "need 0 < minn <= maxn for character n-grams, got minn {} maxn {}",
            a.minn, a.maxn
        ));
    }
    Ok(())
}

/// [`train_supervised`] on training data in memory; `name` is used in messages and as the model's path.
pub fn train_on_bytes(data: &[u8], name: &Path, args: &TrainArgs) -> Result<Trained, FastTextError> {
    check_args(args)?;
    let mut args = args.clone();
    args.thread = args.thread.max(1);
    if args.word_ngrams <= 1 && args.maxn == 0 {
        args.bucket = 0;
    }
    let params = DictParams {
        word_ngrams: args.word_ngrams,
        bucket: args.bucket,
        minn: args.minn,
        maxn: args.maxn,
    };
    let dict =
        build_from_stream(data, i64::from(args.min_count), i64::from(args.min_count_label), params).map_err(|m| {
            FastTextError::BadInput {
                path: name.to_path_buf(),
                line: 0,
                message: m,
            }
        })?;
    if dict.nlabels() == 0 {
        return Err(FastTextError::BadInput {
            path: name.to_path_buf(),
            line: 0,
            message: "no labels found: lines must start with `__label__…`".into(),
        });
    }
    let dim = args.dim as usize;
    let rows = dict.nwords() as usize + args.bucket as usize;
    let mut wi = init_input(rows, dim, args.dim, args.thread, args.seed);
    let osz = dict.nlabels() as usize;
    let mut wo = vec![0.0f32; osz * dim];
    let loss = match args.loss {
        Loss::Softmax => LossState::Softmax,
        Loss::HierarchicalSoftmax => LossState::Hs(hs_paths(&dict.label_counts())),
        Loss::NegativeSampling => LossState::Ns {
            negatives: negatives_table(&dict.label_counts()),
            neg: args.neg,
        },
        Loss::OneVsAll => LossState::Ova,
    };
    let shared = Shared {
        args: &args,
        dict: &dict,
        data,
        loss: &loss,
        sigmoid: sigmoid_table(),
        log: log_table(),
        token_count: AtomicI64::new(0),
        nan: AtomicBool::new(false),
    };
    let t0 = std::time::Instant::now();
    let avg_loss = if args.thread == 1 {
        let wi_c = Cell::from_mut(&mut wi[..]).as_slice_of_cells();
        let wo_c = Cell::from_mut(&mut wo[..]).as_slice_of_cells();
        shared.train_thread(0, &Mat { data: wi_c, cols: dim }, &Mat { data: wo_c, cols: dim })
    } else {
        const _: () = assert!(std::mem::align_of::<AtomicU32>() == std::mem::align_of::<f32>());
        const _: () = assert!(std::mem::size_of::<AtomicU32>() == std::mem::size_of::<f32>());
        // SAFETY: AtomicU32 has the size and alignment of f32 (checked above) and any bit pattern is valid for
        // both; the exclusive borrows of `wi`/`wo` last for the whole scope, so all access goes through atomics.
        let wi_a: &[AtomicU32] = unsafe { std::slice::from_raw_parts(wi.as_mut_ptr().cast::<AtomicU32>(), wi.len()) };
        let wo_a: &[AtomicU32] = unsafe { std::slice::from_raw_parts(wo.as_mut_ptr().cast::<AtomicU32>(), wo.len()) };
        let wim = Mat { data: wi_a, cols: dim };
        let wom = Mat { data: wo_a, cols: dim };
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..args.thread)
                .map(|t| {
                    let (shared, wim, wom) = (&shared, &wim, &wom);
                    s.spawn(move || shared.train_thread(t, wim, wom))
                })
                .collect();
            let mut first = 0.0;
            for (i, h) in handles.into_iter().enumerate() {
                let l = h.join().unwrap_or(f64::NAN);
                if i == 0 {
                    first = l;
                }
            }
            first
        })
    };
    let seconds = t0.elapsed().as_secs_f64();
    if shared.nan.load(Ordering::Relaxed) {
        return Err(FastTextError::NaN);
    }
    let margs = ModelArgs {
        dim: args.dim,
        ws: args.ws,
        epoch: args.epoch,
        min_count: args.min_count,
        neg: args.neg,
        word_ngrams: args.word_ngrams,
        loss: args.loss,
        model: MODEL_SUP,
        bucket: args.bucket,
        minn: args.minn,
        maxn: args.maxn,
        lr_update_rate: args.lr_update_rate,
        t: args.t,
    };
    let model = FastText::assemble(
        margs,
        dict,
        Matrix::Dense(DenseMatrix::owned(rows, dim, wi)),
        Matrix::Dense(DenseMatrix::owned(osz, dim, wo)),
        false,
        false,
        name,
    );
    Ok(Trained {
        model,
        loss: avg_loss,
        seconds,
    })
}

impl FastText {
    /// Writes the model in fastText's `.bin` format (version 12), loadable by official fastText.
    /// Quantized models cannot be saved.
    pub fn write_to<W: std::io::Write>(&self, out: &mut W) -> Result<(), FastTextError> {
        let (Matrix::Dense(wi), Matrix::Dense(wo)) = (&self.input, &self.output) else {
            return Err(FastTextError::Config("saving quantized models is not supported".into()));
        };
        let mut head = Vec::new();
        head.extend_from_slice(&MAGIC.to_le_bytes());
        head.extend_from_slice(&VERSION.to_le_bytes());
        self.args.write(&mut head);
        self.dict.write(&mut head);
        head.push(0); // quant_input
        let io = |e| FastTextError::io(self.path(), e);
        out.write_all(&head).map_err(io)?;
        wi.write_to(out).map_err(io)?;
        out.write_all(&[0]).map_err(io)?; // qout
        wo.write_to(out).map_err(io)?;
        Ok(())
    }

    /// The `.bin` bytes of the model (see [`FastText::write_to`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, FastTextError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Writes the model as a `.bin` file, streaming (no in-memory copy), to a temporary name then renamed.
    pub fn save(&self, path: &Path) -> Result<(), FastTextError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| FastTextError::io(parent, e))?;
        }
        let tmp = dclm_core::io::tmp_path(path);
        let file = std::fs::File::create(&tmp).map_err(|e| FastTextError::io(&tmp, e))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        self.write_to(&mut w).map_err(|e| match e {
            FastTextError::Io { source, .. } => FastTextError::io(&tmp, source),
            other => other,
        })?;
        let file = w.into_inner().map_err(|e| FastTextError::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| FastTextError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| FastTextError::io(path, e))?;
        Ok(())
    }
}

/// Accuracy figures of a classifier on a labelled fastText-format file (C++ `FastText::test` with k = 1).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalReport {
    /// Lines with at least one label and one feature.
    pub examples: u64,
    /// Precision at 1 (= accuracy for one label per line).
    pub precision_at_1: f64,
    /// Per label: (label, precision, recall, true-label count).
    pub per_label: Vec<(String, f64, f64, u64)>,
}

/// Evaluates `model` on a fastText-format file: P@1 over lines with labels, per-label precision and recall.
pub fn evaluate(model: &FastText, file: &Path) -> Result<EvalReport, FastTextError> {
    let data = std::fs::read(file).map_err(|e| FastTextError::io(file, e))?;
    Ok(evaluate_bytes(model, &data))
}

/// [`evaluate`] on fastText-format lines in memory.
pub fn evaluate_bytes(model: &FastText, data: &[u8]) -> EvalReport {
    let nl = model.labels().len();
    let (mut tp, mut predicted, mut gold) = (vec![0u64; nl], vec![0u64; nl], vec![0u64; nl]);
    let mut examples = 0u64;
    let mut correct = 0u64;
    let mut buf = crate::model::PredictBuf::default();
    // One stream over the whole file, like C++ `test` (each line's `\n` yields its `</s>` token).
    let mut stream = ByteStream::new(data, 0);
    while !stream.at_end() {
        let Some((labels, pred)) = model.predict_labeled_line(&mut stream, &mut buf) else {
            continue;
        };
        examples += 1;
        for &l in &labels {
            gold[l] += 1;
        }
        if let Some(p) = pred {
            predicted[p] += 1;
            if labels.contains(&p) {
                correct += 1;
                tp[p] += 1;
            }
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
    EvalReport {
        examples,
        precision_at_1: ratio(correct, examples),
        per_label: (0..nl)
            .map(|i| {
                (
                    model.labels()[i].clone(),
                    ratio(tp[i], predicted[i]),
                    ratio(tp[i], gold[i]),
                    gold[i],
                )
            })
            .collect(),
    }
}

/// Trains DCLM's kind of classifier from JSONL positives (`__label__hq`) and negatives (`__label__cc`):
/// writes the fastText training file `<out>.train.txt` (DCLM's text preparation, shuffled with `shuffle_seed`
/// unless `None`), trains with `args`, and saves the model to `out`.
pub fn train_classifier(
    positives: &[PathBuf],
    negatives: &[PathBuf],
    out: &Path,
    args: &TrainArgs,
    shuffle_seed: Option<u64>,
) -> Result<Trained, FastTextError> {
    let mut name = out.as_os_str().to_os_string();
    name.push(".train.txt");
    let txt = PathBuf::from(name);
    write_training_file(positives, negatives, &txt, shuffle_seed)?;
    let trained = train_supervised(&txt, args)?;
    trained.model.save(out)?;
    Ok(trained)
}

/// Evaluates a classifier on held-out JSONL positives and negatives (DCLM's text preparation).
pub fn evaluate_jsonl(
    model: &FastText,
    positives: &[PathBuf],
    negatives: &[PathBuf],
) -> Result<EvalReport, FastTextError> {
    let lines = labelled_lines(positives, negatives)?;
    Ok(evaluate_bytes(model, lines.concat().as_bytes()))
}

fn labelled_lines(positives: &[PathBuf], negatives: &[PathBuf]) -> Result<Vec<String>, FastTextError> {
    let mut lines = Vec::new();
    for (label, files) in [("__label__hq", positives), ("__label__cc", negatives)] {
        for f in files {
            let (docs, errors) = dclm_core::io::read_all(f)?;
            if let Some(e) = errors.first() {
                return Err(FastTextError::BadInput {
                    path: f.clone(),
                    line: 0,
                    message: format!("{} malformed lines, first: {e}", errors.len()),
                });
            }
            for d in docs {
                lines.push(format!("{label} {}\n", crate::quality::prepare_text(&d.text)));
            }
        }
    }
    Ok(lines)
}

/// Writes a fastText training file from JSONL shards of positives and negatives (field `text`), each line
/// `__label__hq <prepared text>` / `__label__cc <prepared text>` with DCLM's preparation. Lines are shuffled
/// with a seeded Fisher–Yates (`minstd_rand`) unless `seed` is `None`. Returns the number of lines written.
pub fn write_training_file(
    positives: &[PathBuf],
    negatives: &[PathBuf],
    out: &Path,
    seed: Option<u64>,
) -> Result<usize, FastTextError> {
    let mut lines = labelled_lines(positives, negatives)?;
    if let Some(seed) = seed {
        let mut rng = MinstdRand::new(seed);
        for i in (1..lines.len()).rev() {
            let j = rng.uniform_int(0, i as i64) as usize;
            lines.swap(i, j);
        }
    }
    dclm_core::io::write_atomic(out, lines.concat().as_bytes())?;
    Ok(lines.len())
}
