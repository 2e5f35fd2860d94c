//! Data mixing: a YAML mix spec (sources = sets of JSONL shards with weights or token budgets, a total
//! token budget, a seed), realized deterministically with upsampling (whole epochs plus a seeded partial
//! epoch), written as JSONL shards plus `mix_manifest.json` recording the spec and the realized mix.
//!
//! ```yaml
//! seed: 7
//! total_tokens: 1000000
//! sources:
//!   - name: dclm-baseline
//!     inputs: [baseline/]            # files, folders (recursive) or globs; relative to the spec's folder
//!     weight: 0.7
//!   - name: code
//!     inputs: ["code/*.jsonl.zst"]
//!     weight: 0.2
//!   - name: math
//!     inputs: [math.jsonl]
//!     tokens: 100000                 # an absolute budget instead of a weight
//! ```
//!
//! Sources with `tokens` take that many tokens; the rest of `total_tokens` is shared by the `weight`
//! sources in proportion to their weights. A source with fewer tokens than its target is repeated: its
//! `floor(target / available)` whole epochs, then a partial epoch of documents chosen in a seeded random
//! order until the remaining target is met (a document is taken when that brings the count closer to the
//! target). Tokens are counted by a [`TokenCounter`]: whitespace words by default ([`WhitespaceCounter`]);
//! for training budgets pass the training tokenizer's count (any `Fn(&str) -> u64` is a counter).
//!
//! Output: `<out>/<source>/epoch-<e>/part-<i>.jsonl` for input shard `i` (in sorted order) of the source,
//! each document as read; documents keep their input order within a part. Same spec and inputs → identical
//! bytes.

use crate::error::{DecontamError, Result};
use dclm_core::io::{ShardReader, ShardWriter};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Counts the training tokens of a text.
pub trait TokenCounter: Sync {
    /// Tokens of `text`. Must not panic.
    fn count(&self, text: &str) -> u64;
    /// Name recorded in the manifest.
    fn name(&self) -> String {
        "custom".into()
    }
}

/// Whitespace-separated words: a stand-in for tokenizer tokens (GPT-NeoX gives about 1.3 per word on
/// English web text).
#[derive(Debug, Clone, Copy, Default)]
pub struct WhitespaceCounter;

impl TokenCounter for WhitespaceCounter {
    fn count(&self, text: &str) -> u64 {
        text.split_whitespace().count() as u64
    }
    fn name(&self) -> String {
        "whitespace_words".into()
    }
}

/// The training tokenizer's own count (the one `dclm-tokenizer` loads for tokenize+shuffle and eval); a text it
/// cannot encode counts as 0 tokens.
pub struct TokenizerCounter(pub std::sync::Arc<dyn dclm_tokenizer::Tokenizer>);

impl TokenCounter for TokenizerCounter {
    fn count(&self, text: &str) -> u64 {
        self.0.encode(text).map_or(0, |ids| ids.len() as u64)
    }
    fn name(&self) -> String {
        format!("tokenizer:{}", self.0.name())
    }
}

impl<F: Fn(&str) -> u64 + Sync> TokenCounter for F {
    fn count(&self, text: &str) -> u64 {
        self(text)
    }
}

/// One source of a mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Name (used as the output folder: letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Files, folders (searched recursively for `*.jsonl[.gz|.zst]`) or glob patterns.
    pub inputs: Vec<String>,
    /// Relative weight among the weighted sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Absolute token budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
}

/// A mix spec (the YAML file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    /// Seed of the partial-epoch selection.
    pub seed: u64,
    /// Total token budget (required when a source has a weight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// Sources.
    pub sources: Vec<SourceSpec>,
}

impl MixSpec {
    /// Read a YAML spec; relative inputs are resolved against the spec's folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| DecontamError::io(path, e))?;
        let mut spec: MixSpec = serde_yaml_ng::from_str(&text).map_err(|e| DecontamError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for s in &mut spec.sources {
            for i in &mut s.inputs {
                if Path::new(i.as_str()).is_relative() {
                    *i = base.join(&*i).to_string_lossy().into_owned();
                }
            }
        }
        Ok(spec)
    }

    /// Target tokens per source, in spec order. Checks names, weights and budgets.
    pub fn targets(&self) -> Result<Vec<u64>> {
        let bad = |name: &str, message: String| DecontamError::Mix {
            source_name: name.to_string(),
            message,
        };
        if self.sources.is_empty() {
            return Err(DecontamError::Config("mix spec has no sources".into()));
        }
        for (i, s) in self.sources.iter().enumerate() {
            if s.name.is_empty()
                || s.name.starts_with('.')
                || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(bad(&s.name, "name must be letters, digits, '-', '_' or '.'".into()));
            }
            if self.sources[..i].iter().any(|o| o.name == s.name) {
                return Err(bad(&s.name, "name used twice".into()));
            }
            match (s.weight, s.tokens) {
                (Some(w), None) if w.is_finite() && w >= 0.0 => {}
                (None, Some(_)) => {}
                _ => {
                    return Err(bad(
                        &s.name,
                        "give exactly one of weight (finite, >= 0) or tokens".into(),
                    ))
                }
            }
            if s.inputs.is_empty() {
                return Err(bad(&s.name, "no inputs".into()));
            }
        }
        let fixed: u64 = self.sources.iter().filter_map(|s| s.tokens).sum();
        let wsum: f64 = self.sources.iter().filter_map(|s| s.weight).sum();
        let weighted = self.sources.iter().any(|s| s.weight.is_some());
        let rest = match (self.total_tokens, weighted) {
            (Some(t), _) if t < fixed => {
                return Err(DecontamError::Config(format!(
                    "total_tokens {t} is below the sum of the sources' token budgets {fixed}"
                )))
            }
            (Some(t), true) => t - fixed,
            (Some(t), false) if t != fixed => {
                return Err(DecontamError::Config(format!(
                    "total_tokens {t} differs from the sum of the sources' token budgets {fixed}"
                )))
            }
            (None, true) => return Err(DecontamError::Config("weights need total_tokens".into())),
            _ => 0,
        };
        if weighted && wsum <= 0.0 {
            return Err(DecontamError::Config("weights sum to 0".into()));
        }
        // Largest-remainder rounding so the weighted targets sum exactly to `rest`.
        let mut out: Vec<u64> = Vec::with_capacity(self.sources.len());
        let mut fracs: Vec<(f64, usize)> = Vec::new();
        for (i, s) in self.sources.iter().enumerate() {
            match (s.tokens, s.weight) {
                (Some(t), _) => out.push(t),
                (None, Some(w)) => {
                    let exact = rest as f64 * w / wsum;
                    out.push(exact.floor() as u64);
                    fracs.push((exact - exact.floor(), i));
                }
                _ => out.push(0),
            }
        }
        let assigned: u64 = self
            .sources
            .iter()
            .zip(&out)
            .filter(|(s, _)| s.weight.is_some())
            .map(|(_, t)| t)
            .sum();
        fracs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in fracs.iter().take(rest.saturating_sub(assigned) as usize) {
            out[i] += 1;
        }
        Ok(out)
    }
}

/// Expand files, folders (recursive; names starting with `.` or `_` skipped) and glob patterns into a
/// sorted, deduplicated list of JSONL shards.
pub fn expand_inputs(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for pat in patterns {
        let p = Path::new(pat);
        if p.is_dir() {
            out.extend(dclm_core::io::shard_files(
                &[p.to_path_buf()],
                dclm_core::io::JSONL_SUFFIXES,
            )?);
        } else if p.is_file() {
            out.push(p.to_path_buf());
        } else {
            let paths = glob::glob(pat).map_err(|e| DecontamError::Config(format!("bad glob {pat:?}: {e}")))?;
            let before = out.len();
            out.extend(paths.filter_map(|r| r.ok()).filter(|p| p.is_file()));
            if out.len() == before {
                return Err(DecontamError::Config(format!("no input matches {pat:?}")));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// What was realized of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceManifest {
    /// Source name.
    pub name: String,
    /// Input shards, sorted (part `i` of the output comes from input `i`).
    pub inputs: Vec<PathBuf>,
    /// Documents read.
    pub docs_available: u64,
    /// Tokens of all documents.
    pub tokens_available: u64,
    /// Lines that were not valid documents (skipped).
    pub bad_lines: u64,
    /// Target tokens.
    pub target_tokens: u64,
    /// Target share of the total.
    pub target_share: f64,
    /// target / available: the epochs the target asks for.
    pub epochs_target: f64,
    /// Whole epochs written.
    pub full_epochs: u64,
    /// Documents of the partial epoch.
    pub partial_epoch_docs: u64,
    /// Tokens of the partial epoch.
    pub partial_epoch_tokens: u64,
    /// Documents written in all.
    pub realized_docs: u64,
    /// Tokens written in all.
    pub realized_tokens: u64,
    /// Share of the realized total.
    pub realized_share: f64,
    /// realized / available: the epochs realized.
    pub epochs_realized: f64,
    /// Output shards written, relative to the output folder (so a manifest does not depend on where it was
    /// written).
    pub outputs: Vec<PathBuf>,
}

/// `mix_manifest.json`: the spec and the realized mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixManifest {
    /// The spec as realized (inputs resolved).
    pub spec: MixSpec,
    /// Token counter used.
    pub token_counter: String,
    /// Target total.
    pub total_tokens_target: u64,
    /// Realized total.
    pub total_tokens_realized: u64,
    /// Largest |realized share − target share| over the sources.
    pub max_share_error: f64,
    /// Per source, in spec order.
    pub sources: Vec<SourceManifest>,
}

/// SplitMix64 finalizer: a fixed, platform-independent mixing function.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Per input shard: token count of each valid document, and bad lines.
fn count_shard(path: &Path, counter: &dyn TokenCounter) -> Result<(Vec<u64>, u64)> {
    let mut counts = Vec::new();
    let mut bad = 0;
    for item in ShardReader::open(path)? {
        match item {
            Ok((_, d)) => counts.push(counter.count(&d.text)),
            Err(_) => bad += 1,
        }
    }
    Ok((counts, bad))
}

/// Choose the partial epoch: documents in a seeded random order, each taken when that brings the running
/// total closer to `target`. Returns a per-shard, per-document selection and the tokens selected.
fn select_partial(counts: &[Vec<u64>], target: u64, seed: u64) -> (Vec<Vec<bool>>, u64, u64) {
    let mut sel: Vec<Vec<bool>> = counts.iter().map(|c| vec![false; c.len()]).collect();
    if target == 0 {
        return (sel, 0, 0);
    }
    let mut order: Vec<(u64, u32, u32)> = counts
        .iter()
        .enumerate()
        .flat_map(|(f, c)| (0..c.len()).map(move |d| (f, d)))
        .map(|(f, d)| (mix64(seed ^ mix64(((f as u64) << 40) ^ d as u64)), f as u32, d as u32))
        .collect();
    order.sort_unstable();
    let (mut cum, mut docs) = (0u64, 0u64);
    for (_, f, d) in order {
        if cum >= target {
            break;
        }
        let c = counts[f as usize][d as usize];
        if c == 0 {
            continue;
        }
        // Take it if the new total is at least as close to the target as the current one.
        if cum + c <= target || (cum + c - target) <= (target - cum) {
            sel[f as usize][d as usize] = true;
            cum += c;
            docs += 1;
        }
    }
    (sel, cum, docs)
}

/// Realize `spec` into `out`: write the mixed shards and `mix_manifest.json`, return the manifest.
pub fn run_mix(spec: &MixSpec, out: &Path, counter: &dyn TokenCounter) -> Result<MixManifest> {
    let targets = spec.targets()?;
    let total_target: u64 = targets.iter().sum();
    std::fs::create_dir_all(out).map_err(|e| DecontamError::io(out, e))?;
    let mut sources = Vec::with_capacity(spec.sources.len());
    for (s, &target) in spec.sources.iter().zip(&targets) {
        let inputs = expand_inputs(&s.inputs)?;
        let counted: Vec<(Vec<u64>, u64)> = inputs
            .par_iter()
            .map(|p| count_shard(p, counter))
            .collect::<Result<_>>()?;
        let bad_lines: u64 = counted.iter().map(|c| c.1).sum();
        let counts: Vec<Vec<u64>> = counted.into_iter().map(|c| c.0).collect();
        let available: u64 = counts.iter().flatten().sum();
        let docs_available: u64 = counts.iter().map(|c| c.len() as u64).sum();
        if available == 0 && target > 0 {
            return Err(DecontamError::Mix {
                source_name: s.name.clone(),
                message: format!("target {target} tokens, but its inputs hold no tokens"),
            });
        }
        let full = target.checked_div(available).unwrap_or(0);
        let rem = target - full * available;
        let seed = mix64(spec.seed ^ name_hash(&s.name));
        let (sel, partial_tokens, partial_docs) = select_partial(&counts, rem, seed);
        let dir = out.join(&s.name);
        let written: Vec<Vec<PathBuf>> = inputs
            .par_iter()
            .enumerate()
            .map(|(fi, input)| write_part(input, fi, &dir, full, &sel[fi]))
            .collect::<Result<_>>()?;
        let realized = full * available + partial_tokens;
        sources.push(SourceManifest {
            name: s.name.clone(),
            inputs: inputs.clone(),
            docs_available,
            tokens_available: available,
            bad_lines,
            target_tokens: target,
            target_share: if total_target > 0 {
                target as f64 / total_target as f64
            } else {
                0.0
            },
            epochs_target: if available > 0 {
                target as f64 / available as f64
            } else {
                0.0
            },
            full_epochs: full,
            partial_epoch_docs: partial_docs,
            partial_epoch_tokens: partial_tokens,
            realized_docs: full * docs_available + partial_docs,
            realized_tokens: realized,
            realized_share: 0.0,
            epochs_realized: if available > 0 {
                realized as f64 / available as f64
            } else {
                0.0
            },
            outputs: written
                .into_iter()
                .flatten()
                .map(|p| p.strip_prefix(out).map(Path::to_path_buf).unwrap_or(p))
                .collect(),
        });
    }
    let total: u64 = sources.iter().map(|s| s.realized_tokens).sum();
    let mut max_err: f64 = 0.0;
    for s in &mut sources {
        s.realized_share = if total > 0 {
            s.realized_tokens as f64 / total as f64
        } else {
            0.0
        };
        max_err = max_err.max((s.realized_share - s.target_share).abs());
    }
    let manifest = MixManifest {
        spec: spec.clone(),
        token_counter: counter.name(),
        total_tokens_target: total_target,
        total_tokens_realized: total,
        max_share_error: max_err,
        sources,
    };
    let path = out.join("mix_manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| DecontamError::Json {
        path: path.clone(),
        source: e,
    })?;
    dclm_core::io::write_atomic(&path, &json)?;
    Ok(manifest)
}

/// Write input shard `fi`'s documents: all of them to epochs `0..full`, the selected ones to epoch `full`.
fn write_part(input: &Path, fi: usize, dir: &Path, full: u64, sel: &[bool]) -> Result<Vec<PathBuf>> {
    let partial = sel.iter().any(|&b| b);
    let n_epochs = full + partial as u64;
    if n_epochs == 0 {
        return Ok(Vec::new());
    }
    let paths: Vec<PathBuf> = (0..n_epochs)
        .map(|e| dir.join(format!("epoch-{e:03}")).join(format!("part-{fi:05}.jsonl")))
        .collect();
    let mut writers = paths.iter().map(ShardWriter::create).collect::<Result<Vec<_>, _>>()?;
    let mut di = 0usize;
    for item in ShardReader::open(input)? {
        let Ok((_, doc)) = item else { continue };
        for w in writers.iter_mut().take(full as usize) {
            w.write(&doc)?;
        }
        if sel.get(di).copied().unwrap_or(false) {
            if let Some(w) = writers.last_mut() {
                w.write(&doc)?;
            }
        }
        di += 1;
    }
    for w in writers {
        w.finish()?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> MixSpec {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn targets_from_weights_and_budgets() {
        let s = spec("seed: 1\ntotal_tokens: 1000\nsources:\n- {name: a, inputs: [x], weight: 2}\n- {name: b, inputs: [y], weight: 1}\n- {name: c, inputs: [z], tokens: 100}\n");
        assert_eq!(s.targets().unwrap(), vec![600, 300, 100]);
        let s = spec("seed: 1\ntotal_tokens: 10\nsources:\n- {name: a, inputs: [x], weight: 1}\n- {name: b, inputs: [y], weight: 1}\n- {name: c, inputs: [y], weight: 1}\n");
        assert_eq!(s.targets().unwrap().iter().sum::<u64>(), 10);
        for bad in [
            "seed: 1\nsources:\n- {name: a, inputs: [x], weight: 1}\n",
            "seed: 1\ntotal_tokens: 5\nsources:\n- {name: a, inputs: [x], tokens: 9}\n",
            "seed: 1\ntotal_tokens: 5\nsources:\n- {name: a, inputs: [x], tokens: 2, weight: 1}\n",
            "seed: 1\ntotal_tokens: 5\nsources:\n- {name: ../a, inputs: [x], weight: 1}\n",
            "seed: 1\ntotal_tokens: 5\nsources:\n- {name: a, inputs: [x], weight: 1}\n- {name: a, inputs: [x], weight: 1}\n",
            "seed: 1\ntotal_tokens: 5\nsources: []\n",
        ] {
            assert!(spec(bad).targets().is_err(), "{bad}");
        }
    }

    #[test]
    fn partial_selection_hits_target_and_depends_on_seed() {
        let counts = vec![(1..200).map(|i| (i % 17) + 3).collect::<Vec<u64>>(), vec![5; 300]];
        let (sel, tok, docs) = select_partial(&counts, 1234, 9);
        assert!(tok.abs_diff(1234) <= 10, "{tok}");
        assert_eq!(sel.iter().flatten().filter(|&&b| b).count() as u64, docs);
        let (sel2, _, _) = select_partial(&counts, 1234, 10);
        assert_ne!(sel, sel2);
        assert_eq!(select_partial(&counts, 0, 9).1, 0);
    }
}
