//! Re-renders `report.html` from a `report.json` (e.g. after editing notes, or to view a report made elsewhere):
//! `cargo run -p dclm-report --example render_report -- path/to/report.json [out.html]`.

use dclm_report::{render_html, Report};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = PathBuf::from(args.next().ok_or("usage: render_report REPORT.json [OUT.html]")?);
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| input.with_file_name("report.html"));
    let report = Report::read(&input)?;
    let mismatches = report.funnel_mismatches();
    for m in &mismatches {
        eprintln!("warning: {m}");
    }
    std::fs::write(&out, render_html(&report))?;
    println!("wrote {}", out.display());
    Ok(())
}
