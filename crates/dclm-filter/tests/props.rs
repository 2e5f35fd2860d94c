//! Property tests: no step panics on arbitrary Unicode documents, modifiers never lengthen text, and the
//! modifiers that are idempotent in DCLM stay idempotent here; the LaTeX, HTML and code-data mappers do not
//! panic on arbitrary text mixed with the syntax they look for.

use dclm_core::{Document, Verdict};
use dclm_filter::{BuildContext, FnLanguageId, LoadOptions, Pipeline, PipelineConfig, Registry, Step};
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};

/// The DCLM-Baseline chain (minus the non-public step 2) with a deterministic stand-in for language ID, so
/// the properties also reach the steps after the language filter.
fn pipeline() -> Option<&'static Pipeline> {
    static P: OnceLock<Option<Pipeline>> = OnceLock::new();
    P.get_or_init(|| {
        let cfgs = dclm_core::testdata::shared("data/dclm/configs", "props")?;
        let assets = cfgs.parent()?.parent()?.join("data/dclm-assets");
        let lid = FnLanguageId(|t: &str| Some(("en".to_string(), if t.len() % 3 == 0 { 0.5 } else { 0.9 })));
        let ctx = BuildContext::new(assets).with_language_id(Arc::new(lid));
        let cfg = PipelineConfig::load(cfgs.join("dclm_baseline_refinedweb.yaml")).ok()?;
        let opts = LoadOptions {
            skip_steps: vec![2],
            ..Default::default()
        };
        Some(cfg.build(&Registry::dclm(), &ctx, &opts).ok()?.pipeline)
    })
    .as_ref()
}

fn text_strategy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        "[a-zA-Z ]{0,40}",
        Just("\n".to_string()),
        Just("\n\n\n".to_string()),
        Just("the and of ".to_string()),
        Just("http://www.example.com/x?y=1 ".to_string()),
        Just("192.168.0.1 ".to_string()),
        Just("12 likes".to_string()),
        Just("Read more...".to_string()),
        Just("Sign-in ".to_string()),
        Just("items in cart".to_string()),
        Just("• ".to_string()),
        Just("… ".to_string()),
        Just("\u{a0}\u{2028}\u{85}\u{1f}\u{3000}\u{200b}\r\t\x0b\x0c".to_string()),
        Just("ſİıK".to_string()),
        Just("The In ".to_string()),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn doc(text: String, url: String) -> Document {
    let mut d = Document::new(text);
    d.metadata_mut().insert("WARC-Target-URI".into(), url.into());
    d
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_step_panics_and_modifiers_never_lengthen(text in text_strategy(), url in any::<String>()) {
        let Some(p) = pipeline() else { return Ok(()) };
        let base = doc(text.clone(), url.clone());
        // The whole chain, and every step alone on the raw page (with the URL moved).
        let _ = p.trace(base.clone());
        let mut moved = base.clone();
        moved.set("url", url.into());
        moved.set("language_id_whole_page_fasttext", serde_json::json!({"en": 0.9}));
        moved.set("previous_word_count", 100.into());
        for step in p.steps() {
            let mut d = moved.clone();
            match step {
                Step::Filter(f) => { let _ = f.check(&d); }
                Step::Mapper(m) => {
                    let v = m.apply(&mut d);
                    if v.is_keep() {
                        prop_assert!(d.text.len() <= text.len(), "{} lengthened the text", m.name());
                        prop_assert!(d.text.chars().count() <= text.chars().count());
                    }
                }
            }
        }
    }

    #[test]
    fn idempotent_modifiers(text in text_strategy()) {
        let Some(p) = pipeline() else { return Ok(()) };
        for step in p.steps() {
            let Step::Mapper(m) = step else { continue };
            if !matches!(m.name(), "newline_removal_modifier" | "line_length_modifier") {
                continue;
            }
            let mut once = Document::new(text.clone());
            if m.apply(&mut once) != Verdict::Keep {
                continue;
            }
            let mut twice = once.clone();
            prop_assert_eq!(m.apply(&mut twice), Verdict::Keep);
            prop_assert_eq!(&twice.text, &once.text);
        }
    }

    #[test]
    fn latex_html_and_code_mappers_never_panic(
        pieces in prop::collection::vec(prop_oneof![
            any::<String>(),
            Just("\\newcommand{\\a}{b}\n".to_string()),
            Just("\\newcommand*{\\é}{\\x}".to_string()),
            Just("\\def \\x {y}\n".to_string()),
            Just("\\a".to_string()),
            Just("\\x.".to_string()),
            Just("\\section*[a]{b}".to_string()),
            Just("\\paragraph{p}\\subparagraph{q}".to_string()),
            Just("%c\n".to_string()),
            Just("a%b".to_string()),
            Just("\\appendix".to_string()),
            Just("\\bibliography{".to_string()),
            Just("\\begin{comment}".to_string()),
            Just("\\end{comment}".to_string()),
            Just("<p>".to_string()),
            Just("<li>".to_string()),
            Just("<br>".to_string()),
            Just("&amp;".to_string()),
            Just("</div>".to_string()),
            Just("<script>".to_string()),
            Just("\r\n\u{2028}".to_string()),
        ], 0..30)
    ) {
        let text = pieces.concat();
        let p = new_mappers();
        let _ = p.trace(Document::new(text.clone()));
        for step in p.steps() {
            let mut d = Document::new(text.clone());
            match step {
                Step::Filter(f) => { let _ = f.check(&d); }
                Step::Mapper(m) => {
                    if m.apply(&mut d).is_keep() {
                        prop_assert!(d.has_string_text());
                    }
                }
            }
        }
    }
}

/// Every text step added for DCLM's code, arXiv and HTML data, one after another.
fn new_mappers() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        let steps = [
            "arxiv_comment_modifier\n      remove_multiline: true",
            "arxiv_macro_modifier",
            "arxiv_appendix_modifier",
            "arxiv_section_strip_modifier",
            "line_length_filter\n      length_type: avg",
            "alphanumeric_char_ratio_filter\n      max_alnum_ratio: 0",
            "html_content_extraction_modifier",
            "line_counter_enricher",
            "random_sampling_filter\n      keep_probability: 1",
        ];
        let yaml: String = steps.iter().map(|s| format!("    - func: {s}\n")).collect();
        let cfg = PipelineConfig::parse(&format!("- source: x\n  steps:\n{yaml}"), "props.yaml").unwrap();
        cfg.build(&Registry::dclm(), &BuildContext::default(), &LoadOptions::default())
            .unwrap()
            .pipeline
    })
}
