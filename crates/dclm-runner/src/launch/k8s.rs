//! `dclm launch k8s`: the launch plan as Kubernetes Indexed Jobs — one Job per phase, completion index =
//! rank — plus `run.sh`, which applies the phases in dependency order (Kubernetes has no job dependencies) and stops
//! at the first failed phase. Completed shards are skipped on rerun through the executor's `_done/` markers.

use super::plan::{Phase, Plan, PlanArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Arguments of `launch k8s`.
#[derive(Args, Debug, Clone)]
pub struct K8sArgs {
    /// The pipeline to distribute. Paths are as the containers see them (absolute; under `--mount-path` when
    /// `--pvc` is given). Without `--dclm-bin` the tasks run `dclm` from the image's PATH.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Container image holding the `dclm` binary (and `/bin/sh`).
    #[arg(long)]
    pub image: String,
    /// Namespace of the Jobs (default: kubectl's current namespace).
    #[arg(long)]
    pub namespace: Option<String>,
    /// PersistentVolumeClaim (ReadWriteMany) mounted into every task: the shared storage holding inputs and `--out`.
    #[arg(long)]
    pub pvc: Option<String>,
    /// Where the `--pvc` volume is mounted in the containers.
    #[arg(long, default_value = "/data")]
    pub mount_path: String,
    /// CPU request and limit per task (default: the phase's thread count).
    #[arg(long)]
    pub cpu: Option<String>,
    /// Memory request and limit per task of sharded phases.
    #[arg(long, default_value = "4Gi")]
    pub memory: String,
    /// Memory request and limit of single-task phases (dedup reduce, BFF); default: `--memory`.
    #[arg(long)]
    pub reduce_memory: Option<String>,
    /// Retries of each shard task (Job `backoffLimitPerIndex`).
    #[arg(long, default_value_t = 3)]
    pub backoff_limit_per_index: u32,
    /// Failed shard tasks (after their retries) tolerated before a phase's Job fails early (`maxFailedIndexes`);
    /// default: the Job finishes its other tasks, then fails if any task failed.
    #[arg(long)]
    pub max_failed_indexes: Option<u32>,
    /// Tasks of one phase running at once (`parallelism`; default: all).
    #[arg(long)]
    pub max_parallel: Option<usize>,
    /// Service account of the task pods (e.g. one with object-store access).
    #[arg(long)]
    pub service_account: Option<String>,
    /// Extra environment variable of every task, `KEY=VALUE` (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Secret whose keys become environment variables of every task, e.g. AWS credentials (repeatable).
    #[arg(long = "secret-env", value_name = "SECRET")]
    pub secret_env: Vec<String>,
    /// Seconds a finished Job (and its pods' logs) is kept (`ttlSecondsAfterFinished`).
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    pub ttl_seconds_after_finished: u32,
    /// How long `run.sh` waits for one phase before giving up (a kubectl duration).
    #[arg(long, default_value = "72h")]
    pub wait_timeout: String,
    /// Name prefix of the Jobs and value of their `dclm-rs/run` label (default: from the `--out` folder name).
    #[arg(long)]
    pub run_name: Option<String>,
    /// Where the manifests and `run.sh` are written (default `<out>/_launch/k8s`).
    #[arg(long)]
    pub manifests_dir: Option<PathBuf>,
    /// Run the generated `run.sh` (kubectl must reach the cluster) instead of only printing how to.
    #[arg(long)]
    pub apply: bool,
}

/// One generated file: name inside the manifests folder and its text.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// File name, e.g. `00-extract.yaml`.
    pub file: String,
    /// The Job name (or ConfigMap name).
    pub name: String,
    /// YAML text.
    pub yaml: String,
}

/// Everything `launch k8s` writes.
#[derive(Debug, Clone)]
pub struct K8sOutput {
    /// The plan after container-side adjustments (binary, embedded config path).
    pub plan: Plan,
    /// The filter config ConfigMap, if the config was embedded.
    pub config_map: Option<Manifest>,
    /// One Job manifest per phase, in order.
    pub jobs: Vec<Manifest>,
    /// The driver script.
    pub run_sh: String,
}

const CONFIG_MOUNT: &str = "/etc/dclm-rs";
/// What a ConfigMap may hold (the API limit is 1 MiB including metadata).
const CONFIG_MAP_MAX: usize = 1_000_000;

fn config_map_key(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
}

/// The filter config as ConfigMap data: file name → text. Relative paths inside it resolve against `--assets`
/// (which must be on the volume), not against the config's folder, so only the file itself is shipped.
fn config_files(config: &Path) -> Result<serde_json::Map<String, Value>> {
    let name = config.file_name().unwrap_or_default().to_string_lossy().into_owned();
    if !config_map_key(&name) {
        bail!("filter config file name {name:?} is not a valid ConfigMap key: rename it or put it on the volume");
    }
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading filter config {}", config.display()))?;
    if text.len() > CONFIG_MAP_MAX {
        bail!(
            "filter config {} is over a ConfigMap's 1 MiB: put it on the volume (--pvc) instead",
            config.display()
        );
    }
    let mut data = serde_json::Map::new();
    data.insert(name, Value::String(text));
    Ok(data)
}

/// A DNS-1123 label made from `s` (lowercase alphanumerics and `-`, starting and ending alphanumeric).
fn dns_label(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Quote one word for POSIX `sh` (single quotes unless it is plainly safe).
pub fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// [`sh_quote`], then `$` escaped as `$$` so that Kubernetes' `$(VAR)` expansion of `command` leaves the word
/// unchanged.
fn sh_word(s: &str) -> String {
    sh_quote(s).replace('$', "$$")
}

/// The `--threads` value among a phase's arguments.
pub fn phase_threads(p: &Phase) -> usize {
    p.args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| p.args.get(i + 1))
        .and_then(|t| t.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// The container command of one phase: `exec <bin> <args…> [--rank "$JOB_COMPLETION_INDEX" --world-size W]`.
pub fn task_command(bin: &str, p: &Phase) -> Vec<String> {
    let mut line = String::from("exec ");
    line.push_str(&sh_word(bin));
    for a in &p.args {
        line.push(' ');
        line.push_str(&sh_word(a));
    }
    if p.sharded {
        line.push_str(&format!(" --rank \"$JOB_COMPLETION_INDEX\" --world-size {}", p.tasks));
    }
    vec!["/bin/sh".into(), "-c".into(), line]
}

fn is_url(s: &str) -> bool {
    s.contains("://")
}

fn under(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    path == root || path.starts_with(&format!("{root}/"))
}

/// Build the manifests (no files written).
pub fn generate(a: &K8sArgs) -> Result<K8sOutput> {
    super::check_values(
        a.env
            .iter()
            .map(|v| ("--env", Some(v.as_str().into())))
            .chain(a.secret_env.iter().map(|v| ("--secret-env", Some(v.as_str().into()))))
            .chain([
                ("--image", Some(a.image.as_str().into())),
                ("--namespace", a.namespace.as_deref().map(Into::into)),
                ("--pvc", a.pvc.as_deref().map(Into::into)),
                ("--mount-path", Some(a.mount_path.as_str().into())),
                ("--cpu", a.cpu.as_deref().map(Into::into)),
                ("--memory", Some(a.memory.as_str().into())),
                ("--reduce-memory", a.reduce_memory.as_deref().map(Into::into)),
                ("--service-account", a.service_account.as_deref().map(Into::into)),
                ("--wait-timeout", Some(a.wait_timeout.as_str().into())),
                ("--run-name", a.run_name.as_deref().map(Into::into)),
                ("--manifests-dir", a.manifests_dir.as_ref().map(|p| p.to_string_lossy())),
            ]),
    )?;
    let mut plan = Plan::build(&a.plan)?;
    if a.plan.dclm_bin.is_none() {
        plan.bin = "dclm".into();
    }
    let run = match &a.run_name {
        Some(r) => r.clone(),
        None => {
            let base = Path::new(&plan.out)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            format!("dclm-{}", dns_label(&base.unwrap_or_default()))
        }
    };
    let run = run.trim_end_matches('-').to_string();
    // Job names become a pod label value (≤ 63) and pods are named `<job>-<index>-<suffix>`.
    let longest = plan.phases.iter().map(|p| p.name.len()).max().unwrap_or(0);
    if !valid_label(&run) || run.len() + 1 + longest > 52 {
        bail!(
            "run name {run:?} must be a DNS-1123 label short enough for `<run>-<phase>` to fit 52 characters; \
             pass --run-name"
        );
    }
    if let Some(pvc) = &a.pvc {
        if !a.mount_path.starts_with('/') {
            bail!("--mount-path must be absolute, got {:?}", a.mount_path);
        }
        let mut paths = vec![plan.out.clone()];
        paths.extend(a.plan.inputs.iter().cloned());
        paths.extend(a.plan.assets.iter().map(|p| p.to_string_lossy().into_owned()));
        for p in paths {
            if !is_url(&p) && !under(&p, &a.mount_path) {
                bail!(
                    "{p:?} is not under --mount-path {:?} (the volume of claim {pvc:?}); tasks could not reach it",
                    a.mount_path
                );
            }
        }
    }
    let t = &a.wait_timeout;
    if !(t.len() > 1 && t[..t.len() - 1].bytes().all(|b| b.is_ascii_digit()) && t.ends_with(['h', 'm', 's'])) {
        bail!("--wait-timeout {t:?}: expected a number and a unit, e.g. 90s, 30m, 72h");
    }
    let namespace = a.namespace.clone();
    let mut env: Vec<Value> = Vec::new();
    for kv in &a.env {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--env {kv:?}: expected KEY=VALUE"))?;
        if k.is_empty() {
            bail!("--env {kv:?}: empty name");
        }
        env.push(json!({ "name": k, "value": v }));
    }
    let env_from: Vec<Value> = a
        .secret_env
        .iter()
        .map(|s| json!({ "secretRef": { "name": s } }))
        .collect();

    // A filter config that exists here (and not on the volume) is shipped to the tasks as a ConfigMap (the default
    // config path is this checkout's, which the image does not have).
    let mut config_map = None;
    for p in plan.phases.iter_mut() {
        if let Some(i) = p.args.iter().position(|x| x == "--config") {
            let local = PathBuf::from(&p.args[i + 1]);
            let on_volume = a.pvc.is_some() && under(&p.args[i + 1], &a.mount_path);
            if local.is_file() && !on_volume {
                let data = config_files(&local)?;
                let name = format!("{run}-config");
                let mut cm = json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": { "name": name, "labels": labels(&run, None) },
                    "data": data,
                });
                if let Some(ns) = &namespace {
                    cm["metadata"]["namespace"] = json!(ns);
                }
                config_map = Some(Manifest {
                    file: "00-config.yaml".into(),
                    name,
                    yaml: serde_yaml_ng::to_string(&cm)?,
                });
                let key = local.file_name().unwrap_or_default().to_string_lossy().into_owned();
                p.args[i + 1] = format!("{CONFIG_MOUNT}/{key}");
            }
        }
    }

    let mut jobs = Vec::new();
    for (idx, p) in plan.phases.iter().enumerate() {
        let name = format!("{run}-{}", dns_label(&p.name));
        let threads = phase_threads(p);
        let cpu = a.cpu.clone().unwrap_or_else(|| threads.to_string());
        let memory = if p.tasks == 1 && !p.sharded {
            a.reduce_memory.clone().unwrap_or_else(|| a.memory.clone())
        } else {
            a.memory.clone()
        };
        let lab = labels(&run, Some((p, idx)));
        let mut container = json!({
            "name": "task",
            "image": a.image,
            "command": task_command(&plan.bin, p),
            "env": env,
            "resources": {
                "requests": { "cpu": cpu, "memory": memory },
                "limits": { "cpu": cpu, "memory": memory },
            },
        });
        let mut mounts = Vec::new();
        let mut volumes = Vec::new();
        if let Some(pvc) = &a.pvc {
            mounts.push(json!({ "name": "data", "mountPath": a.mount_path }));
            volumes.push(json!({ "name": "data", "persistentVolumeClaim": { "claimName": pvc } }));
        }
        if let Some(cm) = &config_map {
            if p.args.iter().any(|x| x.starts_with(CONFIG_MOUNT)) {
                mounts.push(json!({ "name": "config", "mountPath": CONFIG_MOUNT, "readOnly": true }));
                volumes.push(json!({ "name": "config", "configMap": { "name": cm.name } }));
            }
        }
        if !env_from.is_empty() {
            container["envFrom"] = json!(env_from);
        }
        if !mounts.is_empty() {
            container["volumeMounts"] = json!(mounts);
        }
        let mut pod = Map::new();
        pod.insert("restartPolicy".into(), json!("Never"));
        if let Some(sa) = &a.service_account {
            pod.insert("serviceAccountName".into(), json!(sa));
        }
        pod.insert("containers".into(), json!([container]));
        if !volumes.is_empty() {
            pod.insert("volumes".into(), json!(volumes));
        }
        let parallelism = a.max_parallel.unwrap_or(p.tasks).clamp(1, p.tasks);
        let mut spec = json!({
            "completionMode": "Indexed",
            "completions": p.tasks,
            "parallelism": parallelism,
            "backoffLimitPerIndex": a.backoff_limit_per_index,
            "ttlSecondsAfterFinished": a.ttl_seconds_after_finished,
            "template": { "metadata": { "labels": lab }, "spec": pod },
        });
        if let Some(m) = a.max_failed_indexes {
            spec["maxFailedIndexes"] = json!(m.min(p.tasks as u32));
        }
        let mut job = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "labels": lab,
                "annotations": {
                    "dclm-rs/output": p.output,
                    "dclm-rs/after": p.after.iter().map(|i| format!("{run}-{}", dns_label(&plan.phases[*i].name)))
                        .collect::<Vec<_>>().join(","),
                },
            },
            "spec": spec,
        });
        if let Some(ns) = &namespace {
            job["metadata"]["namespace"] = json!(ns);
        }
        jobs.push(Manifest {
            file: format!("{:02}-{}.yaml", idx + 1, dns_label(&p.name)),
            name,
            yaml: serde_yaml_ng::to_string(&job)?,
        });
    }
    let run_sh = run_script(&run, namespace.as_deref(), &a.wait_timeout, config_map.as_ref(), &jobs);
    Ok(K8sOutput {
        plan,
        config_map,
        jobs,
        run_sh,
    })
}

fn labels(run: &str, phase: Option<(&Phase, usize)>) -> Value {
    let mut m = json!({
        "app.kubernetes.io/name": "dclm-rs",
        "dclm-rs/run": run,
    });
    if let Some((p, idx)) = phase {
        m["dclm-rs/phase"] = json!(dns_label(&p.name));
        m["dclm-rs/stage"] = json!(dns_label(&p.stage));
        m["dclm-rs/phase-index"] = json!(idx.to_string());
    }
    m
}

fn run_script(run: &str, ns: Option<&str>, timeout: &str, cm: Option<&Manifest>, jobs: &[Manifest]) -> String {
    let ns_flag = ns.map(|n| format!(" -n {}", sh_quote(n))).unwrap_or_default();
    let timeout_q = sh_quote(timeout);
    let mut s = format!(
        r#"#!/usr/bin/env bash
# dclm-rs run {run}: applies each phase's Indexed Job in dependency order and waits for it (Kubernetes has no
# job dependencies). Rerun it after a failure: completed Jobs are skipped, a failed Job is deleted and re-created,
# and its tasks skip the shards they already finished (the `_done/` markers on shared storage).
# Generated by `dclm launch k8s`; environment: KUBECTL (default kubectl), POLL_SECONDS (default 30).
set -euo pipefail
cd "$(dirname "$0")"
KUBECTL="${{KUBECTL:-kubectl}}"
POLL="${{POLL_SECONDS:-30}}"
TIMEOUT={timeout_q}
k() {{ "$KUBECTL"{ns_flag} "$@"; }}

# Seconds of a kubectl duration such as 90s, 30m, 72h.
secs() {{ case "$1" in *h) echo $(( ${{1%h}} * 3600 ));; *m) echo $(( ${{1%m}} * 60 ));; *s) echo "${{1%s}}";; *) echo "$1";; esac; }}

conditions() {{ k get job "$1" -o jsonpath='{{range .status.conditions[?(@.status=="True")]}}{{.type}} {{end}}' 2>/dev/null || true; }}

phase() {{
  local job="$1" file="$2"
  local c
  c="$(conditions "$job")"
  case " $c " in
    *" Complete "*) echo "[$job] already complete, skipped"; return 0;;
    *" Failed "*) echo "[$job] failed before: deleting it to retry (finished shards are skipped)"
                  k delete job "$job" --wait=true;;
  esac
  k apply -f "$file"
  local start=$SECONDS limit
  limit="$(secs "$TIMEOUT")"
  echo "[$job] waiting (timeout $TIMEOUT)"
  while :; do
    if k wait --for=condition=complete "job/$job" --timeout="${{POLL}}s" >/dev/null 2>&1; then
      echo "[$job] complete"; return 0
    fi
    c="$(conditions "$job")"
    case " $c " in
      *" Failed "*) echo "[$job] FAILED:" >&2
                    k get job "$job" -o jsonpath='{{.status.failedIndexes}}{{"\n"}}' >&2 || true
                    k describe job "$job" >&2 || true
                    exit 1;;
    esac
    if (( SECONDS - start >= limit )); then echo "[$job] timed out after $TIMEOUT" >&2; exit 1; fi
  done
}}

"#
    );
    if let Some(cm) = cm {
        s.push_str(&format!("k apply -f {}\n", sh_quote(&cm.file)));
    }
    for j in jobs {
        s.push_str(&format!("phase {} {}\n", sh_quote(&j.name), sh_quote(&j.file)));
    }
    s.push_str(&format!("echo \"run {run}: all phases complete\"\n"));
    s
}

/// `dclm launch k8s …`
pub fn main(a: &K8sArgs) -> Result<()> {
    let out = generate(a)?;
    let dir = match &a.manifests_dir {
        Some(d) => d.clone(),
        None => PathBuf::from(&out.plan.out).join("_launch").join("k8s"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, text: &str| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
    };
    write("plan.json", &out.plan.to_json()?)?;
    if let Some(cm) = &out.config_map {
        write(&cm.file, &cm.yaml)?;
    }
    for j in &out.jobs {
        write(&j.file, &j.yaml)?;
    }
    write("run.sh", &out.run_sh)?;
    let run_sh = dir.join("run.sh");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&run_sh, std::fs::Permissions::from_mode(0o755))?;
    }
    eprintln!(
        "wrote {} Job manifest(s){} and run.sh to {}",
        out.jobs.len(),
        if out.config_map.is_some() {
            " + filter-config ConfigMap"
        } else {
            ""
        },
        dir.display()
    );
    if a.apply {
        let status = std::process::Command::new("bash")
            .arg(&run_sh)
            .status()
            .with_context(|| format!("running {}", run_sh.display()))?;
        if !status.success() {
            bail!("{} failed ({status}); rerun it to retry", run_sh.display());
        }
    } else {
        eprintln!("run it with: bash {}", run_sh.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_survive_sh_and_kubernetes_expansion() {
        assert_eq!(sh_quote("/data/run/extract"), "/data/run/extract");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote("$(HOME)"), "'$(HOME)'");
        assert_eq!(sh_word("$(HOME)"), "'$$(HOME)'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn labels_are_dns_1123() {
        assert_eq!(dns_label("dedup-map"), "dedup-map");
        assert_eq!(dns_label("My_Run 2024"), "my-run-2024");
        assert!(valid_label("dclm-run"));
        assert!(!valid_label("-x"));
        assert!(!valid_label("Run"));
    }
}
