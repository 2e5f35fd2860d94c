//! Shared test support: the plain-Rust tiny open_lm reference model.
pub(crate) mod open_lm;
