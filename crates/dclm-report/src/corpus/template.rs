//! Article templates: a small text format with a title block and sections of alternative paragraphs whose
//! `{slot}`s are filled from a generated entity, and a seeded SplitMix64 RNG so generation is reproducible.
//!
//! Format (one file per article family, see `assets/baseline/pages/templates/`):
//!
//! ```text
//! # comment
//! @title
//! {town}: history, trade and daily life      <- one alternative per line
//! @section history History|Origins           <- name, then heading alternatives separated by '|'
//! {town} was founded in {founded} ...        <- paragraph alternatives, separated by blank lines
//!
//! In {founded} a group of ...
//! ```

use crate::ReportError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// SplitMix64: a tiny, well-known, seedable generator (good enough for picking template variants).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
        }
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / ((1u64 << 53) as f64)) < p
    }
    /// A random element (panics on an empty slice: only used on non-empty constant tables).
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// `k` distinct indices of `0..n` in increasing order.
    pub fn choose_sorted(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..n {
            let j = i + self.below(n - i);
            idx.swap(i, j);
        }
        idx.truncate(k.min(n));
        idx.sort_unstable();
        idx
    }
}

/// One section of a template: a name, heading alternatives and paragraph alternatives (each with its line).
#[derive(Debug, Clone)]
pub struct Section {
    /// Section name (e.g. `history`).
    pub name: String,
    /// Heading alternatives (may be empty: no heading).
    pub headings: Vec<String>,
    /// Paragraph alternatives with their 1-based start line.
    pub paragraphs: Vec<(usize, String)>,
}

/// A parsed template file.
#[derive(Debug, Clone)]
pub struct Template {
    /// The file it came from.
    pub path: PathBuf,
    /// Title alternatives with their lines.
    pub titles: Vec<(usize, String)>,
    /// Sections in file order.
    pub sections: Vec<Section>,
}

fn corpus_err(path: &Path, line: usize, message: impl Into<String>) -> ReportError {
    ReportError::Corpus {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

impl Template {
    /// Parse template text.
    pub fn parse(path: &Path, text: &str) -> Result<Template, ReportError> {
        let mut t = Template {
            path: path.to_path_buf(),
            titles: Vec::new(),
            sections: Vec::new(),
        };
        enum Mode {
            None,
            Title,
            Section,
        }
        let mut mode = Mode::None;
        let mut para: Option<(usize, String)> = None;
        let flush = |para: &mut Option<(usize, String)>, t: &mut Template| {
            if let (Some(p), Some(s)) = (para.take(), t.sections.last_mut()) {
                s.paragraphs.push(p);
            }
        };
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim_end();
            if line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('@') {
                flush(&mut para, &mut t);
                let mut parts = rest.splitn(2, ' ');
                match parts.next().unwrap_or("") {
                    "title" => mode = Mode::Title,
                    "section" => {
                        let rest = parts.next().unwrap_or("").trim();
                        let (name, headings) = rest.split_once(' ').unwrap_or((rest, ""));
                        if name.is_empty() {
                            return Err(corpus_err(path, line_no, "@section needs a name"));
                        }
                        t.sections.push(Section {
                            name: name.to_string(),
                            headings: headings
                                .split('|')
                                .map(str::trim)
                                .filter(|h| !h.is_empty())
                                .map(String::from)
                                .collect(),
                            paragraphs: Vec::new(),
                        });
                        mode = Mode::Section;
                    }
                    other => return Err(corpus_err(path, line_no, format!("unknown directive @{other}"))),
                }
                continue;
            }
            match mode {
                Mode::None => {
                    if !line.trim().is_empty() {
                        return Err(corpus_err(path, line_no, "text before the first @title/@section"));
                    }
                }
                Mode::Title => {
                    if !line.trim().is_empty() {
                        t.titles.push((line_no, line.trim().to_string()));
                    }
                }
                Mode::Section => {
                    if line.trim().is_empty() {
                        flush(&mut para, &mut t);
                    } else {
                        match &mut para {
                            Some((_, p)) => {
                                p.push(' ');
                                p.push_str(line.trim());
                            }
                            None => para = Some((line_no, line.trim().to_string())),
                        }
                    }
                }
            }
        }
        flush(&mut para, &mut t);
        if t.titles.is_empty() {
            return Err(corpus_err(path, 0, "no @title alternatives"));
        }
        if let Some(s) = t.sections.iter().find(|s| s.paragraphs.is_empty()) {
            return Err(corpus_err(path, 0, format!("section {} has no paragraphs", s.name)));
        }
        Ok(t)
    }

    /// Read and parse a template file.
    pub fn load(path: &Path) -> Result<Template, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Template::parse(path, &text)
    }

    /// Check that every slot used anywhere is provided by `slots` (so a typo fails loudly, with its line).
    pub fn check_slots(&self, slots: &BTreeMap<String, String>) -> Result<(), ReportError> {
        let all = self
            .titles
            .iter()
            .chain(self.sections.iter().flat_map(|s| s.paragraphs.iter()));
        for (line, text) in all {
            fill(text, slots).map_err(|m| corpus_err(&self.path, *line, m))?;
        }
        Ok(())
    }
}

/// Replace every `{slot}` in `text` from `slots`; an unknown or unterminated slot is an error message.
pub fn fill(text: &str, slots: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let j = after
            .find('}')
            .ok_or_else(|| format!("unterminated slot in {text:?}"))?;
        let key = &after[..j];
        let val = slots.get(key).ok_or_else(|| format!("unknown slot {{{key}}}"))?;
        out.push_str(val);
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A filled article: title and (heading, paragraphs) sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// Title.
    pub title: String,
    /// Sections: optional heading and its paragraphs.
    pub sections: Vec<(Option<String>, Vec<String>)>,
}

impl Article {
    /// Number of whitespace-separated words in title and paragraphs.
    pub fn word_count(&self) -> usize {
        self.title.split_whitespace().count()
            + self
                .sections
                .iter()
                .flat_map(|(h, ps)| h.iter().chain(ps.iter()))
                .map(|p| p.split_whitespace().count())
                .sum::<usize>()
    }
}

/// Build an article: a random title, then every section with 1 or 2 of its paragraph alternatives (in file order;
/// `optional_p` is the probability that a section after the first is skipped).
pub fn render_article(
    t: &Template,
    slots: &BTreeMap<String, String>,
    rng: &mut Rng,
    optional_p: f64,
) -> Result<Article, ReportError> {
    let (line, title) = &t.titles[rng.below(t.titles.len())];
    let title = fill(title, slots).map_err(|m| corpus_err(&t.path, *line, m))?;
    let mut sections = Vec::new();
    for (si, s) in t.sections.iter().enumerate() {
        if si > 0 && rng.chance(optional_p) {
            continue;
        }
        let k = if s.paragraphs.len() >= 2 && rng.chance(0.5) {
            2
        } else {
            1
        };
        let mut paras = Vec::new();
        for i in rng.choose_sorted(s.paragraphs.len(), k) {
            let (line, p) = &s.paragraphs[i];
            paras.push(fill(p, slots).map_err(|m| corpus_err(&t.path, *line, m))?);
        }
        let heading = if s.headings.is_empty() {
            None
        } else {
            Some(fill(&s.headings[rng.below(s.headings.len())], slots).map_err(|m| corpus_err(&t.path, 0, m))?)
        };
        sections.push((heading, paras));
    }
    Ok(Article { title, sections })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots() -> BTreeMap<String, String> {
        [("town", "Elsmere"), ("year", "1204")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parse_fill_render() {
        let src = "# c\n@title\n{town} guide\nAbout {town}\n@section intro\n{town} is old.\nIt began in {year}.\n\nAlt {town}.\n@section hist History|Past\nFounded {year}.\n";
        let t = Template::parse(Path::new("t.txt"), src).unwrap();
        assert_eq!(t.titles.len(), 2);
        assert_eq!(t.sections.len(), 2);
        assert_eq!(
            t.sections[0].paragraphs[0],
            (6, "{town} is old. It began in {year}.".to_string())
        );
        assert_eq!(t.sections[1].headings, vec!["History", "Past"]);
        t.check_slots(&slots()).unwrap();
        let a = render_article(&t, &slots(), &mut Rng::new(1), 0.0).unwrap();
        assert!(a.title.contains("Elsmere"));
        assert_eq!(a.sections.len(), 2);
        assert!(a.word_count() > 4);
        let b = render_article(&t, &slots(), &mut Rng::new(1), 0.0).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn errors_name_the_line() {
        let t = Template::parse(Path::new("t.txt"), "@title\nx\n@section a\nok {town}\n\nbad {nope}\n").unwrap();
        let e = t.check_slots(&slots()).unwrap_err().to_string();
        assert!(e.contains("t.txt:6") && e.contains("{nope}"), "{e}");
        assert!(Template::parse(Path::new("t.txt"), "@bogus\n").is_err());
        assert!(Template::parse(Path::new("t.txt"), "text\n@title\nx\n").is_err());
        assert!(Template::parse(Path::new("t.txt"), "@title\nx\n@section a\n").is_err());
        assert!(fill("a {b", &slots()).is_err());
    }

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
            let r = a.range(3, 5);
            assert!((3..=5).contains(&r));
            b.range(3, 5);
        }
        let c = a.choose_sorted(10, 3);
        assert_eq!(c.len(), 3);
        assert!(c.windows(2).all(|w| w[0] < w[1]));
    }
}
