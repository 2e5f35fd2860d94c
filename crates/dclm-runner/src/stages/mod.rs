//! One module per pipeline stage: its CLI arguments and the call into its crate.

pub mod convert;
pub mod dedup;
pub mod eval;
pub mod extract;
pub mod filter;
pub mod quality;
pub mod tokshuf;
pub mod train;
