//! Integration tests of dclm-eval, one binary: a module per concern.

mod common;
mod conformance;
mod dclm_results;
mod evaluate;
mod gpqa;
mod tiny_model;
