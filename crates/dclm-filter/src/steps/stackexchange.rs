//! DCLM's StackExchange mappers (RedPajama-v1's processing, in DCLM's `modifiers.py`). They work on the page's
//! `question` (an object with `text`) and optional `answers` (a list of objects with `text` and `score`), not
//! on `text`, until `stackexchange_qa_formatter` writes `text`. Where DCLM would raise on a missing or mistyped
//! key, the page is dropped with a reason starting with `error:`.

use crate::error::Result;
use crate::pipeline::Mapper;
use crate::registry::{BuildContext, Params};
use dclm_core::{Document, Verdict};
use serde_json::Value;
use std::cmp::Ordering;

/// `page['question']['text']` as a mutable string.
fn question_text(doc: &mut Document) -> std::result::Result<&mut String, &'static str> {
    match doc.fields.get_mut("question") {
        None => Err("error:missing_question"),
        Some(Value::Object(q)) => match q.get_mut("text") {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err("error:question_text_not_string"),
            None => Err("error:missing_question_text"),
        },
        Some(_) => Err("error:question_not_an_object"),
    }
}

/// Apply `f` to the question's and every answer's `text`.
pub(crate) fn for_each_text(doc: &mut Document, mut f: impl FnMut(&str) -> String) -> Verdict {
    // Check every answer first, so that a page DCLM fails on is not left half rewritten.
    if let Some(a) = doc.fields.get("answers") {
        let Value::Array(list) = a else {
            return Verdict::Drop("error:answers_not_a_list");
        };
        if !list.iter().all(|x| x.get("text").is_some_and(Value::is_string)) {
            return Verdict::Drop("error:answer_text_not_string");
        }
    }
    match question_text(doc) {
        Ok(q) => *q = f(q),
        Err(reason) => return Verdict::Drop(reason),
    }
    if let Some(Value::Array(list)) = doc.fields.get_mut("answers") {
        for a in list {
            if let Some(Value::String(t)) = a.get_mut("text") {
                *t = f(t);
            }
        }
    }
    Verdict::Keep
}

/// `stackexchange_list_modifier`: in the question's and every answer's `text`, `<li>` and `<ol>` become `\n*`,
/// `</li>` and `</ol>` go (four `str.replace` passes in that order).
#[derive(Debug, Default)]
pub struct StackexchangeListModifier;

/// The list rewrite of [`StackexchangeListModifier`].
pub fn reformat_lists(s: &str) -> String {
    s.replace("<li>", "\n*")
        .replace("</li>", "")
        .replace("<ol>", "\n*")
        .replace("</ol>", "")
}

impl Mapper for StackexchangeListModifier {
    fn name(&self) -> &str {
        "stackexchange_list_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn modifies_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        for_each_text(doc, reformat_lists)
    }
}

pub(crate) fn list_modifier(p: &Params<'_>, _: &BuildContext) -> Result<StackexchangeListModifier> {
    p.allow_only(&[])?;
    Ok(StackexchangeListModifier)
}

/// `stackexchange_answer_sort_modifier`: when `answers` is a list, sort it by `score` (missing → 0), highest
/// first with `descending` (default true); Python's sort is stable, ties keep their order in both directions.
/// Scores must all be numbers (booleans count as 0/1) or all strings (a mix is Python's `TypeError`).
#[derive(Debug)]
pub struct StackexchangeAnswerSortModifier {
    descending: bool,
}

/// A score as Python compares it: numbers (booleans are ints) with numbers, strings with strings.
enum Score<'a> {
    Num(f64),
    Str(&'a str),
}

fn score(a: &Value) -> Option<Score<'_>> {
    match a.get("score") {
        None => Some(Score::Num(0.0)),
        Some(Value::Number(n)) => n.as_f64().map(Score::Num),
        Some(Value::Bool(b)) => Some(Score::Num(f64::from(u8::from(*b)))),
        Some(Value::String(s)) => Some(Score::Str(s)),
        Some(_) => None,
    }
}

fn cmp_scores(a: &Value, b: &Value) -> Option<Ordering> {
    match (score(a)?, score(b)?) {
        (Score::Num(x), Score::Num(y)) => x.partial_cmp(&y),
        // Python compares str by code point, which is UTF-8 byte order.
        (Score::Str(x), Score::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

impl Mapper for StackexchangeAnswerSortModifier {
    fn name(&self) -> &str {
        "stackexchange_answer_sort_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn modifies_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let Some(Value::Array(list)) = doc.fields.get_mut("answers") else {
            return Verdict::Keep;
        };
        if list.iter().any(|a| !a.is_object()) {
            return Verdict::Drop("error:answer_not_an_object");
        }
        // Python compares only when there are two answers or more; kinds that compare with the first compare
        // with each other.
        if list.len() > 1 && list.iter().any(|a| cmp_scores(a, &list[0]).is_none()) {
            return Verdict::Drop("error:scores_not_comparable");
        }
        let desc = self.descending;
        list.sort_by(|a, b| {
            let o = cmp_scores(a, b).unwrap_or(Ordering::Equal);
            if desc {
                o.reverse()
            } else {
                o
            }
        });
        Verdict::Keep
    }
}

pub(crate) fn answer_sort(p: &Params<'_>, _: &BuildContext) -> Result<StackexchangeAnswerSortModifier> {
    p.allow_only(&["descending"])?;
    Ok(StackexchangeAnswerSortModifier {
        descending: p.bool_or("descending", true)?,
    })
}

/// `stackexchange_qa_formatter`: `text` becomes `Q: {question.text}` followed by `\nA: {answer.text}` per
/// answer (with an empty `answers` list: a bare `\nA: `); with `remove_qa` the `question` and `answers` keys go.
/// A page without `question` is dropped (not an error, as in DCLM). A non-string question or answer text is
/// dropped as an error (Python's `join` raises for answers; its f-string would `str()` a question).
#[derive(Debug)]
pub struct StackexchangeQaFormatter {
    remove_qa: bool,
}

impl Mapper for StackexchangeQaFormatter {
    fn name(&self) -> &str {
        "stackexchange_qa_formatter"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        if !doc.fields.contains_key("question") {
            return Verdict::Drop("no_question");
        }
        let answers = match doc.fields.get("answers") {
            None => None,
            Some(Value::Array(list)) => {
                let mut texts = Vec::with_capacity(list.len());
                for a in list {
                    match a.get("text") {
                        Some(Value::String(t)) => texts.push(t.as_str()),
                        Some(_) => return Verdict::Drop("error:answer_text_not_string"),
                        None => return Verdict::Drop("error:missing_answer_text"),
                    }
                }
                Some(texts.join("\nA: "))
            }
            Some(_) => return Verdict::Drop("error:answers_not_a_list"),
        };
        let q = match question_text(doc) {
            Ok(q) => q.clone(),
            Err(reason) => return Verdict::Drop(reason),
        };
        let text = match answers {
            Some(a) => format!("Q: {q}\nA: {a}"),
            None => format!("Q: {q}"),
        };
        doc.set_text(text);
        if self.remove_qa {
            doc.remove("question");
            doc.remove("answers");
        }
        Verdict::Keep
    }
}

pub(crate) fn qa_formatter(p: &Params<'_>, _: &BuildContext) -> Result<StackexchangeQaFormatter> {
    p.allow_only(&["remove_qa"])?;
    Ok(StackexchangeQaFormatter {
        remove_qa: p.bool_or("remove_qa", false)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(v: Value) -> Document {
        Document::from_value_any(v).unwrap()
    }

    #[test]
    fn lists_become_bullets() {
        let mut d = page(json!({
            "question": {"text": "Pick:<ol><li>a</li><li>b</li></ol>"},
            "answers": [{"text": "<li>x</li>", "score": 1}]
        }));
        assert!(StackexchangeListModifier.apply(&mut d).is_keep());
        assert_eq!(d.get("question").unwrap()["text"], "Pick:\n*\n*a\n*b");
        assert_eq!(d.get("answers").unwrap()[0]["text"], "\n*x");
        // `</li>` removal can form an `<ol>` that the next pass turns into a bullet.
        assert_eq!(reformat_lists("<o</li>l>"), "\n*");
        assert_eq!(
            StackexchangeListModifier.apply(&mut page(json!({"text": "t"}))),
            Verdict::Drop("error:missing_question")
        );
        // No answers: only the question.
        let mut d = page(json!({"question": {"text": "<li>q"}}));
        assert!(StackexchangeListModifier.apply(&mut d).is_keep());
        assert_eq!(d.get("question").unwrap()["text"], "\n*q");
    }

    #[test]
    fn answers_sort_stably_by_score() {
        let mut d = page(json!({"answers": [
            {"text": "a", "score": 1}, {"text": "b", "score": 5}, {"text": "c"}, {"text": "d", "score": 1}
        ]}));
        let desc = StackexchangeAnswerSortModifier { descending: true };
        assert!(desc.apply(&mut d).is_keep());
        let order = |d: &Document| -> String {
            d.get("answers")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["text"].as_str().unwrap())
                .collect()
        };
        assert_eq!(order(&d), "badc");
        let asc = StackexchangeAnswerSortModifier { descending: false };
        assert!(asc.apply(&mut d).is_keep());
        assert_eq!(order(&d), "cadb");
        // No answers: a no-op.
        assert!(desc.apply(&mut page(json!({"question": {}}))).is_keep());
        let mut mixed = page(json!({"answers": [{"score": "1"}, {"score": 2}]}));
        assert_eq!(desc.apply(&mut mixed), Verdict::Drop("error:scores_not_comparable"));
        // One answer is never compared; booleans are numbers.
        assert!(desc.apply(&mut page(json!({"answers": [{"score": null}]}))).is_keep());
        let mut b = page(json!({"answers": [{"text": "f", "score": false}, {"text": "t", "score": true}]}));
        assert!(desc.apply(&mut b).is_keep());
        assert_eq!(order(&b), "tf");
    }

    #[test]
    fn qa_format() {
        let f = StackexchangeQaFormatter { remove_qa: false };
        let mut d = page(json!({"question": {"text": "Why?"}, "answers": [{"text": "A1"}, {"text": "A2"}]}));
        assert!(f.apply(&mut d).is_keep());
        assert_eq!(d.text, "Q: Why?\nA: A1\nA: A2");
        assert!(d.get("question").is_some());
        let mut d = page(json!({"question": {"text": "Q"}, "answers": []}));
        assert!(f.apply(&mut d).is_keep());
        assert_eq!(d.text, "Q: Q\nA: ");
        let rm = StackexchangeQaFormatter { remove_qa: true };
        let mut d = page(json!({"id": 1, "question": {"text": "Q"}}));
        assert!(rm.apply(&mut d).is_keep());
        assert_eq!(d.to_json_line(), r#"{"text":"Q: Q","id":1}"#);
        assert_eq!(f.apply(&mut page(json!({"text": "x"}))), Verdict::Drop("no_question"));
    }
}
