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
    /// Step, tokens, loss, checkpoints and what is left of a launched open_lm run.
    Status {
        /// The run folder given to `launch train -o`.
        #[arg(long, short = 'o')]
        out: PathBuf,
    },
    /// The run report (`report.json` + `report.html` in the run folder): the loss curve from open_lm's log and,
    /// with `--tasks`, an eval table for each checkpoint that came back (evaluated once; a checkpoint that
    /// changed, or other eval settings, are evaluated again).
    Report(ReportArgs),
}

/// Arguments of `launch train report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// The run folder given to `launch train -o`.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Evaluate every checkpoint on these tasks (as `dclm eval --tasks`: `core`, `light`, a YAML, …).
    #[arg(long)]
    pub tasks: Option<String>,
    /// Only the first N examples of each task.
    #[arg(long)]
    pub limit: Option<usize>,
    /// DCLM assets folder (eval YAMLs, task files, tokenizer); default `$DCLM_ASSETS`.
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// DCLM's `eval/` folder, when not under the assets.
    #[arg(long)]
    pub eval_dir: Option<PathBuf>,
    /// The folder holding LLM-Foundry's `local_data/`, when not beside the eval folder.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Tokenizer (`tokenizer.json`), when not in the assets.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Device for the evaluation: `cpu`, `cuda`, `cuda:N` or `auto`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
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
    /// Start from these weights (open_lm's `--pretrained`: weights only, fresh optimizer and schedule): an open_lm
    /// `.pt` as is, or any checkpoint `dclm eval` reads (dclm-rs safetensors, an HF folder), converted to
    /// `<out>/init/init.pt` first. A requeued or resumed run continues from its own latest checkpoint instead.
    #[arg(long)]
    pub init: Option<PathBuf>,
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
    /// Checkpoints the run writes (open_lm's `--epochs`).
    #[serde(default)]
    pub checkpoints: u64,
    /// Where the `--init` weights are (open_lm's `--pretrained`), if any.
    #[serde(default)]
    pub init: Option<PathBuf>,
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
    // open_lm writes logs and checkpoints under the run folder: inside the data it would mix with the shards.
    dclm_core::provenance::check_disjoint(std::slice::from_ref(&data), &[], &out)?;
    let logs = out.join("logs");
    let init = match &a.init {
        Some(p) if p.is_file() && p.extension().is_some_and(|e| e == "pt") => Some(std::path::absolute(p)?),
        Some(p) if p.exists() => Some(out.join("init").join("init.pt")),
        Some(p) => bail!("--init {}: no such checkpoint", p.display()),
        None => None,
    };
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
        // The entry script keeps every logged scalar at full precision (scalars.jsonl) through open_lm's
        // tensorboard hook; tensorboard's own event files are written too when it is installed.
        "--report-to".into(),
        "tensorboard".into(),
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
    if let Some(i) = &init {
        args.extend(["--pretrained".into(), i.display().to_string()]);
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
        checkpoints: a.num_checkpoints,
        init,
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

import open_lm.main as open_lm_main
from open_lm.main import main


class ScalarLog:
    """open_lm's tensorboard writer as open_lm uses it (add_scalar, flush, close): every logged scalar (train/loss,
    train/lr, train/tokens, …) at full precision as a JSON line in scalars.jsonl of the run's tensorboard folder,
    which `dclm launch train status/report` read; also passed on to tensorboard's own writer when installed."""

    def __init__(self, path):
        os.makedirs(path, exist_ok=True)
        self.file = open(os.path.join(path, "scalars.jsonl"), "a")
        self.inner = real_tensorboard.SummaryWriter(path) if real_tensorboard is not None else None

    def add_scalar(self, name, value, step):
        self.file.write(json.dumps({"name": name, "value": float(value), "step": int(step)}) + "\n")
        if self.inner is not None:
            self.inner.add_scalar(name, value, step)

    def flush(self):
        self.file.flush()
        if self.inner is not None:
            self.inner.flush()

    def close(self):
        self.file.close()
        if self.inner is not None:
            self.inner.close()


real_tensorboard = open_lm_main.tensorboard
open_lm_main.tensorboard = types.SimpleNamespace(SummaryWriter=ScalarLog)

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
    match &t.status {
        Some(TrainLaunchCmd::Status { out }) => return status(out),
        Some(TrainLaunchCmd::Report(r)) => return report(r),
        None => {}
    }
    let Some(a) = &t.args else {
        bail!("launch train needs --data, --scale and -o (or `status -o RUN`)");
    };
    let (p, hp, model) = plan(a)?;
    std::fs::create_dir_all(&p.logs).with_context(|| format!("creating {}", p.logs.display()))?;
    dclm_core::io::write_atomic(&p.model_json, &serde_json::to_vec_pretty(&model)?)?;
    if let (Some(src), Some(dst)) = (&a.init, &p.init) {
        if src != dst {
            write_init(src, dst, &model)?;
        }
    }
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

/// What identifies `--init` weights: their absolute path and each file's name, size and modification time.
fn init_identity(src: &Path) -> Result<String> {
    let files: Vec<PathBuf> = if src.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(src)?.flatten().map(|e| e.path()).collect();
        v.sort();
        v
    } else {
        vec![src.to_path_buf()]
    };
    let mut id = std::path::absolute(src)?.display().to_string();
    for f in files {
        let m = std::fs::metadata(&f).with_context(|| format!("reading {}", f.display()))?;
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        id.push_str(&format!("|{}:{}:{mtime}", f.display(), m.len()));
    }
    Ok(id)
}

/// Convert `--init` weights to the open_lm `.pt` the run starts from, after checking their shape is the run's.
/// A conversion of the same weights is kept; other weights replace it.
fn write_init(src: &Path, dst: &Path, model: &ModelConfig) -> Result<()> {
    use dclm_train::checkpoint::{export, load_any, ConfigSource, ConvertOptions, ExportFormat};
    let id = init_identity(src)?;
    let id_file = dst.with_extension("source");
    if dst.is_file() && std::fs::read_to_string(&id_file).is_ok_and(|s| s == id) {
        return Ok(());
    }
    let mut ckpt = load_any(src, None).with_context(|| format!("loading --init {}", src.display()))?;
    if ckpt.config_source == ConfigSource::Inferred {
        ckpt.config.seq_len = model.seq_len;
        ckpt.config.norm_eps = model.norm_eps;
    }
    if &ckpt.config != model {
        bail!(
            "--init {} has another shape than the model this run trains ({:?} vs {:?})",
            src.display(),
            ckpt.config,
            model
        );
    }
    let dir = dst.parent().context("init path has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Written beside, then renamed: a half-written file is never taken for the converted weights.
    let tmp = dir.join("init.partial.pt");
    let files = export(&ckpt, ExportFormat::OpenLm, &tmp, &ConvertOptions::default())?;
    std::fs::rename(&tmp, dst).with_context(|| format!("renaming to {}", dst.display()))?;
    for f in files.iter().filter(|f| **f != tmp) {
        std::fs::rename(f, dst.with_extension("json")).ok();
    }
    dclm_core::io::write_atomic(&id_file, id.as_bytes())?;
    eprintln!("launch train: --init {} converted to {}", src.display(), dst.display());
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
    /// Optimizer steps done (from the last logged line: samples of earlier epochs plus this one's, over the
    /// global batch).
    pub step: u64,
    /// Optimizer steps of the whole run.
    pub steps: u64,
    /// Tokens trained on so far.
    pub tokens_seen: u64,
    /// Tokens still to train on.
    pub tokens_left: u64,
    /// Checkpoints still to come.
    pub checkpoints_left: u64,
    /// Every logged line: step, tokens, loss (mean over the logging window), learning rate.
    #[serde(skip)]
    pub curve: Vec<dclm_report::LossPoint>,
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
    // epoch_2.pt before epoch_10.pt.
    checkpoints.sort_by_key(|n| {
        n.trim_start_matches("epoch_")
            .trim_end_matches(".pt")
            .parse::<u64>()
            .unwrap_or(u64::MAX)
    });
    let mut st = TrainStatus {
        name: p.name.clone(),
        checkpoints,
        last_epoch: None,
        samples: None,
        loss: None,
        tokens: p.tokens,
        step: 0,
        steps: 0,
        tokens_seen: 0,
        tokens_left: 0,
        checkpoints_left: 0,
        curve: Vec::new(),
    };
    let per_step = (p.global_bs * p.seq_len).max(1) as u64;
    st.steps = p.tokens / per_step;
    if let Ok(log) = std::fs::read_to_string(run.join("out.log")) {
        for line in log.lines().filter(|l| l.contains("Train Epoch:")) {
            let after = |key: &str| line.split(key).nth(1).map(str::trim_start);
            let epoch: Option<u64> = after("Train Epoch:").and_then(|s| s.split_whitespace().next()?.parse().ok());
            let samples: Option<(u64, u64)> = after("[").and_then(|s| {
                let (a, b) = s.split_once('/')?;
                Some((a.trim().parse().ok()?, b.split_whitespace().next()?.parse().ok()?))
            });
            let loss: Option<f64> = after("Loss:").and_then(|s| s.split_whitespace().next()?.parse().ok());
            let lr: f64 = after("LR:")
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0.0);
            let (Some(e), Some((seen, per_epoch)), Some(l)) = (epoch, samples, loss) else {
                continue;
            };
            let step = (e * per_epoch + seen) / p.global_bs.max(1) as u64;
            st.curve.push(dclm_report::LossPoint {
                step,
                tokens: step * per_step,
                train_loss: l,
                val_loss: None,
                lr,
            });
            (st.last_epoch, st.samples, st.loss, st.step) = (Some(e), Some((seen, per_epoch)), Some(l), step);
        }
    }
    // The entry script's full-precision scalars, when present, give the exact curve.
    let precise = scalar_curve(&run.join("tensorboard").join("scalars.jsonl"), per_step);
    if let Some(last) = precise.last() {
        st.loss = Some(last.train_loss);
        st.step = st.step.max(last.step);
        st.curve = precise;
    }
    st.tokens_seen = st.step * per_step;
    st.tokens_left = p.tokens.saturating_sub(st.tokens_seen);
    st.checkpoints_left = p.checkpoints.saturating_sub(st.checkpoints.len() as u64);
    Ok(st)
}

/// Loss points from `scalars.jsonl` (`train/loss` and `train/lr` per logged step; open_lm logs the count of
/// optimizer steps done, the loss being that of the last step's batch), in step order, with `tokens_per_step`
/// tokens per step; a requeued run logs steps again after its resume, and the later value wins.
fn scalar_curve(path: &Path, tokens_per_step: u64) -> Vec<dclm_report::LossPoint> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut by_step: std::collections::BTreeMap<u64, dclm_report::LossPoint> = Default::default();
    for v in text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let (Some(name), Some(value), Some(step)) = (v["name"].as_str(), v["value"].as_f64(), v["step"].as_u64())
        else {
            continue;
        };
        let pt = by_step.entry(step).or_insert(dclm_report::LossPoint {
            step,
            tokens: step * tokens_per_step,
            ..Default::default()
        });
        match name {
            "train/loss" => pt.train_loss = value,
            "train/lr" => pt.lr = value,
            _ => {}
        }
    }
    by_step.into_values().collect()
}

fn status(out: &Path) -> Result<()> {
    let s = read_status(out)?;
    println!("{}", serde_json::to_string_pretty(&s)?);
    Ok(())
}

/// `launch train report`: loss curve, and the eval table of every checkpoint (cached per checkpoint and settings).
fn report(r: &ReportArgs) -> Result<()> {
    let st = read_status(&r.out)?;
    let launch: serde_json::Value = serde_json::from_slice(&std::fs::read(r.out.join("launch.json"))?)?;
    let p: TrainPlan = serde_json::from_value(launch["plan"].clone())?;
    let ckpt_dir = p.logs.join(&p.name).join("checkpoints");
    let mut rep = dclm_report::Report::new(format!("open_lm run {}", p.name), "open_lm (launch train)");
    rep.settings.insert("run folder".into(), r.out.display().to_string());
    rep.settings.insert(
        "progress".into(),
        format!(
            "step {} of {}, {} of {} tokens, {} of {} checkpoints",
            st.step,
            st.steps,
            st.tokens_seen,
            st.tokens,
            st.checkpoints.len(),
            p.checkpoints
        ),
    );
    rep.loss_curve = Some(dclm_report::LossCurve {
        model: p.model_json.display().to_string(),
        points: st.curve.clone(),
    });
    if let Some(tasks) = &r.tasks {
        let eval_out = r.out.join("eval");
        std::fs::create_dir_all(&eval_out).with_context(|| format!("creating {}", eval_out.display()))?;
        for name in &st.checkpoints {
            let ckpt = ckpt_dir.join(name);
            let id = dclm_core::provenance::InputIdentity::of(&ckpt)?;
            let key = format!("{}:{}:{}:{tasks}:{:?}", id.size, id.mtime_ns, id.xxh3, r.limit);
            let stem = name.trim_end_matches(".pt");
            let cached = eval_out.join(format!("{stem}.table.json"));
            let prior: Option<serde_json::Value> = std::fs::read(&cached)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let table: dclm_report::EvalTable = match prior.filter(|v| v["key"] == key.as_str()) {
                Some(v) => serde_json::from_value(v["table"].clone())?,
                None => {
                    eprintln!("launch train report: evaluating {}", ckpt.display());
                    let args = crate::stages::eval::EvalArgs {
                        model: ckpt.clone(),
                        model_json: Some(p.model_json.clone()),
                        tasks: tasks.clone(),
                        eval_dir: r.eval_dir.clone(),
                        data_dir: r.data_dir.clone(),
                        assets: r.assets.clone(),
                        tokenizer: r.tokenizer.clone(),
                        limit: r.limit,
                        batch_size: 16,
                        threads: 0,
                        max_seq_len: None,
                        device: r.device.clone(),
                        version: "v2".into(),
                        name: Some(format!("{}/{name}", p.name)),
                        no_progress: true,
                        out: eval_out.join(format!("{stem}.json")),
                    };
                    let o =
                        crate::stages::eval::run(&args).with_context(|| format!("evaluating {}", ckpt.display()))?;
                    let table = crate::stages::eval::eval_table(&o.report, &o.cfg, tasks);
                    dclm_core::io::write_atomic(
                        &cached,
                        &serde_json::to_vec_pretty(&serde_json::json!({ "key": key, "table": table }))?,
                    )?;
                    table
                }
            };
            rep.notes.push(format!(
                "{name}: mean centered accuracy {} over {} tasks (results: eval/{stem}.json)",
                table.core.map(|c| format!("{c:.4}")).unwrap_or_else(|| "n/a".into()),
                table.rows.len()
            ));
            rep.eval = Some(table);
        }
        if let Some(last) = st.checkpoints.last() {
            rep.settings.insert("eval table".into(), format!("{last} on {tasks}"));
        }
    }
    let (json, html) = rep.write(&r.out).context("writing the report")?;
    eprintln!("launch train report: {} and {}", json.display(), html.display());
    Ok(())
}
