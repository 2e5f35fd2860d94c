//! `dclm launch ray`: writes the launch plan (`plan.json`) and the project's Ray driver (`ray_driver.py`,
//! embedded in this binary) side by side, and with `--submit` runs the driver, which executes every shard task
//! as a Ray task on an existing Ray cluster (Ray is the user's installation, not a dependency of dclm-rs).

use super::plan::{Plan, PlanArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;

/// The Ray driver, kept in the project as `crates/dclm-runner/launch/ray_driver.py`.
pub const DRIVER: &str = include_str!("../../launch/ray_driver.py");

/// Arguments of `launch ray`.
#[derive(Args, Debug, Clone)]
pub struct RayArgs {
    /// The pipeline to distribute (paths must be reachable from every Ray node: shared storage).
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Ray address for the driver: `auto` (a cluster this machine belongs to), `ray://host:10001`, or `local`
    /// (start a Ray on this machine).
    #[arg(long, default_value = "auto")]
    pub address: String,
    /// CPUs of the local Ray (`--address local`; default: all).
    #[arg(long)]
    pub num_cpus: Option<usize>,
    /// Ray retries of each failed task (`max_retries`, exceptions included).
    #[arg(long, default_value_t = 3)]
    pub max_retries: u32,
    /// Where plan.json and ray_driver.py are written (default `<out>/_launch/ray`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Run the driver now with `--python` (otherwise print the commands).
    #[arg(long)]
    pub submit: bool,
    /// Python interpreter that has `ray` installed.
    #[arg(long, default_value = "python3")]
    pub python: String,
}

/// `dclm launch ray …`
pub fn main(a: &RayArgs) -> Result<()> {
    super::check_values([
        ("--address", Some(a.address.as_str().into())),
        ("--dir", a.dir.as_ref().map(|p| p.to_string_lossy())),
        ("--python", Some(a.python.as_str().into())),
    ])?;
    let plan = Plan::build(&a.plan)?;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => PathBuf::from(&plan.out).join("_launch").join("ray"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let plan_path = dir.join("plan.json");
    let driver_path = dir.join("ray_driver.py");
    std::fs::write(&plan_path, plan.to_json()?).with_context(|| format!("writing {}", plan_path.display()))?;
    std::fs::write(&driver_path, DRIVER).with_context(|| format!("writing {}", driver_path.display()))?;
    let mut driver_args = vec![
        driver_path.to_string_lossy().into_owned(),
        plan_path.to_string_lossy().into_owned(),
        "--address".into(),
        a.address.clone(),
        "--max-retries".into(),
        a.max_retries.to_string(),
    ];
    if let Some(n) = a.num_cpus {
        driver_args.extend(["--num-cpus".into(), n.to_string()]);
    }
    eprintln!(
        "wrote {} ({} phases) and {}",
        plan_path.display(),
        plan.phases.len(),
        driver_path.display()
    );
    if a.submit {
        let status = std::process::Command::new(&a.python)
            .args(&driver_args)
            .status()
            .with_context(|| format!("starting {} {}", a.python, driver_path.display()))?;
        if !status.success() {
            bail!("the Ray driver failed ({status}); rerun to resume (completed shards are skipped)");
        }
        return Ok(());
    }
    let quoted: Vec<String> = driver_args.iter().map(|s| super::k8s::sh_quote(s)).collect();
    eprintln!(
        "run it on a node of the Ray cluster:\n  {} {}",
        a.python,
        quoted.join(" ")
    );
    eprintln!(
        "or through the Ray job API:\n  ray job submit --address http://<head>:8265 --working-dir {} -- \
         python ray_driver.py plan.json --address auto --max-retries {}",
        super::k8s::sh_quote(&dir.to_string_lossy()),
        a.max_retries
    );
    Ok(())
}
