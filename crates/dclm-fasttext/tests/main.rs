//! Integration tests of dclm-fasttext, one binary: a module per concern.

mod bad_input;
mod conformance;
mod quality_run;
mod training;
