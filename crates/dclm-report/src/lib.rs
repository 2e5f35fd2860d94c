//! dclm-report: the run report of `cargo xtask baseline` (`report.json` + one self-contained `report.html`)
//! and the embedded default corpus (a WARC written for this project, see [`corpus`]).
//!
//! The report holds the funnel (documents and tokens after each stage), drops per step and reason with up to
//! three example documents each, score histograms (dedup containment, classifier probability), the training
//! loss curve, the eval table with CORE, which stages were DCLM-faithful and which used a stand-in (and why),
//! and timings. [`render_html`] draws it as one HTML file with inline CSS and inline SVG charts: no scripts,
//! no external URLs, so it opens offline. [`scan`] reads stage outputs (counts, score fields, dropped examples)
//! and [`embedded`] holds the default data of the baseline run (corpus, classifier positives, eval tasks).
//!
//! ```
//! use dclm_report::{render_html, FunnelStage, Report};
//! let mut report = Report::new("demo run", "embedded-default");
//! report.funnel.push(FunnelStage { stage: "extract".into(), docs_in: 10, docs_out: 8, ..Default::default() });
//! report.funnel.push(FunnelStage { stage: "heuristics".into(), docs_in: 8, docs_out: 5, ..Default::default() });
//! assert!(report.funnel_mismatches().is_empty());
//! let html = render_html(&report);
//! assert!(html.contains("<svg"));
//! ```
//!
//! Sibling crates: `dclm-core` (shared types), `dclm-extract`, `dclm-filter`, `dclm-dedup`, `dclm-fasttext`,
//! `dclm-train`, `dclm-eval`; only `dclm-runner` and `tests/` combine them with this one.
#![warn(missing_docs)]

pub mod corpus;
pub mod embedded;
mod error;
mod html;
mod model;
pub mod scan;
mod svg;

pub use error::ReportError;
pub use html::render_html;
pub use model::{
    snippet, DropExample, DropReason, EvalRow, EvalTable, ExampleCollector, FunnelStage, Histogram, LossCurve,
    LossPoint, Report, StageFidelity, StepReport, Timing, MAX_DROP_EXAMPLES, SCHEMA_VERSION, SNIPPET_CHARS,
};
