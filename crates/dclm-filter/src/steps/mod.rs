//! The built-in DCLM steps, one module per family, and their registration under DCLM's `func` names.
//!
//! Every step reproduces DCLM's mapper at HEAD `361714bd`, including its quirks. The RefinedWeb-chain steps are
//! checked against DCLM's own Python output in `conformance/heuristics`; the code, arXiv, StackExchange, HTML,
//! sampling and token-ratio steps ([`code`], [`arxiv`], [`stackexchange`], [`html`], [`sampling`], [`tokens`])
//! are written from DCLM's source and docstrings, with tests built from them (no reference output of DCLM's for
//! those exists here).
//! Quirks of the RefinedWeb chain:
//!
//! | Quirk | Default (faithful) | Corrected variant |
//! |---|---|---|
//! | `ignore_chars: ['www']` in exact-domain mode deletes every `www` (`www.x.com` → `.x.com`) and keeps the port | yes | `url_substring_filter` `fix_www: true`: host only, one leading `www.` removed |
//! | URL removal only runs when the text *starts* with a TLD string (`re.match`; "The…" → `th`) | yes | `url_removal_modifier` `gate: search` |
//! | TLDs with `-` are escaped twice, so `xn--…` TLDs only match with literal backslashes | yes | – |
//! | LID deletes `\n` without a separator (`foo\nbar` → `foobar`) | yes | – |
//! | `Read more...`: the dots are regex wildcards | yes | – |
//! | `substring_line_modifier` also removes blank lines where nothing matched | yes | – |
//! | three word tokenizers (fastText ASCII split, UAX#29, `str.split`) and Python predicates | yes | – |
//! | line modifiers strip the document, `line_length_modifier` does not | yes | – |
//!
//! Where DCLM raises (missing `WARC-Target-URI`, an enricher key that already exists, a missing
//! `previous_word_count`), the page is dropped with a reason starting with `error:`, as DCLM's processor
//! counts an exception as an error and drops the page. Parameters DCLM would only reject while processing
//! (a non-list `keep_languages`, a fastText `seed`) are rejected when the pipeline is built.

pub mod arxiv;
pub mod c4;
pub mod code;
pub mod content;
pub mod html;
pub mod lines;
pub mod meta;
pub mod repetition;
pub mod sampling;
pub mod stackexchange;
pub mod tokens;
pub mod url;

use crate::registry::Registry;

/// Register every built-in step.
pub(crate) fn register_builtins(r: &mut Registry) {
    r.register_mapper("move_url_modifier", url::move_url);
    r.register_filter("url_substring_filter", url::url_substring);
    r.register_mapper("url_removal_modifier", url::url_removal);
    r.register_mapper("newline_removal_modifier", lines::newline_removal);
    r.register_mapper("detect_lang_whole_page_enricher", meta::detect_lang);
    r.register_filter("language_filter", meta::language_filter);
    r.register_filter("quality_filter", meta::quality_filter);
    r.register_mapper("classify_fasttext_hq_prob_enricher", crate::fasttext::quality_enricher);
    r.register_filter("page_length_filter", content::page_length);
    r.register_filter("word_length_filter", content::word_length);
    r.register_filter("symbol_ratio_filter", content::symbol_ratio);
    r.register_filter("bullet_count_filter", content::bullet_count);
    r.register_filter("ellipsis_count_filter", content::ellipsis_count);
    r.register_filter("alphabetic_word_ratio_filter", content::alphabetic_word_ratio);
    r.register_filter("stop_word_filter", content::stop_word);
    r.register_filter("massive_web_repetition_filters", repetition::massive_web);
    r.register_filter("repetition_filter", repetition::single);
    r.register_mapper("word_counter_enricher", content::word_counter);
    r.register_mapper("uppercase_ratio_line_modifier", lines::uppercase_ratio);
    r.register_mapper("numeric_ratio_line_modifier", lines::numeric_ratio);
    r.register_mapper("counter_line_modifier", lines::counter_line);
    r.register_mapper("line_length_modifier", lines::line_length);
    r.register_mapper("substring_line_modifier", lines::substring_line);
    r.register_filter("word_removal_ratio_filter", content::word_removal_ratio);
    r.register_mapper("key_name_modifier", c4::key_name);
    r.register_mapper("word_length_modifier", c4::word_length_mod);
    r.register_mapper("citation_removal_modifier", c4::citation_removal);
    r.register_mapper("punctuation_line_modifier", c4::punctuation_line);
    r.register_filter("substring_filter", c4::substring);
    r.register_mapper("within_page_dedup", c4::within_page_dedup);
    r.register_mapper("split_lines_modifier", c4::split_lines);
    r.register_mapper("join_lines_modifier", c4::join_lines);
    r.register_mapper("exact_dedup", c4::exact_dedup);
    r.register_filter("random_sampling_filter", sampling::random_sampling);
    r.register_filter("alphabetic_characters_to_tokens_filter", tokens::alpha_to_tokens);
    r.register_mapper("line_counter_enricher", content::line_counter);
    r.register_filter("github_extension_filter", code::github_extension);
    r.register_filter("line_length_filter", code::line_length_filter);
    r.register_filter("alphanumeric_char_ratio_filter", code::alnum_ratio);
    r.register_mapper("starcoder_v2_repo_splitter", code::repo_splitter);
    r.register_mapper("starcoder_v2_format_modifier", code::format_modifier);
    r.register_mapper("arxiv_appendix_modifier", arxiv::appendix);
    r.register_mapper("arxiv_comment_modifier", arxiv::comment);
    r.register_mapper("arxiv_macro_modifier", arxiv::macros);
    r.register_mapper("arxiv_section_strip_modifier", arxiv::section_strip);
    r.register_mapper("stackexchange_list_modifier", stackexchange::list_modifier);
    r.register_mapper("stackexchange_answer_sort_modifier", stackexchange::answer_sort);
    r.register_mapper("stackexchange_qa_formatter", stackexchange::qa_formatter);
    r.register_mapper("stackexchange_html_extraction_modifier", html::stackexchange_extraction);
    r.register_mapper("html_content_extraction_modifier", html::content_extraction);
}
