//! A real single-node Slurm cluster (Debian's slurm-wlm + munge, started by scripts/slurm/local-cluster.sh)
//! runs extract → filter → dedup (MinHash map/reduce/apply) as job arrays with afterok dependencies on the
//! shared WARC samples: the outputs equal a local run's byte for byte, a task killed mid-run (kill -9, first
//! attempt of filter rank 1) is retried by the job script and the result is still identical. A task that
//! fails on every attempt (dedup-map rank 0, first submission) gets the phases after it cancelled and makes
//! `launch status` fail; the resubmission skips the complete phases and runs the rest; `launch status` then
//! shows every phase complete, and one more resubmission submits nothing.
//!
//! Gated: runs only with `DCLM_SLURM_TESTS=1` (needs root, slurm-wlm and munge installed).

use crate::support::assert_same_files;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const DCLM: &str = env!("CARGO_BIN_EXE_dclm");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One local cluster at a time: the daemons listen on fixed ports.
static CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The cluster; stopped when dropped (also when the test panics).
struct Cluster {
    state: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    fn start(state: &Path) -> Cluster {
        let script = repo().join("scripts/slurm/local-cluster.sh");
        let cluster = Cluster {
            state: state.to_path_buf(),
            conf: state.join("slurm.conf"),
        };
        ok(Command::new("bash").arg(&script).arg("start").arg(state));
        cluster
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Wait until none of `ids` is pending or running; panic after `timeout` with the queue and logs.
    fn wait(&self, ids: &[String], timeout: Duration) {
        let start = Instant::now();
        loop {
            let out = run(self.cmd("squeue").args(["-h", "-o", "%i %T %r", "-j", &ids.join(",")]));
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            if out.status.success() && text.trim().is_empty() {
                return;
            }
            if start.elapsed() > timeout {
                let log = std::fs::read_to_string(self.state.join("log/slurmctld.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                panic!("jobs {ids:?} still queued after {timeout:?}:\n{text}\nslurmctld.log (last lines, newest first):\n{}", tail.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `JobState` of every task of a job (arrays: one line per task).
    fn states(&self, id: &str) -> Vec<String> {
        let out = ok(self.cmd("scontrol").args(["show", "job", id]));
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("JobState=").map(str::to_string))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let script = repo().join("scripts/slurm/local-cluster.sh");
        let _ = Command::new("bash").arg(&script).arg("stop").arg(&self.state).status();
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// A runner wrapper for the cluster tasks: on the first attempt of filter rank 1 it starts the real binary,
/// waits until a filter shard is complete (or 3 s), then kills it with SIGKILL and fails; dedup-map rank 0
/// fails (exit 3) as long as the file `fail` exists.
fn write_killer_wrapper(path: &Path, flag: &Path, fail: &Path, filter_out: &Path) {
    let script = format!(
        r#"#!/bin/bash
# Test wrapper: kill -9 the first attempt of filter rank 1 mid-run; fail dedup-map rank 0 while '{fail}' exists.
case " $* " in
  *" dedup "*" --phase map "*" --rank 0 "*)
    if [ -e '{fail}' ]; then
      echo "test wrapper: dedup-map rank 0 fails" >&2
      exit 3
    fi;;
  *" filter "*" --rank 1 "*)
    if [ ! -e '{flag}' ]; then
      touch '{flag}'
      '{bin}' "$@" &
      pid=$!
      for _ in $(seq 1 60); do
        ls '{done}'/*.json >/dev/null 2>&1 && break
        sleep 0.05
      done
      kill -9 "$pid" 2>/dev/null
      wait "$pid"
      echo "test wrapper: killed filter rank 1 (pid $pid)" >&2
      exit 137
    fi;;
esac
exec '{bin}' "$@"
"#,
        flag = flag.display(),
        fail = fail.display(),
        bin = DCLM,
        done = filter_out.join("_done").display()
    );
    std::fs::write(path, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn slurm_arrays_equal_local_run_with_a_killed_task_retried() {
    if std::env::var("DCLM_SLURM_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "SKIP slurm_arrays_equal_local_run_with_a_killed_task_retried: set DCLM_SLURM_TESTS=1 to run it \
             (needs root and `apt-get install -y slurm-wlm munge`)"
        );
        return;
    }
    let _one_cluster = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let test = "slurm_arrays_equal_local_run_with_a_killed_task_retried";
    let Some(warcs) = dclm_core::testdata::shared("data/warc", test) else {
        return;
    };
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slurm-test");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).unwrap();
    }
    // Four WARCs, one of them a copy of another, so the dedup has cross-shard duplicates to remove.
    let input = tmp.join("warc");
    std::fs::create_dir_all(&input).unwrap();
    for (src, dst) in [
        ("cc-main-2024-22-whirlwind.warc.gz", "a-whirlwind.warc.gz"),
        ("english-pages-0000.warc.gz", "b-english-0000.warc.gz"),
        ("english-pages-0001.warc.gz", "c-english-0001.warc.gz"),
        ("english-pages-0000.warc.gz", "d-english-0000-copy.warc.gz"),
    ] {
        std::fs::copy(warcs.join(src), input.join(dst)).unwrap();
    }
    // DCLM's own heuristic config with the shared assets (lid.176, banlists); step 2 needs a banlist DCLM
    // downloads separately, so it is skipped as the README describes.
    let (Some(config), Some(assets)) = (
        dclm_core::testdata::shared("data/dclm/configs/dclm_baseline_refinedweb.yaml", test),
        dclm_core::testdata::shared("data/dclm-assets", test),
    ) else {
        return;
    };
    let (inp, cfg, assets) = (
        input.to_str().unwrap(),
        config.to_str().unwrap(),
        assets.to_str().unwrap(),
    );

    // The local reference: one process per stage, world size 1, dedup --phase all.
    let local = tmp.join("local");
    let l = |s: &str| local.join(s).to_string_lossy().into_owned();
    let common = ["--threads", "1", "--no-progress"];
    ok(Command::new(DCLM)
        .args(["extract", "-i", inp, "-o", &l("extract")])
        .args(common));
    ok(Command::new(DCLM)
        .args([
            "filter",
            "-i",
            &l("extract"),
            "-o",
            &l("filter"),
            "--config",
            cfg,
            "--assets",
            assets,
        ])
        .args(["--skip-step", "2"])
        .args(common));
    ok(Command::new(DCLM)
        .args([
            "dedup",
            "--method",
            "minhash",
            "--phase",
            "all",
            "-i",
            &l("filter"),
            "-o",
            &l("dedup"),
        ])
        .args(common));
    let dedup_report = json(&local.join("dedup/dedup_report.json"));
    assert!(
        dedup_report["docs_removed"].as_u64().unwrap() > 0,
        "the copied WARC must give duplicates: {dedup_report}"
    );

    let cluster = Cluster::start(&tmp.join("cluster"));
    let started = Instant::now();
    let out_root = tmp.join("run");
    let wrapper = tmp.join("dclm-wrapper.sh");
    let flag = tmp.join("killed-once");
    let fail = tmp.join("fail-dedup-map");
    std::fs::write(&fail, b"").unwrap();
    write_killer_wrapper(&wrapper, &flag, &fail, &out_root.join("filter"));
    let launch_args = [
        "launch",
        "slurm",
        "-i",
        inp,
        "-o",
        out_root.to_str().unwrap(),
        "--stages",
        "extract,filter,dedup",
        "--dedup",
        "minhash",
        "--tasks",
        "2",
        "--threads",
        "1",
        "--config",
        cfg,
        "--assets",
        assets,
        "--skip-step",
        "2",
        "--dclm-bin",
        wrapper.to_str().unwrap(),
        "--retries",
        "2",
        "--retry-delay",
        "1",
        "--submit",
    ];
    let jobs_dir = out_root.join("_launch/slurm");
    let submitted = |n: usize| -> (Vec<String>, Vec<Option<String>>) {
        let jobs = json(&jobs_dir.join("jobs.json"));
        let records = jobs["submissions"][n].as_array().unwrap().clone();
        (
            records
                .iter()
                .map(|r| r["phase"].as_str().unwrap().to_string())
                .collect(),
            records
                .iter()
                .map(|r| r["job_id"].as_str().map(str::to_string))
                .collect(),
        )
    };
    let all_phases = ["extract", "filter", "dedup-map", "dedup-reduce", "dedup-apply"];

    // First submission: filter rank 1 is killed once and retried; dedup-map rank 0 fails on every attempt,
    // so the reduce and apply are cancelled (their afterok dependency can no longer be met).
    ok(cluster.cmd(DCLM).args(launch_args));
    let (names, ids) = submitted(0);
    assert_eq!(names, all_phases);
    let ids: Vec<String> = ids.into_iter().map(|i| i.expect("every phase submitted")).collect();
    cluster.wait(&ids, Duration::from_secs(600));
    assert_eq!(cluster.states(&ids[0]), ["COMPLETED", "COMPLETED"], "extract");
    assert_eq!(cluster.states(&ids[1]), ["COMPLETED", "COMPLETED"], "filter");
    let mut map_states = cluster.states(&ids[2]);
    map_states.sort();
    assert_eq!(map_states, ["COMPLETED", "FAILED"], "dedup-map");
    for id in &ids[3..] {
        let states = cluster.states(id);
        assert!(states.iter().all(|s| s == "CANCELLED"), "job {id}: {states:?}");
    }
    eprintln!("slurm: first submission finished in {:.1?}", started.elapsed());
    let status_of = |extra: &[&str]| {
        run(Command::new(DCLM)
            .args(["launch", "status", "--out", out_root.to_str().unwrap()])
            .args(extra))
    };
    let out = status_of(&["--json"]);
    assert!(!out.status.success(), "status must fail while a phase has failed tasks");
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed tasks in phase(s) dedup-map"));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let map = &status[0]["phases"][2];
    assert_eq!(map["tasks_failed"], 1, "{map}");
    assert_eq!(map["complete"], false, "{map}");
    assert_eq!(map["failures"][0]["rank"], 0, "{map}");
    assert_eq!(map["failures"][0]["rc"], 3, "{map}");
    assert_eq!(map["failures"][0]["attempts"], 3, "{map}");
    assert_eq!(status[0]["phases"][1]["complete"], true);
    let table = String::from_utf8_lossy(&status_of(&[]).stdout).to_string();
    assert!(table.contains("FAILED dedup-map task 0"), "{table}");

    // Fixed: the resubmission skips extract and filter and runs the dedup phases.
    std::fs::remove_file(&fail).unwrap();
    let out = ok(cluster.cmd(DCLM).args(launch_args));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("extract already complete; skipped") && err.contains("filter already complete; skipped"),
        "{err}"
    );
    let (names, ids) = submitted(1);
    assert_eq!(names, all_phases);
    assert_eq!((ids[0].as_ref(), ids[1].as_ref()), (None, None));
    let ids: Vec<String> = ids.into_iter().flatten().collect();
    assert_eq!(ids.len(), 3);
    cluster.wait(&ids, Duration::from_secs(600));
    for (name, id) in all_phases[2..].iter().zip(&ids) {
        let states = cluster.states(id);
        let expected = if *name == "dedup-reduce" { 1 } else { 2 };
        assert_eq!(states.len(), expected, "{name} job {id}: {states:?}");
        assert!(
            states.iter().all(|s| s == "COMPLETED"),
            "{name} job {id}: {states:?}; logs in {}",
            jobs_dir.join("logs").display()
        );
    }
    eprintln!("slurm: all phases completed in {:.1?}", started.elapsed());

    // The killed task really was killed and retried.
    assert!(flag.exists(), "the wrapper never killed filter rank 1");
    let log = std::fs::read_to_string(jobs_dir.join("logs/filter-1.log")).unwrap();
    assert!(log.contains("test wrapper: killed filter rank 1"), "{log}");
    assert!(log.contains("attempt 1 exited with status 137"), "{log}");
    assert!(log.contains("attempt 2 of 3"), "{log}");
    let record = json(&jobs_dir.join("tasks/filter/1.json"));
    assert_eq!(record["state"], "ok");
    assert_eq!(record["attempts"], 2);

    for stage in ["extract", "filter", "dedup"] {
        assert_same_files(&local.join(stage), &out_root.join(stage));
    }

    // Status: every phase complete, one retried task, documents as the local run counted them.
    let out = status_of(&["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let phases = status[0]["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 5);
    for p in phases {
        assert_eq!(p["complete"], true, "{p}");
        assert_eq!(p["tasks_failed"], 0, "{p}");
        assert_eq!(p["tasks_ok"], p["tasks"], "{p}");
        assert_eq!(p["shards_done"], p["shards_total"], "{p}");
    }
    assert_eq!(phases[0]["shards_total"], 4);
    assert_eq!(phases[1]["tasks_retried"], 1);
    for (i, stage) in [(0, "extract"), (1, "filter"), (4, "dedup")] {
        let local_stats = json(&local.join(stage).join("stats.json"));
        assert_eq!(phases[i]["docs_in"], local_stats["docs_in"], "{stage}");
        assert_eq!(phases[i]["docs_out"], local_stats["docs_out"], "{stage}");
    }
    let out = status_of(&[]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.matches("complete").count(), 5, "{table}");

    // One more resubmission finds every phase complete and submits nothing.
    let out = ok(cluster.cmd(DCLM).args(launch_args));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("already complete; skipped").count(), 5, "{err}");
    assert!(submitted(2).1.iter().all(Option::is_none));
    eprintln!(
        "slurm: test done in {:.1?} after the cluster started",
        started.elapsed()
    );
    drop(cluster);
}

/// `launch train --slurm` for real: the generated sbatch script (one node, CPU, gloo, a tiny model JSON) trains
/// with open_lm on `dclm tokshuf` shards; requeued after its first checkpoint, the job starts again and open_lm
/// resumes from that checkpoint to the end of the run.
#[test]
fn launch_train_sbatch_trains_with_open_lm_and_resumes_after_a_requeue() {
    let test = "launch_train_sbatch_trains_with_open_lm_and_resumes_after_a_requeue";
    if std::env::var("DCLM_SLURM_TESTS").as_deref() != Ok("1") {
        eprintln!("SKIP {test}: set DCLM_SLURM_TESTS=1 to run it (needs root and slurm-wlm + munge)");
        return;
    }
    let Some(python) = std::env::var_os("DCLM_TORCH_PYTHON") else {
        eprintln!("SKIP {test}: set DCLM_TORCH_PYTHON to a Python with torch and open_lm (.ci/run does)");
        return;
    };
    let (Some(tok), Some(docs)) = (
        dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test),
        dclm_core::testdata::shared("conformance/tokenize/tokenize.jsonl", test),
    ) else {
        return;
    };
    let _one_cluster = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slurm-launch-train");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).unwrap();
    }
    std::fs::create_dir_all(&tmp).unwrap();
    let input = tmp.join("docs.jsonl");
    let text = std::fs::read_to_string(&docs).unwrap();
    std::fs::write(&input, text.lines().take(120).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let data = tmp.join("tokens");
    ok(Command::new(DCLM)
        .args(["tokshuf", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&data)
        .arg("--tokenizer")
        .arg(&tok)
        .args(["--seqlen", "129", "--wds-chunk-size", "64"]));
    let model = tmp.join("tiny.json");
    std::fs::write(
        &model,
        r#"{"hidden_dim": 64, "n_layers": 2, "n_heads": 4, "seq_len": 128, "vocab_size": 50432,
            "post_embed_norm": false, "weight_tying": false, "ffn_type": "swiglu_torch"}"#,
    )
    .unwrap();
    // Two checkpoints of 40 steps (4 sequences of 128 tokens each): time to requeue after the first.
    let out = tmp.join("run");
    ok(Command::new(DCLM)
        .args(["launch", "train", "--engine", "open-lm", "--slurm", "--data"])
        .arg(&data)
        .args(["--scale", "400M-1x", "--model-json"])
        .arg(&model)
        .args([
            "--nodes",
            "1",
            "--gpus-per-node",
            "1",
            "--dist-backend",
            "gloo",
            "--precision",
            "fp32",
            "--tokens",
            "40960",
            "--num-checkpoints",
            "2",
            "--global-bs",
            "4",
            "--acc",
            "1",
            "--warmup",
            "1",
            "--workers",
            "1",
            "--attn-name",
            "torch_attn",
            "--python",
        ])
        .arg(&python)
        .arg("-o")
        .arg(&out));
    let script = out.join("train.sbatch");
    ok(Command::new("bash").arg("-n").arg(&script));

    let cluster = Cluster::start(&tmp.join("cluster"));
    let submitted = ok(cluster.cmd("sbatch").arg("--parsable").arg(&script));
    let id = String::from_utf8_lossy(&submitted.stdout).trim().to_string();
    let status = |c: &Cluster| -> Value {
        let o = ok(c.cmd(DCLM).args(["launch", "train", "status", "-o"]).arg(&out));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // Requeue once the first checkpoint is complete and the second epoch runs (as a preemption would; open_lm
    // writes its checkpoint files in place, so a requeue in the middle of saving would leave a torn file).
    let start = Instant::now();
    loop {
        let s = status(&cluster);
        let log = s["name"]
            .as_str()
            .and_then(|n| std::fs::read_to_string(out.join("logs").join(n).join("out.log")).ok())
            .unwrap_or_default();
        if log.contains("Start epoch 1") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no second epoch after 5 minutes: {s}\n{}",
            std::fs::read_to_string(out.join(format!("slurm-{id}.out"))).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    ok(cluster.cmd("scontrol").args(["requeue", &id]));
    cluster.wait(std::slice::from_ref(&id), Duration::from_secs(600));
    let slurm_out = std::fs::read_to_string(out.join(format!("slurm-{id}.out"))).unwrap_or_default();
    let s = status(&cluster);
    assert_eq!(s["checkpoints"], serde_json::json!(["epoch_2.pt"]), "{s}\n{slurm_out}");
    let log = std::fs::read_to_string(out.join("logs").join(s["name"].as_str().unwrap()).join("out.log")).unwrap();
    assert!(
        log.contains("epoch_1.pt") && log.matches("Start epoch 1").count() >= 1,
        "open_lm resumed from the first checkpoint:\n{log}"
    );
    assert!(
        slurm_out.matches("Running with a single process").count() >= 2
            || log.matches("Running with a single process").count() >= 2,
        "the job ran twice (requeued):\n{slurm_out}"
    );
}
