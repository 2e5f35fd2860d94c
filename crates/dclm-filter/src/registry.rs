//! Name → constructor [`Registry`], the typed view of a step's YAML parameters ([`Params`]), and the
//! [`BuildContext`] (assets folder, language-ID backend) constructors read.

use crate::error::{FilterError, Result, StepLoc};
use crate::lang::LanguageId;
use crate::pipeline::{Filter, Mapper, Step};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Loads a language-ID model from a file (plugged in by the caller, e.g. the `dclm-fasttext` backend).
pub type LidLoader = Arc<dyn Fn(&Path) -> std::result::Result<Arc<dyn LanguageId>, String> + Send + Sync>;

/// What step constructors may read besides their parameters.
#[derive(Clone, Default)]
pub struct BuildContext {
    /// Relative asset paths in configs (banlists, TLD list, models) resolve against this folder
    /// (DCLM's repository layout, e.g. `../shared/data/dclm-assets`). Absolute paths are used as they are.
    pub assets_dir: PathBuf,
    /// A ready language-ID backend; wins over `lid_loader`.
    pub language_id: Option<Arc<dyn LanguageId>>,
    /// Loads `lid.176.bin` (or `.ftz`) from the assets folder when no backend is given (default:
    /// [`crate::fasttext_lid_loader`]).
    pub lid_loader: Option<LidLoader>,
    /// Backend for `detect_lang_whole_page_enricher` `model: langdetect` (C4's config). Python's `langdetect`
    /// (Google's profiles) has no Rust port here, so a config using it only builds when the caller plugs a
    /// backend in explicitly, e.g. the fastText LID as a stand-in (its probabilities are not langdetect's).
    pub langdetect: Option<Arc<dyn LanguageId>>,
    loaded_lid: Arc<Mutex<Option<Arc<dyn LanguageId>>>>,
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("assets_dir", &self.assets_dir)
            .field("language_id", &self.language_id.is_some())
            .field("lid_loader", &self.lid_loader.is_some())
            .field("langdetect", &self.langdetect.is_some())
            .finish()
    }
}

impl BuildContext {
    /// A context whose relative asset paths resolve against `assets_dir`.
    pub fn new(assets_dir: impl Into<PathBuf>) -> Self {
        BuildContext {
            assets_dir: assets_dir.into(),
            ..Default::default()
        }
    }

    /// Use this language-ID backend.
    pub fn with_language_id(mut self, lid: Arc<dyn LanguageId>) -> Self {
        self.language_id = Some(lid);
        self
    }

    /// Use this backend for `model: langdetect` steps.
    pub fn with_langdetect(mut self, lid: Arc<dyn LanguageId>) -> Self {
        self.langdetect = Some(lid);
        self
    }

    /// Use this loader for language-ID models found in the assets folder.
    pub fn with_lid_loader(mut self, loader: LidLoader) -> Self {
        self.lid_loader = Some(loader);
        self
    }

    /// Resolve an asset path from a config.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.assets_dir.join(path)
        }
    }

    /// The language-ID backend for a step, loading (once) DCLM's `lid.176.bin`, or `lid.176.ftz` beside it.
    pub fn language_id_for(&self, loc: &StepLoc) -> Result<Arc<dyn LanguageId>> {
        if let Some(l) = &self.language_id {
            return Ok(l.clone());
        }
        let mut cached = self.loaded_lid.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = cached.as_ref() {
            return Ok(l.clone());
        }
        let dir = self.resolve("baselines/mappers/enrichers/language_id_enrichment_models");
        let candidates = [dir.join("lid.176.bin"), dir.join("lid.176.ftz")];
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(FilterError::Asset {
                loc: loc.clone(),
                what: "language-ID model",
                path: candidates[0].clone(),
                message: "not found (nor lid.176.ftz beside it); set the assets folder".into(),
            });
        };
        let loader = self
            .lid_loader
            .clone()
            .unwrap_or_else(crate::fasttext::fasttext_lid_loader);
        let lid = loader(path).map_err(|message| FilterError::Model {
            path: path.clone(),
            message,
        })?;
        *cached = Some(lid.clone());
        Ok(lid)
    }
}

/// A step's parameters (every key of its YAML mapping except `func`), with typed getters whose errors name
/// the step, the parameter and the accepted values.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    loc: StepLoc,
    map: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    /// Wrap a parameter map.
    pub fn new(loc: StepLoc, map: &'a Map<String, Value>) -> Self {
        Params { loc, map }
    }

    /// Where the step is.
    pub fn loc(&self) -> &StepLoc {
        &self.loc
    }

    /// An error about `param`.
    pub fn err(&self, param: &str, message: impl Into<String>) -> FilterError {
        FilterError::BadParam {
            loc: self.loc.clone(),
            param: param.to_string(),
            message: message.into(),
        }
    }

    /// Reject every key not in `allowed` (keys starting with `_`, DCLM processor annotations such as
    /// `_aggregate`, are ignored).
    pub fn allow_only(&self, allowed: &[&str]) -> Result<()> {
        for k in self.map.keys() {
            if k == "func" || k.starts_with('_') || allowed.contains(&k.as_str()) {
                continue;
            }
            let accepted = if allowed.is_empty() {
                "this step takes no parameters".to_string()
            } else {
                format!("accepted parameters: {}", allowed.join(", "))
            };
            return Err(self.err(k, format!("unknown parameter; {accepted}")));
        }
        Ok(())
    }

    /// The raw value.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string parameter.
    pub fn str_opt(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.err(key, format!("expected a string, got {v}"))),
        }
    }

    /// A string parameter with a default, restricted to `choices`.
    pub fn choice(&self, key: &str, default: &'a str, choices: &[&str]) -> Result<&'a str> {
        let v = self.str_opt(key)?.unwrap_or(default);
        if choices.contains(&v) {
            Ok(v)
        } else {
            Err(self.err(
                key,
                format!("`{v}` is not accepted; accepted values: {}", choices.join(", ")),
            ))
        }
    }

    /// A boolean parameter.
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(key, format!("expected true or false, got {v}"))),
        }
    }

    /// A number parameter (int or float).
    pub fn f64_opt(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| self.err(key, "number out of range")),
            Some(v) => Err(self.err(key, format!("expected a number, got {v}"))),
        }
    }

    /// A number parameter with a default.
    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64> {
        Ok(self.f64_opt(key)?.unwrap_or(default))
    }

    /// A number in `[lo, hi]`.
    pub fn f64_in(&self, key: &str, default: f64, lo: f64, hi: f64) -> Result<f64> {
        let v = self.f64_or(key, default)?;
        if v.is_nan() || v < lo || v > hi {
            return Err(self.err(key, format!("{v} is out of range; accepted: {lo} ..= {hi}")));
        }
        Ok(v)
    }

    /// A non-negative integer parameter.
    pub fn usize_opt(&self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(|u| Some(u as usize))
                .ok_or_else(|| self.err(key, format!("expected a non-negative integer, got {n}"))),
            Some(v) => Err(self.err(key, format!("expected a non-negative integer, got {v}"))),
        }
    }

    /// A non-negative integer with a default.
    pub fn usize_or(&self, key: &str, default: usize) -> Result<usize> {
        Ok(self.usize_opt(key)?.unwrap_or(default))
    }

    /// A list of strings; a single string is accepted as a one-element list (as DCLM does).
    pub fn str_list_opt(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.err(key, format!("expected a list of strings, found element {other}"))),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => Err(self.err(key, format!("expected a string or a list of strings, got {v}"))),
        }
    }

    /// A list of strings that must be a YAML list (DCLM raises `TypeError` otherwise).
    pub fn strict_str_list(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.get(key) {
            Some(Value::String(_)) => Err(self.err(key, "must be a list, e.g. `[ en ]`")),
            _ => self.str_list_opt(key),
        }
    }

    /// A required parameter's presence.
    pub fn require(&self, key: &str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| self.err(key, "required parameter is missing"))
    }
}

/// Builds a step from its parameters.
pub type Constructor = Arc<dyn Fn(&Params<'_>, &BuildContext) -> Result<Step> + Send + Sync>;

/// DCLM mappers this crate knows of but does not implement, each with the reason (reported as unsupported,
/// not unknown).
pub const UNSUPPORTED_DCLM_FUNCS: &[(&str, &str)] = &[
    (
        "detect_lang_paragraph_enricher",
        "it splits sentences with blingfire or NLTK punkt, which have no port here",
    ),
    (
        "ken_lm_perplexity_enricher",
        "it needs KenLM and a SentencePiece model (edugp/kenlm wikipedia/en), which have no port here",
    ),
];

/// Name → constructor. [`Registry::dclm`] holds every built-in DCLM step; add your own with
/// [`Registry::register`] (or the `register_filter` / `register_mapper` shorthands).
#[derive(Clone, Default)]
pub struct Registry {
    ctors: BTreeMap<String, Constructor>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ctors.keys()).finish()
    }
}

impl Registry {
    /// A registry with no steps.
    pub fn empty() -> Self {
        Registry::default()
    }

    /// Every built-in step under its DCLM `func` name.
    pub fn dclm() -> Self {
        let mut r = Registry::empty();
        crate::steps::register_builtins(&mut r);
        r
    }

    /// Register (or replace) a constructor.
    pub fn register(
        &mut self,
        name: impl Into<String>,
        ctor: impl Fn(&Params<'_>, &BuildContext) -> Result<Step> + Send + Sync + 'static,
    ) {
        self.ctors.insert(name.into(), Arc::new(ctor));
    }

    /// Register a filter constructor.
    pub fn register_filter<F: Filter + 'static>(
        &mut self,
        name: impl Into<String>,
        ctor: impl Fn(&Params<'_>, &BuildContext) -> Result<F> + Send + Sync + 'static,
    ) {
        self.register(name, move |p, c| Ok(Step::Filter(Box::new(ctor(p, c)?))));
    }

    /// Register a mapper constructor.
    pub fn register_mapper<M: Mapper + 'static>(
        &mut self,
        name: impl Into<String>,
        ctor: impl Fn(&Params<'_>, &BuildContext) -> Result<M> + Send + Sync + 'static,
    ) {
        self.register(name, move |p, c| Ok(Step::Mapper(Box::new(ctor(p, c)?))));
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.ctors.keys().cloned().collect()
    }

    /// True if `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.ctors.contains_key(name)
    }

    /// Build one step.
    pub fn build(&self, params: &Params<'_>, ctx: &BuildContext) -> Result<Step> {
        let func = params.loc().func.as_str();
        match self.ctors.get(func) {
            Some(c) => c(params, ctx),
            None => match UNSUPPORTED_DCLM_FUNCS.iter().find(|(n, _)| *n == func) {
                Some((_, why)) => Err(FilterError::Unsupported {
                    loc: params.loc().clone(),
                    why,
                    supported: self.names(),
                }),
                None => Err(FilterError::UnknownFunc {
                    loc: params.loc().clone(),
                    accepted: self.names(),
                }),
            },
        }
    }
}
