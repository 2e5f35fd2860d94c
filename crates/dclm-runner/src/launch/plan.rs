//! A launch plan: the pipeline's stages as phases of shard tasks (`--rank R --world-size W`) with dependencies,
//! shared by every cluster backend (Slurm job arrays, Kubernetes Indexed Jobs, Ray tasks).
//!
//! Stages that need a global step are split into map → reduce → apply phases that exchange files on shared
//! storage (MinHash / exact dedup: per-shard signatures, one merge task writing the drop set, then a sharded
//! apply). BFF is order-dependent (one filter, documents in sorted order), so it runs as a single task that
//! parallelizes with threads.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which dedup method the plan uses.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanDedup {
    /// MinHash-LSH: map (signatures) → reduce (merge) → apply, across all shards.
    Minhash,
    /// Exact text dedup: map → reduce → apply.
    Exact,
    /// BFF old-both (DCLM-Baseline): one task over all shards (cross-shard filter), threads inside.
    Bff,
}

/// The pipeline a launcher distributes.
#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// Inputs of the first stage (WARC / JSONL files, folders, globs; `s3://bucket/prefix/` where supported).
    #[arg(long = "input", short = 'i', required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// Root output folder on storage every task can reach; each stage writes `<out>/<stage>/`.
    #[arg(long, short = 'o')]
    pub out: String,
    /// Stages, in order (a contiguous part of extract,filter,dedup).
    #[arg(long, value_delimiter = ',', default_value = "extract,filter,dedup")]
    pub stages: Vec<String>,
    /// Tasks per sharded phase (the array size / world size).
    #[arg(long, default_value_t = 4)]
    pub tasks: usize,
    /// Worker threads inside each task.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Threads of single-task phases (dedup reduce, BFF).
    #[arg(long, default_value_t = 1)]
    pub reduce_threads: usize,
    /// Heuristic-filter YAML (default: the embedded DCLM-Baseline config of this checkout).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// DCLM assets folder passed to the filter stage.
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Filter steps to skip (1-based), as `dclm filter --skip-step`.
    #[arg(long = "skip-step")]
    pub skip_steps: Vec<usize>,
    /// Fraction of unreadable input records a task tolerates before it fails (`--max-error-rate` of each stage).
    #[arg(long, default_value_t = 0.0)]
    pub max_error_rate: f64,
    /// Dedup method.
    #[arg(long, value_enum, default_value = "minhash")]
    pub dedup: PlanDedup,
    /// The runner binary the tasks execute (default: this executable); must be reachable from every node.
    #[arg(long, alias = "xtask-bin")]
    pub dclm_bin: Option<PathBuf>,
}

/// One phase: `tasks` copies of one runner command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    /// Unique name, e.g. `extract`, `dedup-map`.
    pub name: String,
    /// The stage it belongs to (`extract`, `filter`, `dedup`).
    pub stage: String,
    /// Number of tasks (1 for reduce / single-task phases).
    pub tasks: usize,
    /// Whether each task gets `--rank R --world-size tasks` appended.
    pub sharded: bool,
    /// Runner arguments (after the binary), without rank and world size.
    pub args: Vec<String>,
    /// Indices (into `Plan::phases`) of the phases that must complete first.
    pub after: Vec<usize>,
    /// The folder this phase writes (its `_done/` markers and `_stats/` tell its progress).
    pub output: String,
}

impl Phase {
    /// The runner arguments of one task; `rank` is a literal rank or a shell expression such as
    /// `$SLURM_ARRAY_TASK_ID`.
    pub fn argv(&self, rank: &str) -> Vec<String> {
        let mut v = self.args.clone();
        if self.sharded {
            v.extend([
                "--rank".into(),
                rank.into(),
                "--world-size".into(),
                self.tasks.to_string(),
            ]);
        }
        v
    }
}

/// The whole plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The runner binary.
    pub bin: String,
    /// Root output folder.
    pub out: String,
    /// Phases in dependency order.
    pub phases: Vec<Phase>,
}

const ALL_STAGES: [&str; 3] = ["extract", "filter", "dedup"];

fn absolute(p: &str) -> Result<String> {
    if p.contains("://") {
        return Ok(p.trim_end_matches('/').to_string());
    }
    let path = Path::new(p);
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().context("current folder")?.join(path)
    };
    Ok(abs.to_string_lossy().into_owned())
}

fn join(root: &str, child: &str) -> String {
    format!("{}/{child}", root.trim_end_matches('/'))
}

/// Append a phase that depends on the one before it (phases run in order).
fn push(
    phases: &mut Vec<Phase>,
    name: String,
    stage: &str,
    tasks: usize,
    sharded: bool,
    args: Vec<String>,
    output: &str,
) {
    let after = phases.len().checked_sub(1).into_iter().collect();
    phases.push(Phase {
        name,
        stage: stage.to_string(),
        tasks,
        sharded,
        args,
        after,
        output: output.to_string(),
    });
}

impl Plan {
    /// Build the plan from launcher arguments (paths made absolute so tasks can run from any folder).
    pub fn build(a: &PlanArgs) -> Result<Plan> {
        super::check_values(a.inputs.iter().map(|i| ("--input", Some(i.as_str().into()))).chain([
            ("--out", Some(a.out.as_str().into())),
            ("--config", a.config.as_ref().map(|p| p.to_string_lossy())),
            ("--assets", a.assets.as_ref().map(|p| p.to_string_lossy())),
            ("--dclm-bin", a.dclm_bin.as_ref().map(|p| p.to_string_lossy())),
        ]))?;
        if a.tasks == 0 {
            bail!("--tasks must be at least 1");
        }
        let first = ALL_STAGES
            .iter()
            .position(|s| a.stages.first().map(String::as_str) == Some(*s))
            .with_context(|| format!("--stages must start with one of {ALL_STAGES:?}, got {:?}", a.stages))?;
        for (i, s) in a.stages.iter().enumerate() {
            if ALL_STAGES.get(first + i) != Some(&s.as_str()) {
                bail!(
                    "--stages must be a contiguous, ordered part of {ALL_STAGES:?}, got {:?}",
                    a.stages
                );
            }
        }
        let bin = match &a.dclm_bin {
            Some(p) => absolute(&p.to_string_lossy())?,
            None => std::env::current_exe()
                .context("locating the runner binary")?
                .to_string_lossy()
                .into_owned(),
        };
        let out = absolute(&a.out)?;
        let mut inputs: Vec<String> = a.inputs.iter().map(|i| absolute(i)).collect::<Result<_>>()?;
        let common = |threads: usize| -> Vec<String> {
            let mut v = vec!["--threads".into(), threads.to_string(), "--no-progress".into()];
            if a.max_error_rate > 0.0 {
                v.extend(["--max-error-rate".into(), a.max_error_rate.to_string()]);
            }
            v
        };
        let mut phases: Vec<Phase> = Vec::new();
        for stage in &a.stages {
            let output = join(&out, stage);
            let mut io = vec!["--input".to_string()];
            io.extend(inputs.iter().cloned());
            io.extend(["--out".into(), output.clone()]);
            match stage.as_str() {
                "extract" => {
                    let mut args = vec!["extract".to_string()];
                    args.extend(io);
                    args.extend(common(a.threads));
                    push(&mut phases, "extract".into(), stage, a.tasks, true, args, &output);
                }
                "filter" => {
                    let mut args = vec!["filter".to_string()];
                    args.extend(io);
                    match &a.config {
                        Some(c) => {
                            args.extend(["--config".into(), absolute(&c.to_string_lossy())?]);
                            if let Some(d) = &a.assets {
                                args.extend(["--assets".into(), absolute(&d.to_string_lossy())?]);
                            }
                        }
                        // The offline default: the embedded DCLM-Baseline config with its own small assets and
                        // the stop-word language-ID stand-in, as `dclm baseline` runs without assets.
                        None => {
                            let dir = absolute(concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/embedded"))?;
                            args.extend(["--config".into(), format!("{dir}/baseline_refinedweb.yaml")]);
                            args.extend(["--assets".into(), dir, "--lid".into(), "stopwords".into()]);
                        }
                    }
                    for s in &a.skip_steps {
                        args.extend(["--skip-step".into(), s.to_string()]);
                    }
                    args.extend(common(a.threads));
                    push(&mut phases, "filter".into(), stage, a.tasks, true, args, &output);
                }
                "dedup" => match a.dedup {
                    PlanDedup::Bff => {
                        let mut args = vec!["dedup".to_string(), "--method".into(), "bff".into()];
                        args.extend(io);
                        args.extend(common(a.reduce_threads));
                        push(&mut phases, "dedup".into(), stage, 1, false, args, &output);
                    }
                    PlanDedup::Minhash | PlanDedup::Exact => {
                        let method = if a.dedup == PlanDedup::Minhash {
                            "minhash"
                        } else {
                            "exact"
                        };
                        for (phase, tasks, threads) in [
                            ("map", a.tasks, a.threads),
                            ("reduce", 1, a.reduce_threads),
                            ("apply", a.tasks, a.threads),
                        ] {
                            let mut args = vec![
                                "dedup".to_string(),
                                "--method".into(),
                                method.into(),
                                "--phase".into(),
                                phase.into(),
                            ];
                            args.extend(io.clone());
                            args.extend(common(threads));
                            push(
                                &mut phases,
                                format!("dedup-{phase}"),
                                stage,
                                tasks,
                                phase != "reduce",
                                args,
                                &output,
                            );
                        }
                    }
                },
                other => bail!("unknown stage {other:?}"),
            }
            inputs = vec![output];
        }
        Ok(Plan { bin, out, phases })
    }

    /// Read a plan written by [`Plan::to_json`] (e.g. `<jobs-dir>/plan.json`).
    pub fn load(path: &Path) -> Result<Plan> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing plan {}", path.display()))
    }

    /// The plan as pretty JSON (written beside the generated job files).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        p: PlanArgs,
    }

    fn plan(args: &[&str]) -> Result<Plan> {
        let mut v = vec!["t"];
        v.extend_from_slice(args);
        Plan::build(&T::parse_from(v).p)
    }

    #[test]
    fn minhash_plan_has_map_reduce_apply_in_order() {
        let p = plan(&[
            "-i",
            "/data/warcs",
            "-o",
            "/shared/run",
            "--tasks",
            "3",
            "--dclm-bin",
            "/bin/dclm",
        ])
        .unwrap();
        let names: Vec<&str> = p.phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["extract", "filter", "dedup-map", "dedup-reduce", "dedup-apply"]);
        assert_eq!(p.phases[3].tasks, 1);
        assert!(!p.phases[3].sharded);
        assert_eq!(p.phases[4].after, [3]);
        assert_eq!(p.phases[0].after, Vec::<usize>::new());
        let argv = p.phases[1].argv("$SLURM_ARRAY_TASK_ID");
        let i = argv.iter().position(|a| a == "--input").unwrap();
        assert_eq!(argv[i + 1], "/shared/run/extract");
        assert!(argv.ends_with(&[
            "--rank".into(),
            "$SLURM_ARRAY_TASK_ID".into(),
            "--world-size".into(),
            "3".into()
        ]));
        assert!(p.phases[3].argv("0").iter().all(|a| a != "--rank"));
    }

    #[test]
    fn stages_must_be_contiguous() {
        assert!(plan(&["-i", "x", "-o", "y", "--stages", "extract,dedup"]).is_err());
        assert!(plan(&["-i", "x", "-o", "y", "--stages", "tokenize"]).is_err());
        assert!(plan(&["-i", "x", "-o", "y", "--tasks", "0"]).is_err());
        let p = plan(&["-i", "x", "-o", "y", "--stages", "filter,dedup", "--dedup", "bff"]).unwrap();
        assert_eq!(p.phases.len(), 2);
        assert_eq!(p.phases[1].tasks, 1);
    }
}
