//! dclm-fetch: the real inputs of a DCLM run in two commands — DCLM's assets (fastText LID, RefinedWeb banlists,
//! GPT-NeoX tokenizer, LLM-Foundry eval files, DCLM's fastText quality classifier, DCLM's configs, the
//! competition pool lists) with pinned URLs and sha256s, Common Crawl WARCs by crawl, by pool list or as a
//! seeded random sample, a competition pool's DCLM-Pool shards ([`pool`]), and datasets on the Hugging Face
//! Hub ([`hub`], `hf://datasets/<repo>[@revision]/<glob>`).
//!
//! Every download goes to `<dest>.part`, resumes with HTTP `Range` after an interruption (also across runs),
//! is retried with exponential backoff on 429/5xx and connection errors, is verified (sha256 and size for
//! assets; gzip integrity to the last member for WARCs) and only then renamed to its final name: a mismatch is
//! an error that leaves no file behind. Base URLs are configurable ([`assets::Mirrors`], [`cc::CcConfig::base_url`]),
//! so tests run against a loopback server.
//!
//! Hashes: assets with a copy in the project's shared data are pinned by sha256 in `data/assets.tsv`; the others
//! (e.g. `lid.176.bin`, the 2.4 GB quality classifier, the tokenizer from HF, the large eval files) are trusted on
//! first use: their hash is recorded in `dclm-fetch.lock.json` in the assets folder and checked from then on.
//!
//! ```no_run
//! use dclm_fetch::{assets, cc, http::DownloadConfig};
//! let mut cfg = assets::AssetsConfig::new("/data/dclm-assets");
//! cfg.only = vec!["banlists".into(), "lid".into()];
//! assets::fetch_assets(&cfg)?;
//! let sel = cc::WarcSelection::Sample { n: 2, seed: 0 };
//! let mut cc_cfg = cc::CcConfig::new(Some("CC-MAIN-2024-22".into()), sel, "/data/warcs");
//! cc_cfg.download = DownloadConfig { concurrency: 2, ..Default::default() };
//! cc::fetch_warcs(&cc_cfg)?;
//! # Ok::<(), dclm_fetch::FetchError>(())
//! ```
#![warn(missing_docs)]

pub mod assets;
pub mod cc;
pub mod error;
pub mod http;
pub mod hub;
pub mod pool;

pub use error::{FetchError, Result};
