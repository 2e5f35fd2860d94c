//! `dclm launch ray --submit`: the project's Ray driver runs extract → filter → MinHash dedup (map, reduce, apply)
//! as Ray tasks (2 shard tasks per sharded phase, the first attempt of rank 1 made to fail so Ray's retry is
//! exercised) on a local Ray over two shared WARC samples, and the outputs equal a local `dclm extract` /
//! `filter` / `dedup` run (one task) byte for byte.
//! Needs a Python with `ray` importable, given by `DCLM_RAY_PYTHON`; skipped otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const DCLM: &str = env!("CARGO_BIN_EXE_dclm");

fn ray_python(test: &str) -> Option<String> {
    let Some(py) = std::env::var_os("DCLM_RAY_PYTHON") else {
        eprintln!("SKIP {test}: set DCLM_RAY_PYTHON to a Python that has `ray` installed (pip install ray)");
        return None;
    };
    let py = py.to_string_lossy().into_owned();
    let ok = Command::new(&py)
        .args(["-c", "import ray"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP {test}: `{py} -c 'import ray'` failed (DCLM_RAY_PYTHON has no ray)");
        return None;
    }
    Some(py)
}

/// Every output shard (`.jsonl.gz`) under `root` (folders starting with `_` — markers — left out), by path.
fn shard_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else if name.ends_with(".jsonl.gz") {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

#[test]
fn ray_driver_matches_a_local_run() {
    let test = "ray_driver_matches_a_local_run";
    let Some(py) = ray_python(test) else { return };
    let Some(w0) = dclm_core::testdata::shared("data/warc/english-pages-0000.warc.gz", test) else {
        return;
    };
    let Some(w1) = dclm_core::testdata::shared("data/warc/english-pages-0001.warc.gz", test) else {
        return;
    };
    let assets = dclm_core::testdata::shared_dir()
        .map(|d| d.join("data/dclm-assets"))
        .filter(|d| d.is_dir());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ray_driver");
    let _ = std::fs::remove_dir_all(&dir);
    let flags = dir.join("flags");
    std::fs::create_dir_all(&flags).unwrap();

    // A runner that fails the first attempt of rank 1 of every phase, then runs dclm.
    let flaky = dir.join("flaky-dclm.sh");
    std::fs::write(
        &flaky,
        format!(
            "#!/bin/sh\n# Test runner: the first attempt of rank 1 of each phase fails.\n\
             case \" $* \" in *\" --rank 1 \"*) f='{}'/\"$1\"; \
             if [ ! -e \"$f\" ]; then : > \"$f\"; echo injected failure >&2; exit 3; fi;; esac\n\
             exec '{DCLM}' \"$@\"\n",
            flags.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&flaky, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // DCLM's own heuristic config with its assets and lid.176 (step 2, the curated-domain banlist, is not public),
    // else the embedded stand-in config.
    let (config, filter_extra): (PathBuf, Vec<String>) = match &assets {
        Some(a) => (
            a.join("baselines/baselines_configs/dclm_baseline_refinedweb.yaml"),
            vec![
                "--assets".into(),
                a.to_string_lossy().into_owned(),
                "--skip-step".into(),
                "2".into(),
            ],
        ),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/embedded/baseline_refinedweb.yaml"),
            Vec::new(),
        ),
    };

    let ray_out = dir.join("ray");
    let mut launch = Command::new(DCLM);
    launch
        .args(["launch", "ray", "-i"])
        .args([&w0, &w1])
        .arg("-o")
        .arg(&ray_out)
        .args([
            "--stages",
            "extract,filter,dedup",
            "--dedup",
            "minhash",
            "--tasks",
            "2",
            "--threads",
            "1",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--dclm-bin")
        .arg(&flaky)
        .args([
            "--address",
            "local",
            "--num-cpus",
            "2",
            "--max-retries",
            "2",
            "--submit",
            "--python",
            &py,
        ]);
    launch.args(&filter_extra);
    let log = run(&mut launch, "dclm launch ray --submit");
    assert!(
        log.contains("[extract] complete") && log.contains("[filter] complete"),
        "{log}"
    );
    assert!(log.contains("all phases complete"), "{log}");
    for phase in ["extract", "filter"] {
        assert!(
            flags.join(phase).exists(),
            "rank 1 of {phase} never failed once: the retry was not exercised"
        );
    }

    let local = dir.join("local");
    run(
        Command::new(DCLM)
            .args(["extract", "-i"])
            .args([&w0, &w1])
            .arg("-o")
            .arg(local.join("extract"))
            .args(["--threads", "1", "--no-progress"]),
        "dclm extract",
    );
    let mut filter = Command::new(DCLM);
    filter
        .args(["filter", "-i"])
        .arg(local.join("extract"))
        .arg("-o")
        .arg(local.join("filter"))
        .arg("--config")
        .arg(&config)
        .args(["--threads", "1", "--no-progress"]);
    filter.args(&filter_extra);
    run(&mut filter, "dclm filter");
    run(
        Command::new(DCLM)
            .args(["dedup", "--method", "minhash", "-i"])
            .arg(local.join("filter"))
            .arg("-o")
            .arg(local.join("dedup"))
            .args(["--threads", "1", "--no-progress"]),
        "dclm dedup",
    );

    for stage in ["extract", "filter", "dedup"] {
        let a = shard_files(&ray_out.join(stage));
        let b = shard_files(&local.join(stage));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{stage}: shard files differ"
        );
        assert_eq!(a.len(), 2, "{stage}: one output shard per WARC");
        assert!(a.values().all(|v| !v.is_empty()), "{stage}: empty shard");
        for (k, v) in &a {
            assert!(v == &b[k], "{stage}/{}: Ray and local outputs differ", k.display());
        }
        if stage == "dedup" {
            continue; // its map and apply phases share the folder (and the rank stats file names)
        }
        // The per-rank stats add up to the local run's.
        let counts = |p: PathBuf| -> (u64, u64) {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (v["docs_in"].as_u64().unwrap(), v["docs_out"].as_u64().unwrap())
        };
        let (r0, r1) = (
            counts(ray_out.join(stage).join("stats.rank-0-of-2.json")),
            counts(ray_out.join(stage).join("stats.rank-1-of-2.json")),
        );
        let l = counts(local.join(stage).join("stats.json"));
        assert_eq!(
            (r0.0 + r1.0, r0.1 + r1.1),
            l,
            "{stage}: docs in/out of the two ranks vs the local run"
        );
        assert!(l.1 > 0, "{stage}: no documents out");
    }
}
