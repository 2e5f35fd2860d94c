//! DCLM's code-data mappers (RedPajama-v1 GitHub rules and StarCoder2 repository formatting) from
//! `content_filters.py` and `modifiers.py`: `github_extension_filter`, `line_length_filter`,
//! `alphanumeric_char_ratio_filter`, `starcoder_v2_repo_splitter` and `starcoder_v2_format_modifier`.
//!
//! Repository pages carry `files` (a list of objects with `filename` and `text`) and `repo_name`; where DCLM
//! would raise on a missing or mistyped key (`KeyError`, `TypeError`), the page is dropped with a reason
//! starting with `error:`.

use crate::error::Result;
use crate::pipeline::{Filter, Mapper};
use crate::registry::{BuildContext, Params};
use crate::steps::sampling::{page_uniform, seed_param};
use dclm_core::pystr::{is_alnum, py_len, strip};
use dclm_core::{keys, Document, TextRef, Verdict};
use serde_json::Value;

/// RedPajama-v1's GitHub extension list, DCLM's default `allowed_extensions` (suffixes, case-sensitive).
pub const RPJ_GITHUB_EXTENSIONS: &[&str] = &[
    ".asm",
    ".bat",
    ".cmd",
    ".c",
    ".h",
    ".cs",
    ".cpp",
    ".hpp",
    ".c++",
    ".h++",
    ".cc",
    ".hh",
    ".C",
    ".H",
    ".cmake",
    ".css",
    ".dockerfile",
    ".f90",
    ".f",
    ".f03",
    ".f08",
    ".f77",
    ".f95",
    ".for",
    ".fpp",
    ".go",
    ".hs",
    ".html",
    ".java",
    ".js",
    ".jl",
    ".lua",
    ".md",
    ".markdown",
    ".php",
    ".php3",
    ".php4",
    ".php5",
    ".phps",
    ".phpt",
    ".pl",
    ".pm",
    ".pod",
    ".perl",
    ".ps1",
    ".psd1",
    ".psm1",
    ".py",
    ".rb",
    ".rs",
    ".sql",
    ".scala",
    ".sh",
    ".bash",
    ".command",
    ".zsh",
    ".ts",
    ".tsx",
    ".tex",
    ".vb",
    "Dockerfile",
    "Makefile",
    ".xml",
    ".rst",
    ".m",
    ".smali",
];

/// `github_extension_filter`: keep a page whose `filename_key` (default `filename`) ends with one of
/// `allowed_extensions` (default [`RPJ_GITHUB_EXTENSIONS`]; a single string is one suffix, as Python's
/// `str.endswith` takes it). A missing key reads as `''` (dropped unless `''` is allowed); a non-string value is
/// DCLM's `AttributeError`.
#[derive(Debug)]
pub struct GithubExtensionFilter {
    key: String,
    allowed: Vec<String>,
}

impl Filter for GithubExtensionFilter {
    fn name(&self) -> &str {
        "github_extension_filter"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn check(&self, doc: &Document) -> Verdict {
        let name = if self.key == keys::TEXT {
            match doc.text_ref() {
                TextRef::Str(s) => s,
                TextRef::Absent => "",
                TextRef::Other(_) => return Verdict::Drop("error:filename_not_string"),
            }
        } else {
            match doc.get(&self.key) {
                None => "",
                Some(Value::String(s)) => s.as_str(),
                Some(_) => return Verdict::Drop("error:filename_not_string"),
            }
        };
        Verdict::keep_if(
            self.allowed.iter().any(|e| name.ends_with(e.as_str())),
            "extension_not_allowed",
        )
    }
}

pub(crate) fn github_extension(p: &Params<'_>, _: &BuildContext) -> Result<GithubExtensionFilter> {
    p.allow_only(&["filename_key", "allowed_extensions"])?;
    let allowed = match p.str_list_opt("allowed_extensions")? {
        Some(l) => l,
        None => RPJ_GITHUB_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
    };
    Ok(GithubExtensionFilter {
        key: p.str_opt("filename_key")?.unwrap_or("filename").to_string(),
        allowed,
    })
}

/// `line_length_filter`: drop an empty page, and a page whose longest (`length_type: max`, the default) or
/// mean (`avg`) `splitlines()` line is longer than `max_length` code points (default 1000).
#[derive(Debug)]
pub struct LineLengthFilter {
    avg: bool,
    max_length: f64,
}

impl Filter for LineLengthFilter {
    fn name(&self) -> &str {
        "line_length_filter"
    }
    fn check(&self, doc: &Document) -> Verdict {
        if doc.text.is_empty() {
            return Verdict::Drop("empty");
        }
        let lines = dclm_core::pystr::splitlines(&doc.text);
        let len = if self.avg {
            lines.iter().map(|l| py_len(l)).sum::<usize>() as f64 / lines.len() as f64
        } else {
            lines.iter().map(|l| py_len(l)).max().unwrap_or(0) as f64
        };
        Verdict::keep_if(len <= self.max_length, "line_too_long")
    }
}

pub(crate) fn line_length_filter(p: &Params<'_>, _: &BuildContext) -> Result<LineLengthFilter> {
    p.allow_only(&["length_type", "max_length"])?;
    Ok(LineLengthFilter {
        avg: p.choice("length_type", "max", &["max", "avg"])? == "avg",
        max_length: p.f64_or("max_length", 1000.0)?,
    })
}

/// `alphanumeric_char_ratio_filter`: drop an empty page, and a page whose share of Python-`isalnum` code points
/// is below `max_alnum_ratio` (default 0.25; a minimum despite its name, as in DCLM).
#[derive(Debug)]
pub struct AlphanumericCharRatioFilter {
    min_ratio: f64,
}

impl Filter for AlphanumericCharRatioFilter {
    fn name(&self) -> &str {
        "alphanumeric_char_ratio_filter"
    }
    fn check(&self, doc: &Document) -> Verdict {
        if doc.text.is_empty() {
            return Verdict::Drop("empty");
        }
        let (mut alnum, mut total) = (0usize, 0usize);
        for c in doc.text.chars() {
            total += 1;
            alnum += is_alnum(c) as usize;
        }
        Verdict::keep_if(alnum as f64 / total as f64 >= self.min_ratio, "low_alnum_ratio")
    }
}

pub(crate) fn alnum_ratio(p: &Params<'_>, _: &BuildContext) -> Result<AlphanumericCharRatioFilter> {
    p.allow_only(&["max_alnum_ratio"])?;
    Ok(AlphanumericCharRatioFilter {
        min_ratio: p.f64_or("max_alnum_ratio", 0.25)?,
    })
}

/// `starcoder_v2_repo_splitter`: a repository page with more than `max_files` (default 1000, at least 1)
/// entries in `files` becomes one page per run of `max_files` files, each a copy of the page with its slice of
/// `files` and, with `delete_content` (default true), without `text`. Smaller repositories pass unchanged.
#[derive(Debug)]
pub struct StarcoderV2RepoSplitter {
    max_files: usize,
    delete_content: bool,
}

impl StarcoderV2RepoSplitter {
    fn chunks(&self, doc: &Document) -> std::result::Result<Option<Vec<Document>>, &'static str> {
        let files = match doc.get("files") {
            Some(Value::Array(f)) => f,
            Some(_) => return Err("error:files_not_a_list"),
            None => return Err("error:missing_files"),
        };
        if files.len() <= self.max_files {
            return Ok(None);
        }
        // Each page is a copy of the repository page with its slice of `files` in the same key position.
        let mut base = Document::without_text(doc.fields.clone());
        if !self.delete_content {
            if let Some(t) = doc.text_value() {
                base.set_text_value(t);
            }
        }
        base.fields.insert("files".into(), Value::Null);
        let pages = files
            .chunks(self.max_files)
            .map(|c| {
                let mut p = base.clone();
                p.fields.insert("files".into(), Value::Array(c.to_vec()));
                p
            })
            .collect();
        Ok(Some(pages))
    }
}

impl Mapper for StarcoderV2RepoSplitter {
    fn name(&self) -> &str {
        "starcoder_v2_repo_splitter"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn splits(&self) -> bool {
        true
    }
    /// Without a place for further pages, only the first chunk is kept.
    fn apply(&self, doc: &mut Document) -> Verdict {
        let mut more = Vec::new();
        self.apply_many(doc, &mut more)
    }
    fn apply_many(&self, doc: &mut Document, more: &mut Vec<Document>) -> Verdict {
        match self.chunks(doc) {
            Err(reason) => Verdict::Drop(reason),
            Ok(None) => Verdict::Keep,
            Ok(Some(pages)) => {
                let mut it = pages.into_iter();
                if let Some(first) = it.next() {
                    *doc = first;
                }
                more.extend(it);
                Verdict::Keep
            }
        }
    }
}

pub(crate) fn repo_splitter(p: &Params<'_>, _: &BuildContext) -> Result<StarcoderV2RepoSplitter> {
    p.allow_only(&["max_files", "delete_content"])?;
    let max_files = p.usize_or("max_files", 1000)?;
    if max_files == 0 {
        // Python's `range(0, n, 0)` raises on every large repository.
        return Err(p.err("max_files", "must be at least 1"));
    }
    Ok(StarcoderV2RepoSplitter {
        max_files,
        delete_content: p.bool_or("delete_content", true)?,
    })
}

/// Salt of `starcoder_v2_format_modifier`'s draw.
const FORMAT_SALT: u64 = 0x5354_4152_434f_4452;

/// `starcoder_v2_format_modifier`: `text` becomes the repository's files concatenated StarCoder2-style. With
/// probability `add_metadata_prob` (default 0.5) it is `<repo_name>{repo_name}` followed by
/// `<file_sep>{filename}\n{text}` per file, otherwise `<file_sep>{text}` per file; without `add_sentinels`
/// (default true) every `<file_sep>` becomes a blank line, `<repo_name>` goes, and the result is stripped. The
/// draw is the seeded per-page coin of [`crate::steps::sampling`] (extra parameter `seed`, default 0) instead of
/// DCLM's `random.random()`. A non-string `repo_name`, `filename` or file `text`, which Python's f-string would
/// `str()`, drops the page as an error here.
#[derive(Debug)]
pub struct StarcoderV2FormatModifier {
    add_metadata_prob: f64,
    add_sentinels: bool,
    seed: u64,
}

fn str_field<'a>(v: &'a Value, key: &str) -> std::result::Result<&'a str, &'static str> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err("error:file_field_not_string"),
        None => Err("error:missing_file_field"),
    }
}

impl StarcoderV2FormatModifier {
    fn format(&self, doc: &Document) -> std::result::Result<String, &'static str> {
        let files = match doc.get("files") {
            Some(Value::Array(f)) => f,
            Some(_) => return Err("error:files_not_a_list"),
            None => return Err("error:missing_files"),
        };
        let mut text = String::new();
        if page_uniform(self.seed, FORMAT_SALT, doc) < self.add_metadata_prob {
            let repo = match doc.get("repo_name") {
                Some(Value::String(s)) => s,
                Some(_) => return Err("error:repo_name_not_string"),
                None => return Err("error:missing_repo_name"),
            };
            text.push_str("<repo_name>");
            text.push_str(repo);
            for f in files {
                let (name, body) = (str_field(f, "filename")?, str_field(f, "text")?);
                text.push_str("<file_sep>");
                text.push_str(name);
                text.push('\n');
                text.push_str(body);
            }
        } else {
            for f in files {
                text.push_str("<file_sep>");
                text.push_str(str_field(f, "text")?);
            }
        }
        if !self.add_sentinels {
            text = strip(&text.replace("<file_sep>", "\n\n").replace("<repo_name>", "")).to_string();
        }
        Ok(text)
    }
}

impl Mapper for StarcoderV2FormatModifier {
    fn name(&self) -> &str {
        "starcoder_v2_format_modifier"
    }
    fn needs_text(&self) -> bool {
        false
    }
    fn apply(&self, doc: &mut Document) -> Verdict {
        match self.format(doc) {
            Ok(t) => {
                doc.set_text(t);
                Verdict::Keep
            }
            Err(reason) => Verdict::Drop(reason),
        }
    }
}

pub(crate) fn format_modifier(p: &Params<'_>, _: &BuildContext) -> Result<StarcoderV2FormatModifier> {
    p.allow_only(&["add_metadata_prob", "add_sentinels", "seed"])?;
    Ok(StarcoderV2FormatModifier {
        add_metadata_prob: p.f64_in("add_metadata_prob", 0.5, 0.0, 1.0)?,
        add_sentinels: p.bool_or("add_sentinels", true)?,
        seed: seed_param(p)?,
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
    fn extensions_like_str_endswith() {
        let f = GithubExtensionFilter {
            key: "filename".into(),
            allowed: RPJ_GITHUB_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
        };
        let keep = |v: Value| f.check(&page(v)).is_keep();
        assert!(keep(json!({"filename": "src/main.rs"})));
        assert!(keep(json!({"filename": "Dockerfile"})));
        assert!(keep(json!({"filename": "a/b.C"})));
        assert!(!keep(json!({"filename": "a/b.CPP"})), "case-sensitive");
        assert!(!keep(json!({"filename": "notes.txt"})));
        assert!(!keep(json!({"text": "x"})), "missing filename reads as ''");
        assert_eq!(
            f.check(&page(json!({"filename": 3}))),
            Verdict::Drop("error:filename_not_string")
        );
        let empty_ok = GithubExtensionFilter {
            key: "path".into(),
            allowed: vec![String::new()],
        };
        assert!(empty_ok.check(&page(json!({}))).is_keep(), "'' ends every string");
    }

    #[test]
    fn line_lengths_max_and_avg() {
        let max = LineLengthFilter {
            avg: false,
            max_length: 3.0,
        };
        let avg = LineLengthFilter {
            avg: true,
            max_length: 3.0,
        };
        let d = Document::new("abcd\n\nab");
        assert_eq!(max.check(&d), Verdict::Drop("line_too_long"));
        assert!(avg.check(&d).is_keep(), "mean of 4, 0, 2 is 2");
        assert!(max.check(&Document::new("ééé\nabc")).is_keep(), "code points");
        assert_eq!(max.check(&Document::new("")), Verdict::Drop("empty"));
        assert!(avg.check(&Document::new("abcd\rab")).is_keep(), "\\r ends a line");
    }

    #[test]
    fn alnum_ratio_is_a_minimum() {
        let f = AlphanumericCharRatioFilter { min_ratio: 0.25 };
        assert!(f.check(&Document::new("a---")).is_keep(), "exactly 0.25");
        assert_eq!(f.check(&Document::new("a----")), Verdict::Drop("low_alnum_ratio"));
        assert!(
            f.check(&Document::new("é٣--")).is_keep(),
            "Unicode letters and digits count"
        );
        assert_eq!(f.check(&Document::new("")), Verdict::Drop("empty"));
    }

    #[test]
    fn repo_splitter_chunks_and_drops_content() {
        let s = StarcoderV2RepoSplitter {
            max_files: 2,
            delete_content: true,
        };
        let mut d = page(json!({"repo_name": "r", "text": "t", "files": [1, 2, 3, 4, 5], "z": 0}));
        let mut more = Vec::new();
        assert!(s.apply_many(&mut d, &mut more).is_keep());
        assert_eq!(d.to_json_line(), r#"{"repo_name":"r","files":[1,2],"z":0}"#);
        let lines: Vec<String> = more.iter().map(Document::to_json_line).collect();
        assert_eq!(
            lines,
            vec![
                r#"{"repo_name":"r","files":[3,4],"z":0}"#,
                r#"{"repo_name":"r","files":[5],"z":0}"#
            ]
        );
        // At the limit: unchanged, content kept.
        let mut small = page(json!({"text": "t", "files": [1, 2]}));
        more.clear();
        assert!(s.apply_many(&mut small, &mut more).is_keep());
        assert!(more.is_empty() && small.text == "t");
        let keep_content = StarcoderV2RepoSplitter {
            max_files: 1,
            delete_content: false,
        };
        let mut d = page(json!({"text": "t", "files": [1, 2]}));
        assert!(keep_content.apply_many(&mut d, &mut more).is_keep());
        assert_eq!(more[0].to_json_line(), r#"{"text":"t","files":[2]}"#);
        assert_eq!(
            s.apply_many(&mut page(json!({"text": "t"})), &mut more),
            Verdict::Drop("error:missing_files")
        );
    }

    #[test]
    fn starcoder_format_with_and_without_metadata() {
        let repo = json!({"repo_name": "me/r", "files": [
            {"filename": "a.py", "text": "print(1)"},
            {"filename": "b.md", "text": "# B"}
        ]});
        let with = StarcoderV2FormatModifier {
            add_metadata_prob: 1.0,
            add_sentinels: true,
            seed: 0,
        };
        let mut d = page(repo.clone());
        assert!(with.apply(&mut d).is_keep());
        assert_eq!(d.text, "<repo_name>me/r<file_sep>a.py\nprint(1)<file_sep>b.md\n# B");
        let without = StarcoderV2FormatModifier {
            add_metadata_prob: 0.0,
            add_sentinels: true,
            seed: 0,
        };
        let mut d = page(repo.clone());
        assert!(without.apply(&mut d).is_keep());
        assert_eq!(d.text, "<file_sep>print(1)<file_sep># B");
        let plain = StarcoderV2FormatModifier {
            add_metadata_prob: 1.0,
            add_sentinels: false,
            seed: 0,
        };
        let mut d = page(repo.clone());
        assert!(plain.apply(&mut d).is_keep());
        assert_eq!(d.text, "me/r\n\na.py\nprint(1)\n\nb.md\n# B");
        // Half the pages get metadata, reproducibly.
        let half = StarcoderV2FormatModifier {
            add_metadata_prob: 0.5,
            add_sentinels: true,
            seed: 3,
        };
        let n = (0..400)
            .filter(|i| {
                let mut d = page(json!({"repo_name": format!("r{i}"), "files": [{"filename": "f", "text": "x"}]}));
                half.apply(&mut d);
                d.text.starts_with("<repo_name>")
            })
            .count();
        assert!((140..=260).contains(&n), "{n}");
        let mut bad = page(json!({"repo_name": "r", "files": [{"filename": "f"}]}));
        assert_eq!(with.apply(&mut bad), Verdict::Drop("error:missing_file_field"));
    }
}
