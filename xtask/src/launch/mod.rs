//! `cargo xtask launch`: run the pipeline's stages as shard tasks on an existing cluster engine —
//! Slurm job arrays, Kubernetes Indexed Jobs, or Ray tasks — plus `status`, which reads the completion
//! markers and per-task stats every backend leaves on shared storage.

pub mod plan;

use clap::Subcommand;

/// Launch backends.
#[derive(Subcommand, Debug)]
pub enum LaunchCmd {
    /// Print the plan (phases, tasks, dependencies, commands) as JSON.
    Plan(plan::PlanArgs),
}

/// `cargo xtask launch …`
pub fn main(cmd: &LaunchCmd) -> anyhow::Result<()> {
    match cmd {
        LaunchCmd::Plan(a) => {
            println!("{}", plan::Plan::build(a)?.to_json()?);
            Ok(())
        }
    }
}
