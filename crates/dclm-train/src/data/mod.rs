//! Token data: tokenizers (re-exported from `dclm-tokenizer`: HF `tokenizer.json`, tiktoken ranks), DCLM's tokenize + global
//! shuffle into open_lm token shards ([`tokenize_shuffle`]), the shard format ([`shards`]) and the training
//! reader ([`TokenSource`]).
//!
//! ```no_run
//! use dclm_train::data::{tokenize_shuffle, TokenSource, TokenizerSpec, TokshufConfig};
//! # fn main() -> Result<(), dclm_train::TrainError> {
//! let spec = TokenizerSpec::HfJson("shared/data/tokenizers/gpt-neox-20b.tokenizer.json".into());
//! let cfg = TokshufConfig::new(spec, "out/tokens");
//! let summary = tokenize_shuffle(&cfg, &["out/fasttext".into()])?;
//! println!("{} contexts in {} shards", summary.contexts, summary.shards);
//! let mut source = TokenSource::open("out/tokens")?.with_seed(124);
//! while let Some(batch) = source.next_batch(8)? {
//!     assert!(batch.iter().all(|seq| seq.len() == 2049));
//! }
//! # Ok(()) }
//! ```

mod rng;
pub mod shards;
mod source;
mod tokshuf;

pub use dclm_tokenizer::{ByteTokenizer, HfTokenizer, TiktokenBpe, Tokenizer, TokenizerSpec, GPT2_PATTERN};
pub use shards::{read_manifest, read_shard, write_shards, ManifestEntry};
pub use source::{SourcePosition, TokenSource};
pub use tokshuf::{
    expand_inputs, tokenize_shuffle, tokenize_shuffle_with, TokshufConfig, TokshufSummary, EOT_ID, OVERFLOW_REDUCTION,
    PAD_OFFSET,
};
