//! `dclm launch k8s`: the generated Indexed Job manifests validate against the Kubernetes schema
//! (`kubernetes-validate --strict`), have the expected structure, and `run.sh` applies the phases in order,
//! stops at a failed phase and resumes after it (against a recording stand-in for kubectl).

use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const DCLM: &str = env!("CARGO_BIN_EXE_dclm");
/// Kubernetes versions checked: the first with the `backoffLimitPerIndex` field in beta, and a recent one.
const K8S_VERSIONS: [&str; 2] = ["1.31.0", "1.34.0"];

fn fresh_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("k8s_manifests").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Generate the manifests of a 3-task MinHash plan (extract → filter → dedup map/reduce/apply) into `dir`.
fn generate(dir: &Path, extra: &[&str]) {
    std::fs::create_dir_all(dir.join("cfg")).unwrap();
    let config = dir.join("cfg/filter.yaml");
    std::fs::write(&config, "pipeline: []\n").unwrap();
    std::fs::write(dir.join("cfg/words.txt"), "spam\n").unwrap();
    let mut args: Vec<String> = [
        "launch",
        "k8s",
        "-i",
        "/data/cc/CC-MAIN-2024-22/",
        "-o",
        "/data/runs/cc-2024-22",
        "--tasks",
        "3",
        "--threads",
        "2",
        "--reduce-threads",
        "4",
        "--dedup",
        "minhash",
        "--image",
        "registry.example.com/dclm-rs:0.1",
        "--namespace",
        "dclm",
        "--pvc",
        "dclm-shared",
        "--mount-path",
        "/data",
        "--memory",
        "3Gi",
        "--reduce-memory",
        "24Gi",
        "--backoff-limit-per-index",
        "4",
        "--max-failed-indexes",
        "1",
        "--max-parallel",
        "2",
        "--service-account",
        "dclm-runner",
        "--env",
        "AWS_REGION=us-east-1",
        "--env",
        "RUST_LOG=info",
        "--secret-env",
        "aws-credentials",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--config".into(), config.to_string_lossy().into_owned()]);
    args.extend(["--manifests-dir".into(), dir.to_string_lossy().into_owned()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = Command::new(DCLM).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "launch k8s failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && p.file_name().unwrap() != "filter.yaml")
        .collect();
    v.sort();
    v
}

fn load(p: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The validator: `$DCLM_KUBERNETES_VALIDATE`, else `kubernetes-validate` on PATH, else `None` (skip).
fn validator(test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DCLM_KUBERNETES_VALIDATE") {
        return Some(PathBuf::from(p));
    }
    let on_path = Command::new("kubernetes-validate").arg("--version").output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return Some(PathBuf::from("kubernetes-validate"));
    }
    eprintln!(
        "SKIP {test}: kubernetes-validate not found (pip install kubernetes-validate, then put it on PATH or set \
         DCLM_KUBERNETES_VALIDATE to its path)"
    );
    None
}

fn validate(bin: &Path, version: &str, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new(bin)
        .args(["--strict", "--kubernetes-version", version])
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn manifests_validate_against_the_kubernetes_schema() {
    let Some(bin) = validator("manifests_validate_against_the_kubernetes_schema") else {
        return;
    };
    let dir = fresh_dir("validate");
    generate(&dir, &[]);
    let files = yaml_files(&dir);
    assert_eq!(files.len(), 6, "ConfigMap + 5 Jobs: {files:?}");
    for v in K8S_VERSIONS {
        let (ok, text) = validate(&bin, v, &files);
        assert!(ok, "Kubernetes {v} rejects the manifests:\n{text}");
    }

    // The validator must be able to fail: a misspelt field and a wrongly typed one are rejected.
    let job = std::fs::read_to_string(&files[1]).unwrap();
    let bad1 = dir.join("bad-field.yaml");
    std::fs::write(&bad1, job.replace("backoffLimitPerIndex:", "backoffLimitPerIndx:")).unwrap();
    let bad2 = dir.join("bad-type.yaml");
    std::fs::write(
        &bad2,
        job.replace("completionMode: Indexed", "completionMode: [Indexed]"),
    )
    .unwrap();
    for bad in [bad1, bad2] {
        let (ok, text) = validate(&bin, K8S_VERSIONS[0], std::slice::from_ref(&bad));
        assert!(!ok, "{} should be rejected:\n{text}", bad.display());
    }
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[k],
    })
}

#[test]
fn manifests_have_one_indexed_job_per_phase() {
    let dir = fresh_dir("structure");
    generate(&dir, &[]);
    let files = yaml_files(&dir);
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "00-config.yaml",
            "01-extract.yaml",
            "02-filter.yaml",
            "03-dedup-map.yaml",
            "04-dedup-reduce.yaml",
            "05-dedup-apply.yaml"
        ]
    );
    let cm = load(&files[0]);
    assert_eq!(get(&cm, "kind").as_str(), Some("ConfigMap"));
    assert_eq!(get(&cm, "data")["filter.yaml"].as_str(), Some("pipeline: []\n"));
    assert_eq!(
        get(&cm, "data").as_mapping().unwrap().len(),
        1,
        "only the config itself is shipped"
    );

    let expect = [
        ("extract", 3, 2, "3Gi"),
        ("filter", 3, 2, "3Gi"),
        ("dedup-map", 3, 2, "3Gi"),
        ("dedup-reduce", 1, 4, "24Gi"),
        ("dedup-apply", 3, 2, "3Gi"),
    ];
    for (file, (phase, tasks, cpus, mem)) in files[1..].iter().zip(expect) {
        let job = load(file);
        let ctx = file.display();
        assert_eq!(get(&job, "kind").as_str(), Some("Job"), "{ctx}");
        assert_eq!(
            get(&job, "metadata.name").as_str(),
            Some(format!("dclm-cc-2024-22-{phase}").as_str())
        );
        assert_eq!(get(&job, "metadata.namespace").as_str(), Some("dclm"));
        assert_eq!(get(&job, "metadata.labels")["dclm-rs/phase"].as_str(), Some(phase));
        let spec = get(&job, "spec");
        assert_eq!(get(spec, "completionMode").as_str(), Some("Indexed"), "{ctx}");
        assert_eq!(get(spec, "completions").as_u64(), Some(tasks), "{ctx}");
        assert_eq!(get(spec, "parallelism").as_u64(), Some(tasks.min(2)), "{ctx}");
        assert_eq!(get(spec, "backoffLimitPerIndex").as_u64(), Some(4), "{ctx}");
        assert_eq!(get(spec, "maxFailedIndexes").as_u64(), Some(1), "{ctx}");
        let pod = get(spec, "template.spec");
        assert_eq!(get(pod, "restartPolicy").as_str(), Some("Never"));
        assert_eq!(get(pod, "serviceAccountName").as_str(), Some("dclm-runner"));
        assert_eq!(
            get(pod, "volumes.0.persistentVolumeClaim.claimName").as_str(),
            Some("dclm-shared")
        );
        let c = get(pod, "containers.0");
        assert_eq!(get(c, "image").as_str(), Some("registry.example.com/dclm-rs:0.1"));
        assert_eq!(get(c, "volumeMounts.0.mountPath").as_str(), Some("/data"));
        assert_eq!(get(c, "resources.limits.cpu").as_str(), Some(cpus.to_string().as_str()));
        assert_eq!(get(c, "resources.requests.memory").as_str(), Some(mem));
        assert_eq!(get(c, "envFrom.0.secretRef.name").as_str(), Some("aws-credentials"));
        assert_eq!(get(c, "env.0.name").as_str(), Some("AWS_REGION"));
        let cmd: Vec<&str> = get(c, "command")
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(&cmd[..2], ["/bin/sh", "-c"]);
        assert!(cmd[2].starts_with("exec dclm "), "{}", cmd[2]);
        let rank = "--rank \"$JOB_COMPLETION_INDEX\" --world-size 3";
        if tasks == 1 {
            assert!(!cmd[2].contains("--rank"), "{}", cmd[2]);
        } else {
            assert!(cmd[2].ends_with(rank), "{}", cmd[2]);
        }
        if phase == "filter" {
            assert!(cmd[2].contains("--config /etc/dclm-rs/filter.yaml"), "{}", cmd[2]);
            assert!(cmd[2].contains("--input /data/runs/cc-2024-22/extract --out /data/runs/cc-2024-22/filter"));
            assert_eq!(
                get(pod, "volumes.1.configMap.name").as_str(),
                Some("dclm-cc-2024-22-config")
            );
        } else {
            assert_eq!(get(pod, "volumes").as_sequence().unwrap().len(), 1, "{ctx}");
        }
        // The command runs under sh: parse it with sh -n (syntax only).
        let st = Command::new("sh").args(["-n", "-c", cmd[2]]).status().unwrap();
        assert!(st.success(), "{ctx}: not valid sh: {}", cmd[2]);
    }

    let run_sh = std::fs::read_to_string(dir.join("run.sh")).unwrap();
    let order: Vec<&str> = run_sh.lines().filter(|l| l.starts_with("phase ")).collect();
    assert_eq!(
        order,
        [
            "phase dclm-cc-2024-22-extract 01-extract.yaml",
            "phase dclm-cc-2024-22-filter 02-filter.yaml",
            "phase dclm-cc-2024-22-dedup-map 03-dedup-map.yaml",
            "phase dclm-cc-2024-22-dedup-reduce 04-dedup-reduce.yaml",
            "phase dclm-cc-2024-22-dedup-apply 05-dedup-apply.yaml",
        ]
    );
    assert!(run_sh.contains("k apply -f 00-config.yaml"));
}

#[test]
fn paths_outside_the_volume_are_refused() {
    let dir = fresh_dir("outside");
    let out = Command::new(DCLM)
        .args([
            "launch",
            "k8s",
            "-i",
            "/elsewhere/warcs",
            "-o",
            "/data/run",
            "--image",
            "x",
            "--pvc",
            "c",
            "--mount-path",
            "/data",
            "--manifests-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/elsewhere/warcs") && err.contains("--mount-path"),
        "{err}"
    );
}

/// A stand-in for kubectl that records its calls and keeps each Job's conditions in a file: `apply` completes
/// the Job, or fails it when its name is `$FAKE_FAIL`.
const FAKE_KUBECTL: &str = r#"#!/bin/sh
# Recording stand-in for kubectl (test only).
echo "$*" >> "$FAKE_LOG"
if [ "$1" = "-n" ]; then shift 2; fi
case "$1" in
  get) cat "$FAKE_STATE/$3" 2>/dev/null || { echo "Error from server (NotFound)" >&2; exit 1; };;
  apply)
    job=$(sed -n 's/^  name: //p' "$3" | head -n 1)
    if [ "$job" = "$FAKE_FAIL" ]; then echo "Failed " > "$FAKE_STATE/$job"; else echo "Complete " > "$FAKE_STATE/$job"; fi;;
  wait) job=${3#job/}; grep -q Complete "$FAKE_STATE/$job" 2>/dev/null;;
  delete) rm -f "$FAKE_STATE/$3";;
  describe) ;;
  *) echo "unexpected: $*" >&2; exit 2;;
esac
"#;

#[test]
fn run_sh_applies_phases_in_order_stops_on_failure_and_resumes() {
    let dir = fresh_dir("run_sh");
    generate(&dir, &["--wait-timeout", "10s"]);
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let kubectl = dir.join("kubectl");
    std::fs::write(&kubectl, FAKE_KUBECTL).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let with_fake = |fail: &str, log: &str| {
        let out = Command::new("bash")
            .arg(dir.join("run.sh"))
            .env("KUBECTL", &kubectl)
            .env("FAKE_LOG", dir.join(log))
            .env("FAKE_STATE", &state)
            .env("FAKE_FAIL", fail)
            .env("POLL_SECONDS", "1")
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };

    let (ok, err) = with_fake("dclm-cc-2024-22-filter", "log1");
    assert!(!ok, "run.sh must fail when a phase fails:\n{err}");
    assert!(err.contains("[dclm-cc-2024-22-filter] FAILED"), "{err}");
    let log1 = std::fs::read_to_string(dir.join("log1")).unwrap();
    let applies1: Vec<&str> = log1.lines().filter(|l| l.contains(" apply ")).collect();
    assert_eq!(
        applies1,
        [
            "-n dclm apply -f 00-config.yaml",
            "-n dclm apply -f 01-extract.yaml",
            "-n dclm apply -f 02-filter.yaml"
        ],
        "phases after the failed one must not start"
    );

    let (ok, err) = with_fake("", "log2");
    assert!(ok, "rerun must complete:\n{err}");
    let log2 = std::fs::read_to_string(dir.join("log2")).unwrap();
    let applies2: Vec<&str> = log2.lines().filter(|l| l.contains(" apply ")).collect();
    assert_eq!(
        applies2,
        [
            "-n dclm apply -f 00-config.yaml",
            "-n dclm apply -f 02-filter.yaml",
            "-n dclm apply -f 03-dedup-map.yaml",
            "-n dclm apply -f 04-dedup-reduce.yaml",
            "-n dclm apply -f 05-dedup-apply.yaml",
        ],
        "the completed phase is skipped, the failed one re-created"
    );
    assert!(log2.contains("delete job dclm-cc-2024-22-filter"), "{log2}");
}

/// Kubernetes' expansion of `$(VAR)` references in `command` (`$$` is a literal `$`; unknown references stay).
fn k8s_expand(s: &str, env: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        if let Some(t) = tail.strip_prefix('$') {
            out.push('$');
            rest = t;
        } else if let Some(t) = tail.strip_prefix('(') {
            match t.find(')') {
                Some(j) if env.iter().any(|(k, _)| *k == &t[..j]) => {
                    out.push_str(&env.iter().find(|(k, _)| *k == &t[..j]).unwrap().1);
                    rest = &t[j + 1..];
                }
                _ => {
                    out.push('$');
                    rest = tail;
                }
            }
        } else {
            out.push('$');
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Every phase's container command, run as the Job controller would run the pods (one per completion index,
/// `JOB_COMPLETION_INDEX` set, after Kubernetes' `$(VAR)` expansion), gives the same shards as a local one-task run.
#[test]
fn pod_commands_reproduce_a_local_run() {
    let test = "pod_commands_reproduce_a_local_run";
    let Some(warcs) = dclm_core::testdata::shared("data/warc", test) else {
        return;
    };
    let root = fresh_dir("pods");
    // The volume: inputs, config and outputs under the mount path (a folder with a space and a quote, to exercise
    // the quoting).
    let vol = root.join("vol 'x'");
    std::fs::create_dir_all(vol.join("in")).unwrap();
    for w in ["english-pages-0000.warc.gz", "english-pages-0001.warc.gz"] {
        std::fs::copy(warcs.join(w), vol.join("in").join(w)).unwrap();
    }
    // DCLM's heuristic config and assets (lid.176 included), reached through the volume; step 2, the
    // curated-domain banlist, is not public and is skipped.
    let Some(assets) = dclm_core::testdata::shared("data/dclm-assets", test) else {
        return;
    };
    std::os::unix::fs::symlink(&assets, vol.join("assets")).unwrap();
    let cfg = vol.join("dclm_baseline_refinedweb.yaml");
    std::fs::copy(
        assets.join("baselines/baselines_configs/dclm_baseline_refinedweb.yaml"),
        &cfg,
    )
    .unwrap();
    let assets_arg = vol.join("assets").to_string_lossy().into_owned();
    let out = vol.join("run");
    let manifests = root.join("manifests");
    let st = Command::new(DCLM)
        .args(["launch", "k8s", "-i"])
        .arg(vol.join("in"))
        .arg("-o")
        .arg(&out)
        .arg("--config")
        .arg(&cfg)
        .args(["--assets", &assets_arg, "--skip-step", "2"])
        .args([
            "--tasks",
            "2",
            "--dedup",
            "minhash",
            "--image",
            "x",
            "--pvc",
            "shared",
            "--mount-path",
        ])
        .arg(&vol)
        .arg("--dclm-bin")
        .arg(DCLM)
        .arg("--manifests-dir")
        .arg(&manifests)
        .status()
        .unwrap();
    assert!(st.success());
    let files = yaml_files(&manifests);
    assert_eq!(
        files.len(),
        5,
        "no ConfigMap when the config is on the volume: {files:?}"
    );
    for f in &files {
        let job = load(f);
        let spec = get(&job, "spec");
        let c = get(spec, "template.spec.containers.0");
        let cmd: Vec<String> = get(c, "command")
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for index in 0..get(spec, "completions").as_u64().unwrap() {
            let env = [("JOB_COMPLETION_INDEX", index.to_string())];
            let argv: Vec<String> = cmd.iter().map(|a| k8s_expand(a, &env)).collect();
            let o = Command::new(&argv[0])
                .args(&argv[1..])
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{} index {index} failed:\n{}",
                f.display(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }

    let local = root.join("local");
    let run = |args: &[&str], input: &Path, stage: &str| {
        let o = Command::new(DCLM)
            .args(args)
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(local.join(stage))
            .args(["--threads", "1", "--no-progress"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{stage}: {}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["extract"], &vol.join("in"), "extract");
    run(
        &[
            "filter",
            "--config",
            cfg.to_str().unwrap(),
            "--assets",
            &assets_arg,
            "--skip-step",
            "2",
        ],
        &local.join("extract"),
        "filter",
    );
    run(&["dedup", "--method", "minhash"], &local.join("filter"), "dedup");
    for stage in ["extract", "filter", "dedup"] {
        let shards = |d: PathBuf| -> Vec<(String, Vec<u8>)> {
            let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
                .map(|p| {
                    (
                        p.file_name().unwrap().to_string_lossy().into_owned(),
                        std::fs::read(&p).unwrap(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        let (a, b) = (shards(out.join(stage)), shards(local.join(stage)));
        assert_eq!(a.len(), 2, "{stage}: one shard per WARC");
        assert!(a == b, "{stage}: pod commands and the local run differ");
    }
}

#[test]
fn kubernetes_expansion_stand_in_follows_the_documented_rules() {
    let env = [("A", "1".to_string())];
    assert_eq!(k8s_expand("$(A) $$(A) $(B) $x $", &env), "1 $(A) $(B) $x $");
}
