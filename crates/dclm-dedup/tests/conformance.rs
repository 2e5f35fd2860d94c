//! Conformance against BFF's own output on `../shared/conformance/dedup/` (see its README): byte-identical
//! documents, identical `bff_contained_ngram_count_before_dedupe`, identical annotate output, the same
//! per-paragraph decisions as `expected_details.jsonl`, cross-shard runs equal to the single-file run,
//! and thread-count independence.

use dclm_core::testdata::shared;
use dclm_core::Document;
use dclm_dedup::run::{run, BffRunConfig, Method, RunConfig};
use dclm_dedup::{bff_for_run, BffConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn parts(dir: &Path) -> Vec<PathBuf> {
    (0..4).map(|i| dir.join(format!("input/part-000{i}.jsonl"))).collect()
}

/// Concatenate the four parts into `<tmp>/in/all.jsonl`, as the reference run did.
fn concat_input(dir: &Path, tmp: &Path) -> PathBuf {
    let mut all = Vec::new();
    for p in parts(dir) {
        all.extend(std::fs::read(p).unwrap());
    }
    let path = tmp.join("in/all.jsonl");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, all).unwrap();
    path
}

fn bff_cfg(annotate: bool, threads: usize, out: &Path) -> RunConfig {
    let mut b = BffRunConfig::new(2_700_000);
    b.bff.annotate = annotate;
    let mut cfg = RunConfig::new(Method::Bff(b), out);
    cfg.threads = threads;
    cfg.batch_bytes = 64 << 10; // many batches, so the pipeline's batch hand-over is exercised
    cfg
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Compares `ours` with `theirs` line by line; returns (matching docs, matching count fields).
fn compare(ours: &[String], theirs: &[String], count_key: &str) -> (usize, usize) {
    let mut same = 0;
    let mut same_count = 0;
    for (a, b) in ours.iter().zip(theirs) {
        same += (a == b) as usize;
        let va: Value = serde_json::from_str(a).unwrap();
        let vb: Value = serde_json::from_str(b).unwrap();
        same_count += (va.get(count_key) == vb.get(count_key) && va.get("id") == vb.get("id")) as usize;
    }
    (same, same_count)
}

#[test]
fn old_both_output_is_byte_identical_to_bff() {
    let Some(dir) = shared("conformance/dedup", "old_both_output_is_byte_identical_to_bff") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = concat_input(&dir, tmp.path());
    let out = tmp.path().join("out");
    let s = run(&bff_cfg(false, 2, &out), &[input]).unwrap();
    let ours = lines(&out.join("all.jsonl"));
    let theirs = lines(&dir.join("bff_output.jsonl"));
    let (same, same_count) = compare(&ours, &theirs, "bff_contained_ngram_count_before_dedupe");
    eprintln!(
        "old-both: {} docs written (BFF {}), {same} byte-identical, {same_count} identical counts; \
         paragraphs {}/{} removed, n-grams {}/{} contained",
        ours.len(),
        theirs.len(),
        s.report.units_removed,
        s.report.units,
        s.report.ngrams_contained,
        s.report.ngrams
    );
    assert_eq!(ours.len(), theirs.len());
    assert_eq!(same, theirs.len());
    assert_eq!(same_count, theirs.len());
    // README: 8,339 paragraphs, 220 removed; 269,981 n-grams, 15,857 contained; 55 removed whole.
    assert_eq!((s.report.units, s.report.units_removed), (8339, 220));
    assert_eq!((s.report.ngrams, s.report.ngrams_contained), (269_981, 15_857));
    assert_eq!(s.report.docs_removed, 55);
    assert_eq!(s.run.stats.docs_in - s.run.stats.docs_out, 57);
    assert_eq!(
        std::fs::read(out.join("all.jsonl")).unwrap(),
        std::fs::read(dir.join("bff_output.jsonl")).unwrap()
    );
}

#[test]
fn old_both_annotate_output_matches_bff() {
    let Some(dir) = shared("conformance/dedup", "old_both_annotate_output_matches_bff") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = concat_input(&dir, tmp.path());
    let out = tmp.path().join("out");
    run(&bff_cfg(true, 1, &out), &[input]).unwrap();
    let ours = lines(&out.join("all.jsonl"));
    let theirs = lines(&dir.join("bff_annotate_output.jsonl"));
    let (same, same_count) = compare(&ours, &theirs, "bff_contained_ngram_count");
    eprintln!(
        "annotate: {} rows (BFF {}), {same} byte-identical, {same_count} identical counts",
        ours.len(),
        theirs.len()
    );
    assert_eq!(
        (ours.len(), same, same_count),
        (theirs.len(), theirs.len(), theirs.len())
    );
}

#[test]
fn cross_shard_run_over_parts_equals_single_file_and_ignores_thread_count() {
    let Some(dir) = shared("conformance/dedup", "cross_shard_run_over_parts") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in [1, 2] {
        let out = tmp.path().join(format!("out{threads}"));
        run(&bff_cfg(false, threads, &out), &[dir.join("input")]).unwrap();
        let mut all = Vec::new();
        for i in 0..4 {
            all.extend(std::fs::read(out.join(format!("part-000{i}.jsonl"))).unwrap());
        }
        outputs.push(all);
    }
    assert!(outputs[0] == outputs[1], "1 and 2 threads differ");
    assert!(
        outputs[0] == std::fs::read(dir.join("bff_output.jsonl")).unwrap(),
        "parts in sorted order differ from BFF's single-file output"
    );
}

#[test]
fn per_paragraph_decisions_match_expected_details() {
    let Some(dir) = shared("conformance/dedup", "per_paragraph_decisions_match_expected_details") else {
        return;
    };
    let bff = bff_for_run(BffConfig::default(), 2_700_000, 0.01).unwrap();
    let expected: Vec<Value> = lines(&dir.join("expected_details.jsonl"))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut docs = Vec::new();
    for p in parts(&dir) {
        docs.extend(lines(&p).into_iter().map(|l| Document::from_json_line(&l).unwrap()));
    }
    assert_eq!(docs.len(), expected.len());
    let (mut doc_ok, mut par_ok, mut pars) = (0, 0, 0);
    for (doc, exp) in docs.into_iter().zip(&expected) {
        let (out, d) = bff.process(doc);
        let removed: Vec<(u64, u64)> = exp["paragraphs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["removed"].as_bool().unwrap())
            .map(|p| (p["start"].as_u64().unwrap(), p["end"].as_u64().unwrap()))
            .collect();
        let ours: Vec<(u64, u64)> = d.removed.iter().map(|&(s, e)| (s as u64, e as u64)).collect();
        pars += exp["paragraphs"].as_array().unwrap().len();
        par_ok += exp["paragraphs"].as_array().unwrap().len() - removed.iter().filter(|r| !ours.contains(r)).count();
        doc_ok += (d.contained_ngrams == exp["contained_ngrams"].as_u64().unwrap()
            && d.total_ngrams == exp["total_ngrams"].as_u64().unwrap()
            && d.doc_removed == exp["doc_removed"].as_bool().unwrap()
            && ours == removed
            && out.is_some() == exp["written"].as_bool().unwrap()) as usize;
    }
    eprintln!(
        "details: {doc_ok}/{} documents, {par_ok}/{pars} paragraphs as expected",
        expected.len()
    );
    assert_eq!(doc_ok, expected.len());
    assert_eq!(par_ok, pars);
}
