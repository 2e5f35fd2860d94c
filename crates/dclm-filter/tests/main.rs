//! Integration tests of dclm-filter, one binary: a module per concern.

mod common;
mod conformance;
mod lid;
mod other_configs;
mod page_model;
mod parquet;
mod props;
mod run;
