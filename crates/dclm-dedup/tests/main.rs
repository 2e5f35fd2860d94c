//! Integration tests of dclm-dedup, one binary: a module per concern.

mod conformance;
mod properties;
mod run;
