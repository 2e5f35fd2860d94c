//! Integration tests of dclm-report, one binary: a module per concern.

mod baseline_assets;
mod report;
