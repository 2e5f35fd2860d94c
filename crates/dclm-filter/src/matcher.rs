//! A character trie that matches like the regex `retrie` builds from a word list (DCLM's banlists and TLD
//! list): at each position the longest word is tried first, then shorter ones (backtracking), optionally
//! wrapped in Python's `\b`, optionally under `re.IGNORECASE`.

use dclm_core::pystr::{ignorecase_fold, is_word_boundary};

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(char, u32)>,
    terminal: bool,
}

/// Word trie; see the module docs.
#[derive(Debug, Clone)]
pub struct CharTrie {
    nodes: Vec<Node>,
    ignore_case: bool,
    words: usize,
}

impl CharTrie {
    /// Build from words. With `ignore_case`, words and text are compared through
    /// [`ignorecase_fold`] (simple lowercase plus `sre`'s extra equivalences), as `re.IGNORECASE` does.
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>, ignore_case: bool) -> Self {
        let mut t = CharTrie {
            nodes: vec![Node::default()],
            ignore_case,
            words: 0,
        };
        for w in words {
            t.insert(w);
        }
        t
    }

    fn fold(&self, c: char) -> char {
        if self.ignore_case {
            ignorecase_fold(c)
        } else {
            c
        }
    }

    fn insert(&mut self, word: &str) {
        let mut n = 0usize;
        for c in word.chars() {
            let c = self.fold(c);
            n = match self.nodes[n].children.iter().find(|(k, _)| *k == c) {
                Some(&(_, child)) => child as usize,
                None => {
                    let id = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[n].children.push((c, id as u32));
                    id
                }
            };
        }
        if !self.nodes[n].terminal {
            self.words += 1;
        }
        self.nodes[n].terminal = true;
    }

    /// Number of distinct words.
    pub fn len(&self) -> usize {
        self.words
    }

    /// True when no word was added.
    pub fn is_empty(&self) -> bool {
        self.words == 0
    }

    /// Byte offsets where a word starting at `pos` ends, shortest first.
    pub fn ends_at(&self, text: &str, pos: usize, out: &mut Vec<usize>) {
        out.clear();
        let mut n = 0usize;
        for (off, c) in text[pos..].char_indices() {
            let c = self.fold(c);
            match self.nodes[n].children.iter().find(|(k, _)| *k == c) {
                Some(&(_, child)) => n = child as usize,
                None => return,
            }
            if self.nodes[n].terminal {
                out.push(pos + off + c_len(text, pos + off));
            }
        }
    }

    /// True when some word is a prefix of `text` (Python `compiled.match(text)` without boundaries).
    pub fn matches_prefix(&self, text: &str) -> bool {
        let mut n = 0usize;
        for c in text.chars() {
            let c = self.fold(c);
            match self.nodes[n].children.iter().find(|(k, _)| *k == c) {
                Some(&(_, child)) => n = child as usize,
                None => return false,
            }
            if self.nodes[n].terminal {
                return true;
            }
        }
        false
    }

    /// Python `pattern.findall(text)` where pattern is the trie, wrapped in `\b…\b` when `word_boundary`;
    /// calls `f(start, end)` for each non-overlapping match, left to right.
    pub fn find_all(&self, text: &str, word_boundary: bool, mut f: impl FnMut(usize, usize) -> bool) {
        let mut ends = Vec::new();
        let mut pos = 0usize;
        while pos < text.len() {
            let mut matched = None;
            if !word_boundary || is_word_boundary(text, pos) {
                self.ends_at(text, pos, &mut ends);
                matched = ends
                    .iter()
                    .rev()
                    .copied()
                    .find(|&e| !word_boundary || is_word_boundary(text, e));
            }
            match matched {
                Some(e) => {
                    if !f(pos, e) {
                        return;
                    }
                    pos = e;
                }
                None => pos += c_len(text, pos),
            }
        }
    }
}

#[inline]
fn c_len(text: &str, pos: usize) -> usize {
    let b = text.as_bytes()[pos];
    if b < 0x80 {
        1
    } else if b >= 0xF0 {
        4
    } else if b >= 0xE0 {
        3
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_first_with_backtracking() {
        let t = CharTrie::new(["sex", "sexy", "ass"], true);
        let mut got = Vec::new();
        t.find_all("sexyass sexo sex", true, |s, e| {
            got.push((s, e));
            true
        });
        // "sexyass" has no boundary after sexy/sex; "sexo" neither; last "sex" matches.
        assert_eq!(got, vec![(13, 16)]);
        got.clear();
        t.find_all("sexyass", false, |s, e| {
            got.push((s, e));
            true
        });
        assert_eq!(got, vec![(0, 4), (4, 7)]);
    }

    #[test]
    fn ignorecase_fold_equivalences() {
        let t = CharTrie::new(["sex"], true);
        assert!(t.matches_prefix("ſEX"));
        let t = CharTrie::new(["in"], true);
        assert!(t.matches_prefix("İn the"));
        assert!(!CharTrie::new(["in"], false).matches_prefix("In"));
    }
}
