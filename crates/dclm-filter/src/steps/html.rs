//! DCLM's two HTML mappers, on `dclm-extract`'s HTML5 parser: `html_content_extraction_modifier` (DCLM runs
//! jusText's paragraph segmentation and keeps *every* paragraph, good or boilerplate, joined by blank lines) and
//! `stackexchange_html_extraction_modifier` (BeautifulSoup over lxml, `get_text()` of each question and answer).
//!
//! The segmentation and text rules are DCLM's libraries' (jusText's cleaner, its paragraph maker and
//! whitespace normalisation; bs4's choice of which strings are text); the tree they run on is an HTML5 tree
//! rather than libxml2's, so pages where the two parsers build different trees (misnested tags, stray
//! whitespace that libxml2 drops between elements) can differ. Elements this parser does not name (`legend`,
//! `layer`) are treated as inline.

use crate::error::Result;
use crate::pipeline::Mapper;
use crate::registry::{BuildContext, Params};
use dclm_core::pystr::{is_space, strip};
use dclm_core::{Document, Verdict};
use dclm_extract::html::{parse, Dom, Kind, NodeId, Tag, NONE};

/// Visit `root`'s subtree in document order: `enter` on every node (return `false` to skip its children and
/// its `exit`), `exit` on every element entered, after its children. Iterative, like the parser's own walks.
fn walk(dom: &Dom, root: NodeId, mut enter: impl FnMut(NodeId) -> bool, mut exit: impl FnMut(NodeId)) {
    let mut cur = root;
    'outer: loop {
        let descend = enter(cur);
        let n = dom.node(cur);
        if descend && n.first_child != NONE {
            cur = n.first_child;
            continue;
        }
        if descend {
            exit(cur);
        }
        loop {
            if cur == root {
                return;
            }
            let n = dom.node(cur);
            if n.next != NONE {
                cur = n.next;
                continue 'outer;
            }
            cur = n.parent;
            exit(cur);
        }
    }
}

/// jusText's `normalize_whitespace`: every run of Python whitespace becomes `\n` if it holds `\n` or `\r`,
/// else one space.
pub fn normalize_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run: Option<bool> = None;
    for c in s.chars() {
        if is_space(c) {
            let nl = c == '\n' || c == '\r';
            run = Some(run.unwrap_or(false) || nl);
        } else {
            if let Some(nl) = run.take() {
                out.push(if nl { '\n' } else { ' ' });
            }
            out.push(c);
        }
    }
    if let Some(nl) = run {
        out.push(if nl { '\n' } else { ' ' });
    }
    out
}

/// jusText's block tags: entering or leaving one starts a new paragraph.
fn is_paragraph_tag(t: Tag) -> bool {
    use Tag::*;
    matches!(
        t,
        Body | Blockquote
            | Caption
            | Center
            | Col
            | Colgroup
            | Dd
            | Div
            | Dl
            | Dt
            | Fieldset
            | H1
            | H2
            | H3
            | H4
            | H5
            | H6
            | Li
            | Optgroup
            | Option
            | P
            | Pre
            | Table
            | Td
            | Tfoot
            | Th
            | Thead
            | Tr
            | Ul
    )
}

/// Elements jusText's cleaner removes with their content: `head` (its `kill_tags`), scripts, styles, applets,
/// and form controls; comments go too. (`form`, `iframe`, `embed`, `object` lose only their tags.)
fn is_killed(t: Tag) -> bool {
    matches!(
        t,
        Tag::Head | Tag::Script | Tag::Style | Tag::Applet | Tag::Button | Tag::Input | Tag::Select | Tag::Textarea
    )
}

/// The texts of jusText's paragraphs for `html` (all of them, as DCLM keeps them), in order.
pub fn justext_paragraphs(html: &str) -> Vec<String> {
    let dom = parse(html.as_bytes());
    let mut paragraphs: Vec<String> = Vec::new();
    let mut nodes: Vec<String> = Vec::new();
    let mut br = false;
    let flush = |nodes: &mut Vec<String>, paragraphs: &mut Vec<String>| {
        if !nodes.is_empty() {
            paragraphs.push(normalize_whitespace(strip(&nodes.concat())));
            nodes.clear();
        }
    };
    // `walk` takes two closures that both need the paragraph state: keep it in cells.
    let state = std::cell::RefCell::new((&mut paragraphs, &mut nodes, &mut br));
    walk(
        &dom,
        0,
        |id| {
            let mut st = state.borrow_mut();
            let (paragraphs, nodes, br) = &mut *st;
            match dom.node(id).kind {
                Kind::Document => true,
                Kind::Comment => false,
                Kind::Text => {
                    let t = String::from_utf8_lossy(dom.text_of(id));
                    if !t.is_empty() && !t.chars().all(is_space) {
                        nodes.push(normalize_whitespace(&t));
                        **br = false;
                    }
                    false
                }
                Kind::Element(t) if is_killed(t) => false,
                Kind::Element(t) => {
                    if is_paragraph_tag(t) || (t == Tag::Br && **br) {
                        flush(nodes, paragraphs);
                    } else {
                        **br = t == Tag::Br;
                        if **br {
                            nodes.push(" ".to_string());
                        }
                    }
                    true
                }
            }
        },
        |id| {
            if let Some(t) = dom.tag(id) {
                if is_paragraph_tag(t) {
                    let mut st = state.borrow_mut();
                    let (paragraphs, nodes, _) = &mut *st;
                    flush(nodes, paragraphs);
                }
            }
        },
    );
    let (paragraphs, nodes, _) = state.into_inner();
    flush(nodes, paragraphs);
    std::mem::take(paragraphs)
}

/// `html_content_extraction_modifier`: `text` (HTML) becomes jusText's paragraphs (every one, as DCLM does not
/// drop boilerplate) joined by `\n\n`; a page without paragraphs is dropped (DCLM also drops a page lxml cannot
/// parse, which here is a page without any text).
#[derive(Debug, Default)]
pub struct HtmlContentExtractionModifier;

impl Mapper for HtmlContentExtractionModifier {
    fn name(&self) -> &str {
        "html_content_extraction_modifier"
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        let paragraphs = justext_paragraphs(&doc.text);
        if paragraphs.is_empty() {
            return Verdict::Drop("no_paragraphs");
        }
        doc.text = paragraphs.join("\n\n");
        Verdict::Keep
    }
}

pub(crate) fn content_extraction(p: &Params<'_>, _: &BuildContext) -> Result<HtmlContentExtractionModifier> {
    p.allow_only(&[])?;
    Ok(HtmlContentExtractionModifier)
}

/// BeautifulSoup's `get_text()`: every text string in document order, concatenated; comments and the contents
/// of `script`, `style` and `template` are not text (bs4 ≥ 4.9).
pub fn soup_text(html: &str) -> String {
    let dom = parse(html.as_bytes());
    let mut out = Vec::new();
    walk(
        &dom,
        0,
        |id| match dom.node(id).kind {
            Kind::Document => true,
            Kind::Comment => false,
            Kind::Text => {
                out.extend_from_slice(dom.text_of(id));
                false
            }
            Kind::Element(t) => !matches!(t, Tag::Script | Tag::Style | Tag::Template),
        },
        |_| {},
    );
    String::from_utf8_lossy(&out).into_owned()
}

/// `stackexchange_html_extraction_modifier`: the question's and every answer's `text` become their
/// [`soup_text`]. Missing or mistyped keys are DCLM's errors.
#[derive(Debug, Default)]
pub struct StackexchangeHtmlExtractionModifier;

impl Mapper for StackexchangeHtmlExtractionModifier {
    fn name(&self) -> &str {
        "stackexchange_html_extraction_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn modifies_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        crate::steps::stackexchange::for_each_text(doc, soup_text)
    }
}

pub(crate) fn stackexchange_extraction(
    p: &Params<'_>,
    _: &BuildContext,
) -> Result<StackexchangeHtmlExtractionModifier> {
    p.allow_only(&[])?;
    Ok(StackexchangeHtmlExtractionModifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_runs_like_justext() {
        assert_eq!(normalize_whitespace("a \t b\n  c\r\nd  "), "a b\nc\nd ");
        assert_eq!(normalize_whitespace("x\u{a0}\u{2003}y"), "x y");
    }

    #[test]
    fn justext_paragraphs_keep_every_block() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body>\
            <div>Menu <a href=x>Home</a></div>\
            <p>First  paragraph\n text.<script>var x;</script></p>\
            <p>Line<br>break and<br><br>new paragraph</p>\
            <ol><li>one</li><li>two</li></ol>\
            <form>In form <input value=v><textarea>gone</textarea></form>\
            <p>  </p><!-- c --><span>tail</span></body></html>";
        assert_eq!(
            justext_paragraphs(html),
            vec![
                "Menu Home",
                "First paragraph\ntext.",
                "Line break and",
                "new paragraph",
                "one",
                "two",
                // `form` loses only its tag (no paragraph break of its own); the `p` after it breaks.
                "In form",
                "tail",
            ]
        );
        // Blank text between inline elements is skipped, as jusText's `characters` does.
        assert_eq!(justext_paragraphs("<p><b>a</b> <i>b</i></p>"), vec!["ab"]);
        assert!(justext_paragraphs("   ").is_empty());
        let m = HtmlContentExtractionModifier;
        let mut d = Document::new("<h1>Title</h1><p>Body text.</p>");
        assert!(m.apply(&mut d).is_keep());
        assert_eq!(d.text, "Title\n\nBody text.");
        assert_eq!(
            m.apply(&mut Document::new("<script>x</script>")),
            Verdict::Drop("no_paragraphs")
        );
    }

    #[test]
    fn soup_get_text() {
        assert_eq!(
            soup_text("<p>a &amp; <b>b</b></p>\n<!-- no --><script>s</script><pre><code>x &lt; y</code></pre>"),
            "a & b\nx < y"
        );
        let mut d = Document::from_value_any(serde_json::json!({
            "question": {"text": "<p>Why <em>this</em>?</p>"},
            "answers": [{"text": "Because&nbsp;so."}]
        }))
        .unwrap();
        assert!(StackexchangeHtmlExtractionModifier.apply(&mut d).is_keep());
        assert_eq!(d.get("question").unwrap()["text"], "Why this?");
        assert_eq!(d.get("answers").unwrap()[0]["text"], "Because\u{a0}so.");
    }
}
