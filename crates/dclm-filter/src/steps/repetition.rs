//! Gopher repetition checks (`massive_web_repetition_filters`, all 13 checks in DCLM's order, and the single
//! `repetition_filter`): duplicate lines/paragraphs by count and by characters, top-n-gram character share for
//! n = 2..4 and duplicated-n-gram character share for n = 5..10, over UAX#29 words.
//!
//! N-grams are interned level by level (`id(n-gram at i) = intern(id((n-1)-gram at i), word[i+n-1])`), which
//! is exact (no hash collisions) and linear; once no n-gram repeats, no longer one can, so the remaining
//! n-gram checks pass without work.

use crate::error::Result;
use crate::pipeline::Filter;
use crate::registry::{BuildContext, Params};
use crate::steps::content::split_paragraphs;
use crate::tokenize::{for_each_word, WordModel};
use dclm_core::pystr::{lower, py_len};
use dclm_core::{Document, Verdict};
use rustc_hash::FxHashMap;

/// What a check measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Granularity {
    /// `\n`-separated segments.
    Line,
    /// `\n\n`-separated segments.
    Paragraph,
    /// Word n-grams.
    NGram(usize),
}

/// How an n-gram check measures repetition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NgramRatio {
    /// Characters of the most frequent n-gram (longest among ties) × its count.
    MostCommon,
    /// Characters of all words covered by any repeated n-gram.
    All,
}

/// One Gopher check.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// What is measured.
    pub granularity: Granularity,
    /// Drop when the repeated fraction exceeds this.
    pub max_fraction: f64,
    /// Line/paragraph: count characters (true) or segments (false).
    pub count_characters: bool,
    /// N-gram measure.
    pub ratio: NgramRatio,
    /// Drop reason.
    pub reason: &'static str,
}

const fn chk(g: Granularity, max: f64, chars: bool, ratio: NgramRatio, reason: &'static str) -> Check {
    Check {
        granularity: g,
        max_fraction: max,
        count_characters: chars,
        ratio,
        reason,
    }
}

use Granularity::{Line, NGram, Paragraph};
use NgramRatio::{All, MostCommon};

/// The 13 checks of `massive_web_repetition_filters`, in DCLM's order.
pub const GOPHER_CHECKS: [Check; 13] = [
    chk(Line, 0.3, false, All, "line/count>0.3"),
    chk(Paragraph, 0.3, false, All, "paragraph/count>0.3"),
    chk(Line, 0.2, true, All, "line/chars>0.2"),
    chk(Paragraph, 0.2, true, All, "paragraph/chars>0.2"),
    chk(NGram(2), 0.2, true, MostCommon, "2-gram/most_common>0.2"),
    chk(NGram(3), 0.18, true, MostCommon, "3-gram/most_common>0.18"),
    chk(NGram(4), 0.16, true, MostCommon, "4-gram/most_common>0.16"),
    chk(NGram(5), 0.15, true, All, "5-gram/all>0.15"),
    chk(NGram(6), 0.14, true, All, "6-gram/all>0.14"),
    chk(NGram(7), 0.13, true, All, "7-gram/all>0.13"),
    chk(NGram(8), 0.12, true, All, "8-gram/all>0.12"),
    chk(NGram(9), 0.11, true, All, "9-gram/all>0.11"),
    chk(NGram(10), 0.10, true, All, "10-gram/all>0.1"),
];

/// `massive_web_repetition_filters` (and `repetition_filter`, as a one-check list).
#[derive(Debug, Clone)]
pub struct RepetitionFilter {
    name: &'static str,
    checks: Vec<Check>,
    ignore_case: bool,
}

impl RepetitionFilter {
    /// DCLM's `massive_web_repetition_filters(skip_paragraph)`.
    pub fn gopher(skip_paragraph: bool) -> Self {
        RepetitionFilter {
            name: "massive_web_repetition_filters",
            checks: GOPHER_CHECKS
                .iter()
                .copied()
                .filter(|c| !(skip_paragraph && c.granularity == Paragraph))
                .collect(),
            ignore_case: false,
        }
    }

    /// The first failing check's reason, `"empty"` / `"no_segments"` for DCLM's other drops, or `None` if
    /// the page passes.
    pub fn first_failure(&self, text: &str) -> Option<&'static str> {
        if text.is_empty() {
            return Some("empty");
        }
        let text = if self.ignore_case {
            lower(text)
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        let mut st = State::new(&text);
        for c in &self.checks {
            let fail = match c.granularity {
                Line | Paragraph => {
                    let seg = st.segments(c.granularity == Paragraph);
                    match seg.n {
                        0 => return Some("no_segments"),
                        1 => false,
                        n => {
                            let frac = if c.count_characters {
                                seg.dup_chars as f64 / seg.total_chars as f64
                            } else {
                                seg.dup_count as f64 / n as f64
                            };
                            frac > c.max_fraction
                        }
                    }
                }
                NGram(n) => match st.ngram_fraction(n, c.ratio) {
                    Some(frac) => frac > c.max_fraction,
                    None => false,
                },
            };
            if fail {
                return Some(c.reason);
            }
        }
        None
    }
}

impl Filter for RepetitionFilter {
    fn name(&self) -> &str {
        self.name
    }
    fn check(&self, doc: &Document) -> Verdict {
        match self.first_failure(&doc.text) {
            Some(r) => Verdict::Drop(r),
            None => Verdict::Keep,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct SegStats {
    n: usize,
    total_chars: usize,
    dup_count: usize,
    dup_chars: usize,
}

fn seg_stats(text: &str, sep: &str) -> SegStats {
    let mut counts: FxHashMap<&str, (u32, u32)> = FxHashMap::with_capacity_and_hasher(
        memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1,
        Default::default(),
    );
    let mut s = SegStats::default();
    for seg in split_paragraphs(text, sep) {
        s.n += 1;
        let len = py_len(seg);
        s.total_chars += len;
        counts.entry(seg).or_insert((0, len as u32)).0 += 1;
    }
    for &(c, len) in counts.values() {
        if c > 1 {
            s.dup_count += c as usize;
            s.dup_chars += len as usize * c as usize;
        }
    }
    s
}

struct State<'a> {
    text: &'a str,
    lines: Option<SegStats>,
    paras: Option<SegStats>,
    words: Option<Words>,
}

struct Words {
    /// Word ids (equal words, equal ids); [`UNIQUE`] for a word that occurs once.
    ids: Vec<u32>,
    /// Prefix sums of word lengths in code points.
    prefix: Vec<u64>,
    total_chars: u64,
    /// Ids of the n-grams at the current level ([`UNIQUE`] for one that occurs once), and that level.
    /// Entries past the level's last n-gram are stale.
    level_ids: Vec<u32>,
    level: usize,
    /// The positions whose n-gram at the current level repeats, ascending: the only ones a longer repeated
    /// n-gram can start at.
    cand: Vec<u32>,
    /// Occurrences of each id of the current level.
    counts: Vec<u32>,
    /// The first level found with no repeated n-gram: no longer n-gram repeats either.
    exhausted_at: Option<usize>,
}

/// Id of an n-gram (or word) that occurs once. An (n+1)-gram can only repeat where the n-grams at its
/// start and one word later both repeat, so positions next to a `UNIQUE` are never hashed again.
const UNIQUE: u32 = u32::MAX;

/// Positions whose id is not [`UNIQUE`], ascending.
fn repeated_positions(ids: &[u32]) -> Vec<u32> {
    (0..ids.len() as u32).filter(|&i| ids[i as usize] != UNIQUE).collect()
}

/// Keeps in `cand` the positions whose id occurs more than once (per `counts`); the others get [`UNIQUE`].
fn keep_repeated(ids: &mut [u32], cand: &mut Vec<u32>, counts: &[u32]) {
    cand.retain(|&i| {
        let id = &mut ids[i as usize];
        let repeats = counts[*id as usize] > 1;
        if !repeats {
            *id = UNIQUE;
        }
        repeats
    });
}

impl<'a> State<'a> {
    fn new(text: &'a str) -> Self {
        State {
            text,
            lines: None,
            paras: None,
            words: None,
        }
    }

    fn segments(&mut self, paragraph: bool) -> SegStats {
        let text = self.text;
        if paragraph {
            *self.paras.get_or_insert_with(|| seg_stats(text, "\n\n"))
        } else {
            *self.lines.get_or_insert_with(|| seg_stats(text, "\n"))
        }
    }

    fn words(&mut self) -> &mut Words {
        let text = self.text;
        self.words.get_or_insert_with(|| {
            // Sized for a word per eight bytes, so that a typical page's map never grows (rehashing showed
            // in profiles); a page of longer words only reserves more than it uses.
            let mut map: FxHashMap<&str, u32> = FxHashMap::with_capacity_and_hasher(text.len() / 8, Default::default());
            let mut ids = Vec::with_capacity(text.len() / 4);
            let mut counts: Vec<u32> = Vec::new();
            let mut prefix = vec![0u64];
            let mut total = 0u64;
            for_each_word(text, WordModel::Uniseg, true, true, |w| {
                let next = map.len() as u32;
                let id = *map.entry(w).or_insert(next);
                if id == next {
                    counts.push(0);
                }
                counts[id as usize] += 1;
                ids.push(id);
                total += py_len(w) as u64;
                prefix.push(total);
            });
            let mut cand: Vec<u32> = (0..ids.len() as u32).collect();
            keep_repeated(&mut ids, &mut cand, &counts);
            Words {
                exhausted_at: cand.is_empty().then_some(1),
                cand,
                level_ids: ids.clone(),
                ids,
                prefix,
                total_chars: total,
                level: 1,
                counts,
            }
        })
    }

    /// The repeated fraction for n-grams of size `n`, or `None` when the check passes trivially (no n-grams,
    /// or none repeats).
    fn ngram_fraction(&mut self, n: usize, ratio: NgramRatio) -> Option<f64> {
        let w = self.words();
        if n == 0 || w.ids.len() < n || w.exhausted_at.is_some_and(|l| n >= l) {
            return None;
        }
        if n < w.level {
            // Only reached by a custom check order: start again from the words. Unigram counts are only
            // needed here, so they are recounted.
            w.level_ids = w.ids.clone();
            w.cand = repeated_positions(&w.ids);
            w.level = 1;
            let max_id = w.ids.iter().filter(|&&id| id != UNIQUE).max().copied().unwrap_or(0) as usize;
            w.counts = vec![0; max_id + 1];
            for &id in &w.ids {
                if id != UNIQUE {
                    w.counts[id as usize] += 1;
                }
            }
        }
        // At most one key per candidate position is inserted at a level.
        let mut map: FxHashMap<u64, u32> = FxHashMap::with_capacity_and_hasher(w.cand.len(), Default::default());
        while w.level < n {
            let m = w.ids.len() - w.level; // number of (level+1)-grams
            map.clear();
            w.counts.clear();
            let Words {
                ids,
                level_ids,
                level,
                cand,
                counts,
                ..
            } = w;
            // In place, in ascending order (as `retain` visits): position `i` reads the old ids at `i` and
            // `i + 1` before `i + 1` is rewritten.
            cand.retain(|&i| {
                let i = i as usize;
                let b = if i < m { level_ids[i + 1] } else { UNIQUE };
                if b == UNIQUE {
                    level_ids[i] = UNIQUE;
                    return false;
                }
                // `b` repeats, so the word it ends with has a word id (not `UNIQUE`).
                let key = ((level_ids[i] as u64) << 32) | ids[i + *level] as u64;
                let next = map.len() as u32;
                let id = *map.entry(key).or_insert(next);
                if id == next {
                    counts.push(0);
                }
                counts[id as usize] += 1;
                level_ids[i] = id;
                true
            });
            keep_repeated(level_ids, cand, counts);
            w.level += 1;
            if w.cand.is_empty() {
                w.exhausted_at = Some(w.level);
                return None;
            }
        }
        let counts = &w.counts;
        let top = counts.iter().copied().max().unwrap_or(0);
        if top <= 1 {
            return None;
        }
        let span = |i: usize| w.prefix[i + n] - w.prefix[i];
        let repeated = match ratio {
            NgramRatio::MostCommon => {
                let mut longest = 0u64;
                for &i in &w.cand {
                    let i = i as usize;
                    if counts[w.level_ids[i] as usize] == top {
                        longest = longest.max(span(i));
                    }
                }
                longest * top as u64
            }
            NgramRatio::All => {
                let mut covered_until = 0usize;
                let mut chars = 0u64;
                for &i in &w.cand {
                    let i = i as usize;
                    let from = i.max(covered_until);
                    let to = i + n;
                    if to > from {
                        chars += w.prefix[to] - w.prefix[from];
                        covered_until = to;
                    }
                }
                chars
            }
        };
        Some(repeated as f64 / w.total_chars as f64)
    }
}

pub(crate) fn massive_web(p: &Params<'_>, _: &BuildContext) -> Result<RepetitionFilter> {
    p.allow_only(&["skip_paragraph"])?;
    Ok(RepetitionFilter::gopher(p.bool_or("skip_paragraph", false)?))
}

pub(crate) fn single(p: &Params<'_>, _: &BuildContext) -> Result<RepetitionFilter> {
    p.allow_only(&[
        "granularity",
        "max_fraction",
        "count_characters",
        "ngram_char_ratio",
        "ignore_case",
    ])?;
    let g = p.require("granularity")?;
    let granularity = match g {
        serde_json::Value::String(s) if s == "line" => Line,
        serde_json::Value::String(s) if s == "paragraph" => Paragraph,
        serde_json::Value::Number(n) if n.as_u64().is_some_and(|v| v >= 1) => NGram(n.as_u64().unwrap_or(2) as usize),
        _ => return Err(p.err("granularity", "accepted values: line, paragraph, or an n-gram size ≥ 1")),
    };
    let ratio = match p.str_opt("ngram_char_ratio")? {
        Some("most_common") => MostCommon,
        Some("all") => All,
        Some(other) => {
            return Err(p.err(
                "ngram_char_ratio",
                format!("`{other}` is not accepted; accepted values: most_common, all"),
            ))
        }
        None => match granularity {
            NGram(2..=4) => MostCommon,
            NGram(5..=10) | Line | Paragraph => All,
            NGram(_) => {
                return Err(p.err(
                    "ngram_char_ratio",
                    "required for n-gram sizes outside 2..=10; accepted values: most_common, all",
                ))
            }
        },
    };
    let max = p
        .f64_opt("max_fraction")?
        .ok_or_else(|| p.err("max_fraction", "required parameter is missing"))?;
    Ok(RepetitionFilter {
        name: "repetition_filter",
        checks: vec![chk(
            granularity,
            max,
            p.bool_or("count_characters", true)?,
            ratio,
            "repetition",
        )],
        ignore_case: p.bool_or("ignore_case", false)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gopher_checks() {
        let f = RepetitionFilter::gopher(false);
        assert_eq!(f.first_failure(""), Some("empty"));
        assert_eq!(f.first_failure(" \n "), Some("no_segments"));
        assert_eq!(f.first_failure("one line only"), None);
        assert_eq!(f.first_failure("a\na\nb"), Some("line/count>0.3"));
        let words: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        assert_eq!(f.first_failure(&words.join(" ")), None);
        let rep = "the cat sat on the mat ".repeat(10);
        assert!(f.first_failure(&rep).is_some());
    }

    #[test]
    fn most_common_takes_longest_tie() {
        // "aa b" and "c dd" both occur twice: the longer (3 chars) decides.
        let mut st = State::new("aa b x c dd y aa b z c dd");
        let frac = st.ngram_fraction(2, MostCommon).unwrap();
        let total = (2 + 1 + 1 + 1 + 2 + 1 + 2 + 1 + 1 + 1 + 2) as f64;
        assert!((frac - 6.0 / total).abs() < 1e-12);
    }

    #[test]
    fn all_counts_each_word_once() {
        let mut st = State::new("a b c d e a b c d e");
        assert_eq!(st.ngram_fraction(5, All), Some(1.0));
        let mut st = State::new("a b c d e f");
        assert_eq!(st.ngram_fraction(2, MostCommon), None);
        assert_eq!(st.ngram_fraction(5, All), None);
    }

    /// The n-gram measures computed the direct way: every n-gram counted as a word slice.
    fn naive(text: &str, n: usize, ratio: NgramRatio) -> Option<f64> {
        let words = crate::tokenize::split_words(text, WordModel::Uniseg, true, true);
        if n == 0 || words.len() < n {
            return None;
        }
        let mut counts: std::collections::HashMap<&[&str], usize> = Default::default();
        for g in words.windows(n) {
            *counts.entry(g).or_default() += 1;
        }
        let top = counts.values().copied().max().unwrap_or(0);
        if top <= 1 {
            return None;
        }
        let chars = |g: &[&str]| g.iter().map(|w| py_len(w)).sum::<usize>();
        let total = chars(&words);
        let repeated = match ratio {
            MostCommon => {
                words
                    .windows(n)
                    .filter(|g| counts[g] == top)
                    .map(chars)
                    .max()
                    .unwrap_or(0)
                    * top
            }
            All => {
                let mut covered = vec![false; words.len()];
                for (i, g) in words.windows(n).enumerate() {
                    if counts[g] > 1 {
                        covered[i..i + n].iter_mut().for_each(|c| *c = true);
                    }
                }
                words
                    .iter()
                    .zip(&covered)
                    .filter(|(_, &c)| c)
                    .map(|(w, _)| py_len(w))
                    .sum()
            }
        };
        Some(repeated as f64 / total as f64)
    }

    fn ratio_of(n: usize) -> NgramRatio {
        if n <= 4 {
            MostCommon
        } else {
            All
        }
    }

    proptest::proptest! {
        #[test]
        fn ngram_levels_equal_direct_counts(
            words in proptest::collection::vec("(a|bb|c|dd|e|ff|g\u{e9}|h|, |\\.|\n)", 0..120),
        ) {
            let text = words.join(" ");
            let mut st = State::new(&text);
            for n in 2..=10 {
                proptest::prop_assert_eq!(st.ngram_fraction(n, ratio_of(n)), naive(&text, n, ratio_of(n)), "n={}", n);
            }
        }

        #[test]
        fn ngram_any_order_equals_direct_counts(
            words in proptest::collection::vec("(a|bb|c|dd|e|ff)", 0..60),
            order in proptest::collection::vec(1usize..=10, 1..12),
        ) {
            let text = words.join(" ");
            let mut st = State::new(&text);
            for n in order {
                proptest::prop_assert_eq!(st.ngram_fraction(n, ratio_of(n)), naive(&text, n, ratio_of(n)), "n={}", n);
            }
        }
    }
}
