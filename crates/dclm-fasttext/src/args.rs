//! fastText's model hyper-parameters as stored in a model file header (`Args::save/load` in C++), and the
//! loss/model enumerations.

/// Loss (output head) of a model, with fastText's numeric codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Hierarchical softmax (`hs`, code 1).
    HierarchicalSoftmax,
    /// Negative sampling (`ns`, code 2).
    NegativeSampling,
    /// Softmax (`softmax`, code 3), fastText's default for supervised training.
    Softmax,
    /// One-vs-all (`ova`, code 4).
    OneVsAll,
}

impl Loss {
    pub(crate) fn from_code(code: i32) -> Option<Loss> {
        match code {
            1 => Some(Loss::HierarchicalSoftmax),
            2 => Some(Loss::NegativeSampling),
            3 => Some(Loss::Softmax),
            4 => Some(Loss::OneVsAll),
            _ => None,
        }
    }

    pub(crate) fn code(self) -> i32 {
        match self {
            Loss::HierarchicalSoftmax => 1,
            Loss::NegativeSampling => 2,
            Loss::Softmax => 3,
            Loss::OneVsAll => 4,
        }
    }

    /// fastText's name for the loss (`hs`, `ns`, `softmax`, `ova`).
    pub fn name(self) -> &'static str {
        match self {
            Loss::HierarchicalSoftmax => "hs",
            Loss::NegativeSampling => "ns",
            Loss::Softmax => "softmax",
            Loss::OneVsAll => "ova",
        }
    }

    /// Parses fastText's loss name.
    pub fn from_name(name: &str) -> Option<Loss> {
        match name {
            "hs" => Some(Loss::HierarchicalSoftmax),
            "ns" => Some(Loss::NegativeSampling),
            "softmax" => Some(Loss::Softmax),
            "ova" => Some(Loss::OneVsAll),
            _ => None,
        }
    }
}

/// The hyper-parameters a fastText model file stores in its header, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelArgs {
    /// Vector dimension.
    pub dim: i32,
    /// Context window (unused by supervised models, stored anyway).
    pub ws: i32,
    /// Number of training epochs.
    pub epoch: i32,
    /// Minimal word count.
    pub min_count: i32,
    /// Number of negatives sampled (ns loss).
    pub neg: i32,
    /// Max length of word n-grams.
    pub word_ngrams: i32,
    /// Loss function.
    pub loss: Loss,
    /// Model kind code: 1 cbow, 2 skipgram, 3 supervised.
    pub model: i32,
    /// Number of hash buckets for word and character n-grams.
    pub bucket: i32,
    /// Min length of character n-grams (0 = none).
    pub minn: i32,
    /// Max length of character n-grams (0 = none).
    pub maxn: i32,
    /// Learning-rate update interval in tokens.
    pub lr_update_rate: i32,
    /// Sampling threshold.
    pub t: f64,
}

/// fastText's code for a supervised model.
pub(crate) const MODEL_SUP: i32 = 3;

impl ModelArgs {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        for v in [
            self.dim,
            self.ws,
            self.epoch,
            self.min_count,
            self.neg,
            self.word_ngrams,
            self.loss.code(),
            self.model,
            self.bucket,
            self.minn,
            self.maxn,
            self.lr_update_rate,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.t.to_le_bytes());
    }
}
