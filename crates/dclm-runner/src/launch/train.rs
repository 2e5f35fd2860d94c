//! `dclm launch train --engine open-lm`: hand a dclm-rs token dataset to open_lm on a GPU cluster. Writes the open_lm
//! command line that DCLM's `training/train.py` builds for a scale (`get_open_lm_args`: the scale's hyperparameters,
//! FSDP flags, `--resume latest`, `--data-key json.gz`, the manifest, the per-checkpoint token budget), a torchrun
//! script or an sbatch script (srun + torchrun rendezvous, one task per node, `--requeue`; a requeued job resumes
//! from open_lm's latest checkpoint), the model JSON, and DCLM's tokenized-dataset record. `launch train status`
//! reads open_lm's log and checkpoints back.

use super::slurm::shell_quote;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use dclm_train::model::ModelConfig;
use dclm_train::train::Preset;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `launch train`: generate (and optionally submit) an open_lm run, or read its status.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TrainLaunch {
    /// `status`: progress of a launched run.
    #[command(subcommand)]
    pub status: Option<TrainLaunchCmd>,
    /// What to launch.
    #[command(flatten)]
    pub args: Option<TrainLaunchArgs>,
}

/// Subcommands of `launch train`.
#[derive(Subcommand, Debug)]
pub enum TrainLaunchCmd {
    /// Step, samples, loss and checkpoints of a launched open_lm run.
    Status {
        /// The run folder given to `launch train -o`.
        #[arg(long, short = 'o')]
        out: PathBuf,
    },
}

/// The training engine.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// open_lm (torchrun, FSDP), as DCLM trains.
    OpenLm,
}

/// Arguments of `launch train`.
#[derive(Args, Debug, Clone)]
pub struct TrainLaunchArgs {
    /// Training engine.
    #[arg(long, value_enum, default_value = "open-lm")]
    pub engine: Engine,
    /// Token shards written by `tokshuf` (folder or its `manifest.jsonl`); a path every node sees.
    #[arg(long)]
    pub data: PathBuf,
    /// DCLM scale: `400M-1x`, `1B-1x`, `3B-1x`, `7B-1x`, `7B-2x` (or `micro`/`tiny` for tests).
    #[arg(long)]
    pub scale: String,
    /// A model JSON replacing the scale's model (e.g. a tiny model for a smoke test).
    #[arg(long)]
    pub model_json: Option<PathBuf>,
    /// Nodes.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Processes (GPUs) per node.
    #[arg(long, default_value_t = 8)]
    pub gpus_per_node: usize,
    /// Write an sbatch script (default: a torchrun script).
    #[arg(long)]
    pub slurm: bool,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm time limit (e.g. `48:00:00`).
    #[arg(long)]
    pub time: Option<String>,
    /// Submit the sbatch script (`sbatch`), or run the torchrun script here.
    #[arg(long)]
    pub submit: bool,
    /// The Python that has open_lm installed (its `torch.distributed.run` starts the processes).
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// open_lm's source folder, put on `PYTHONPATH` (not needed when open_lm is installed).
    #[arg(long)]
    pub open_lm_dir: Option<PathBuf>,
    /// torch.distributed backend (`nccl` on GPUs; `gloo` for a CPU smoke test).
    #[arg(long, default_value = "nccl")]
    pub dist_backend: String,
    /// Precision (DCLM: `amp_bfloat16`).
    #[arg(long, default_value = "amp_bfloat16")]
    pub precision: String,
    /// Checkpoints over the run (open_lm `--epochs`).
    #[arg(long, default_value_t = 5)]
    pub num_checkpoints: u64,
    /// Data-loader workers per process.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Attention implementation (DCLM's default `auto`; `torch_attn` recommended).
    #[arg(long, default_value = "auto")]
    pub attn_name: String,
    /// Seed.
    #[arg(long, default_value_t = 124)]
    pub seed: u64,
    /// Override: warmup steps.
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Override: peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Override: weight decay.
    #[arg(long)]
    pub wd: Option<f64>,
    /// Override: cool-down end learning rate.
    #[arg(long)]
    pub cd: Option<f64>,
    /// Override: global batch (sequences).
    #[arg(long)]
    pub global_bs: Option<usize>,
    /// Override: gradient accumulation steps.
    #[arg(long)]
    pub acc: Option<usize>,
    /// Override: Chinchilla multiplier of the token budget.
    #[arg(long)]
    pub chinchilla_multiplier: Option<f64>,
    /// Override: the whole token budget (e.g. a few steps for a smoke test).
    #[arg(long)]
    pub tokens: Option<u64>,
    /// Repeat the data when the budget exceeds it.
    #[arg(long)]
    pub multiple_data_passes: bool,
    /// Fraction of expected tokens a checkpoint may miss before it counts as failed.
    #[arg(long, default_value_t = 0.09)]
    pub data_tolerate_error_p: f64,
    /// Name of the tokenized dataset (default: the data folder's name).
    #[arg(long)]
    pub dataset_name: Option<String>,
    /// Tokenizer recorded in the dataset record.
    #[arg(long, default_value = "EleutherAI/gpt-neox-20b")]
    pub tokenizer: String,
    /// Run folder: scripts, model JSON, records; open_lm's `--logs` goes under it.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

/// DCLM's per-scale training config (`training/configs/*.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleConfig {
    /// Config name (`411m_1x`, …).
    pub config: String,
    /// open_lm model config name (`d=1024_l=24_h=8`, `open_lm_1b_swiglutorch`, …).
    pub model: String,
    /// Token budget before the multiplier.
    pub tokens: u64,
    /// Warmup steps.
    pub warmup: u64,
    /// Peak learning rate.
    pub lr: f64,
    /// Weight decay.
    pub wd: f64,
    /// Cool-down end learning rate.
    pub cd: f64,
    /// Global batch (sequences).
    pub global_bs: usize,
    /// Gradient accumulation.
    pub acc: usize,
    /// QK norm.
    pub qk_norm: bool,
    /// z-loss coefficient.
    pub z_loss: f64,
    /// FSDP flags.
    pub fsdp_flags: Vec<String>,
    /// Chinchilla multiplier.
    pub chinchilla_multiplier: f64,
}

/// The DCLM config of a scale, from the preset (hyperparameters) and DCLM's FSDP choice per size.
pub fn scale_config(preset: &Preset) -> ScaleConfig {
    let big = preset.model.hidden_dim >= 2560;
    let mut fsdp: Vec<String> = vec!["--fsdp".into()];
    if big {
        fsdp.extend(["--fsdp-limit-all-gathers".into(), "--fsdp-pure-bf16".into()]);
    } else {
        fsdp.extend(["--fsdp-amp".into(), "--fsdp-limit-all-gathers".into()]);
    }
    // DCLM's 400M config predates `--fsdp-use-orig-params`; every later config sets it.
    if preset.dclm_config != "411m_1x" {
        fsdp.push("--fsdp-use-orig-params".into());
    }
    let model = match preset.dclm_config.as_str() {
        "411m_1x" => "d=1024_l=24_h=8".to_string(),
        "1b_1x_fast" => "open_lm_1b_swiglutorch".to_string(),
        "3b_1x_fast_3e-3_lr_1e-4_zloss" => "open_lm_3b_swiglutorch".to_string(),
        c if c.starts_with("7b_") => "open_lm_7b_swiglutorch".to_string(),
        other => other.to_string(),
    };
    let mult = preset.chinchilla_multiplier.max(1);
    ScaleConfig {
        config: preset.dclm_config.clone(),
        model,
        tokens: preset.tokens / mult,
        warmup: preset.warmup,
        lr: preset.lr,
        wd: preset.weight_decay,
        cd: preset.min_lr,
        global_bs: preset.global_batch,
        acc: preset.accum,
        qk_norm: true,
        z_loss: preset.z_loss,
        fsdp_flags: fsdp,
        chinchilla_multiplier: mult as f64,
    }
}

/// Python's `repr` of a float (`0.003`, `3e-05`, `1.0`), which DCLM's run names are built from.
pub fn py_float(v: f64) -> String {
    if v == 0.0 {
        return "0.0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    if (-4..16).contains(&exp) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:e}");
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    }
}

fn sanitize(s: &str) -> String {
    s.replace('.', "p").replace('/', "-")
}

/// What `launch train` decided: the open_lm argv and the names, also written to `launch.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainPlan {
    /// DCLM's friendly run name (open_lm `--name`).
    pub name: String,
    /// open_lm's `--logs` folder.
    pub logs: PathBuf,
    /// The model JSON written for open_lm.
    pub model_json: PathBuf,
    /// open_lm's arguments (after `-m open_lm.main`).
    pub open_lm_args: Vec<String>,
    /// Token budget of the run (after the multiplier).
    pub tokens: u64,
    /// Context length.
    pub seq_len: usize,
    /// Sequences per optimizer step.
    pub global_bs: usize,
    /// Nodes × processes per node.
    pub world_size: usize,
}

/// Build the plan (pure: writes nothing).
pub fn plan(a: &TrainLaunchArgs) -> Result<(TrainPlan, ScaleConfig, ModelConfig)> {
    let preset = Preset::by_name(&a.scale)?;
    let mut hp = scale_config(&preset);
    let mut model = preset.model.clone();
    if let Some(m) = &a.model_json {
        model = ModelConfig::from_json_file(m)?;
        hp.model = m
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or(hp.model);
    }
    if let Some(v) = a.warmup {
        hp.warmup = v;
    }
    if let Some(v) = a.lr {
        hp.lr = v;
    }
    if let Some(v) = a.wd {
        hp.wd = v;
    }
    if let Some(v) = a.cd {
        hp.cd = v;
    }
    if let Some(v) = a.global_bs {
        hp.global_bs = v;
    }
    if let Some(v) = a.acc {
        hp.acc = v;
    }
    if let Some(v) = a.chinchilla_multiplier {
        hp.chinchilla_multiplier = v;
    }
    let tokens = match a.tokens {
        Some(t) => t,
        None => (hp.tokens as f64 * hp.chinchilla_multiplier) as u64,
    };
    if a.nodes == 0 || a.gpus_per_node == 0 || a.num_checkpoints == 0 {
        bail!("--nodes, --gpus-per-node and --num-checkpoints must be positive");
    }
    let data = if a.data.is_file() {
        a.data.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        a.data.clone()
    };
    let manifest = std::path::absolute(data.join("manifest.jsonl"))?;
    if !manifest.is_file() {
        bail!(
            "{}: no manifest.jsonl (write the shards with `dclm tokshuf`)",
            data.display()
        );
    }
    let data_name = match &a.dataset_name {
        Some(n) => n.clone(),
        None => data
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("--data has no folder name; pass --dataset-name")?,
    };
    let out = std::path::absolute(&a.out)?;
    let logs = out.join("logs");
    let model_json = out.join(format!("{}.json", hp.model));
    let mult = if hp.chinchilla_multiplier.fract() == 0.0 && a.chinchilla_multiplier.is_none() {
        format!("{}", hp.chinchilla_multiplier as u64)
    } else {
        py_float(hp.chinchilla_multiplier)
    };
    let name = format!(
        "{data_name}-{}-warm={}-lr={}-wd={}-cd={}-bs={}-mult={}-seed={}-tokens={tokens}",
        hp.model,
        hp.warmup,
        sanitize(&py_float(hp.lr)),
        sanitize(&py_float(hp.wd)),
        sanitize(&py_float(hp.cd)),
        hp.global_bs,
        sanitize(&mult),
        a.seed,
    );
    let s = |v: &dyn std::fmt::Display| v.to_string();
    let mut args: Vec<String> = vec![
        "--workers".into(),
        s(&a.workers),
        "--precision".into(),
        a.precision.clone(),
        "--global-batch-size".into(),
        s(&hp.global_bs),
        "--log-every-n-steps".into(),
        "20".into(),
        "--grad-clip-norm".into(),
        "1".into(),
        "--lr".into(),
        py_float(hp.lr),
        "--warmup".into(),
        s(&hp.warmup),
        "--model".into(),
        model_json.display().to_string(),
        "--wd".into(),
        py_float(hp.wd),
        "--beta2".into(),
        "0.95".into(),
        "--epochs".into(),
        s(&a.num_checkpoints),
        "--resume".into(),
        "latest".into(),
        "--seed".into(),
        s(&a.seed),
        "--accum-freq".into(),
        s(&hp.acc),
        "--model-norm".into(),
        "gain_only_lp_layer_norm".into(),
        "--delete-previous-checkpoint".into(),
        "--lr-cooldown-end".into(),
        py_float(hp.cd),
        "--logs".into(),
        logs.display().to_string(),
        "--attn-name".into(),
        a.attn_name.clone(),
        "--log-logit-mean".into(),
        "--data-tolerate-error-p".into(),
        py_float(a.data_tolerate_error_p),
        "--data-tolerate-num-ckpts".into(),
        "0".into(),
    ];
    if a.multiple_data_passes {
        args.push("--multiple-data-passes".into());
    }
    args.extend([
        "--train-num-samples".into(),
        s(&(tokens / a.num_checkpoints)),
        "--dataset-manifest".into(),
        manifest.display().to_string(),
        "--data-key".into(),
        "json.gz".into(),
        "--name".into(),
        name.clone(),
    ]);
    // open_lm refuses `--fsdp` outside distributed mode: one process trains unsharded.
    if a.nodes * a.gpus_per_node > 1 {
        args.extend(hp.fsdp_flags.iter().cloned());
    }
    if hp.qk_norm {
        args.push("--qk-norm".into());
    }
    if hp.z_loss > 0.0 {
        args.extend(["--z-loss".into(), py_float(hp.z_loss)]);
    }
    if a.dist_backend != "nccl" {
        args.extend(["--dist-backend".into(), a.dist_backend.clone()]);
    }
    super::check_values(args.iter().map(|v| ("open_lm argument", Some(v.as_str().into()))))?;
    let plan = TrainPlan {
        name,
        logs,
        model_json,
        open_lm_args: args,
        tokens,
        seq_len: model.seq_len,
        global_bs: hp.global_bs,
        world_size: a.nodes * a.gpus_per_node,
    };
    Ok((plan, hp, model))
}

/// The entry script torchrun starts: open_lm's `main` with the arguments in `open_lm_args.json` beside it. (Passing
/// them on torchrun's command line does not work: its parser takes open_lm's `--logs` for its own `--logs-specs`.)
pub const ENTRY: &str = r#"# Start open_lm's main with the arguments `dclm launch train` wrote to open_lm_args.json.
import json
import os
import sys
import types

# open_lm was written for torch < 2.6, whose `torch.load` unpickled any object by default; its resume reads back
# the optimizer checkpoints this run wrote itself, which newer torch refuses under `weights_only=True`.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

try:
    import xformers.ops  # noqa: F401
except ImportError:
    # open_lm imports xformers when its model module loads, but nothing of it runs with `--attn-name torch_attn`
    # and `swiglu_torch` FFNs; without xformers (a CPU smoke test) an empty module stands in, and any use of it
    # fails with an AttributeError naming xformers.
    stub = types.ModuleType("xformers")
    stub.ops = types.ModuleType("xformers.ops")
    sys.modules["xformers"] = stub
    sys.modules["xformers.ops"] = stub.ops

from open_lm.main import main

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "open_lm_args.json")) as f:
        main(json.load(f))
"#;

/// The command that starts open_lm on one node (`torch.distributed.run` over [`ENTRY`]), quoted for a shell. With
/// Slurm, the node rank and rendezvous come from the job's environment.
fn torchrun_line(a: &TrainLaunchArgs, out: &Path, slurm: bool) -> String {
    let mut v = vec![
        shell_quote(&a.python),
        "-m".into(),
        "torch.distributed.run".into(),
        format!("--nproc-per-node={}", a.gpus_per_node),
    ];
    if slurm {
        v.extend([
            "--nnodes=\"$SLURM_NNODES\"".to_string(),
            "--node-rank=\"$SLURM_NODEID\"".into(),
            "--rdzv-id=\"$SLURM_JOB_ID\"".into(),
            "--rdzv-backend=c10d".into(),
            "--rdzv-endpoint=\"$MASTER_ADDR:$MASTER_PORT\"".into(),
        ]);
    } else {
        v.extend([format!("--nnodes={}", a.nodes), "--standalone".into()]);
    }
    v.push(shell_quote(&out.join("open_lm_entry.py").display().to_string()));
    v.join(" ")
}

fn env_lines(a: &TrainLaunchArgs) -> String {
    match &a.open_lm_dir {
        Some(d) => format!(
            "export PYTHONPATH={}${{PYTHONPATH:+:$PYTHONPATH}}\n",
            shell_quote(
                &std::path::absolute(d)
                    .unwrap_or_else(|_| d.clone())
                    .display()
                    .to_string()
            )
        ),
        None => String::new(),
    }
}

/// The torchrun script (single node, or run it on each node yourself).
pub fn torchrun_script(a: &TrainLaunchArgs, p: &TrainPlan) -> String {
    format!(
        "#!/usr/bin/env bash\n# open_lm run `{}`, written by `dclm launch train`; rerun it to resume from the latest checkpoint.\n\
         set -euo pipefail\n{}exec {}\n",
        p.name,
        env_lines(a),
        torchrun_line(a, &std::path::absolute(&a.out).unwrap_or_else(|_| a.out.clone()), false)
    )
}

/// The sbatch script: one task per node, each starting torchrun with a c10d rendezvous on the first node;
/// `--requeue` lets Slurm restart a preempted job, and open_lm's `--resume latest` continues from its checkpoint.
pub fn sbatch_script(a: &TrainLaunchArgs, p: &TrainPlan) -> String {
    let out = std::path::absolute(&a.out).unwrap_or_else(|_| a.out.clone());
    let mut h = vec![
        "#!/usr/bin/env bash".to_string(),
        format!("#SBATCH --job-name={}", shell_quote(&format!("dclm-train-{}", a.scale))),
        format!("#SBATCH --nodes={}", a.nodes),
        "#SBATCH --ntasks-per-node=1".into(),
        format!(
            "#SBATCH --output={}",
            shell_quote(&out.join("slurm-%j.out").display().to_string())
        ),
        "#SBATCH --requeue".into(),
        "#SBATCH --open-mode=append".into(),
    ];
    if a.dist_backend == "nccl" {
        h.push(format!("#SBATCH --gpus-per-node={}", a.gpus_per_node));
    }
    if let Some(part) = &a.partition {
        h.push(format!("#SBATCH --partition={}", shell_quote(part)));
    }
    if let Some(t) = &a.time {
        h.push(format!("#SBATCH --time={}", shell_quote(t)));
    }
    format!(
        "{}\n# open_lm run `{}`, written by `dclm launch train`.\nset -euo pipefail\n{}\
         MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\nexport MASTER_ADDR\n\
         export MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))\n\
         srun --kill-on-bad-exit=1 --ntasks-per-node=1 bash -c {}\n",
        h.join("\n"),
        p.name,
        env_lines(a),
        shell_quote(&format!("exec {}", torchrun_line(a, &out, true)))
    )
}

/// `dclm launch train …`
pub fn main(t: &TrainLaunch) -> Result<()> {
    if let Some(TrainLaunchCmd::Status { out }) = &t.status {
        return status(out);
    }
    let Some(a) = &t.args else {
        bail!("launch train needs --data, --scale and -o (or `status -o RUN`)");
    };
    let (p, hp, model) = plan(a)?;
    std::fs::create_dir_all(&p.logs).with_context(|| format!("creating {}", p.logs.display()))?;
    dclm_core::io::write_atomic(&p.model_json, &serde_json::to_vec_pretty(&model)?)?;
    let data = if a.data.is_file() {
        a.data.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        a.data.clone()
    };
    let record_name = match &a.dataset_name {
        Some(n) => n.clone(),
        None => data
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    crate::datasets::record_token_shards(
        &a.out.join("exp_data"),
        &record_name,
        &data,
        &a.tokenizer,
        p.seq_len + 1,
        "launch-train",
        &[data.display().to_string()],
    )?;
    dclm_core::io::write_atomic(
        &a.out.join("open_lm_args.json"),
        &serde_json::to_vec_pretty(&p.open_lm_args)?,
    )?;
    dclm_core::io::write_atomic(&a.out.join("open_lm_entry.py"), ENTRY.as_bytes())?;
    dclm_core::io::write_atomic(
        &a.out.join("launch.json"),
        &serde_json::to_vec_pretty(&serde_json::json!({ "plan": p, "hyperparameters": hp }))?,
    )?;
    let (script, body) = if a.slurm {
        (a.out.join("train.sbatch"), sbatch_script(a, &p))
    } else {
        (a.out.join("train.sh"), torchrun_script(a, &p))
    };
    dclm_core::io::write_atomic(&script, body.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    }
    eprintln!("launch train: {} ({} tokens) → {}", p.name, p.tokens, script.display());
    if a.submit {
        let mut cmd = if a.slurm {
            std::process::Command::new("sbatch")
        } else {
            std::process::Command::new("bash")
        };
        let st = cmd
            .arg(&script)
            .status()
            .with_context(|| format!("running {}", script.display()))?;
        if !st.success() {
            bail!("{} exited with {st}", script.display());
        }
    }
    Ok(())
}

/// What `launch train status` found.
#[derive(Debug, Serialize)]
pub struct TrainStatus {
    /// Run name.
    pub name: String,
    /// Checkpoints written (`epoch_N.pt`), of `--epochs`.
    pub checkpoints: Vec<String>,
    /// The last `Train Epoch` line's fields.
    pub last_epoch: Option<u64>,
    /// Samples seen in that epoch, of the epoch's total.
    pub samples: Option<(u64, u64)>,
    /// The last logged training loss.
    pub loss: Option<f64>,
    /// Tokens of the whole run.
    pub tokens: u64,
}

/// Read open_lm's `out.log` and checkpoints of a launched run.
pub fn read_status(out: &Path) -> Result<TrainStatus> {
    let launch: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("launch.json"))
            .with_context(|| format!("{}: not a launch train folder", out.display()))?,
    )?;
    let p: TrainPlan = serde_json::from_value(launch["plan"].clone())?;
    let run = p.logs.join(&p.name);
    let mut checkpoints: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("epoch_") && n.ends_with(".pt"))
                .collect()
        })
        .unwrap_or_default();
    checkpoints.sort();
    let mut st = TrainStatus {
        name: p.name.clone(),
        checkpoints,
        last_epoch: None,
        samples: None,
        loss: None,
        tokens: p.tokens,
    };
    if let Ok(log) = std::fs::read_to_string(run.join("out.log")) {
        if let Some(line) = log.lines().rev().find(|l| l.contains("Train Epoch:")) {
            let after = |key: &str| line.split(key).nth(1).map(str::trim_start);
            st.last_epoch = after("Train Epoch:").and_then(|s| s.split_whitespace().next()?.parse().ok());
            st.samples = after("[").and_then(|s| {
                let (a, b) = s.split_once('/')?;
                Some((a.trim().parse().ok()?, b.split_whitespace().next()?.parse().ok()?))
            });
            st.loss = after("Loss:").and_then(|s| s.split_whitespace().next()?.parse().ok());
        }
    }
    Ok(st)
}

fn status(out: &Path) -> Result<()> {
    let s = read_status(out)?;
    println!("{}", serde_json::to_string_pretty(&s)?);
    Ok(())
}
