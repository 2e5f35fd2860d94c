//! Language ID and metadata steps: `detect_lang_whole_page_enricher` (through any [`LanguageId`] backend),
//! `language_filter`, `quality_filter`.

use crate::error::Result;
use crate::lang::LanguageId;
use crate::pipeline::{Filter, Mapper};
use crate::registry::{BuildContext, Params};
use dclm_core::{Document, Verdict};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Python's `string.punctuation`.
const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// DCLM's `is_space_or_punct`: empty, or only ASCII punctuation and U+0020.
pub fn is_space_or_punct(s: &str) -> bool {
    s.bytes()
        .all(|b| b == b' ' || (b.is_ascii() && PUNCT.as_bytes().contains(&b)))
}

/// `detect_lang_whole_page_enricher` with `model: fasttext`: `{lang: prob}` of the top-1 prediction on the
/// text with every `\n` deleted (no separator: DCLM's quirk), or `{}` for empty/punctuation-only text.
pub struct DetectLangEnricher {
    key: String,
    overwrite: bool,
    lid: Arc<dyn LanguageId>,
    /// fastText path: delete every `\n` first (DCLM's quirk); the langdetect path passes the text unchanged.
    delete_newlines: bool,
}

impl DetectLangEnricher {
    /// An enricher writing `<key_prefix>_fasttext` with the given backend.
    pub fn new(key_prefix: &str, lid: Arc<dyn LanguageId>) -> Self {
        DetectLangEnricher {
            key: format!("{key_prefix}_fasttext"),
            overwrite: false,
            lid,
            delete_newlines: true,
        }
    }

    /// The value DCLM stores for this text.
    pub fn detect(&self, text: &str) -> std::result::Result<Map<String, Value>, &'static str> {
        let mut m = Map::new();
        if is_space_or_punct(text) {
            return Ok(m);
        }
        let joined: std::borrow::Cow<'_, str> = if self.delete_newlines && text.contains('\n') {
            std::borrow::Cow::Owned(text.replace('\n', ""))
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        let (label, prob) = self.lid.top1(&joined).ok_or("error:no_language_prediction")?;
        let label = label.strip_prefix("__label__").map(str::to_string).unwrap_or(label);
        let num = serde_json::Number::from_f64(prob as f64).ok_or("error:language_prob_not_finite")?;
        m.insert(label, Value::Number(num));
        Ok(m)
    }
}

impl DetectLangEnricher {
    /// [`DetectLangEnricher::detect`] for many texts on the current rayon pool; results in input order.
    pub fn detect_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
    ) -> Vec<std::result::Result<Map<String, Value>, &'static str>> {
        use rayon::prelude::*;
        texts.par_iter().map(|t| self.detect(t.as_ref())).collect()
    }
}

impl Mapper for DetectLangEnricher {
    fn name(&self) -> &str {
        "detect_lang_whole_page_enricher"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        if !self.overwrite && doc.fields.contains_key(&self.key) {
            return Verdict::Drop("error:key_exists");
        }
        match self.detect(&doc.text) {
            Ok(m) => {
                doc.set(self.key.clone(), Value::Object(m));
                Verdict::Keep
            }
            Err(r) => Verdict::Drop(r),
        }
    }
    fn modifies_text(&self) -> bool {
        false
    }
}

pub(crate) fn detect_lang(p: &Params<'_>, ctx: &BuildContext) -> Result<DetectLangEnricher> {
    p.allow_only(&["model", "key_prefix", "overwrite", "seed"])?;
    let model = p
        .str_opt("model")?
        .ok_or_else(|| p.err("model", "required; accepted values: fasttext"))?;
    let lid = match model {
        "fasttext" => {
            if p.get("seed").is_some() {
                return Err(p.err(
                    "seed",
                    "DCLM raises NotImplementedError for a seed with fasttext; remove it",
                ));
            }
            ctx.language_id_for(p.loc())?
        }
        "langdetect" => {
            p.usize_opt("seed")?;
            ctx.langdetect.clone().ok_or_else(|| {
                p.err(
                    "model",
                    "langdetect has no Rust implementation here; plug a backend in with BuildContext::with_langdetect",
                )
            })?
        }
        other => {
            return Err(p.err(
                "model",
                format!("`{other}` is not supported; accepted values: fasttext, langdetect"),
            ))
        }
    };
    let prefix = p.str_opt("key_prefix")?.unwrap_or("language_id_whole_page");
    Ok(DetectLangEnricher {
        key: format!("{prefix}_{model}"),
        overwrite: p.bool_or("overwrite", false)?,
        lid,
        delete_newlines: model == "fasttext",
    })
}

/// `language_filter`: keep iff `page[key]` has one of `keep_languages` with probability `> threshold`.
#[derive(Debug)]
pub struct LanguageFilter {
    key: String,
    keep: Vec<String>,
    threshold: f64,
}

impl LanguageFilter {
    /// Keep pages whose `key` scores one of `keep` above `threshold`.
    pub fn new(key: impl Into<String>, keep: Vec<String>, threshold: f64) -> Self {
        LanguageFilter {
            key: key.into(),
            keep,
            threshold,
        }
    }
}

impl Filter for LanguageFilter {
    fn name(&self) -> &str {
        "language_filter"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn check(&self, doc: &Document) -> Verdict {
        let Some(v) = doc.get(&self.key) else {
            return Verdict::Drop("error:missing_language_id");
        };
        let Value::Object(m) = v else {
            return Verdict::Drop("error:language_id_not_a_dict");
        };
        for lang in &self.keep {
            if let Some(p) = m.get(lang) {
                match p.as_f64() {
                    Some(x) if x > self.threshold => return Verdict::Keep,
                    Some(_) => {}
                    None => return Verdict::Drop("error:language_prob_not_number"),
                }
            }
        }
        Verdict::Drop("language")
    }
}

pub(crate) fn language_filter(p: &Params<'_>, _: &BuildContext) -> Result<LanguageFilter> {
    p.allow_only(&["keep_languages", "key", "threshold"])?;
    let keep = p.strict_str_list("keep_languages")?.ok_or_else(|| {
        p.err(
            "keep_languages",
            "required parameter is missing (a list, e.g. `[ en ]`)",
        )
    })?;
    Ok(LanguageFilter {
        key: p
            .str_opt("key")?
            .unwrap_or("language_id_whole_page_langdetect")
            .to_string(),
        keep,
        threshold: p.f64_or("threshold", 0.0)?,
    })
}

/// `quality_filter`: keep iff `page[key] >= threshold` (or `<=` with `lower_better`).
#[derive(Debug)]
pub struct QualityFilter {
    key: String,
    threshold: f64,
    lower_better: bool,
    key_must_exist: bool,
}

impl Filter for QualityFilter {
    fn name(&self) -> &str {
        "quality_filter"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn check(&self, doc: &Document) -> Verdict {
        let score = match doc.get(&self.key) {
            Some(v) => match v.as_f64() {
                Some(x) => x,
                None => return Verdict::Drop("error:quality_score_not_number"),
            },
            None if self.key_must_exist => return Verdict::Drop("error:missing_quality_score"),
            None if self.lower_better => f64::INFINITY,
            None => f64::NEG_INFINITY,
        };
        let keep = if self.lower_better {
            score <= self.threshold
        } else {
            score >= self.threshold
        };
        Verdict::keep_if(keep, "low_quality")
    }
}

pub(crate) fn quality_filter(p: &Params<'_>, _: &BuildContext) -> Result<QualityFilter> {
    p.allow_only(&["key", "threshold", "lower_better", "key_must_exist"])?;
    Ok(QualityFilter {
        key: p.str_opt("key")?.unwrap_or("fasttext_hq_prob").to_string(),
        threshold: p.f64_or("threshold", 0.0)?,
        lower_better: p.bool_or("lower_better", false)?,
        key_must_exist: p.bool_or("key_must_exist", true)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::FnLanguageId;

    #[test]
    fn detect_batch_equals_detect() {
        let lid = FnLanguageId(|t: &str| Some(("__label__en".to_string(), t.len() as f32 / 100.0)));
        let e = DetectLangEnricher::new("language_id_whole_page", Arc::new(lid));
        let texts = ["a\nb c", "", "?!", "hello there"];
        let got = e.detect_batch(&texts);
        let want: Vec<_> = texts.iter().map(|t| e.detect(t)).collect();
        assert_eq!(got, want);
        assert!(got[1].as_ref().unwrap().is_empty(), "empty text: DCLM stores {{}}");
        assert_eq!(got[0].as_ref().unwrap()["en"], serde_json::json!(0.03999999910593033));
    }

    #[test]
    fn gate_and_newline_quirk() {
        assert!(
            is_space_or_punct("") && is_space_or_punct(" ?!") && !is_space_or_punct("\t") && !is_space_or_punct("a")
        );
        let seen = Arc::new(std::sync::Mutex::new(String::new()));
        let s2 = seen.clone();
        let lid = FnLanguageId(move |t: &str| {
            *s2.lock().unwrap() = t.to_string();
            Some(("__label__en".to_string(), 0.5f32))
        });
        let e = DetectLangEnricher::new("language_id_whole_page", Arc::new(lid));
        let mut d = Document::new("foo\nbar");
        assert!(e.apply(&mut d).is_keep());
        assert_eq!(*seen.lock().unwrap(), "foobar");
        assert_eq!(d.get("language_id_whole_page_fasttext").unwrap()["en"], 0.5);
        let f = LanguageFilter::new("language_id_whole_page_fasttext", vec!["en".into()], 0.65);
        assert!(!f.check(&d).is_keep());
        let mut empty = Document::new("...");
        e.apply(&mut empty);
        assert_eq!(
            empty.get("language_id_whole_page_fasttext").unwrap(),
            &Value::Object(Map::new())
        );
    }
}
