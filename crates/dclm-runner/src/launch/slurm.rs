//! `dclm launch slurm`: the launch plan as Slurm job arrays — one sbatch script per phase
//! (`--array=0-(W-1)[%K]`, array index = rank), `--dependency=afterok` between phases, a retry loop with
//! backoff inside every task, `--requeue` for preemption (a rerun skips shards whose `_done` markers exist),
//! job ids in `<jobs-dir>/jobs.json`, and a resubmission that skips phases already complete.
//!
//! Every task records its outcome in `<jobs-dir>/tasks/<phase>/<rank>.json` (`state` ok / failed /
//! running, `attempts`, `rc`), which `launch status` reads beside the shards' markers and stats.

use super::plan::{Phase, Plan, PlanArgs};
use super::status::{phase_status, PhaseStatus};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments of `launch slurm`.
#[derive(Args, Debug, Clone)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Slurm partition (`#SBATCH --partition`).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per task (`#SBATCH --time`, e.g. `4:00:00`).
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per task (`#SBATCH --mem`, e.g. `8G`).
    #[arg(long)]
    pub mem: Option<String>,
    /// Memory of single-task phases (dedup reduce: it holds every shard's signatures; BFF: the filter);
    /// default: --mem.
    #[arg(long)]
    pub reduce_mem: Option<String>,
    /// CPUs per task (default: --threads; single-task phases: --reduce-threads).
    #[arg(long)]
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks of a phase at once (`--array=…%K`).
    #[arg(long)]
    pub max_parallel: Option<usize>,
    /// Reruns of a task inside its job when it exits non-zero or is killed.
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
    /// Seconds before the first rerun; doubled for every further one.
    #[arg(long, default_value_t = 30)]
    pub retry_delay: u64,
    /// Extra `#SBATCH` option for every phase (repeatable), e.g. `--sbatch-arg=--account=proj`.
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// Folder for plan.json, the scripts, logs, task records and jobs.json (default `<out>/_launch/slurm`).
    #[arg(long)]
    pub jobs_dir: Option<PathBuf>,
    /// Submit with sbatch (otherwise only write the scripts and print the sbatch commands).
    #[arg(long)]
    pub submit: bool,
    /// The sbatch executable.
    #[arg(long, default_value = "sbatch")]
    pub sbatch: String,
}

/// One submitted phase in `jobs.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobRecord {
    /// Phase name.
    pub phase: String,
    /// Slurm job id of the array (`None` when the phase was already complete and skipped).
    pub job_id: Option<String>,
    /// The sbatch script.
    pub script: String,
    /// `submitted` or `skipped (complete)`.
    pub action: String,
}

/// `<jobs-dir>/jobs.json`: every submission, latest last.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobsFile {
    /// One entry per `launch slurm --submit` run.
    pub submissions: Vec<Vec<JobRecord>>,
}

/// Quote one word for bash (single quotes; `'` as `'\''`).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The jobs folder of a run.
pub fn jobs_dir(a: &SlurmArgs, plan: &Plan) -> PathBuf {
    match &a.jobs_dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => std::env::current_dir().map(|c| c.join(d)).unwrap_or_else(|_| d.clone()),
        None => Path::new(&plan.out).join("_launch").join("slurm"),
    }
}

/// File name of a phase's script.
pub fn script_name(index: usize, phase: &Phase) -> String {
    format!("{index:02}-{}.sbatch", phase.name)
}

/// The sbatch script of one phase.
pub fn script(a: &SlurmArgs, plan: &Plan, phase: &Phase, jobs: &Path) -> String {
    let cpus = a.cpus_per_task.unwrap_or(if phase.sharded {
        a.plan.threads
    } else {
        a.plan.reduce_threads
    });
    let mut array = format!("0-{}", phase.tasks.saturating_sub(1));
    if let Some(k) = a.max_parallel {
        array.push_str(&format!("%{k}"));
    }
    let logs = jobs.join("logs");
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!(
        "# dclm-rs phase `{}` ({} task(s)) of the run in {}; written by `dclm launch slurm`.\n",
        phase.name, phase.tasks, plan.out
    ));
    let mut opt = |o: String| s.push_str(&format!("#SBATCH {o}\n"));
    opt(format!("--job-name=dclm-{}", phase.name));
    opt(format!("--array={array}"));
    opt(format!("--output={}/{}-%a.log", logs.display(), phase.name));
    opt("--open-mode=append".into());
    opt("--ntasks=1".into());
    opt(format!("--cpus-per-task={}", cpus.max(1)));
    opt("--requeue".into());
    if let Some(p) = &a.partition {
        opt(format!("--partition={p}"));
    }
    if let Some(t) = &a.time {
        opt(format!("--time={t}"));
    }
    let mem = if phase.sharded {
        a.mem.as_ref()
    } else {
        a.reduce_mem.as_ref().or(a.mem.as_ref())
    };
    if let Some(m) = mem {
        opt(format!("--mem={m}"));
    }
    for x in &a.sbatch_args {
        opt(x.clone());
    }
    let command: Vec<String> = std::iter::once(plan.bin.clone())
        .chain(phase.argv("$RANK"))
        .map(|w| {
            if w == "$RANK" {
                "\"$RANK\"".into()
            } else {
                shell_quote(&w)
            }
        })
        .collect();
    let record_dir = jobs.join("tasks").join(&phase.name);
    s.push_str(&format!(
        r#"
# The array index is the rank. A requeued task (preemption, node failure) starts over here; shards whose
# `_done` markers exist are skipped by the runner, so only the rest is redone.
RANK="${{SLURM_ARRAY_TASK_ID:-0}}"
RETRIES={retries}
DELAY={delay}
RECORD_DIR={record_dir}
mkdir -p "$RECORD_DIR"
record() {{
  printf '{{"phase":"%s","rank":%s,"state":"%s","attempts":%s,"rc":%s,"job":"%s","host":"%s","time":"%s"}}\n' \
    {phase} "$RANK" "$1" "$2" "$3" "${{SLURM_ARRAY_JOB_ID:-}}_${{RANK}}" "$(hostname)" "$(date -u +%FT%TZ)" \
    > "$RECORD_DIR/$RANK.json.tmp" && mv -f "$RECORD_DIR/$RANK.json.tmp" "$RECORD_DIR/$RANK.json"
}}
attempt=0
while :; do
  attempt=$((attempt + 1))
  echo "[dclm] phase {phase} task $RANK: attempt $attempt of $((RETRIES + 1)) on $(hostname) at $(date -u +%FT%TZ)"
  record running "$attempt" null
  {command}
  rc=$?
  if [ "$rc" -eq 0 ]; then
    record ok "$attempt" 0
    echo "[dclm] phase {phase} task $RANK: done"
    exit 0
  fi
  echo "[dclm] phase {phase} task $RANK: attempt $attempt exited with status $rc" >&2
  if [ "$attempt" -gt "$RETRIES" ]; then
    record failed "$attempt" "$rc"
    echo "[dclm] phase {phase} task $RANK: giving up after $attempt attempts" >&2
    exit "$rc"
  fi
  sleep $((DELAY * (1 << (attempt - 1))))
done
"#,
        retries = a.retries,
        delay = a.retry_delay,
        record_dir = shell_quote(&record_dir.to_string_lossy()),
        phase = shell_quote(&phase.name),
        command = command.join(" "),
    ));
    s
}

/// The sbatch command line of one phase (dependencies given as job ids).
pub fn sbatch_command(sbatch: &str, deps: &[String], script: &Path) -> Vec<String> {
    let mut v = vec![sbatch.to_string(), "--parsable".into()];
    if !deps.is_empty() {
        v.push(format!("--dependency=afterok:{}", deps.join(":")));
        v.push("--kill-on-invalid-dep=yes".into());
    }
    v.push(script.to_string_lossy().into_owned());
    v
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    dclm_core::io::write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

fn load_jobs(path: &Path) -> Result<JobsFile> {
    if !path.exists() {
        return Ok(JobsFile::default());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// Job ids of an earlier submission that Slurm still knows as pending or running.
fn still_queued(ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i %T", "-j", &ids.join(",")])
        .output()
        .context("running squeue to check the earlier submission")?;
    // squeue fails for ids it no longer knows; that means none of them is queued.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|id| id.split('_').next().unwrap_or(id).to_string())
        .filter(|id| ids.contains(id))
        .collect())
}

/// `dclm launch slurm …`
pub fn main(a: &SlurmArgs) -> Result<()> {
    super::check_values(
        a.sbatch_args
            .iter()
            .map(|v| ("--sbatch-arg", Some(v.as_str().into())))
            .chain([
                ("--partition", a.partition.as_deref().map(Into::into)),
                ("--time", a.time.as_deref().map(Into::into)),
                ("--mem", a.mem.as_deref().map(Into::into)),
                ("--reduce-mem", a.reduce_mem.as_deref().map(Into::into)),
                ("--jobs-dir", a.jobs_dir.as_ref().map(|p| p.to_string_lossy())),
                ("--sbatch", Some(a.sbatch.as_str().into())),
            ]),
    )?;
    let plan = Plan::build(&a.plan)?;
    let jobs = jobs_dir(a, &plan);
    std::fs::create_dir_all(jobs.join("logs")).with_context(|| format!("creating {}", jobs.display()))?;
    write_file(&jobs.join("plan.json"), &plan.to_json()?)?;
    let mut scripts = Vec::new();
    for (i, phase) in plan.phases.iter().enumerate() {
        let path = jobs.join(script_name(i, phase));
        write_file(&path, &script(a, &plan, phase, &jobs))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        scripts.push(path);
    }
    eprintln!(
        "launch slurm: {} phases, plan and scripts in {}",
        plan.phases.len(),
        jobs.display()
    );
    let jobs_json = jobs.join("jobs.json");
    if !a.submit {
        println!("# submit in order (each phase after the ones it depends on), or rerun with --submit:");
        for (i, phase) in plan.phases.iter().enumerate() {
            let deps: Vec<String> = phase.after.iter().map(|d| format!("$JOB_{d}")).collect();
            let cmd: Vec<String> = sbatch_command(&a.sbatch, &deps, &scripts[i])
                .iter()
                .map(|w| if w.contains("$JOB_") { w.clone() } else { shell_quote(w) })
                .collect();
            println!("JOB_{i}=$({})   # {}", cmd.join(" "), phase.name);
        }
        return Ok(());
    }
    let mut history = load_jobs(&jobs_json)?;
    if let Some(last) = history.submissions.last() {
        let ids: Vec<String> = last.iter().filter_map(|r| r.job_id.clone()).collect();
        let queued = still_queued(&ids)?;
        if !queued.is_empty() {
            bail!(
                "jobs of the previous submission are still queued or running ({}); wait for them or `scancel` \
                 them before submitting again",
                queued.join(", ")
            );
        }
    }
    let statuses: Vec<PhaseStatus> = plan
        .phases
        .iter()
        .map(|p| phase_status(p, &jobs))
        .collect::<Result<_>>()?;
    let mut ids: Vec<Option<String>> = vec![None; plan.phases.len()];
    let mut records = Vec::new();
    let mut all_done_before = true;
    for (i, phase) in plan.phases.iter().enumerate() {
        // A phase is skipped only when it and everything before it is complete: a resubmitted phase
        // may change the inputs of the next ones.
        all_done_before &= statuses[i].complete;
        if all_done_before {
            eprintln!("launch slurm: {} already complete; skipped", phase.name);
            records.push(JobRecord {
                phase: phase.name.clone(),
                job_id: None,
                script: scripts[i].to_string_lossy().into_owned(),
                action: "skipped (complete)".into(),
            });
            continue;
        }
        // Records of an earlier attempt would read as failures of this one.
        let record_dir = jobs.join("tasks").join(&phase.name);
        if record_dir.exists() {
            std::fs::remove_dir_all(&record_dir).with_context(|| format!("clearing {}", record_dir.display()))?;
        }
        let deps: Vec<String> = phase.after.iter().filter_map(|&d| ids[d].clone()).collect();
        let cmd = sbatch_command(&a.sbatch, &deps, &scripts[i]);
        let out = Command::new(&cmd[0])
            .args(&cmd[1..])
            .output()
            .with_context(|| format!("running {}", cmd.join(" ")))?;
        if !out.status.success() {
            history.submissions.push(records);
            write_file(&jobs_json, &serde_json::to_string_pretty(&history)?)?;
            bail!(
                "{} failed ({}): {}",
                cmd.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let id = text
            .trim()
            .split(';')
            .next()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .with_context(|| format!("sbatch --parsable printed {text:?}, not a job id"))?
            .to_string();
        println!("{} {}", phase.name, id);
        ids[i] = Some(id.clone());
        records.push(JobRecord {
            phase: phase.name.clone(),
            job_id: Some(id),
            script: scripts[i].to_string_lossy().into_owned(),
            action: "submitted".into(),
        });
    }
    history.submissions.push(records);
    write_file(&jobs_json, &serde_json::to_string_pretty(&history)?)?;
    eprintln!("launch slurm: job ids in {}", jobs_json.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        s: SlurmArgs,
    }

    fn args(extra: &[&str]) -> SlurmArgs {
        let mut v = vec![
            "t",
            "-i",
            "/data/w.warc.gz",
            "-o",
            "/shared/run",
            "--tasks",
            "3",
            "--threads",
            "4",
            "--dclm-bin",
            "/opt/bin/dclm",
        ];
        v.extend_from_slice(extra);
        T::parse_from(v).s
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/a/b-c.json"), "/a/b-c.json");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$X"), "'$X'");
    }

    #[test]
    fn scripts_have_array_options_and_retry_loop() {
        let a = args(&[
            "--max-parallel",
            "2",
            "--partition",
            "cpu",
            "--mem",
            "8G",
            "--retries",
            "3",
            "--sbatch-arg=--account=proj",
            "--reduce-mem",
            "64G",
        ]);
        let plan = Plan::build(&a.plan).unwrap();
        let jobs = Path::new("/shared/run/_launch/slurm");
        let s = script(&a, &plan, &plan.phases[1], jobs);
        for line in [
            "#SBATCH --array=0-2%2\n",
            "#SBATCH --job-name=dclm-filter\n",
            "#SBATCH --output=/shared/run/_launch/slurm/logs/filter-%a.log\n",
            "#SBATCH --requeue\n",
            "#SBATCH --cpus-per-task=4\n",
            "#SBATCH --partition=cpu\n",
            "#SBATCH --mem=8G\n",
            "#SBATCH --account=proj\n",
            "RETRIES=3\n",
        ] {
            assert!(s.contains(line), "missing {line:?} in\n{s}");
        }
        assert!(s.contains("/opt/bin/dclm filter --input /shared/run/extract --out /shared/run/filter"));
        assert!(s.contains("--rank \"$RANK\" --world-size 3"));
        // The reduce phase is one task with the reduce threads, without rank arguments.
        let r = script(&a, &plan, &plan.phases[3], jobs);
        assert!(r.contains("#SBATCH --array=0-0%2\n"));
        assert!(r.contains("#SBATCH --cpus-per-task=1\n"));
        assert!(r.contains("#SBATCH --mem=64G\n"));
        assert!(!r.contains("--world-size"));
        assert!(r.contains("--phase reduce"));
    }

    #[test]
    fn sbatch_commands_carry_dependencies() {
        let c = sbatch_command("sbatch", &["12".into(), "13".into()], Path::new("/j/02-x.sbatch"));
        assert_eq!(
            c,
            [
                "sbatch",
                "--parsable",
                "--dependency=afterok:12:13",
                "--kill-on-invalid-dep=yes",
                "/j/02-x.sbatch"
            ]
        );
        assert_eq!(
            sbatch_command("sbatch", &[], Path::new("/j/a")),
            ["sbatch", "--parsable", "/j/a"]
        );
    }
}
