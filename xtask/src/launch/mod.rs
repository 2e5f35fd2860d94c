//! `cargo xtask launch`: run the pipeline's stages as shard tasks on an existing cluster engine —
//! Slurm job arrays, Kubernetes Indexed Jobs, or Ray tasks — plus `status`, which reads the completion
//! markers and per-task stats every backend leaves on shared storage.

pub mod k8s;
pub mod plan;
pub mod ray;
pub mod slurm;
pub mod status;

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
}

/// `cargo xtask launch …`
pub fn main(cmd: &LaunchCmd) -> anyhow::Result<()> {
    match cmd {
        LaunchCmd::Plan(a) => {
            println!("{}", plan::Plan::build(a)?.to_json()?);
            Ok(())
        }
        LaunchCmd::K8s(a) => k8s::main(a),
        LaunchCmd::Ray(a) => ray::main(a),
        LaunchCmd::Slurm(a) => slurm::main(a),
        LaunchCmd::Status(a) => status::main(a),
    }
}
