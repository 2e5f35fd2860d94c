//! `dclm bench`: every stage of dclm-rs side by side with the tool a DCLM user would otherwise run, on the same
//! input, in one run.
//!
//! Each measured row is a child process pinned to one core (two for the scaling row) and timed from spawn to
//! exit, so our figures include start-up (asset and model loading) exactly as a user of `dclm <stage>` sees it,
//! and the references' include interpreter start-up and imports. Ours is this very executable run as
//! `dclm <stage> …`. Within a round the commands of a stage run one after another, in reverse order on odd
//! rounds, so a load change on the shared machine hits both sides alike; a row reports the median and the
//! min/max over rounds, the peak resident memory of the child (`wait4` rusage), per-core throughput, and the
//! ratio reference time / our time of the same round (median over rounds; > 1: ours is faster).
//! Writes `bench.json` and a self-contained `bench.html`, and prints the table.

pub mod measure;
pub mod refs;
pub mod report;

use anyhow::{bail, Context, Result};
use clap::Args;
use measure::{Invocation, Sample};
use refs::{Found, PyRef, Pythons, PY_REFS};
use report::{Bench, Row, Spread};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The stages, in pipeline order.
pub const STAGES: &[&str] = &[
    "extract", "filter", "dedup", "minhash", "quality", "tokenize", "train", "eval",
];

/// Reference scripts of dclm-rs itself (the shared folder has the others); written into the output folder.
const MINHASH_SCRIPT: (&str, &str) = (
    "minhash_datatrove.py",
    include_str!("../../../../scripts/reference/minhash_datatrove.py"),
);
const TRAIN_SCRIPT: (&str, &str) = (
    "train_step_openlm.py",
    include_str!("../../../../scripts/reference/train_step_openlm.py"),
);

/// BFF (DCLM's `dedup/bff`, Rust) as recorded in `../shared/bench/README.md` and
/// `../shared/conformance/dedup/README.md`: old-both, 13-grams, 200 MB of input, one thread.
const BFF_RECORDED_MB_PER_S: f64 = 5.4;
const BFF_RECORDED_PEAK_MIB: f64 = 366.0;
const BFF_RECORDED_NOTE: &str = "recorded, not measured: DCLM's dedup/bff cannot be built here (its repository is \
    not reachable); figure from ../shared/bench/README.md (old-both, 13-grams, 200 MB input, 1 thread; 10.8 MB/s on \
    2 threads; 366 MiB peak with a 327 MiB filter)";

/// Arguments of `bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Output folder: bench.json, bench.html, the inputs it builds (inputs/) and the stages' outputs (work/).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// A small slice of each input (4 copies of the WARC samples, 400 documents) and 3 rounds, a few minutes on
    /// two cores, instead of the full bench corpus (100 copies, 7,800 documents) and 5 rounds plus a warm-up.
    #[arg(long)]
    pub quick: bool,
    /// Stages to run, comma-separated (default: all of them).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(STAGES))]
    pub stages: Vec<String>,
    /// Python for the references: `PATH` is tried for every reference (several may be given; each reference
    /// takes the first that imports it at the right version), `KEY=PATH` is the only one tried for reference
    /// or stage `KEY` (e.g. `resiliparse-0.14.5=/venvs/rp014/bin/python`, `quality=…`). Also tried:
    /// `$DCLM_BENCH_PYTHON`, the venvs under ~/.cache/dclm-rs/ that the install hints create, `python3`.
    #[arg(long = "ref-python")]
    pub ref_python: Vec<String>,
    /// Run only ours (the rows of the references are left out).
    #[arg(long)]
    pub no_reference: bool,
    /// The shared data folder (data/, conformance/, bench/); default `$DCLM_SHARED` or `../shared`.
    #[arg(long)]
    pub shared: Option<PathBuf>,
    /// The WARC to extract (default: built under `<out>/inputs` from the shared samples, as
    /// `bench/make_warc_corpus.sh` does).
    #[arg(long)]
    pub warc: Option<PathBuf>,
    /// The JSONL documents (field `text`) for filter, dedup, minhash, quality and tokenize (default: built under
    /// `<out>/inputs` from `data/quality/dclm-*.jsonl`, as the bench README's recipe does).
    #[arg(long)]
    pub docs: Option<PathBuf>,
    /// Rounds per stage (default 3 with --quick, else 5).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// The core one-thread runs are pinned to (the scaling row uses it and the next allowed one).
    #[arg(long, default_value_t = 1)]
    pub cpu: usize,
}

/// Sizes of one bench mode.
struct Mode {
    warc_copies: usize,
    docs_copies: usize,
    docs_limit: Option<usize>,
    rounds: usize,
    warmup: bool,
    train_steps: usize,
    eval_limit: usize,
}

/// Shards ours reads (several, so that threads have files to share) and the files the reference reads (one,
/// or the same list): the same bytes either way.
#[derive(Debug, Clone)]
struct Input {
    whole: Vec<PathBuf>,
    parts: Vec<PathBuf>,
    bytes: u64,
}

impl Input {
    fn new(whole: Vec<PathBuf>, parts: Vec<PathBuf>) -> Input {
        let bytes = whole
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        Input { whole, parts, bytes }
    }

    fn single(p: PathBuf) -> Input {
        Input::new(vec![p.clone()], vec![p])
    }

    /// The reference's single input file.
    fn one(&self) -> PathBuf {
        self.whole[0].clone()
    }
}

/// Input shards built for ours.
const PARTS: usize = 4;

/// Inputs shared by the stages (Err where they could not be found or built, with the reason).
struct Inputs {
    warc: Result<Input, String>,
    docs: Result<Input, String>,
    tokenizer: Result<PathBuf, String>,
    fasttext_model: Result<PathBuf, String>,
    filter_config: Result<(PathBuf, PathBuf, Vec<usize>), String>,
    eval: Result<EvalInputs, String>,
}

struct EvalInputs {
    model: PathBuf,
    model_json: PathBuf,
    eval_dir: PathBuf,
    data_dir: PathBuf,
    tasks: PathBuf,
}

/// Reads how many units (documents, tokens, examples) one run processed from its output.
type Counter = Box<dyn Fn(&Sample) -> Option<f64>>;

/// One command of a stage: ours at some thread count, or a reference.
struct Case {
    tool: String,
    version: String,
    kind: &'static str,
    threads: usize,
    cpus: Vec<usize>,
    inv: Invocation,
    /// The unit count the tool reports for one run (documents, tokens, examples), from its output.
    units: Counter,
    note: String,
    samples: Vec<Sample>,
    error: Option<String>,
}

/// `dclm bench …`
pub fn main(a: &BenchArgs) -> Result<()> {
    let mode = if a.quick {
        Mode {
            warc_copies: 4,
            docs_copies: 1,
            docs_limit: Some(400),
            rounds: 3,
            warmup: false,
            train_steps: 4,
            eval_limit: 10,
        }
    } else {
        Mode {
            warc_copies: 100,
            docs_copies: 10,
            docs_limit: None,
            rounds: 5,
            warmup: true,
            train_steps: 16,
            eval_limit: 100,
        }
    };
    let rounds = a.rounds.unwrap_or(mode.rounds).max(1);
    let stages: Vec<&str> = if a.stages.is_empty() {
        STAGES.to_vec()
    } else {
        STAGES
            .iter()
            .copied()
            .filter(|s| a.stages.iter().any(|x| x == s))
            .collect()
    };
    let shared = a
        .shared
        .clone()
        .or_else(|| std::env::var_os("DCLM_SHARED").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared"));
    // Absolute, so that the command lines in the report work from anywhere.
    let shared = std::fs::canonicalize(&shared).unwrap_or(shared);
    std::fs::create_dir_all(a.out.join("inputs")).with_context(|| format!("creating {}", a.out.display()))?;
    let out = std::fs::canonicalize(&a.out)?;
    let exe = std::env::current_exe().context("locating the dclm executable")?;
    let allowed = measure::allowed_cpus();
    let one = if allowed.contains(&a.cpu) { a.cpu } else { allowed[0] };
    let two: Option<Vec<usize>> = allowed.iter().find(|&&c| c != one).map(|&c| {
        let mut v = vec![one, c];
        v.sort_unstable();
        v
    });
    let inputs = prepare_inputs(a, &mode, &shared, &out)?;
    let mut pythons = Pythons::new(&a.ref_python)?;
    let scripts = out.join("scripts");
    std::fs::create_dir_all(&scripts)?;
    for (name, text) in [MINHASH_SCRIPT, TRAIN_SCRIPT] {
        std::fs::write(scripts.join(name), text)?;
    }

    let mut bench = Bench::new(a, &shared, rounds, &one, two.as_deref());
    eprintln!(
        "bench: {} stage(s), {rounds} round(s) each, pinned to core {one}{}; load average {}",
        stages.len(),
        two.as_ref()
            .map(|t| format!(" (scaling row: cores {t:?})"))
            .unwrap_or_default(),
        bench.load_before
    );
    for stage in stages {
        let ctx = StageCtx {
            exe: &exe,
            out: &out,
            shared: &shared,
            inputs: &inputs,
            mode: &mode,
            one,
            two: two.as_deref(),
            scripts: &scripts,
        };
        let (cases, mut rows, input) = stage_cases(stage, &ctx, a.no_reference, &mut pythons);
        let measured = run_rounds(stage, cases, rounds, mode.warmup);
        let mut stage_rows = rows_of(stage, &measured, input.as_ref());
        if stage == "dedup" && !a.no_reference {
            stage_rows.push(bff_recorded_row(&stage_rows));
        }
        stage_rows.append(&mut rows);
        for r in &stage_rows {
            eprintln!("{}", report::table_line(r));
        }
        bench.rows.extend(stage_rows);
    }
    bench.finish();
    let json = serde_json::to_vec_pretty(&bench)?;
    dclm_core::io::write_atomic(&out.join("bench.json"), &json)?;
    std::fs::write(out.join("bench.html"), report::html(&bench))?;
    println!("{}", report::table(&bench));
    eprintln!(
        "bench: {} and {}",
        out.join("bench.json").display(),
        out.join("bench.html").display()
    );
    Ok(())
}

/// Build or locate every input; a missing one disables only the stages that need it.
fn prepare_inputs(a: &BenchArgs, mode: &Mode, shared: &Path, out: &Path) -> Result<Inputs> {
    let data = shared.join("data");
    let dir = out.join("inputs");
    let warc = match &a.warc {
        Some(w) if w.is_file() => Ok(Input::single(std::fs::canonicalize(w)?)),
        Some(w) => bail!("--warc {}: no such file", w.display()),
        None => {
            let samples: Vec<PathBuf> = [
                "cc-main-2020-34-sample.warc.gz",
                "cc-main-2024-22-whirlwind.warc.gz",
                "english-pages-0000.warc.gz",
                "english-pages-0001.warc.gz",
            ]
            .iter()
            .map(|n| data.join("warc").join(n))
            .collect();
            if let Some(m) = samples.iter().find(|p| !p.is_file()) {
                Err(format!("input not found: {} (give --warc or --shared)", m.display()))
            } else {
                // bench/make_warc_corpus.sh's corpus (the samples concatenated COPIES times; gzip members
                // concatenate into a valid file), cut into PARTS files so that threads have shards to share.
                let folder = dir.join(format!("warc-{}x", mode.warc_copies));
                let mut parts = Vec::new();
                for i in 0..PARTS {
                    let target = folder.join(format!("part-{i:04}.warc.gz"));
                    if !target.is_file() {
                        let mut bytes = Vec::new();
                        for _ in 0..mode.warc_copies.div_ceil(PARTS) {
                            for p in &samples {
                                bytes.extend(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?);
                            }
                        }
                        std::fs::create_dir_all(&folder)?;
                        dclm_core::io::write_atomic(&target, &bytes)?;
                    }
                    parts.push(target);
                }
                Ok(Input::new(parts.clone(), parts))
            }
        }
    };
    let docs = match &a.docs {
        Some(d) if d.is_file() => Ok(Input::single(std::fs::canonicalize(d)?)),
        Some(d) => bail!("--docs {}: no such file", d.display()),
        None => {
            let sources = [
                data.join("quality/dclm-agreement-data.jsonl"),
                data.join("quality/dclm-majority-data.jsonl"),
            ];
            if let Some(m) = sources.iter().find(|p| !p.is_file()) {
                Err(format!("input not found: {} (give --docs or --shared)", m.display()))
            } else {
                // The bench README's docs.jsonl (the quality samples concatenated COPIES times) for the references,
                // and the same lines cut into PARTS shards for ours.
                let name = match mode.docs_limit {
                    Some(n) => format!("docs-{}x-first{n}", mode.docs_copies),
                    None => format!("docs-{}x", mode.docs_copies),
                };
                let whole = dir.join(format!("{name}.jsonl"));
                let folder = dir.join(format!("{name}-parts"));
                let parts: Vec<PathBuf> = (0..PARTS).map(|i| folder.join(format!("part-{i:04}.jsonl"))).collect();
                if !whole.is_file() || parts.iter().any(|p| !p.is_file()) {
                    let mut lines = Vec::new();
                    for _ in 0..mode.docs_copies {
                        for p in &sources {
                            let text =
                                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                            lines.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
                        }
                    }
                    if let Some(n) = mode.docs_limit {
                        lines.truncate(n);
                    }
                    let join = |v: &[String]| {
                        let mut s = v.join("\n");
                        s.push('\n');
                        s
                    };
                    dclm_core::io::write_atomic(&whole, join(&lines).as_bytes())?;
                    std::fs::create_dir_all(&folder)?;
                    let per = lines.len().div_ceil(PARTS).max(1);
                    for (i, p) in parts.iter().enumerate() {
                        let chunk = lines.get(i * per..((i + 1) * per).min(lines.len())).unwrap_or(&[]);
                        dclm_core::io::write_atomic(p, join(chunk).as_bytes())?;
                    }
                }
                Ok(Input::new(vec![whole], parts))
            }
        }
    };
    let found = |p: PathBuf| -> Result<PathBuf, String> {
        if p.exists() {
            Ok(p)
        } else {
            Err(format!("input not found: {}", p.display()))
        }
    };
    let tokenizer = found(data.join("tokenizers/gpt-neox-20b.tokenizer.json"));
    let fasttext_model = found(shared.join("conformance/fasttext/bigram.bin"));
    let assets = data.join("dclm-assets");
    let filter_config = found(assets.join("baselines/baselines_configs/dclm_baseline_refinedweb.yaml")).map(|c| {
        // Step 2 needs RefinedWeb's curated-domain list, a separate DCLM download (the baseline skips it too).
        let curated = assets.join("baselines/mappers/banlists/refinedweb_banned_domains_curated.txt");
        let skip = if curated.is_file() { vec![] } else { vec![2] };
        (c, assets.clone(), skip)
    });
    let c = shared.join("conformance/eval");
    let eval = found(c.join("tiny_eval_model.bf16.safetensors"))
        .and_then(|model| {
            Ok(EvalInputs {
                model,
                model_json: found(c.join("config_tiny_eval.json"))?,
                eval_dir: found(assets.join("eval"))?,
                data_dir: found(data.join("eval"))?,
                tasks: dir.join("bench_tasks.yaml"),
            })
        })
        .and_then(|e| {
            std::fs::write(&e.tasks, EVAL_TASKS).map_err(|x| format!("writing {}: {x}", e.tasks.display()))?;
            Ok(e)
        });
    Ok(Inputs {
        warc,
        docs,
        tokenizer,
        fasttext_model,
        filter_config,
        eval,
    })
}

/// DCLM-Pool pages for the filter stage (its first steps need the WARC metadata docs.jsonl lacks): made once by
/// `dclm extract` from the WARC parts (not timed), one shard per part for ours, and the shards concatenated
/// into one `.jsonl.gz` (gzip members concatenate) for the reference.
fn filter_pool(ctx: &StageCtx<'_>) -> Result<Input, String> {
    let warc = ctx.inputs.warc.clone()?;
    let dir = ctx.out.join("inputs/pool");
    let whole = ctx.out.join("inputs/pool.jsonl.gz");
    let shards = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| p.to_string_lossy().ends_with(".jsonl.gz"));
        v.sort();
        v
    };
    if !whole.is_file() || shards(&dir).is_empty() {
        let mut a = os(&["extract", "--no-progress", "-o"]);
        a.push(dir.clone().into());
        a.push("-i".into());
        a.extend(warc.parts.iter().map(|p| p.clone().into()));
        let inv = Invocation {
            program: ctx.exe.to_path_buf(),
            args: a,
            env: vec![],
            scratch: Some(dir.clone()),
        };
        measure::run(&inv, &measure::allowed_cpus()).map_err(|e| format!("extracting the filter input: {e:#}"))?;
        let mut bytes = Vec::new();
        for p in shards(&dir) {
            bytes.extend(std::fs::read(&p).map_err(|e| format!("reading {}: {e}", p.display()))?);
        }
        dclm_core::io::write_atomic(&whole, &bytes).map_err(|e| format!("writing {}: {e}", whole.display()))?;
    }
    Ok(Input::new(vec![whole], shards(&dir)))
}

/// The eval stage's task, run by ours and by LLM-Foundry alike: ARC-Easy 10-shot, a CORE task, with DCLM's
/// settings from `mmlu_and_lowvar.yaml`.
const EVAL_TASKS: &str = "icl_tasks:
- label: arc_easy
  dataset_uri: local_data/world_knowledge/arc_easy.jsonl
  num_fewshot: [10]
  icl_task_type: multiple_choice
  continuation_delimiter: \"\\nAnswer: \"
";

struct StageCtx<'a> {
    exe: &'a Path,
    out: &'a Path,
    shared: &'a Path,
    inputs: &'a Inputs,
    mode: &'a Mode,
    one: usize,
    two: Option<&'a [usize]>,
    scripts: &'a Path,
}

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

/// The first number after `key` in `text` (e.g. `docs in 5400`, `tokens=123`).
fn number_after(text: &str, key: &str) -> Option<f64> {
    let i = text.rfind(key)? + key.len();
    let digits: String = text[i..]
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().ok()
}

fn count_stdout(key: &'static str) -> Counter {
    Box::new(move |s: &Sample| number_after(&s.stdout, key))
}

fn count_stderr(key: &'static str) -> Counter {
    Box::new(move |s: &Sample| number_after(&s.stderr, key))
}

/// Examples evaluated, summed from the `| task | examples | …` table `dclm eval` prints.
fn eval_examples(s: &Sample) -> Option<f64> {
    let mut n = 0.0;
    let mut any = false;
    for line in s.stderr.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4 {
            if let Ok(v) = cells[2].parse::<f64>() {
                n += v;
                any = true;
            }
        }
    }
    any.then_some(n)
}

/// Our command for `stage` with `threads` threads, writing under `work`; None with the reason when an input is
/// missing.
fn ours(
    stage: &str,
    ctx: &StageCtx<'_>,
    input: Option<&Input>,
    threads: usize,
) -> Result<(Invocation, Counter), String> {
    let work = ctx.out.join("work").join(stage).join(format!("dclm-t{threads}"));
    let t = threads.to_string();
    let w = work.to_string_lossy().into_owned();
    let inp = ctx.inputs;
    let parts = || -> Result<Vec<OsString>, String> {
        let i = input.ok_or_else(|| format!("no input for {stage}"))?;
        let mut v = vec![OsString::from("-i")];
        v.extend(i.parts.iter().map(|p| p.clone().into()));
        Ok(v)
    };
    let common = |args: &mut Vec<OsString>| {
        args.extend(os(&["-o", &w, "--threads", &t, "--no-progress"]));
    };
    let (args, units): (Vec<OsString>, Counter) = match stage {
        "extract" => {
            let mut a = os(&["extract"]);
            a.extend(parts()?);
            common(&mut a);
            (a, count_stderr("→ out "))
        }
        "filter" => {
            let (cfg, assets, skip) = inp.filter_config.clone()?;
            let mut a = os(&["filter", "--config"]);
            a.push(cfg.into());
            a.push("--assets".into());
            a.push(assets.into());
            for s in skip {
                a.extend(os(&["--skip-step", &s.to_string()]));
            }
            a.extend(parts()?);
            common(&mut a);
            (a, count_stderr("docs in "))
        }
        "dedup" | "minhash" => {
            let mut a = if stage == "dedup" {
                os(&["dedup", "--method", "bff"])
            } else {
                os(&[
                    "dedup",
                    "--method",
                    "minhash",
                    "--minhash-preset",
                    "minhash-rs-5gram",
                    "--phase",
                    "map",
                ])
            };
            a.extend(parts()?);
            common(&mut a);
            (a, count_stderr("docs in "))
        }
        "quality" => {
            let model = inp.fasttext_model.clone()?;
            let mut a = os(&["quality", "--enrich-only", "--model"]);
            a.push(model.into());
            a.extend(parts()?);
            common(&mut a);
            (a, count_stderr("docs in "))
        }
        "tokenize" => {
            let tok = inp.tokenizer.clone()?;
            let mut a = os(&["tokshuf", "--tokenizer"]);
            a.push(tok.into());
            a.extend(parts()?);
            a.extend(os(&["-o", &w, "--threads", &t]));
            (a, count_stderr("documents, "))
        }
        "train" => {
            let tokens = train_tokens(ctx)?;
            let steps = ctx.mode.train_steps.to_string();
            let mut a = os(&[
                "train",
                "--scale",
                "tiny",
                "--checkpoints",
                "1",
                "--max-steps",
                &steps,
                "--data",
            ]);
            a.push(tokens.into());
            a.extend(os(&["-o", &w]));
            (a, count_stderr("steps, "))
        }
        "eval" => {
            let e = inp.eval.as_ref().map_err(Clone::clone)?;
            let tok = inp.tokenizer.clone()?;
            let mut a = os(&["eval", "--model"]);
            a.push(e.model.clone().into());
            a.push("--model-json".into());
            a.push(e.model_json.clone().into());
            a.push("--tasks".into());
            a.push(e.tasks.clone().into());
            a.push("--eval-dir".into());
            a.push(e.eval_dir.clone().into());
            a.push("--data-dir".into());
            a.push(e.data_dir.clone().into());
            a.push("--tokenizer".into());
            a.push(tok.into());
            a.extend(os(&[
                "--limit",
                &ctx.mode.eval_limit.to_string(),
                "--no-progress",
                "-o",
            ]));
            a.push(work.join("results.json").into());
            (a, Box::new(eval_examples))
        }
        _ => return Err(format!("unknown stage {stage}")),
    };
    let env = vec![("RAYON_NUM_THREADS".to_string(), t.clone())];
    Ok((
        Invocation {
            program: ctx.exe.to_path_buf(),
            args,
            env,
            scratch: Some(work),
        },
        units,
    ))
}

/// Token shards for the train stage (seqlen 129 for the tiny model's 128-token context), made once by
/// `dclm tokshuf` from the documents; not timed.
fn train_tokens(ctx: &StageCtx<'_>) -> Result<PathBuf, String> {
    let docs = ctx.inputs.docs.clone()?;
    let tok = ctx.inputs.tokenizer.clone()?;
    let dir = ctx.out.join("inputs/train-tokens");
    if dir.join("manifest.jsonl").is_file() {
        return Ok(dir);
    }
    let mut a = os(&["tokshuf", "--seqlen", "129", "--wds-chunk-size", "256", "--tokenizer"]);
    a.push(tok.into());
    a.push("-i".into());
    a.extend(docs.parts.iter().map(|p| p.clone().into()));
    a.push("-o".into());
    a.push(dir.clone().into());
    let inv = Invocation {
        program: ctx.exe.to_path_buf(),
        args: a,
        env: vec![],
        scratch: Some(dir.clone()),
    };
    measure::run(&inv, &measure::allowed_cpus()).map_err(|e| format!("making the token shards: {e:#}"))?;
    Ok(dir)
}

/// A reference's command for `stage` under interpreter `py`; Err with the row status when its script is missing.
fn reference(
    r: &PyRef,
    py: &Path,
    ctx: &StageCtx<'_>,
    input: Option<&Input>,
) -> Result<(Invocation, Counter, String), String> {
    let bench = ctx.shared.join("bench");
    let shared_script = |name: &str| -> Result<PathBuf, String> {
        let p = bench.join(name);
        if p.is_file() {
            Ok(p)
        } else {
            Err(format!("reference script not found: {}", p.display()))
        }
    };
    let inp = ctx.inputs;
    let given = || input.cloned().ok_or_else(|| format!("no input for {}", r.stage));
    let work = ctx.out.join("work").join(r.stage).join(r.id);
    let mut env = vec![
        ("OMP_NUM_THREADS".to_string(), "1".to_string()),
        ("RAYON_NUM_THREADS".to_string(), "1".to_string()),
        ("PYTHONWARNINGS".to_string(), "ignore".to_string()),
    ];
    let (args, units, note): (Vec<OsString>, Counter, String) = match r.id {
        "resiliparse-2.0.1" | "resiliparse-0.14.5" => {
            let s = shared_script("extract_resiliparse.py")?;
            let mut args: Vec<OsString> = vec![s.into()];
            args.extend(given()?.whole.iter().map(|p| p.clone().into()));
            (
                args,
                count_stdout("extracted="),
                "extract_plain_text(main_content=True) on strict-UTF-8 HTML responses".into(),
            )
        }
        "datatrove" => {
            let s = shared_script("heuristics_datatrove.py")?;
            (
                vec![s.into(), given()?.one().into()],
                count_stdout("docs="),
                "the peer a user would reach for, not DCLM's chain (ours: dclm_baseline_refinedweb.yaml with lid.176); \
                 DCLM's own Python mappers are not in ../shared"
                    .into(),
            )
        }
        "datatrove-minhash" => (
            vec![
                ctx.scripts.join(MINHASH_SCRIPT.0).into(),
                given()?.one().into(),
                work.clone().into(),
            ],
            count_stdout("docs="),
            "signatures only, 5-word shingles, 93 x 15 hashes, as ours with --phase map --minhash-preset minhash-rs-5gram"
                .into(),
        ),
        "fasttext" => {
            let s = shared_script("fasttext_predict.py")?;
            (
                vec![s.into(), inp.fasttext_model.clone()?.into(), given()?.one().into()],
                count_stdout("docs="),
                "predict k=2 per document (ours: dclm quality --enrich-only, which also reads and writes the shard)"
                    .into(),
            )
        }
        "tokenizers" => {
            let s = shared_script("tokenize_hf.py")?;
            (
                vec![s.into(), inp.tokenizer.clone()?.into(), given()?.one().into()],
                count_stdout("tokens="),
                "encode_batch only (ours: dclm tokshuf, which also shuffles and writes token shards)".into(),
            )
        }
        "torch" => (
            vec![
                ctx.scripts.join(TRAIN_SCRIPT.0).into(),
                "--steps".into(),
                ctx.mode.train_steps.to_string().into(),
                "--threads".into(),
                "1".into(),
            ],
            count_stdout("tokens="),
            "open_lm Transformer, tiny shape, random token ids (ours: dclm train --scale tiny on token shards, \
             checkpoint included)"
                .into(),
        ),
        "llmfoundry" => {
            let script = eval_script().ok_or_else(|| {
                "reference script not found: scripts/reference/eval_llmfoundry.py (in the checkout)".to_string()
            })?;
            let help = std::process::Command::new(py)
                .arg(&script)
                .arg("--help")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let mut args: Vec<OsString> = vec![script.into()];
            if help.contains("--limit") {
                args.extend(os(&["--limit", &ctx.mode.eval_limit.to_string()]));
            }
            if help.contains("--model-dir") {
                args.push("--model-dir".into());
                args.push(ctx.shared.join("conformance/eval").into());
            }
            // The same task as ours (ARC-Easy 10-shot from DCLM's CORE YAML), with LLM-Foundry's code from the
            // unpacked wheel `scripts/reference/setup_llmfoundry_venv.sh` leaves in the cache.
            if help.contains("--task-yaml-label") {
                args.extend(os(&["--task-yaml-label", "arc_easy", "--task-yaml"]));
                args.push(ctx.shared.join("data/dclm/eval/mmlu_and_lowvar.yaml").into());
                args.push("--data-dir".into());
                args.push(ctx.shared.join("data/eval").into());
                args.push("--tokenizer".into());
                args.push(ctx.shared.join("data/tokenizers/gpt-neox-20b.tokenizer.json").into());
            }
            if help.contains("--llmfoundry-dir") {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
                let cache = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or(home.join(".cache"));
                args.push("--llmfoundry-dir".into());
                args.push(cache.join("dclm-rs/llmfoundry/wheel").into());
            }
            if help.contains("--shared") {
                args.push("--shared".into());
                args.push(ctx.shared.to_path_buf().into());
            }
            env.push(("TOKENIZERS_PARALLELISM".into(), "false".into()));
            let units: Counter = Box::new(|s: &Sample| {
                let line = s.stdout.lines().rev().find(|l| l.trim_start().starts_with('{'))?;
                let v: serde_json::Value = serde_json::from_str(line).ok()?;
                ["examples", "n_examples", "num_examples"]
                    .iter()
                    .find_map(|k| v.get(*k).and_then(serde_json::Value::as_f64))
            });
            (args, units, "scripts/reference/eval_llmfoundry.py on the conformance tiny model".into())
        }
        other => return Err(format!("no command for reference {other}")),
    };
    Ok((
        Invocation {
            program: py.to_path_buf(),
            args,
            env,
            scratch: Some(work),
        },
        units,
        note,
    ))
}

/// The LLM-Foundry eval script of the checkout this binary was built from, or of the current folder.
fn eval_script() -> Option<PathBuf> {
    let rel = Path::new("scripts/reference/eval_llmfoundry.py");
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    [rel.to_path_buf(), built].into_iter().find(|p| p.is_file())
}

/// The cases of one stage to measure, and the rows that are not measured (reference missing, input missing).
fn stage_cases(
    stage: &str,
    ctx: &StageCtx<'_>,
    no_reference: bool,
    pythons: &mut Pythons,
) -> (Vec<Case>, Vec<Row>, Option<Input>) {
    let mut cases = Vec::new();
    let mut rows = Vec::new();
    let version = format!("dclm-rs {}", env!("CARGO_PKG_VERSION"));
    let input = match stage_input(stage, ctx) {
        Ok(i) => i,
        Err(why) => {
            rows.push(Row::unmeasured(
                stage,
                &format!("dclm ({stage})"),
                &version,
                "ours",
                1,
                &why,
                None,
            ));
            return (cases, rows, None);
        }
    };
    let mut ours_threads = vec![(1, vec![ctx.one])];
    // Train and eval use every core they are given through candle's own pool; their 2-thread row is kept too.
    if let Some(two) = ctx.two {
        ours_threads.push((2, two.to_vec()));
    }
    for (threads, cpus) in ours_threads {
        match ours(stage, ctx, input.as_ref(), threads) {
            Ok((inv, units)) => cases.push(Case {
                tool: format!("dclm {}", inv.args[0].to_string_lossy()),
                version: version.clone(),
                kind: "ours",
                threads,
                cpus,
                inv,
                units,
                note: String::new(),
                samples: Vec::new(),
                error: None,
            }),
            Err(why) => {
                rows.push(Row::unmeasured(
                    stage,
                    &format!("dclm ({stage})"),
                    &version,
                    "ours",
                    threads,
                    &why,
                    None,
                ));
                break;
            }
        }
    }
    if no_reference {
        return (cases, rows, input);
    }
    for r in PY_REFS.iter().filter(|r| r.stage == stage) {
        match pythons.find(r) {
            Found::No(why) => rows.push(Row::unmeasured(
                stage,
                r.label,
                "",
                "reference",
                1,
                "reference not installed",
                Some((r.install_command(), why)),
            )),
            Found::Yes(py, v) => match reference(r, &py, ctx, input.as_ref()) {
                Ok((inv, units, note)) => cases.push(Case {
                    tool: r.label.to_string(),
                    version: format!("{} {v}", r.dist),
                    kind: "reference",
                    threads: 1,
                    cpus: vec![ctx.one],
                    inv,
                    units,
                    note,
                    samples: Vec::new(),
                    error: None,
                }),
                Err(why) => rows.push(Row::unmeasured(stage, r.label, &v, "reference", 1, &why, None)),
            },
        }
    }
    (cases, rows, input)
}

/// The input of `stage` (None for train and eval, whose inputs are not a document count).
fn stage_input(stage: &str, ctx: &StageCtx<'_>) -> Result<Option<Input>, String> {
    match stage {
        "extract" => ctx.inputs.warc.clone().map(Some),
        "filter" => filter_pool(ctx).map(Some),
        "train" | "eval" => Ok(None),
        _ => ctx.inputs.docs.clone().map(Some),
    }
}

/// Run every case of a stage `rounds` times, alternating (reverse order on odd rounds); a case that fails
/// stops being run and keeps its error.
fn run_rounds(stage: &str, mut cases: Vec<Case>, rounds: usize, warmup: bool) -> Vec<Case> {
    if warmup {
        for c in cases.iter_mut() {
            if let Err(e) = measure::run(&c.inv, &c.cpus) {
                c.error = Some(format!("{e:#}"));
            }
        }
    }
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..cases.len()).collect()
        } else {
            (0..cases.len()).rev().collect()
        };
        for i in order {
            let c = &mut cases[i];
            if c.error.is_some() {
                continue;
            }
            match measure::run(&c.inv, &c.cpus) {
                Ok(s) => {
                    eprintln!(
                        "bench: {stage} round {}/{rounds}: {} ({} thread{}) {:.2} s, {:.0} MiB",
                        round + 1,
                        c.tool,
                        c.threads,
                        if c.threads == 1 { "" } else { "s" },
                        s.seconds,
                        s.peak_rss as f64 / (1 << 20) as f64
                    );
                    c.samples.push(s);
                }
                Err(e) => {
                    eprintln!("bench: {stage}: {} failed: {e:#}", c.tool);
                    c.error = Some(format!("{e:#}"));
                }
            }
        }
    }
    cases
}

fn unit_of(stage: &str) -> &'static str {
    match stage {
        "tokenize" | "train" => "tokens",
        "eval" => "examples",
        _ => "docs",
    }
}

/// Rows of the measured cases of a stage: ours first, then the references with their ratio against our
/// one-thread run of the same round; the two-thread row's ratio is its speed-up over one thread.
fn rows_of(stage: &str, cases: &[Case], input: Option<&Input>) -> Vec<Row> {
    let bytes = input.map(|i| i.bytes);
    let ours1: Option<&Case> = cases.iter().find(|c| c.kind == "ours" && c.threads == 1);
    let ours1_times: Vec<f64> = ours1
        .map(|c| c.samples.iter().map(|s| s.seconds).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for c in cases {
        let times: Vec<f64> = c.samples.iter().map(|s| s.seconds).collect();
        let mut row = Row::unmeasured(stage, &c.tool, &c.version, c.kind, c.threads, "measured", None);
        row.cpus = c.cpus.clone();
        row.command = Some(c.inv.display(&c.cpus));
        row.note = c.note.clone();
        row.input = input.map(|i| {
            let files = if c.kind == "ours" { &i.parts } else { &i.whole };
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        });
        row.input_bytes = bytes;
        row.rounds = times.len();
        row.samples = times.clone();
        if let Some(e) = &c.error {
            row.status = "failed".into();
            row.note = e.clone();
        }
        if let Some(sp) = Spread::of(&times) {
            let units: Vec<f64> = c.samples.iter().filter_map(|s| (c.units)(s)).collect();
            let u = units.first().copied();
            row.unit = unit_of(stage).into();
            row.units = u;
            row.seconds = Some(sp);
            let per_core = |x: f64| x / sp.median / c.threads as f64;
            row.per_core = u.map(per_core);
            row.mb_per_s_per_core = bytes.map(|b| per_core(b as f64 / 1e6));
            row.peak_rss_mib = c
                .samples
                .iter()
                .map(|s| s.peak_rss)
                .max()
                .map(|b| b as f64 / (1 << 20) as f64);
            row.reported = c
                .samples
                .last()
                .and_then(|s| s.stdout.lines().rev().find(|l| !l.trim().is_empty()))
                .filter(|_| c.kind == "reference")
                .map(|l| l.trim().to_string());
            if c.kind == "reference" && !ours1_times.is_empty() {
                let ratios: Vec<f64> = times.iter().zip(&ours1_times).map(|(r, o)| r / o).collect();
                row.ratio = Spread::of(&ratios).map(|s| s.median);
                row.ratio_meaning = "reference time / dclm 1-thread time, same round (> 1: dclm faster)".into();
            } else if c.kind == "ours" && c.threads > 1 {
                if let Some(o) = Spread::of(&ours1_times) {
                    row.ratio = Some(o.median / sp.median);
                    row.ratio_meaning = format!("speed-up of {} threads over 1", c.threads);
                }
            }
        }
        rows.push(row);
    }
    rows
}

/// BFF's recorded figure as a row, with the ratio of our one-thread MB/s to it.
fn bff_recorded_row(stage_rows: &[Row]) -> Row {
    let mut row = Row::unmeasured(
        "dedup",
        "DCLM BFF (dedup/bff, Rust)",
        "mlfoundations/dclm 361714bd",
        "recorded",
        1,
        "recorded, not measured",
        None,
    );
    row.note = BFF_RECORDED_NOTE.into();
    row.mb_per_s_per_core = Some(BFF_RECORDED_MB_PER_S);
    row.peak_rss_mib = Some(BFF_RECORDED_PEAK_MIB);
    row.input_bytes = Some(200_000_000);
    if let Some(ours) = stage_rows
        .iter()
        .find(|r| r.kind == "ours" && r.threads == 1)
        .and_then(|r| r.mb_per_s_per_core)
    {
        row.ratio = Some(ours / BFF_RECORDED_MB_PER_S);
        row.ratio_meaning = "dclm 1-thread MB/s / BFF's recorded MB/s (other input, other day)".into();
    }
    row
}
