//! End-to-end tests: `cargo xtask baseline` on the embedded default corpus (reduced, offline, no assets),
//! its resume, and — when `../shared/data` is present — the DCLM-faithful run with DCLM's own assets.

use dclm_report::Report;
use dclm_runner::baseline::{self, BaselineArgs, Stage};

fn check_outcome(out: &baseline::Outcome, expect_stages: &[Stage]) {
    let names: Vec<Stage> = out.stages.iter().map(|(r, _)| r.stage).collect();
    assert_eq!(names, expect_stages, "every stage ran, in order");
    // Every stage produced output.
    for (rec, _) in &out.stages {
        assert!(rec.dir.is_dir(), "{} has no output folder", rec.stage.name());
        let has_files = std::fs::read_dir(&rec.dir).unwrap().count() > 0;
        assert!(has_files, "{} wrote nothing", rec.stage.name());
    }
    // The funnel adds up: docs out of stage N = docs into stage N+1, and every step's drops are counted.
    let doc_stages: Vec<_> = out.stages.iter().filter(|(r, _)| r.stage <= Stage::Tokenize).collect();
    for w in doc_stages.windows(2) {
        assert_eq!(
            w[0].0.stats.docs_out,
            w[1].0.stats.docs_in,
            "{} → {}",
            w[0].0.stage.name(),
            w[1].0.stage.name()
        );
    }
    assert!(
        out.report.funnel_mismatches().is_empty(),
        "{:?}",
        out.report.funnel_mismatches()
    );
    // The report exists, parses back, and is self-contained with its charts.
    let json: Report = serde_json::from_str(&std::fs::read_to_string(&out.report_json).unwrap()).unwrap();
    assert_eq!(json.funnel.len(), doc_stages.len());
    let html = std::fs::read_to_string(&out.report_html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
    assert!(
        html.matches("<svg").count() >= 3,
        "funnel, histograms and loss curve are drawn"
    );
    for bad in ["src=\"http", "href=\"http", "<script src", "@import", "url(http"] {
        assert!(!html.contains(bad), "report.html must not load {bad}…");
    }
    let train = out
        .stages
        .iter()
        .find(|(r, _)| r.stage == Stage::Train)
        .expect("train ran");
    assert!(train.0.dir.join("model.safetensors").is_file());
    let curve = json.loss_curve.expect("loss curve in the report");
    assert!(!curve.points.is_empty());
    assert!(curve.points.iter().all(|p| p.train_loss.is_finite()));
    let eval = json.eval.expect("eval table in the report");
    assert!(!eval.rows.is_empty());
    assert!(eval.rows.iter().all(|r| r.n > 0 && (0.0..=1.0).contains(&r.accuracy)));
}

/// The data outputs of a baseline run equal, byte for byte, the ones recorded in `tests/golden/<name>.json` (made
/// by `cargo run -p dclm-tests --example output_digests -- RUN_DIR`). `DCLM_BLESS=1` rewrites the file instead,
/// for a change that is meant to change outputs.
fn assert_golden_outputs(run: &std::path::Path, name: &str) {
    let got = dclm_tests::output_digests(run).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(format!("{name}.json"));
    if std::env::var_os("DCLM_BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        return;
    }
    let want: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let differ: Vec<&String> = want
        .keys()
        .chain(got.keys())
        .filter(|k| want.get(*k) != got.get(*k))
        .collect();
    assert!(
        differ.is_empty(),
        "outputs differ from {} in: {differ:?} (DCLM_BLESS=1 rewrites it when the change is intended)",
        path.display()
    );
}

#[test]
fn baseline_embedded_default_reduced_runs_every_stage_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = BaselineArgs::new(dir.path().join("run"));
    args.reduced = true;
    args.no_progress = true;
    args.threads = 2;
    // No assets: this must work on a fresh machine (the env var would switch to DCLM's files).
    std::env::remove_var("DCLM_ASSETS");
    let out = baseline::run(args.clone()).expect("baseline runs offline on the embedded corpus");
    check_outcome(&out, &Stage::ALL);
    assert_golden_outputs(&dir.path().join("run"), "baseline-embedded-reduced");
    let by = |s: Stage| &out.stages.iter().find(|(r, _)| r.stage == s).unwrap().0;
    // Each filter stage removed something for a visible reason.
    assert!(
        by(Stage::Extract).stats.docs_out < by(Stage::Extract).stats.docs_in,
        "non-UTF-8 pages are dropped"
    );
    let heur = &by(Stage::Heuristics).stats;
    let dropping_steps = heur.steps.iter().filter(|s| s.docs_out < s.docs_in).count();
    assert!(
        dropping_steps >= 10,
        "most heuristic steps remove a page of the corpus, got {dropping_steps}"
    );
    assert!(
        by(Stage::Dedup).stats.docs_out < by(Stage::Dedup).stats.docs_in,
        "duplicates are removed"
    );
    assert!(
        by(Stage::Quality).stats.docs_out < by(Stage::Quality).stats.docs_in,
        "low-quality pages are removed"
    );
    assert!(by(Stage::Tokenize).tokens.unwrap() > 100_000);
    // Examples of dropped documents are in the report.
    assert!(out
        .report
        .steps
        .iter()
        .any(|s| s.drops.iter().any(|d| !d.examples.is_empty())));
    // The report says which stages were not DCLM-faithful.
    assert!(out
        .report
        .fidelity
        .iter()
        .any(|f| !f.faithful && f.stage == "heuristics"));

    // Resume: a second run skips every completed stage and reports the same funnel.
    let again = baseline::run(args).unwrap();
    assert!(again.stages.iter().all(|(_, resumed)| *resumed));
    assert_eq!(again.report.funnel, out.report.funnel);
}

#[test]
fn baseline_dclm_faithful_with_shared_assets() {
    let Some(data) = dclm_core::testdata::shared("data/dclm-assets", "baseline_dclm_faithful") else {
        return;
    };
    let data = data.parent().unwrap().to_path_buf();
    let Some(warc) = dclm_core::testdata::shared("data/warc/english-pages-0000.warc.gz", "baseline_dclm_faithful")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut args = BaselineArgs::new(dir.path().join("run"));
    args.assets = Some(data.clone());
    args.inputs = vec![
        warc.display().to_string(),
        warc.with_file_name("english-pages-0001.warc.gz").display().to_string(),
    ];
    args.reduced = true;
    args.no_progress = true;
    args.keep_fraction = Some(0.5);
    args.positives = vec![data.join("quality/dclm-majority-data.jsonl").display().to_string()];
    let out = baseline::run(args).expect("baseline runs with DCLM's assets");
    check_outcome(&out, &Stage::ALL);
    assert_golden_outputs(&dir.path().join("run"), "baseline-shared-assets-reduced");
    let heur = out.stages.iter().find(|(r, _)| r.stage == Stage::Heuristics).unwrap();
    assert!(heur
        .0
        .stats
        .steps
        .iter()
        .any(|s| s.name.contains("detect_lang_whole_page_enricher")));
    let tok = out.report.fidelity.iter().find(|f| f.stage == "tokenize").unwrap();
    assert!(tok.faithful, "GPT-NeoX tokenizer from the assets: {tok:?}");
    let report = std::fs::read_to_string(out.report_json).unwrap();
    assert!(report.contains("mmlu_and_lowvar"), "DCLM's eval suite ran");
}

/// Train and eval share one tokenizer: the ids tokenize+shuffle writes into the token shards for each document of
/// the shared tokenize set (the training side, loaded from `TokshufConfig::tokenizer`) equal the ids the evaluator
/// gets for the same text (the eval side, `dclm_eval::HfTokenizer`, as the eval stage loads it).
#[test]
fn train_side_and_eval_side_token_ids_are_identical() {
    use dclm_eval::Tokenizer as _;
    let test = "train_side_and_eval_side_token_ids_are_identical";
    let Some(set) = dclm_core::testdata::shared("conformance/tokenize/tokenize.jsonl", test) else {
        return;
    };
    let Some(tok) = dclm_core::testdata::shared("data/tokenizers/gpt-neox-20b.tokenizer.json", test) else {
        return;
    };
    let texts: Vec<String> = std::fs::read_to_string(&set)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(texts.len() >= 500, "the 575-row tokenize set");
    // One file per document and contexts longer than the documents: every context is one document, then EOT,
    // then PAD, so the shards give each document's training ids back (in shuffled order). The one document longer
    // than a context (≈ 130k tokens) is left out here; the tokenizer conformance tests cover it.
    const SEQLEN: usize = 1 << 16;
    let eval_tok = dclm_eval::HfTokenizer::from_file(&tok).unwrap();
    let mut eval_side: Vec<Vec<u32>> = texts.iter().map(|t| eval_tok.encode(t).unwrap()).collect();
    let fits: Vec<usize> = (0..texts.len()).filter(|&i| eval_side[i].len() < SEQLEN).collect();
    assert!(
        fits.len() + 2 >= texts.len(),
        "at most two documents longer than a context"
    );
    eval_side = fits.iter().map(|&i| eval_side[i].clone()).collect();
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<std::path::PathBuf> = fits
        .iter()
        .map(|&i| {
            let p = dir.path().join(format!("doc-{i:04}.jsonl"));
            std::fs::write(&p, serde_json::json!({ "text": texts[i] }).to_string() + "\n").unwrap();
            p
        })
        .collect();
    let mut cfg = dclm_train::data::TokshufConfig::new(
        dclm_train::data::TokenizerSpec::HfJson(tok.clone()),
        dir.path().join("tokens"),
    );
    cfg.seqlen = SEQLEN;
    cfg.threads = 2;
    let summary = dclm_train::data::tokenize_shuffle(&cfg, &inputs).unwrap();
    let pad = summary.pad_id;
    let mut train_side: Vec<Vec<u32>> = Vec::new();
    for e in dclm_train::data::read_manifest(&cfg.output_dir).unwrap() {
        for (_, ctx) in dclm_train::data::read_shard(cfg.output_dir.join(format!("{}.tar", e.shard))).unwrap() {
            let end = ctx.iter().rposition(|&t| t != pad).map_or(0, |i| i + 1);
            assert_eq!(ctx[end - 1], cfg.eot_id, "one document per context, closed by EOT");
            train_side.push(ctx[..end - 1].to_vec());
        }
    }
    train_side.sort();
    eval_side.sort();
    assert_eq!(train_side.len(), fits.len());
    assert!(
        train_side == eval_side,
        "training and evaluation tokenize the same texts differently"
    );
}
