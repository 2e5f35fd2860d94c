//! Integration tests of dclm-extract, one binary: a module per concern.

mod bad_input;
mod conformance;
mod extract_pages;
mod rules_oracle;
