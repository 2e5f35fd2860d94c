//! What `dclm bench` writes: the rows (`bench.json`), a self-contained HTML table with bars (`bench.html`, no
//! scripts) and the plain-text table it prints.

use super::BenchArgs;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Median and spread of a few rounds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Median (mean of the middle two for an even count).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// Of `v`; None when empty.
    pub fn of(v: &[f64]) -> Option<Spread> {
        if v.is_empty() {
            return None;
        }
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: s[0],
            max: s[n - 1],
        })
    }
}

/// One row: a tool on a stage at a thread count.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Stage (extract, filter, dedup, minhash, quality, tokenize, train, eval).
    pub stage: String,
    /// Tool.
    pub tool: String,
    /// Its version.
    pub version: String,
    /// `ours`, `reference` or `recorded`.
    pub kind: String,
    /// Threads it was given.
    pub threads: usize,
    /// Cores it was pinned to.
    pub cpus: Vec<usize>,
    /// `measured`, `failed`, `reference not installed`, `reference script not found: …`, `input not found: …`,
    /// `recorded, not measured`.
    pub status: String,
    /// Input file.
    pub input: Option<String>,
    /// Its size in bytes.
    pub input_bytes: Option<u64>,
    /// What throughput counts: docs, tokens or examples.
    pub unit: String,
    /// How many of them one run processed, as the tool reports it.
    pub units: Option<f64>,
    /// Rounds measured.
    pub rounds: usize,
    /// Wall seconds of every round, in order.
    pub samples: Vec<f64>,
    /// Wall seconds of the whole child process (start-up included): median, min, max.
    pub seconds: Option<Spread>,
    /// `units` per second per core at the median.
    pub per_core: Option<f64>,
    /// Input MB (10^6 bytes) per second per core at the median.
    pub mb_per_s_per_core: Option<f64>,
    /// Peak resident memory of the child, MiB (largest over rounds).
    pub peak_rss_mib: Option<f64>,
    /// See `ratio_meaning`.
    pub ratio: Option<f64>,
    /// What `ratio` is for this row.
    pub ratio_meaning: String,
    /// The command line, pinning included.
    pub command: Option<String>,
    /// For a reference that is not installed: the command that installs it.
    pub install: Option<String>,
    /// The tool's own closing line (references print their inner timing).
    pub reported: Option<String>,
    /// What differs between the two sides, why a row failed, where a recorded figure comes from.
    pub note: String,
}

impl Row {
    /// A row with no measurement (yet): `status` says why.
    pub fn unmeasured(
        stage: &str,
        tool: &str,
        version: &str,
        kind: &str,
        threads: usize,
        status: &str,
        install: Option<(String, String)>,
    ) -> Row {
        let (install, note) = match install {
            Some((cmd, why)) => (Some(cmd), format!("interpreters tried: {why}")),
            None => (None, String::new()),
        };
        Row {
            stage: stage.into(),
            tool: tool.into(),
            version: version.into(),
            kind: kind.into(),
            threads,
            cpus: Vec::new(),
            status: status.into(),
            input: None,
            input_bytes: None,
            unit: String::new(),
            units: None,
            rounds: 0,
            samples: Vec::new(),
            seconds: None,
            per_core: None,
            mb_per_s_per_core: None,
            peak_rss_mib: None,
            ratio: None,
            ratio_meaning: String::new(),
            command: None,
            install,
            reported: None,
            note,
        }
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Bench {
    /// dclm-rs version.
    pub dclm_version: String,
    /// UTC start time, RFC 3339.
    pub started: String,
    /// UTC end time.
    pub finished: String,
    /// `dclm bench …` as run.
    pub command: String,
    /// CPU model and the cores this process may use.
    pub machine: String,
    /// `/proc/loadavg` before and after (other work on the machine skews every figure).
    pub load_before: String,
    /// See `load_before`.
    pub load_after: String,
    /// `--quick`.
    pub quick: bool,
    /// Rounds per stage.
    pub rounds: usize,
    /// Core of the one-thread rows.
    pub cpu: usize,
    /// Cores of the two-thread rows (none on a one-core machine).
    pub cpus_scaling: Option<Vec<usize>>,
    /// Shared data folder.
    pub shared: String,
    /// How rows are measured.
    pub method: String,
    /// The rows, stage by stage.
    pub rows: Vec<Row>,
}

fn now() -> String {
    let t: chrono::DateTime<chrono::Utc> = std::time::SystemTime::now().into();
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let n = super::measure::allowed_cpus().len();
    format!("{model}, {n} core(s) usable")
}

impl Bench {
    /// A report with no rows yet.
    pub fn new(a: &BenchArgs, shared: &Path, rounds: usize, one: &usize, two: Option<&[usize]>) -> Bench {
        Bench {
            dclm_version: env!("CARGO_PKG_VERSION").into(),
            started: now(),
            finished: String::new(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            machine: machine(),
            load_before: loadavg(),
            load_after: String::new(),
            quick: a.quick,
            rounds,
            cpu: *one,
            cpus_scaling: two.map(<[usize]>::to_vec),
            shared: shared.display().to_string(),
            method: "each row is a child process pinned with sched_setaffinity, timed from spawn to exit (start-up \
                     included on both sides); rounds alternate the commands of a stage, reversed on odd rounds; \
                     peak RSS from wait4; ratio = reference time / dclm 1-thread time of the same round, median"
                .into(),
            rows: Vec::new(),
        }
    }

    /// Stamp the end time and load.
    pub fn finish(&mut self) {
        self.finished = now();
        self.load_after = loadavg();
    }
}

fn fmt_num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn cells(r: &Row) -> [String; 8] {
    let secs = r.seconds.map_or_else(
        || "—".into(),
        |s| format!("{} ({}–{})", fmt_num(s.median), fmt_num(s.min), fmt_num(s.max)),
    );
    let thr = match (r.per_core, r.mb_per_s_per_core) {
        (Some(u), Some(m)) => format!("{} {}/s, {} MB/s", fmt_num(u), r.unit, fmt_num(m)),
        (Some(u), None) => format!("{} {}/s", fmt_num(u), r.unit),
        (None, Some(m)) => format!("{} MB/s", fmt_num(m)),
        (None, None) => "—".into(),
    };
    let rss = r.peak_rss_mib.map_or_else(|| "—".into(), |m| format!("{m:.0} MiB"));
    let ratio = r.ratio.map_or_else(
        || "—".into(),
        |x| {
            if r.kind == "ours" {
                format!("{x:.2}× scaling")
            } else {
                format!("{x:.2}×")
            }
        },
    );
    let mut status = r.status.clone();
    if let Some(i) = &r.install {
        let _ = write!(status, " — {i}");
    }
    [
        r.stage.clone(),
        format!("{} {}", r.tool, r.version).trim().to_string(),
        r.threads.to_string(),
        secs,
        thr,
        rss,
        ratio,
        status,
    ]
}

const HEADERS: [&str; 8] = [
    "stage",
    "tool",
    "threads",
    "seconds median (min–max)",
    "per core",
    "peak RSS",
    "ratio",
    "status",
];

/// One row as a line of text (printed while the bench runs).
pub fn table_line(r: &Row) -> String {
    cells(r).join(" | ")
}

/// The whole table as Markdown, with the run's header lines.
pub fn table(b: &Bench) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "dclm bench ({}; {} round(s); {}; load {} → {}; {} – {})",
        if b.quick { "--quick" } else { "full" },
        b.rounds,
        b.machine,
        b.load_before,
        b.load_after,
        b.started,
        b.finished
    );
    let _ = writeln!(s, "ratio: reference time / dclm 1-thread time (> 1: dclm faster); for dclm's 2-thread rows, the speed-up over 1 thread");
    let _ = writeln!(s, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(HEADERS.len()));
    for r in &b.rows {
        let _ = writeln!(s, "| {} |", cells(r).join(" | "));
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report as one HTML page: a table per run with a bar per row (per-core throughput, scaled to the
/// fastest row of its stage), and each row's command and notes.
pub fn html(b: &Bench) -> String {
    let mut h = String::new();
    h.push_str(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>dclm bench</title><style>\
         body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
         td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}\
         th{background:#f4f4f4}.bar{height:14px;display:inline-block;vertical-align:middle}\
         .ours{background:#2b7bb9}.reference{background:#e08a2c}.recorded{background:#bbb}\
         .stage td{border-top:2px solid #888}details{font-size:12px;color:#555}code{font-size:12px}\
         </style></head><body><h1>dclm bench</h1>",
    );
    let _ = write!(
        h,
        "<p>dclm-rs {} · {} · {} round(s){} · {} · load {} → {} · {} – {}</p><p>{}</p>\
         <p>Bars: per-core throughput, scaled to the fastest row of the stage. Ratio: reference time / dclm \
         one-thread time of the same round (&gt; 1: dclm faster); on dclm's two-thread rows, the speed-up over one \
         thread.</p><table><tr>",
        esc(&b.dclm_version),
        esc(&b.machine),
        b.rounds,
        if b.quick { " (--quick)" } else { "" },
        esc(&b.command),
        esc(&b.load_before),
        esc(&b.load_after),
        esc(&b.started),
        esc(&b.finished),
        esc(&b.method)
    );
    for hd in [
        "stage",
        "tool",
        "threads",
        "seconds median (min–max)",
        "per core",
        "",
        "peak RSS",
        "ratio",
        "status",
    ] {
        let _ = write!(h, "<th>{}</th>", esc(hd));
    }
    h.push_str("</tr>");
    let mut last_stage = String::new();
    for r in &b.rows {
        let best = b
            .rows
            .iter()
            .filter(|x| x.stage == r.stage)
            .filter_map(|x| x.per_core.or(x.mb_per_s_per_core.filter(|_| x.per_core.is_none())))
            .fold(0.0_f64, f64::max);
        let value = r.per_core.or(r.mb_per_s_per_core.filter(|_| r.per_core.is_none()));
        let bar = match value {
            Some(v) if best > 0.0 => format!(
                "<span class=\"bar {}\" style=\"width:{:.0}px\"></span>",
                esc(&r.kind),
                (v / best * 240.0).max(1.0)
            ),
            _ => String::new(),
        };
        let c = cells(r);
        let class = if r.stage != last_stage { " class=\"stage\"" } else { "" };
        last_stage.clone_from(&r.stage);
        let _ = write!(h, "<tr{class}>");
        for (i, cell) in c.iter().enumerate() {
            if i == 5 {
                let _ = write!(h, "<td>{bar}</td>");
            }
            if i == 1 {
                let mut details = String::new();
                if let Some(cmd) = &r.command {
                    let _ = write!(details, "<code>{}</code><br>", esc(cmd));
                }
                if let Some(rep) = &r.reported {
                    let _ = write!(details, "its own line: <code>{}</code><br>", esc(rep));
                }
                if !r.note.is_empty() {
                    let _ = write!(details, "{}", esc(&r.note));
                }
                if details.is_empty() {
                    let _ = write!(h, "<td>{}</td>", esc(cell));
                } else {
                    let _ = write!(
                        h,
                        "<td>{}<details><summary>details</summary>{details}</details></td>",
                        esc(cell)
                    );
                }
            } else {
                let _ = write!(h, "<td>{}</td>", esc(cell));
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></body></html>\n");
    h
}
