//! Shared test support: the plain-Rust tiny open_lm reference model.
pub mod open_lm;
