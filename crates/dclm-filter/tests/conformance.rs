//! Conformance with `conformance/heuristics/` (DCLM's own Python mappers on real CC text and edge cases):
//! every step alone (`isolated.jsonl`), the whole chain step by step (`per_step.jsonl`) and end to end
//! (`results.jsonl`). Language ID uses the fastText backend when available, else a replay of the reference
//! predictions (which then checks every step except the model itself).

use crate::common;

use common::*;
use dclm_core::{keys, Document, Verdict};
use dclm_filter::{Pipeline, Step};
use serde_json::Value;
use std::collections::HashMap;

fn status_of(v: Verdict) -> &'static str {
    match v {
        Verdict::Keep => "kept",
        Verdict::Drop(r) if r.starts_with("error:") => "error",
        Verdict::Drop(_) => "dropped",
    }
}

fn step_by_index(p: &Pipeline) -> HashMap<usize, &Step> {
    p.labels()
        .into_iter()
        .zip(p.steps())
        .map(|(l, s)| (l.split(':').next().unwrap().parse::<usize>().unwrap(), s))
        .collect()
}

fn apply(step: &Step, doc: &mut Document) -> Verdict {
    match step {
        Step::Filter(f) => f.check(doc),
        Step::Mapper(m) => m.apply(doc),
    }
}

#[test]
fn isolated_steps_match_dclm() {
    let Some(set) = Reference::load("isolated_steps_match_dclm") else {
        return;
    };
    let p = set.pipeline();
    let steps = step_by_index(&p);
    let mut per_step: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut failures = Vec::new();
    let mut synthetic_fail = 0;
    for row in read_jsonl(&set.dir.join("isolated.jsonl")) {
        let id = row["id"].as_str().unwrap();
        let k = row["step"].as_u64().unwrap() as usize;
        let input = &set.inputs[id];
        let mut doc = Document::from_value(input.clone()).unwrap();
        if k != 1 {
            let mut moved = doc.clone();
            if apply(steps[&1], &mut moved).is_keep() {
                doc = moved;
            }
        }
        if let Some(lid) = row.get("input_language_id_whole_page_fasttext") {
            doc.set(keys::LANGUAGE_ID, lid.clone());
        }
        let before = doc.text.clone();
        let v = apply(steps[&k], &mut doc);
        let want = row["status"].as_str().unwrap();
        let mut ok = status_of(v) == want;
        if ok && want == "kept" {
            let expect_text = if row["text_changed"].as_bool().unwrap_or(false) {
                row["text"].as_str().unwrap().to_string()
            } else {
                before
            };
            ok = doc.text == expect_text;
            if ok {
                if let Some(Value::Object(added)) = row.get("added") {
                    for (key, val) in added {
                        ok &= doc.get(key) == Some(val) || (key == "url" && doc.get(key) == Some(val));
                    }
                }
            }
        }
        let e = per_step.entry(k).or_default();
        e.0 += 1;
        if ok {
            e.1 += 1;
        } else {
            if id.starts_with("synthetic:") {
                synthetic_fail += 1;
            }
            failures.push(format!("{id} step {k}: want {want}, got {v:?}"));
        }
    }
    let mut ks: Vec<_> = per_step.keys().copied().collect();
    ks.sort();
    for k in ks {
        let (n, ok) = per_step[&k];
        eprintln!(
            "isolated step {k:2}: {ok}/{n} agree ({:.2}%)",
            100.0 * ok as f64 / n as f64
        );
    }
    for f in failures.iter().take(40) {
        eprintln!("MISMATCH {f}");
    }
    let total: usize = per_step.values().map(|v| v.0).sum();
    let agree: usize = per_step.values().map(|v| v.1).sum();
    eprintln!(
        "isolated overall: {agree}/{total} ({:.3}%)",
        100.0 * agree as f64 / total as f64
    );
    assert!(agree as f64 >= 0.995 * total as f64, "isolated agreement below 99.5%");
    assert_eq!(synthetic_fail, 0, "synthetic edge cases must match 100%");
}

#[test]
fn whole_chain_matches_dclm() {
    let Some(set) = Reference::load("whole_chain_matches_dclm") else {
        return;
    };
    let p = set.pipeline();
    let mut want_steps: HashMap<String, Vec<Value>> = HashMap::new();
    for row in read_jsonl(&set.dir.join("per_step.jsonl")) {
        want_steps
            .entry(row["id"].as_str().unwrap().to_string())
            .or_default()
            .push(row);
    }
    let (mut n, mut same_decision, mut same_text, mut same_enriched) = (0, 0, 0, 0);
    let (mut step_rows, mut step_agree) = (0, 0);
    let mut synthetic_fail = Vec::new();
    let mut failures = Vec::new();
    for r in &set.results {
        let id = r["id"].as_str().unwrap();
        let doc = Document::from_value(r["input"].clone()).unwrap();
        let (out, trace) = p.trace(doc);
        n += 1;
        let want_kept = r["kept"].as_bool().unwrap();
        let dropped_at = trace
            .steps
            .last()
            .filter(|(_, v, _)| !v.is_keep())
            .map(|(l, _, _)| l.split(':').next().unwrap().parse::<u64>().unwrap());
        let decision_ok = out.is_some() == want_kept && dropped_at == r["dropped_at"].as_u64();
        if decision_ok {
            same_decision += 1;
        }
        let text_ok = match (&out, r["output_text"].as_str()) {
            (Some(d), Some(t)) => d.text == t,
            (None, None) => true,
            _ => false,
        };
        if text_ok {
            same_text += 1;
        }
        let mut enriched_ok = true;
        if let (Some(d), Some(Value::Object(en))) = (&out, r.get("enriched")) {
            for (k, v) in en {
                enriched_ok &= d.get(k) == Some(v);
            }
        }
        if enriched_ok {
            same_enriched += 1;
        }
        // Step by step: same status at every step reached.
        let rows = want_steps.get(id).cloned().unwrap_or_default();
        let mut got = trace.steps.iter();
        for row in rows.iter().filter(|r| r["status"] != "skipped") {
            step_rows += 1;
            let k = row["step"].as_u64().unwrap();
            if let Some((l, v, changed)) = got.next() {
                if l.starts_with(&format!("{k}:"))
                    && status_of(*v) == row["status"].as_str().unwrap()
                    && row
                        .get("text_changed")
                        .and_then(Value::as_bool)
                        .is_none_or(|c| c == *changed)
                {
                    step_agree += 1;
                }
            }
        }
        if !(decision_ok && text_ok && enriched_ok) {
            let msg = format!(
                "{id}: kept {want_kept} at {:?} vs ours {} at {dropped_at:?} ({:?}); text_ok {text_ok} enriched_ok {enriched_ok}",
                r["dropped_at"],
                out.is_some(),
                trace.steps.last().map(|s| s.1)
            );
            if id.starts_with("synthetic:") {
                synthetic_fail.push(msg.clone());
            }
            failures.push(msg);
        }
    }
    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    eprintln!("LID backend: {}", set.lid_backend);
    eprintln!(
        "chain keep/drop (and drop step): {same_decision}/{n} ({:.2}%)",
        100.0 * same_decision as f64 / n as f64
    );
    eprintln!(
        "chain output text: {same_text}/{n} ({:.2}%)",
        100.0 * same_text as f64 / n as f64
    );
    eprintln!("chain enriched keys: {same_enriched}/{n}");
    eprintln!("chain per-step status: {step_agree}/{step_rows}");
    assert!(same_decision as f64 >= 0.995 * n as f64);
    assert!(same_text as f64 >= 0.99 * n as f64);
    assert!(synthetic_fail.is_empty(), "synthetic mismatches: {synthetic_fail:?}");
}

#[test]
fn chain_on_its_own_output_keeps_it() {
    let Some(set) = Reference::load("chain_on_its_own_output_keeps_it") else {
        return;
    };
    let p = set.pipeline();
    let (mut kept, mut kept_again) = (0, 0);
    let mut lost = Vec::new();
    for r in &set.results {
        let Some(out) = p.run(Document::from_value(r["input"].clone()).unwrap()) else {
            continue;
        };
        kept += 1;
        // DCLM's enrichers refuse to overwrite their keys, so a second pass starts from the page without them.
        let mut again = out.clone();
        again.remove(keys::LANGUAGE_ID);
        again.remove(keys::PREVIOUS_WORD_COUNT);
        let (res, trace) = p.trace(again);
        match res {
            Some(_) => kept_again += 1,
            None => lost.push(format!(
                "{} dropped at {:?}",
                r["id"],
                trace.steps.last().map(|s| (&s.0, s.1))
            )),
        }
    }
    for l in &lost {
        eprintln!("SECOND PASS DROP {l}");
    }
    eprintln!("second pass keeps {kept_again}/{kept}");
    assert_eq!(kept_again, kept);
}
