//! The [`LanguageId`] backend trait behind `detect_lang_whole_page_enricher`: any model that answers
//! fastText's top-1 `predict` for one line of text can drive the step.

/// A language identifier with fastText `predict(text, k=1)` semantics on one line (no `\n` in `text`).
pub trait LanguageId: Send + Sync {
    /// Top-1 label without the `__label__` prefix (e.g. `en`) and its probability; `None` if the model gives
    /// no label at all.
    fn top1(&self, text: &str) -> Option<(String, f32)>;
}

impl<T: LanguageId + ?Sized> LanguageId for std::sync::Arc<T> {
    fn top1(&self, text: &str) -> Option<(String, f32)> {
        (**self).top1(text)
    }
}

impl<T: LanguageId + ?Sized> LanguageId for Box<T> {
    fn top1(&self, text: &str) -> Option<(String, f32)> {
        (**self).top1(text)
    }
}

/// A [`LanguageId`] from a closure (tests, or wrapping another library).
pub struct FnLanguageId<F>(pub F);

impl<F: Fn(&str) -> Option<(String, f32)> + Send + Sync> LanguageId for FnLanguageId<F> {
    fn top1(&self, text: &str) -> Option<(String, f32)> {
        (self.0)(text)
    }
}
