//! The `dclm-fasttext` backends: [`FastTextLid`] (a [`LanguageId`] over `lid.176.bin`/`.ftz`) and the
//! `classify_fasttext_hq_prob_enricher` step (DCLM's fastText quality score).

use crate::error::Result;
use crate::lang::LanguageId;
use crate::pipeline::Mapper;
use crate::registry::{BuildContext, LidLoader, Params};
use dclm_core::{Document, Verdict};
use dclm_fasttext::{FastText, PredictBuf, QualityScorer};
use serde_json::Value;
use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

thread_local! {
    static BUF: RefCell<PredictBuf> = RefCell::new(PredictBuf::default());
}

/// fastText language ID: top-1 `predict(text, k=1, threshold=0)` with labels stripped of `__label__`.
#[derive(Debug)]
pub struct FastTextLid {
    model: FastText,
    labels: Vec<String>,
}

impl FastTextLid {
    /// Load `lid.176.bin` or `lid.176.ftz` (or any supervised model).
    pub fn load(path: &Path) -> std::result::Result<Self, dclm_fasttext::FastTextError> {
        let model = FastText::load(path)?;
        let labels = model
            .labels()
            .iter()
            .map(|l| l.strip_prefix(dclm_fasttext::LABEL_PREFIX).unwrap_or(l).to_string())
            .collect();
        Ok(FastTextLid { model, labels })
    }

    /// The loaded model.
    pub fn model(&self) -> &FastText {
        &self.model
    }
}

impl LanguageId for FastTextLid {
    fn top1(&self, text: &str) -> Option<(String, f32)> {
        BUF.with(|b| {
            let mut buf = b.borrow_mut();
            let mut it = self.model.predict_with(text.as_bytes(), 1, 0.0, &mut buf);
            it.next().map(|(id, p)| (self.labels[id].clone(), p))
        })
    }
}

/// A [`LidLoader`] that loads models with [`FastTextLid`].
pub fn fasttext_lid_loader() -> LidLoader {
    Arc::new(|p: &Path| {
        FastTextLid::load(p)
            .map(|l| Arc::new(l) as Arc<dyn LanguageId>)
            .map_err(|e| e.to_string())
    })
}

/// `classify_fasttext_hq_prob_enricher`: `page[key] = P(hq)` of DCLM's fastText quality classifier
/// (text prepared as `" ".join(text.strip().splitlines())`; `1 - p` when the top label is `__label__cc`).
pub struct QualityEnricher {
    scorer: Arc<QualityScorer>,
    key: String,
    overwrite: bool,
}

impl Mapper for QualityEnricher {
    fn name(&self) -> &str {
        "classify_fasttext_hq_prob_enricher"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        if !self.overwrite && doc.fields.contains_key(&self.key) {
            return Verdict::Drop("error:key_exists");
        }
        let s = self.scorer.score(&doc.text);
        match serde_json::Number::from_f64(s) {
            Some(n) => {
                doc.set(self.key.clone(), Value::Number(n));
                Verdict::Keep
            }
            None => Verdict::Drop("error:score_not_finite"),
        }
    }
    fn modifies_text(&self) -> bool {
        false
    }
}

pub(crate) fn quality_enricher(p: &Params<'_>, ctx: &BuildContext) -> Result<QualityEnricher> {
    p.allow_only(&["model_filename", "key", "overwrite"])?;
    let fname = p.str_opt("model_filename")?.unwrap_or("model.bin");
    let path = ctx.resolve(&format!(
        "baselines/mappers/enrichers/quality_prediction_enrichment_models/{fname}"
    ));
    let path = if Path::new(fname).is_absolute() {
        Path::new(fname).to_path_buf()
    } else {
        path
    };
    if !path.is_file() {
        return Err(crate::FilterError::Asset {
            loc: p.loc().clone(),
            what: "quality classifier",
            path,
            message: "not found; put the model under quality_prediction_enrichment_models/ in the assets folder".into(),
        });
    }
    let scorer = QualityScorer::load(&path).map_err(|e| crate::FilterError::Model {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(QualityEnricher {
        scorer: Arc::new(scorer),
        key: p.str_opt("key")?.unwrap_or("fasttext_hq_prob").to_string(),
        overwrite: p.bool_or("overwrite", false)?,
    })
}
