//! The eval n-gram index: every n-gram of every prompt-reaching field of every eval item, with the
//! tasks it came from (exact index), or a yes/no Bloom filter (dclm-dedup's, saved and loaded with it).

use crate::error::{DecontamError, Result};
use crate::ngram::{ngram_hashes, normalized_tokens};
use dclm_dedup::bloom::{BloomFilter, BloomPlan, FilterParams, DEFAULT_SEEDS};
use dclm_dedup::tokenize::{Hasher, ItemHash};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher as StdHasher};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One eval task: a name for reports and its LLM-Foundry JSONL file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalTask {
    /// Task name (the YAML label, or the file path relative to the eval folder without `.jsonl`).
    pub name: String,
    /// JSONL file of the task's items.
    pub path: PathBuf,
}

/// Every `*.jsonl` file under `dir` (recursively), named by its relative path without `.jsonl`, sorted.
pub fn tasks_in_dir(dir: &Path) -> Result<Vec<EvalTask>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<EvalTask>) -> Result<()> {
        let rd = std::fs::read_dir(dir).map_err(|e| DecontamError::io(dir, e))?;
        for e in rd {
            let p = e.map_err(|e| DecontamError::io(dir, e))?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if let Some(rel) = p.strip_prefix(root).ok().and_then(|r| r.to_str()) {
                if let Some(name) = rel.strip_suffix(".jsonl") {
                    out.push(EvalTask {
                        name: name.replace('\\', "/"),
                        path: p.clone(),
                    });
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[derive(Deserialize)]
struct TaskYaml {
    #[serde(default)]
    icl_tasks: Vec<IclTask>,
}

#[derive(Deserialize)]
struct IclTask {
    label: String,
    dataset_uri: String,
}

/// The tasks of an LLM-Foundry eval YAML (`icl_tasks: [{label, dataset_uri}]`, e.g. DCLM's `heavy.yaml`).
/// `dataset_uri` (`local_data/…`) is resolved against `data_root` (the folder holding `local_data`).
/// Returns the tasks whose file exists, and the labels whose file is missing. Tasks sharing a file are
/// listed once, under the first label.
pub fn tasks_from_yaml(yaml: &Path, data_root: &Path) -> Result<(Vec<EvalTask>, Vec<String>)> {
    let text = std::fs::read_to_string(yaml).map_err(|e| DecontamError::io(yaml, e))?;
    let parsed: TaskYaml = serde_yaml_ng::from_str(&text).map_err(|e| DecontamError::Yaml {
        path: yaml.to_path_buf(),
        message: e.to_string(),
    })?;
    let (mut tasks, mut missing) = (Vec::<EvalTask>::new(), Vec::new());
    for t in parsed.icl_tasks {
        let path = data_root.join(&t.dataset_uri);
        if !path.is_file() {
            missing.push(t.label);
        } else if !tasks.iter().any(|x| x.path == path) {
            tasks.push(EvalTask { name: t.label, path });
        }
    }
    Ok((tasks, missing))
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The texts of one eval item that reach a model's prompt or are scored as its continuation, in every
/// LLM-Foundry format: multiple choice (`query`, `choices`, and query + gold choice), schema
/// (`context_options`, `continuation`, and each option + continuation), language modeling and generation
/// (`context`, `continuation`, `answer`, `aliases`, `chain_of_thought`, and context + continuation/answer),
/// and code (`prompt`, `canonical_solution`, and prompt + solution). Joined texts make items whose parts are
/// shorter than n still detectable when they appear together.
pub fn prompt_texts(item: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in [
        "query",
        "choices",
        "context",
        "continuation",
        "context_options",
        "answer",
        "aliases",
        "chain_of_thought",
        "prompt",
        "canonical_solution",
    ] {
        out.extend(strings(item.get(key)).into_iter().map(str::to_string));
    }
    let first = |k: &str| strings(item.get(k)).first().map(|s| s.to_string());
    let join = |a: &str, b: &str| format!("{a} {b}");
    if let (Some(q), Some(choices)) = (first("query"), item.get("choices").and_then(Value::as_array)) {
        let gold = item.get("gold").and_then(Value::as_u64).unwrap_or(0) as usize;
        if let Some(c) = choices.get(gold).and_then(Value::as_str) {
            out.push(join(&q, c));
        }
    }
    if let Some(cont) = first("continuation") {
        for opt in strings(item.get("context_options")) {
            out.push(join(opt, &cont));
        }
        if let Some(c) = first("context") {
            out.push(join(&c, &cont));
        }
    }
    if let (Some(c), Some(a)) = (first("context"), first("answer")) {
        out.push(join(&c, &a));
    }
    if let (Some(p), Some(s)) = (first("prompt"), first("canonical_solution")) {
        out.push(format!("{p}{s}"));
    }
    out
}

/// How the eval n-grams are held.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKind {
    /// A hash map from n-gram hash to the set of tasks it occurs in: exact (64-bit hashes) and attributing.
    Exact,
    /// A Bloom filter at this false-positive rate: yes/no only, overlaps are counted under
    /// [`UNATTRIBUTED`].
    Bloom {
        /// Per-n-gram false-positive rate.
        fp_rate: f64,
    },
}

/// Task name under which a Bloom index reports its (unattributable) matches.
pub const UNATTRIBUTED: &str = "_unattributed";

/// Settings of the index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IndexConfig {
    /// n-gram size in normalized tokens (13 by default, as GPT-3's and DCLM's decontamination).
    pub ngram_size: usize,
    /// Exact map or Bloom filter.
    pub kind: IndexKind,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            ngram_size: 13,
            kind: IndexKind::Exact,
        }
    }
}

/// What the index holds of one task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskIndexStats {
    /// Task name.
    pub name: String,
    /// Task file.
    pub path: PathBuf,
    /// Items read.
    pub items: u64,
    /// Items none of whose texts has `n` tokens: they cannot be detected at this n.
    pub items_too_short: u64,
    /// Distinct n-grams of the task.
    pub ngrams: u64,
}

/// Keys are already uniform 64-bit hashes: hash them by identity.
#[derive(Default)]
struct IdHasher(u64);

impl StdHasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The eval n-gram index.
pub struct EvalIndex {
    ngram_size: usize,
    hasher: Hasher,
    tasks: Vec<TaskIndexStats>,
    /// n-gram hash → id of a set of task indices (`sets`).
    exact: IdMap<u32>,
    sets: Vec<Vec<u16>>,
    bloom: Option<BloomFilter>,
}

impl std::fmt::Debug for EvalIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalIndex")
            .field("ngram_size", &self.ngram_size)
            .field("tasks", &self.tasks.len())
            .field("exact_ngrams", &self.exact.len())
            .field("bloom", &self.bloom)
            .finish()
    }
}

impl EvalIndex {
    /// Build the index from task files. Lines that are blank are skipped; a line that is not a JSON
    /// object is an error naming the file and line.
    pub fn build(tasks: &[EvalTask], cfg: &IndexConfig) -> Result<Self> {
        if cfg.ngram_size == 0 || cfg.ngram_size > 64 {
            return Err(DecontamError::Config(format!(
                "n-gram size must be 1..=64, got {}",
                cfg.ngram_size
            )));
        }
        if tasks.len() > u16::MAX as usize {
            return Err(DecontamError::Config(format!("{} tasks, at most 65535", tasks.len())));
        }
        let (a, b) = DEFAULT_SEEDS;
        let hasher = Hasher::new(a, b);
        let n = cfg.ngram_size;
        let mut exact: IdMap<u32> = IdMap::default();
        let mut sets: Vec<Vec<u16>> = Vec::new();
        let mut set_ids: HashMap<Vec<u16>, u32> = HashMap::new();
        let mut stats = Vec::with_capacity(tasks.len());
        for (ti, task) in tasks.iter().enumerate() {
            let ti = ti as u16;
            let mut st = TaskIndexStats {
                name: task.name.clone(),
                path: task.path.clone(),
                ..Default::default()
            };
            let mut seen: IdMap<()> = IdMap::default();
            let f = std::fs::File::open(&task.path).map_err(|e| DecontamError::io(&task.path, e))?;
            for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| DecontamError::io(&task.path, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let item: Value = serde_json::from_str(&line).map_err(|e| DecontamError::BadEvalItem {
                    path: task.path.clone(),
                    line: i as u64 + 1,
                    message: e.to_string(),
                })?;
                if !item.is_object() {
                    return Err(DecontamError::BadEvalItem {
                        path: task.path.clone(),
                        line: i as u64 + 1,
                        message: "not a JSON object".into(),
                    });
                }
                st.items += 1;
                let mut any = false;
                for text in prompt_texts(&item) {
                    let toks = normalized_tokens(&text, &hasher);
                    for h in ngram_hashes(&toks, n, &hasher) {
                        any = true;
                        if seen.insert(h.h1, ()).is_none() {
                            add_task(&mut exact, &mut sets, &mut set_ids, h.h1, ti);
                        }
                    }
                }
                if !any {
                    st.items_too_short += 1;
                }
            }
            st.ngrams = seen.len() as u64;
            stats.push(st);
        }
        let mut index = EvalIndex {
            ngram_size: n,
            hasher,
            tasks: stats,
            exact,
            sets,
            bloom: None,
        };
        if let IndexKind::Bloom { fp_rate } = cfg.kind {
            let plan = BloomPlan::new(index.exact.len().max(1) as u64, fp_rate, 0)?;
            let params = FilterParams {
                ngram_size: n as u32,
                min_ngram_size: n as u32,
            };
            let bloom = BloomFilter::new(&plan, hasher, params);
            // The exact map is built first (eval sets are small) and then dropped; the filter is keyed by
            // the map's 64-bit keys, the second hash derived from them.
            for &k in index.exact.keys() {
                bloom.insert(bloom_item(k));
            }
            index.bloom = Some(bloom);
            index.exact = IdMap::default();
            index.sets.clear();
        }
        Ok(index)
    }

    /// Load a Bloom index saved with [`EvalIndex::save_bloom`] (yes/no only; no per-task attribution).
    pub fn load_bloom(path: &Path, memory_budget: Option<u64>) -> Result<Self> {
        let bloom = BloomFilter::load(path, memory_budget)?;
        let params = bloom.params();
        Ok(EvalIndex {
            ngram_size: params.ngram_size as usize,
            hasher: *bloom.hasher(),
            tasks: Vec::new(),
            exact: IdMap::default(),
            sets: Vec::new(),
            bloom: Some(bloom),
        })
    }

    /// Save the Bloom filter of a Bloom index (an error for an exact index).
    pub fn save_bloom(&self, path: &Path) -> Result<()> {
        match &self.bloom {
            Some(b) => Ok(b.save(path)?),
            None => Err(DecontamError::Config(
                "only a Bloom index can be saved (build it with kind: bloom)".into(),
            )),
        }
    }

    /// n-gram size.
    pub fn ngram_size(&self) -> usize {
        self.ngram_size
    }

    /// The seeded hasher of tokens and n-grams.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// What was indexed per task (empty for a loaded Bloom index).
    pub fn tasks(&self) -> &[TaskIndexStats] {
        &self.tasks
    }

    /// True for a Bloom index (matches are not attributed to tasks).
    pub fn is_bloom(&self) -> bool {
        self.bloom.is_some()
    }

    /// Distinct n-grams held by an exact index (0 for a Bloom index).
    pub fn distinct_ngrams(&self) -> u64 {
        self.exact.len() as u64
    }

    /// The task indices an n-gram occurs in: `Some(&[])` for a Bloom hit (unattributed), `None` when
    /// the n-gram is not in the index.
    pub fn lookup(&self, h: ItemHash) -> Option<&[u16]> {
        match &self.bloom {
            Some(b) => b.contains(bloom_item(h.h1)).then_some(&[][..]),
            None => self.exact.get(&h.h1).map(|&id| self.sets[id as usize].as_slice()),
        }
    }

    /// Name of task `i` ([`UNATTRIBUTED`] when out of range).
    pub fn task_name(&self, i: u16) -> &str {
        self.tasks.get(i as usize).map_or(UNATTRIBUTED, |t| t.name.as_str())
    }
}

fn intern(sets: &mut Vec<Vec<u16>>, ids: &mut HashMap<Vec<u16>, u32>, v: Vec<u16>) -> u32 {
    if let Some(&id) = ids.get(&v) {
        return id;
    }
    let id = sets.len() as u32;
    sets.push(v.clone());
    ids.insert(v, id);
    id
}

fn add_task(exact: &mut IdMap<u32>, sets: &mut Vec<Vec<u16>>, ids: &mut HashMap<Vec<u16>, u32>, key: u64, task: u16) {
    match exact.get(&key).copied() {
        None => {
            let id = intern(sets, ids, vec![task]);
            exact.insert(key, id);
        }
        Some(old) => {
            if !sets[old as usize].contains(&task) {
                let mut v = sets[old as usize].clone();
                v.push(task);
                let id = intern(sets, ids, v);
                exact.insert(key, id);
            }
        }
    }
}

/// A Bloom item from the first half of an n-gram hash (the step half is a fixed mix of it).
fn bloom_item(h1: u64) -> ItemHash {
    let mut z = h1.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ItemHash { h1, h2: z ^ (z >> 31) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prompt_texts_cover_every_format() {
        let mc = json!({"query": "Q: why?", "choices": ["a b", "c d"], "gold": 1});
        let t = prompt_texts(&mc);
        assert!(t.contains(&"Q: why? c d".to_string()) && t.contains(&"a b".to_string()));
        let schema = json!({"context_options": ["x y", "z"], "continuation": "w", "gold": 0});
        assert!(prompt_texts(&schema).contains(&"z w".to_string()));
        let gen = json!({"context": "c", "answer": "a", "aliases": ["al"], "chain_of_thought": "cot"});
        let t = prompt_texts(&gen);
        for s in ["c", "a", "al", "cot", "c a"] {
            assert!(t.contains(&s.to_string()), "{s}");
        }
        assert!(prompt_texts(&json!({"gold": 3, "category": "x"})).is_empty());
        assert!(prompt_texts(&json!([1, 2])).is_empty());
    }

    #[test]
    fn index_attributes_shared_ngrams_to_both_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let s = "one two three four five six";
        std::fs::write(dir.path().join("a.jsonl"), format!("{{\"context\": \"{s}\"}}\n\n")).unwrap();
        std::fs::write(dir.path().join("b.jsonl"), format!("{{\"query\": \"{s} seven\"}}\n")).unwrap();
        std::fs::write(dir.path().join("c.jsonl"), "{\"context\": \"too short\"}\n").unwrap();
        let tasks = tasks_in_dir(dir.path()).unwrap();
        let cfg = IndexConfig {
            ngram_size: 6,
            kind: IndexKind::Exact,
        };
        let idx = EvalIndex::build(&tasks, &cfg).unwrap();
        assert_eq!(idx.tasks()[0].ngrams, 1);
        assert_eq!(idx.tasks()[1].ngrams, 2);
        assert_eq!(idx.tasks()[2].items_too_short, 1);
        let toks = normalized_tokens(s, idx.hasher());
        let h = ngram_hashes(&toks, 6, idx.hasher()).next().unwrap();
        assert_eq!(idx.lookup(h).unwrap(), &[0, 1]);
        std::fs::write(dir.path().join("d.jsonl"), "{\"context\": \n").unwrap();
        let e = EvalIndex::build(&tasks_in_dir(dir.path()).unwrap(), &cfg).unwrap_err();
        assert!(e.to_string().contains("d.jsonl:1"), "{e}");
    }
}
