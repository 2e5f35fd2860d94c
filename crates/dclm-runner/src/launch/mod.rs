//! `dclm launch`: run the pipeline's stages as shard tasks on an existing cluster engine —
//! Slurm job arrays, Kubernetes Indexed Jobs, or Ray tasks — plus `status`, which reads the completion
//! markers and per-task stats every backend leaves on shared storage.

pub mod k8s;
pub mod plan;
pub mod ray;
pub mod slurm;
pub mod status;
pub mod train;

use clap::Subcommand;

/// Launch backends.
#[derive(Subcommand, Debug)]
pub enum LaunchCmd {
    /// Print the plan (phases, tasks, dependencies, commands) as JSON.
    Plan(plan::PlanArgs),
    /// Write Kubernetes Indexed Job manifests (one per phase) and a `run.sh` that applies them in order.
    K8s(Box<k8s::K8sArgs>),
    /// Write plan.json and the Ray driver; `--submit` runs every shard task as a Ray task.
    Ray(Box<ray::RayArgs>),
    /// Write one sbatch job-array script per phase; `--submit` submits them with afterok dependencies.
    Slurm(Box<slurm::SlurmArgs>),
    /// Progress of a launched run: shards done, documents in/out, failed tasks (non-zero exit on failures).
    Status(status::StatusArgs),
    /// Hand token shards to open_lm on a cluster (torchrun or Slurm, FSDP), as DCLM's train.py would; `status`.
    Train(Box<train::TrainLaunch>),
}

/// Refuse a value with a control character (newline, carriage return, tab, escape, …): it would reach a
/// generated shell script, sbatch header, manifest or driver, where a newline starts a new command.
pub fn reject_control_chars(what: &str, value: &str) -> anyhow::Result<()> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        anyhow::bail!(
            "{what} {value:?} contains the control character U+{:04X}; values that reach generated scripts and \
             manifests must be single-line text",
            c as u32
        );
    }
    Ok(())
}

/// [`reject_control_chars`] over named values (absent ones are skipped).
pub fn check_values<'a>(
    values: impl IntoIterator<Item = (&'a str, Option<std::borrow::Cow<'a, str>>)>,
) -> anyhow::Result<()> {
    for (what, v) in values {
        if let Some(v) = v {
            reject_control_chars(what, &v)?;
        }
    }
    Ok(())
}

/// Check every value of a launch command line with [`reject_control_chars`]; the error names the flag the
/// value belongs to.
pub fn check_argv<I, S>(argv: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut prev = String::new();
    for a in argv {
        let a = a.as_ref().to_string_lossy().into_owned();
        let what = match a.split_once('=') {
            Some((f, _)) if f.starts_with("--") && !prev.starts_with("--") => format!("value of {f}"),
            _ if prev.starts_with("--") && !prev.contains('=') => format!("value of {prev}"),
            _ => "argument".to_string(),
        };
        reject_control_chars(&what, &a)?;
        prev = a;
    }
    Ok(())
}

/// `dclm launch …`
pub fn main(cmd: &LaunchCmd) -> anyhow::Result<()> {
    check_argv(std::env::args_os().skip(1))?;
    match cmd {
        LaunchCmd::Plan(a) => {
            println!("{}", plan::Plan::build(a)?.to_json()?);
            Ok(())
        }
        LaunchCmd::K8s(a) => k8s::main(a),
        LaunchCmd::Ray(a) => ray::main(a),
        LaunchCmd::Slurm(a) => slurm::main(a),
        LaunchCmd::Status(a) => status::main(a),
        LaunchCmd::Train(t) => train::main(t),
    }
}
