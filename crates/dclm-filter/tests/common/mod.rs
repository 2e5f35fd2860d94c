//! Shared helpers of the integration tests: the reference set, the DCLM-Baseline pipeline built from the
//! shared config and assets, and a language-ID backend.

#![allow(dead_code)]

use dclm_filter::{BuildContext, FnLanguageId, LanguageId, LoadOptions, Pipeline, PipelineConfig, Registry};
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) fn read_jsonl(path: &Path) -> Vec<Value> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::io::BufReader::new(f)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

pub(crate) struct Reference {
    pub dir: PathBuf,
    pub shared: PathBuf,
    pub results: Vec<Value>,
    pub inputs: HashMap<String, Value>,
    pub lid: Arc<dyn LanguageId>,
    pub lid_backend: &'static str,
}

/// Replays the reference predictions: raw texts (`lid.jsonl`) and the texts the chain's step 8 saw
/// (reconstructed from `per_step.jsonl`), newlines deleted as DCLM does.
fn replay_lid(shared: &Path, results: &[Value]) -> Arc<dyn LanguageId> {
    let mut map: HashMap<String, (String, f32)> = HashMap::new();
    for row in read_jsonl(&shared.join("conformance/lid/lid.jsonl")) {
        let t = row["text"].as_str().unwrap().replace('\n', "");
        let top = &row["top1"];
        map.insert(
            t,
            (
                top["label"].as_str().unwrap().to_string(),
                top["prob"].as_f64().unwrap() as f32,
            ),
        );
    }
    let mut text_now: HashMap<String, String> = results
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["input"]["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for row in read_jsonl(&shared.join("conformance/heuristics/per_step.jsonl")) {
        let id = row["id"].as_str().unwrap();
        if let Some(t) = row.get("text").and_then(Value::as_str) {
            text_now.insert(id.to_string(), t.to_string());
        }
        if row["step"] == 8 {
            if let Some(Value::Object(m)) = row["added"].get("language_id_whole_page_fasttext") {
                if let Some((k, v)) = m.iter().next() {
                    map.insert(text_now[id].replace('\n', ""), (k.clone(), v.as_f64().unwrap() as f32));
                }
            }
        }
    }
    Arc::new(FnLanguageId(move |t: &str| map.get(t).cloned()))
}

impl Reference {
    pub(crate) fn load(test: &str) -> Option<Self> {
        let dir = dclm_core::testdata::shared("conformance/heuristics", test)?;
        let shared = dir.parent()?.parent()?.to_path_buf();
        let results = read_jsonl(&dir.join("results.jsonl"));
        let inputs = results
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), r["input"].clone()))
            .collect();
        let (lid, lid_backend) = match real_lid(&shared) {
            Some(l) => (l, "dclm-fasttext on lid.176.ftz"),
            None => (replay_lid(&shared, &results), "replay of the reference predictions"),
        };
        Some(Reference {
            dir,
            shared,
            results,
            inputs,
            lid,
            lid_backend,
        })
    }

    pub(crate) fn assets(&self) -> PathBuf {
        self.shared.join("data/dclm-assets")
    }

    /// `dclm_baseline_refinedweb.yaml` minus step 2 (the curated-domain banlist is not public), as the
    /// reference was made.
    pub(crate) fn pipeline(&self) -> Pipeline {
        let cfg = PipelineConfig::load(self.shared.join("data/dclm/configs/dclm_baseline_refinedweb.yaml")).unwrap();
        let ctx = BuildContext::new(self.assets()).with_language_id(self.lid.clone());
        let opts = LoadOptions {
            skip_steps: vec![2],
            ..Default::default()
        };
        cfg.build(&Registry::dclm(), &ctx, &opts).unwrap().pipeline
    }
}

/// The real fastText backend on `lid.176.ftz` (`DCLM_FILTER_REPLAY_LID=1` replays the reference instead).
pub(crate) fn real_lid(shared: &Path) -> Option<Arc<dyn LanguageId>> {
    if std::env::var_os("DCLM_FILTER_REPLAY_LID").is_some() {
        return None;
    }
    let l = dclm_filter::FastTextLid::load(&shared.join("data/lid/lid.176.ftz")).ok()?;
    Some(Arc::new(l))
}
