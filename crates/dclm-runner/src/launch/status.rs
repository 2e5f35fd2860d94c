//! `dclm launch status`: progress of a launched run, from what the tasks leave on shared storage —
//! the shards' `_done/` markers (with their per-shard stats), the dedup signature files and drop set, and
//! the task records a launcher writes under `<jobs-dir>/tasks/<phase>/<rank>.json`.
//!
//! A phase is complete when every input shard has its marker (dedup-map: its signature file; dedup-reduce:
//! the drop set). Documents in/out are the sums of the markers' stats, so a half-done phase counts exactly
//! the shards that are finished.

use super::plan::{Phase, Plan};
use crate::common::expand_inputs;
use anyhow::{bail, Context, Result};
use clap::Args;
use dclm_core::executor::{common_parent, strip_shard_extension, DONE_DIR};
use dclm_core::Stats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Arguments of `launch status`.
#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    /// Root output folder of the run: every `<out>/_launch/**/plan.json` is read.
    #[arg(long, short = 'o', required_unless_present = "plan")]
    pub out: Option<PathBuf>,
    /// Read this plan.json (its folder holds the task records) instead of searching `<out>/_launch/`.
    #[arg(long)]
    pub plan: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What one task recorded (written by the launcher's task wrapper).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TaskRecord {
    /// Phase name.
    pub phase: String,
    /// Rank (array index).
    pub rank: usize,
    /// `running`, `ok` or `failed`.
    pub state: String,
    /// Attempts so far (retries + 1).
    pub attempts: u32,
    /// Exit status of the last attempt (`None` while running).
    pub rc: Option<i32>,
    /// Cluster job id of the task.
    #[serde(default)]
    pub job: String,
    /// Host it ran on.
    #[serde(default)]
    pub host: String,
    /// When it was recorded (UTC).
    #[serde(default)]
    pub time: String,
}

/// Progress of one phase.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PhaseStatus {
    /// Phase name.
    pub name: String,
    /// Tasks of the phase.
    pub tasks: usize,
    /// Input shards of the phase (`None` while its inputs do not exist yet).
    pub shards_total: Option<usize>,
    /// Input shards finished (marker / signature file present).
    pub shards_done: usize,
    /// Every input shard finished (dedup-reduce: the drop set is written).
    pub complete: bool,
    /// Tasks that recorded success.
    pub tasks_ok: usize,
    /// Tasks that are running (or were killed from outside without a final record).
    pub tasks_running: usize,
    /// Tasks that gave up after their retries.
    pub tasks_failed: usize,
    /// Tasks that needed more than one attempt.
    pub tasks_retried: usize,
    /// Documents read by the finished shards (phases that write markers).
    pub docs_in: Option<u64>,
    /// Documents written by the finished shards.
    pub docs_out: Option<u64>,
    /// Input records that could not be read, in the finished shards.
    pub input_errors: u64,
    /// Records of the failed tasks.
    pub failures: Vec<TaskRecord>,
}

/// Progress of one plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStatus {
    /// The plan.json read.
    pub plan: String,
    /// Root output folder.
    pub out: String,
    /// One entry per phase, in plan order.
    pub phases: Vec<PhaseStatus>,
}

impl PlanStatus {
    /// Whether any phase has failed tasks.
    pub fn has_failures(&self) -> bool {
        self.phases.iter().any(|p| p.tasks_failed > 0)
    }
}

/// The `--input` values of a phase's runner arguments.
pub fn phase_inputs(phase: &Phase) -> Vec<String> {
    let Some(i) = phase.args.iter().position(|a| a == "--input") else {
        return Vec::new();
    };
    phase.args[i + 1..]
        .iter()
        .take_while(|a| !a.starts_with("--"))
        .cloned()
        .collect()
}

/// A shard's identity across stages: its path relative to the root without data/compression extensions
/// (`sub/x.warc.gz` and `sub/x.jsonl.gz` are the same shard).
fn shard_key(rel: &Path) -> String {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let stem = strip_shard_extension(name);
    match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => format!("{}/{stem}", parent.to_string_lossy()),
        None => stem.to_string(),
    }
}

/// Files under `dir` whose names end with `suffix`, as (shard key, path).
fn keyed_files(dir: &Path, suffix: &str) -> Result<Vec<(String, PathBuf)>> {
    fn walk(root: &Path, dir: &Path, suffix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("reading folder {}", dir.display())),
        };
        for e in rd {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, suffix, out)?;
            } else if let Some(rel) = p
                .strip_prefix(root)
                .ok()
                .and_then(|r| r.to_str())
                .and_then(|r| r.strip_suffix(suffix))
            {
                if !rel.ends_with(".tmp") {
                    out.push((shard_key(Path::new(rel)), p.clone()));
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, suffix, &mut out)?;
    out.sort();
    Ok(out)
}

fn task_records(jobs_dir: &Path, phase: &str) -> Result<Vec<TaskRecord>> {
    let dir = jobs_dir.join("tasks").join(phase);
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading folder {}", dir.display())),
    };
    for e in rd {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "json") {
            let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            out.push(serde_json::from_slice(&bytes).with_context(|| format!("parsing task record {}", p.display()))?);
        }
    }
    out.sort_by_key(|r: &TaskRecord| r.rank);
    Ok(out)
}

/// Progress of one phase; `jobs_dir` holds the task records.
pub fn phase_status(phase: &Phase, jobs_dir: &Path) -> Result<PhaseStatus> {
    if phase.output.contains("://") {
        bail!(
            "phase {}: status reads shared-filesystem outputs; {} is an object-store URL",
            phase.name,
            phase.output
        );
    }
    let output = Path::new(&phase.output);
    let inputs = phase_inputs(phase);
    let shards: Option<Vec<PathBuf>> = if inputs.iter().any(|i| i.contains("://")) {
        None
    } else {
        expand_inputs(&inputs).ok()
    };
    let input_keys: Option<BTreeSet<String>> = shards.as_ref().map(|s| {
        let root = common_parent(s);
        s.iter()
            .map(|p| shard_key(p.strip_prefix(&root).unwrap_or(p)))
            .collect()
    });
    let (done_files, with_stats) = match phase.name.as_str() {
        "dedup-map" => (keyed_files(&output.join("_signatures"), ".sig")?, false),
        "dedup-reduce" => (Vec::new(), false),
        _ => (keyed_files(&output.join(DONE_DIR), ".json")?, true),
    };
    let (shards_done, complete) = if phase.name == "dedup-reduce" {
        let done = output.join("_signatures").join("drops.json").is_file();
        (
            if done {
                input_keys.as_ref().map_or(0, |k| k.len())
            } else {
                0
            },
            done,
        )
    } else {
        match &input_keys {
            Some(keys) => {
                let done = done_files.iter().filter(|(k, _)| keys.contains(k)).count();
                (done, done == keys.len() && !keys.is_empty())
            }
            None => (0, false),
        }
    };
    let (mut docs_in, mut docs_out, mut input_errors) = (None, None, 0);
    if with_stats {
        let mut merged = Stats::default();
        for (key, path) in &done_files {
            if input_keys.as_ref().is_some_and(|k| !k.contains(key)) {
                continue;
            }
            let bytes = std::fs::read(path).with_context(|| format!("reading marker {}", path.display()))?;
            let s: Stats =
                serde_json::from_slice(&bytes).with_context(|| format!("parsing marker {}", path.display()))?;
            merged.merge(&s);
        }
        docs_in = Some(merged.docs_in);
        docs_out = Some(merged.docs_out);
        input_errors = merged.error_count();
    }
    let records = task_records(jobs_dir, &phase.name)?;
    let count = |state: &str| records.iter().filter(|r| r.state == state).count();
    Ok(PhaseStatus {
        name: phase.name.clone(),
        tasks: phase.tasks,
        shards_total: input_keys.map(|k| k.len()),
        shards_done,
        complete,
        tasks_ok: count("ok"),
        tasks_running: count("running"),
        tasks_failed: count("failed"),
        tasks_retried: records.iter().filter(|r| r.attempts > 1).count(),
        docs_in,
        docs_out,
        input_errors,
        failures: records.into_iter().filter(|r| r.state == "failed").collect(),
    })
}

/// Progress of the plan at `plan_json` (task records in its folder).
pub fn plan_status(plan_json: &Path) -> Result<PlanStatus> {
    let plan = Plan::load(plan_json)?;
    let jobs_dir = plan_json.parent().unwrap_or(Path::new("."));
    Ok(PlanStatus {
        plan: plan_json.to_string_lossy().into_owned(),
        out: plan.out.clone(),
        phases: plan
            .phases
            .iter()
            .map(|p| phase_status(p, jobs_dir))
            .collect::<Result<_>>()?,
    })
}

/// Every `plan.json` under `<out>/_launch/`.
pub fn find_plans(out: &Path) -> Result<Vec<PathBuf>> {
    let files = keyed_files(&out.join("_launch"), "plan.json")?;
    let plans: Vec<PathBuf> = files
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| p.file_name().is_some_and(|n| n == "plan.json"))
        .collect();
    if plans.is_empty() {
        bail!(
            "no plan.json under {}: launch the run first (or pass --plan)",
            out.join("_launch").display()
        );
    }
    Ok(plans)
}

fn opt(v: Option<impl std::fmt::Display>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The status as a table.
pub fn render(s: &PlanStatus) -> String {
    let mut t = format!("plan {} (out {})\n", s.plan, s.out);
    t.push_str(&format!(
        "{:<14} {:>9} {:>13} {:>9} {:>10} {:>10} {:>8}  state\n",
        "phase", "tasks ok", "shards done", "retried", "docs in", "docs out", "failed"
    ));
    for p in &s.phases {
        let state = if p.tasks_failed > 0 {
            "FAILED"
        } else if p.complete {
            "complete"
        } else if p.tasks_running > 0 || p.shards_done > 0 {
            "running"
        } else {
            "pending"
        };
        t.push_str(&format!(
            "{:<14} {:>9} {:>13} {:>9} {:>10} {:>10} {:>8}  {state}\n",
            p.name,
            format!("{}/{}", p.tasks_ok, p.tasks),
            format!("{}/{}", p.shards_done, opt(p.shards_total)),
            p.tasks_retried,
            opt(p.docs_in),
            opt(p.docs_out),
            p.tasks_failed
        ));
        for f in &p.failures {
            t.push_str(&format!(
                "  FAILED {} task {} (job {}, host {}): exit status {} after {} attempt(s) at {}\n",
                f.phase,
                f.rank,
                f.job,
                f.host,
                opt(f.rc),
                f.attempts,
                f.time
            ));
        }
    }
    t
}

/// `dclm launch status …`
pub fn main(a: &StatusArgs) -> Result<()> {
    let plans = if a.plan.is_empty() {
        find_plans(a.out.as_deref().context("--out or --plan is required")?)?
    } else {
        a.plan.clone()
    };
    let statuses: Vec<PlanStatus> = plans.iter().map(|p| plan_status(p)).collect::<Result<_>>()?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else {
        for s in &statuses {
            print!("{}", render(s));
        }
    }
    let failed: Vec<String> = statuses
        .iter()
        .flat_map(|s| s.phases.iter().filter(|p| p.tasks_failed > 0).map(|p| p.name.clone()))
        .collect();
    if !failed.is_empty() {
        bail!("failed tasks in phase(s) {}", failed.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_keys_ignore_data_and_compression_extensions() {
        assert_eq!(shard_key(Path::new("a/x.warc.gz")), "a/x");
        assert_eq!(shard_key(Path::new("a/x.jsonl.gz")), "a/x");
        assert_eq!(shard_key(Path::new("x.jsonl")), "x");
    }

    fn phase(name: &str, input: &Path, output: &Path) -> Phase {
        Phase {
            name: name.into(),
            stage: "filter".into(),
            tasks: 2,
            sharded: true,
            args: vec![
                "filter".into(),
                "--input".into(),
                input.to_string_lossy().into_owned(),
                "--out".into(),
                output.to_string_lossy().into_owned(),
                "--threads".into(),
                "1".into(),
            ],
            after: vec![],
            output: output.to_string_lossy().into_owned(),
        }
    }

    #[test]
    fn counts_markers_stats_and_failed_tasks() {
        let tmp = std::env::temp_dir().join(format!("dclm-status-{}", std::process::id()));
        let (inp, out, jobs) = (tmp.join("in"), tmp.join("out"), tmp.join("jobs"));
        std::fs::create_dir_all(inp.join("sub")).unwrap();
        for n in ["a.jsonl.gz", "sub/b.jsonl.gz", "c.jsonl.gz"] {
            std::fs::write(inp.join(n), b"").unwrap();
        }
        let p = phase("filter", &inp, &out);
        let s = phase_status(&p, &jobs).unwrap();
        assert_eq!((s.shards_total, s.shards_done, s.complete), (Some(3), 0, false));
        let mut st = Stats::new("filter");
        st.docs_in = 10;
        st.docs_out = 4;
        std::fs::create_dir_all(out.join("_done/sub")).unwrap();
        std::fs::write(out.join("_done/a.jsonl.gz.json"), serde_json::to_vec(&st).unwrap()).unwrap();
        std::fs::write(out.join("_done/sub/b.jsonl.gz.json"), serde_json::to_vec(&st).unwrap()).unwrap();
        std::fs::write(out.join("_done/stale.jsonl.gz.json"), serde_json::to_vec(&st).unwrap()).unwrap();
        std::fs::create_dir_all(jobs.join("tasks/filter")).unwrap();
        std::fs::write(
            jobs.join("tasks/filter/0.json"),
            r#"{"phase":"filter","rank":0,"state":"ok","attempts":2,"rc":0}"#,
        )
        .unwrap();
        std::fs::write(
            jobs.join("tasks/filter/1.json"),
            r#"{"phase":"filter","rank":1,"state":"failed","attempts":3,"rc":137,"job":"7_1","host":"n1","time":"t"}"#,
        )
        .unwrap();
        let s = phase_status(&p, &jobs).unwrap();
        assert_eq!((s.shards_done, s.complete), (2, false));
        assert_eq!((s.docs_in, s.docs_out), (Some(20), Some(8)));
        assert_eq!((s.tasks_ok, s.tasks_failed, s.tasks_retried), (1, 1, 2));
        assert_eq!(s.failures[0].rc, Some(137));
        let table = render(&PlanStatus {
            plan: "p".into(),
            out: "o".into(),
            phases: vec![s],
        });
        assert!(table.contains("FAILED filter task 1 (job 7_1, host n1): exit status 137"));
        std::fs::write(out.join("_done/c.jsonl.gz.json"), serde_json::to_vec(&st).unwrap()).unwrap();
        let s = phase_status(&p, &jobs).unwrap();
        assert_eq!((s.shards_done, s.complete, s.docs_in), (3, true, Some(30)));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
