//! DCLM's YAML pipeline files (`- source: … steps: - func: …`), read unchanged and turned into a
//! [`Pipeline`] through a [`Registry`]. Every step is built (parameters checked, banlists and models loaded)
//! before any document is read, so a bad config fails up front with the step index, line and accepted values.

use crate::error::{FilterError, Result, StepLoc};
use crate::pipeline::Pipeline;
use crate::registry::{BuildContext, Params, Registry};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One `- func: …` entry.
#[derive(Debug, Clone)]
pub struct StepSpec {
    /// Where it is.
    pub loc: StepLoc,
    /// Every key but `func`.
    pub params: Map<String, Value>,
}

/// One `- source: …` block.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// The `source` name (e.g. `cc`).
    pub source: String,
    /// Its steps, in order.
    pub steps: Vec<StepSpec>,
}

/// A parsed config file.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// File it came from (`<string>` for text).
    pub path: PathBuf,
    /// Its source blocks.
    pub sources: Vec<SourceSpec>,
}

/// Choices made when turning a config into a pipeline.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Which `source:` block to use; `None` = the only one (an error when there are several).
    pub source: Option<String>,
    /// 1-based step indices to leave out on purpose (e.g. `[2]` when DCLM's curated-domain banlist, a
    /// separate download, is not available). Each skipped step is reported by [`LoadedPipeline::skipped`].
    pub skip_steps: Vec<usize>,
}

/// A built pipeline plus what was left out.
#[derive(Debug)]
pub struct LoadedPipeline {
    /// The runnable pipeline.
    pub pipeline: Pipeline,
    /// Steps skipped by [`LoadOptions::skip_steps`].
    pub skipped: Vec<StepLoc>,
    /// The source block used.
    pub source: String,
}

fn cfg_err(path: &Path, message: impl Into<String>) -> FilterError {
    FilterError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// 1-based lines of `func:` keys, in file order (used to point errors at the right line).
fn func_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            let t = t.strip_prefix('-').map_or(t, str::trim_start);
            t.strip_prefix("func").is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|(i, _)| i + 1)
        .collect()
}

impl PipelineConfig {
    /// Parse config text (`path` is only used in messages).
    pub fn parse(text: &str, path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let value: Value = serde_yaml_ng::from_str(text).map_err(|e| cfg_err(&path, e.to_string()))?;
        let Value::Array(blocks) = value else {
            return Err(cfg_err(&path, "expected a YAML list of `- source: … steps: …` blocks"));
        };
        let lines = func_lines(text);
        let mut line_iter = lines.iter().copied();
        let total_steps: usize = blocks
            .iter()
            .map(|b| b.get("steps").and_then(Value::as_array).map_or(0, Vec::len))
            .sum();
        let use_lines = lines.len() == total_steps;
        let mut sources = Vec::new();
        for (bi, block) in blocks.into_iter().enumerate() {
            let Value::Object(mut block) = block else {
                return Err(cfg_err(
                    &path,
                    format!("block {} is not a mapping with `source` and `steps`", bi + 1),
                ));
            };
            let source = match block.remove("source") {
                Some(Value::String(s)) => s,
                Some(other) => {
                    return Err(cfg_err(
                        &path,
                        format!("block {}: `source` must be a string, got {other}", bi + 1),
                    ))
                }
                None => return Err(cfg_err(&path, format!("block {}: missing `source`", bi + 1))),
            };
            let steps_v = match block.remove("steps") {
                Some(Value::Array(a)) => a,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => {
                    return Err(cfg_err(
                        &path,
                        format!("source `{source}`: `steps` must be a list, got {other}"),
                    ))
                }
            };
            let mut steps = Vec::new();
            for (si, s) in steps_v.into_iter().enumerate() {
                let line = if use_lines { line_iter.next() } else { None };
                let Value::Object(mut m) = s else {
                    return Err(cfg_err(
                        &path,
                        format!("source `{source}`, step {}: expected a mapping with `func`", si + 1),
                    ));
                };
                let func = match m.remove("func") {
                    Some(Value::String(f)) => f,
                    _ => {
                        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                        return Err(cfg_err(
                            &path,
                            format!("source `{source}`, step {}{at}: missing string `func`", si + 1),
                        ));
                    }
                };
                steps.push(StepSpec {
                    loc: StepLoc {
                        index: si + 1,
                        func,
                        line,
                    },
                    params: m,
                });
            }
            sources.push(SourceSpec { source, steps });
        }
        Ok(PipelineConfig { path, sources })
    }

    /// Read and parse a config file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| cfg_err(path, e.to_string()))?;
        PipelineConfig::parse(&text, path)
    }

    /// The source block selected by `name` (or the only one).
    pub fn select(&self, name: Option<&str>) -> Result<&SourceSpec> {
        let names: Vec<&str> = self.sources.iter().map(|s| s.source.as_str()).collect();
        match name {
            Some(n) => self
                .sources
                .iter()
                .find(|s| s.source == n)
                .ok_or_else(|| cfg_err(&self.path, format!("no source `{n}`; sources: {}", names.join(", ")))),
            None if self.sources.len() == 1 => Ok(&self.sources[0]),
            None => Err(cfg_err(
                &self.path,
                format!(
                    "{} source blocks; choose one of: {}",
                    self.sources.len(),
                    names.join(", ")
                ),
            )),
        }
    }

    /// Build every step of the selected source (all checked before returning).
    pub fn build(&self, registry: &Registry, ctx: &BuildContext, opts: &LoadOptions) -> Result<LoadedPipeline> {
        let src = self.select(opts.source.as_deref())?;
        for &i in &opts.skip_steps {
            if i == 0 || i > src.steps.len() {
                return Err(cfg_err(
                    &self.path,
                    format!(
                        "skip_steps: there is no step {i} (source `{}` has {})",
                        src.source,
                        src.steps.len()
                    ),
                ));
            }
        }
        let mut pipeline = Pipeline::new();
        let mut skipped = Vec::new();
        for spec in &src.steps {
            if opts.skip_steps.contains(&spec.loc.index) {
                skipped.push(spec.loc.clone());
                continue;
            }
            let params = Params::new(spec.loc.clone(), &spec.params);
            let step = registry.build(&params, ctx)?;
            pipeline.push_labeled(format!("{}:{}", spec.loc.index, spec.loc.func), step);
        }
        Ok(LoadedPipeline {
            pipeline,
            skipped,
            source: src.source.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "- source: cc\n  steps:\n    - func: move_url_modifier\n    - func: word_length_filter\n      min_length: 3\n      max_lenght: 10\n";

    #[test]
    fn bad_param_names_step_line_and_accepted() {
        let c = PipelineConfig::parse(CFG, "x.yaml").unwrap();
        let e = c
            .build(&Registry::dclm(), &BuildContext::default(), &LoadOptions::default())
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("step 2 (`word_length_filter`, line 4)"), "{msg}");
        assert!(
            msg.contains("max_lenght") && msg.contains("accepted parameters: min_length, max_length"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_and_unsupported_funcs() {
        let c = PipelineConfig::parse("- source: cc\n  steps:\n    - func: no_such_thing\n", "x").unwrap();
        let msg = c
            .build(&Registry::dclm(), &BuildContext::default(), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("unknown func `no_such_thing`") && msg.contains("stop_word_filter"),
            "{msg}"
        );
        let c = PipelineConfig::parse("- source: cc\n  steps:\n    - func: ken_lm_perplexity_enricher\n", "x").unwrap();
        let msg = c
            .build(&Registry::dclm(), &BuildContext::default(), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("not supported") && msg.contains("KenLM"), "{msg}");
    }

    #[test]
    fn bad_values_and_structure() {
        for (yaml, needle) in [
            ("- source: cc\n  steps:\n    - func: stop_word_filter\n      min_stop_word: many\n", "expected a number"),
            ("- source: cc\n  steps:\n    - func: language_filter\n      keep_languages: en\n", "must be a list"),
            ("- source: cc\n  steps:\n    - func: substring_line_modifier\n      banlist: 'a|b'\n", "metacharacter"),
            ("- source: cc\n  steps:\n    - func: page_length_filter\n      length_type: sentences\n", "accepted values: word"),
            ("- source: cc\n  steps:\n    - func: substring_line_modifier\n      banlist: x\n      location: middle\n", "accepted values: any, prefix, suffix"),
        ] {
            let c = PipelineConfig::parse(yaml, "x").unwrap();
            let msg = c.build(&Registry::dclm(), &BuildContext::default(), &LoadOptions::default()).unwrap_err().to_string();
            assert!(msg.contains(needle), "{yaml}: {msg}");
        }
        assert!(PipelineConfig::parse("source: cc", "x").is_err());
        assert!(PipelineConfig::parse("- source: cc\n  steps:\n    - word_length_filter\n", "x").is_err());
        assert!(PipelineConfig::parse("- [", "x").is_err());
    }
}
