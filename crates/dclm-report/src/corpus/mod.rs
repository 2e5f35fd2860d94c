//! The embedded default corpus: page sources under `assets/baseline/pages/` — hand-written special pages listed
//! in `special.tsv` (each one meant to trip a particular DCLM step) plus articles generated from the templates in
//! `templates/` with seeded variation — written as a WARC/1.0 `.warc.gz` with an index of what each page is for.
//!
//! Regenerate the shipped file with `cargo run -p dclm-report --example make_corpus` (byte-identical output).

pub mod entities;
pub mod template;
pub mod warc;

pub use warc::{write_warc_gz, write_warc_gz_grouped, WarcPage, RECORDS_PER_MEMBER};

use crate::ReportError;
use entities::Slots;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use template::{render_article, Article, Rng, Template};

/// Seed of the default corpus.
pub const DEFAULT_SEED: u64 = 0x00DC_1A2B_2024;

/// How many pages of each generated family the corpus holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusPlan {
    /// Town profiles.
    pub towns: usize,
    /// Biographies.
    pub people: usize,
    /// Bird field-guide pages.
    pub birds: usize,
    /// Low-value shopping pages.
    pub shops: usize,
    /// Exact copies of articles at other URLs.
    pub exact_duplicates: usize,
    /// Syndicated near-copies (same article, other site, extra lines).
    pub near_duplicates: usize,
    /// RNG seed.
    pub seed: u64,
}

impl Default for CorpusPlan {
    fn default() -> Self {
        CorpusPlan {
            towns: 90,
            people: 80,
            birds: 62,
            shops: 24,
            exact_duplicates: 8,
            near_duplicates: 8,
            seed: DEFAULT_SEED,
        }
    }
}

/// What one page of the corpus is and which DCLM step is expected to act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    /// Target URI.
    pub url: String,
    /// Page kind (`article/town`, `special/lang-de`, `duplicate/exact`, …).
    pub kind: String,
    /// Expected outcome: `keep`, or the step expected to remove or change it (`language_filter`, `extract`, …).
    pub expect: String,
    /// Source (template family + seed index, or the special page file).
    pub source: String,
}

/// (template family, page count, entity generator, site index, probability of skipping an optional section).
type Family = (&'static str, usize, fn(&mut Rng) -> Slots, usize, f64);

/// A site skin: host and human-readable name; the boilerplate around the article.
struct Site {
    host: &'static str,
    name: &'static str,
    section: &'static str,
    disclaimer: &'static str,
}

const SITES: &[Site] = &[
    Site {
        host: "gazetteer.valleys.example",
        name: "The Valleys Gazetteer",
        section: "towns",
        disclaimer: "This article is part of the Valleys Gazetteer, a volunteer project that describes the towns and villages of the region in plain language. Corrections, old photographs and local memories are always welcome and can be sent to the editors through the contact page.",
    },
    Site {
        host: "lives.scienceheritage.example",
        name: "Science Heritage Lives",
        section: "biography",
        disclaimer: "Science Heritage Lives publishes short biographies of scientists, engineers and artists whose work deserves to be better known. Each entry is written by a volunteer and checked by a second reader before it appears on the site.",
    },
    Site {
        host: "fieldguide.birdwatch.example",
        name: "Birdwatch Field Guide",
        section: "species",
        disclaimer: "The Birdwatch Field Guide is written by members of a birdwatching club for beginners and experienced observers alike. Measurements are averages from ringing records and may differ slightly from those given in other guides.",
    },
    Site {
        host: "www.shopmax-deals.example",
        name: "ShopMax Deals",
        section: "deals",
        disclaimer: "Prices and availability are subject to change without notice. We may earn a commission when you buy through links on this page. All trademarks belong to their respective owners.",
    },
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Render an article inside a site skin: header menu, cookie banner, main article (with the site's shared
/// disclaimer paragraph), related-links sidebar and footer — the boilerplate main-content extraction removes.
fn page_html(site: &Site, article: &Article, related: &[String], extra_intro: Option<&str>) -> String {
    let mut h = String::with_capacity(16 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!("<title>{} | {}</title>\n", esc(&article.title), site.name));
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"stylesheet\" href=\"/static/site.css\">\n<script src=\"/static/analytics.js\"></script>\n</head>\n<body>\n");
    h.push_str(&format!(
        "<div class=\"cookie-banner\" role=\"dialog\" aria-label=\"Cookie consent\"><p>We use cookies to improve your experience on {name}. By continuing to browse you agree to our use of cookies.</p><button>Accept all</button><button>Manage settings</button></div>\n",
        name = site.name
    ));
    h.push_str(&format!(
        "<header><a class=\"logo\" href=\"/\">{name}</a>\n<nav><ul><li><a href=\"/\">Home</a></li><li><a href=\"/{sec}/\">All {sec}</a></li><li><a href=\"/about\">About us</a></li><li><a href=\"/contact\">Contact</a></li><li><a href=\"/login\">Log in</a></li></ul></nav>\n<form class=\"search\" action=\"/search\"><input type=\"text\" name=\"q\" placeholder=\"Search\"><button>Go</button></form></header>\n",
        name = site.name,
        sec = site.section
    ));
    h.push_str("<main>\n<article>\n");
    h.push_str(&format!("<h1>{}</h1>\n", esc(&article.title)));
    if let Some(intro) = extra_intro {
        h.push_str(&format!("<p><em>{}</em></p>\n", esc(intro)));
    }
    for (heading, paras) in &article.sections {
        if let Some(hd) = heading {
            h.push_str(&format!("<h2>{}</h2>\n", esc(hd)));
        }
        for p in paras {
            h.push_str(&format!("<p>{}</p>\n", esc(p)));
        }
    }
    h.push_str(&format!("<p class=\"note\">{}</p>\n", esc(site.disclaimer)));
    h.push_str("</article>\n</main>\n<aside class=\"sidebar\"><h3>Related pages</h3><ul>");
    for r in related {
        h.push_str(&format!(
            "<li><a href=\"/{}/{}.html\">{}</a></li>",
            site.section,
            slug(r),
            esc(r)
        ));
    }
    h.push_str("</ul><div class=\"ad\">Advertisement</div></aside>\n");
    h.push_str(&format!(
        "<footer><nav><a href=\"/privacy\">Privacy policy</a> | <a href=\"/terms\">Terms of use</a> | <a href=\"/sitemap\">Sitemap</a></nav><p>© 2024 {name}. All rights reserved.</p><p>Follow us: <a href=\"/rss\">RSS</a> <a href=\"/newsletter\">Newsletter</a></p></footer>\n</body>\n</html>\n",
        name = site.name
    ));
    h
}

fn date_for(i: usize) -> String {
    let day = 1 + (i % 28);
    let hour = (i * 7) % 24;
    let min = (i * 13) % 60;
    format!("2024-05-{day:02}T{hour:02}:{min:02}:{:02}Z", (i * 29) % 60)
}

/// Encode UTF-8 text as ISO-8859-1 bytes (error for characters above U+00FF).
fn latin1(text: &str, path: &Path) -> Result<Vec<u8>, ReportError> {
    text.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| ReportError::Corpus {
                path: path.to_path_buf(),
                line: 0,
                message: format!("character {c:?} cannot be encoded as latin-1"),
            })
        })
        .collect()
}

/// One row of `special.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialPage {
    /// File under `special/`.
    pub file: String,
    /// Target URI.
    pub url: String,
    /// `utf-8` or `latin-1` (the bytes written to the WARC).
    pub encoding: String,
    /// HTTP status.
    pub status: u16,
    /// HTTP Content-Type.
    pub content_type: String,
    /// Expected DCLM step acting on it.
    pub expect: String,
}

/// Parse `special.tsv`: `file url encoding status content_type expect`, tab-separated; `#` comments.
pub fn parse_special_tsv(path: &Path, text: &str) -> Result<Vec<SpecialPage>, ReportError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let err = |m: String| ReportError::Corpus {
            path: path.to_path_buf(),
            line: i + 1,
            message: m,
        };
        if f.len() != 6 {
            return Err(err(format!("expected 6 tab-separated fields, found {}", f.len())));
        }
        if f[2] != "utf-8" && f[2] != "latin-1" {
            return Err(err(format!("encoding must be utf-8 or latin-1, not {:?}", f[2])));
        }
        let status = f[3].parse().map_err(|_| err(format!("bad status {:?}", f[3])))?;
        out.push(SpecialPage {
            file: f[0].to_string(),
            url: f[1].to_string(),
            encoding: f[2].to_string(),
            status,
            content_type: f[4].to_string(),
            expect: f[5].to_string(),
        });
    }
    Ok(out)
}

/// The generated and hand-written pages of the default corpus with their index, in WARC order.
pub fn default_pages(pages_dir: &Path, plan: &CorpusPlan) -> Result<Vec<(WarcPage, PageInfo)>, ReportError> {
    let tdir = pages_dir.join("templates");
    let families: [Family; 4] = [
        ("town", plan.towns, entities::town, 0, 0.1),
        ("person", plan.people, entities::person, 1, 0.1),
        ("bird", plan.birds, entities::bird, 2, 0.05),
        ("shop", plan.shops, entities::shop, 3, 0.0),
    ];
    let mut rng = Rng::new(plan.seed);
    // Articles: (page, info, article, site index) so duplicates can re-skin them.
    let mut articles: Vec<(WarcPage, PageInfo, Article, usize)> = Vec::new();
    let mut seen_urls = BTreeMap::new();
    for (family, n, make, site_idx, skip_p) in families {
        let tpath = tdir.join(format!("{family}.txt"));
        let t = Template::load(&tpath)?;
        let mut probe = Rng::new(plan.seed ^ 0x5eed);
        t.check_slots(&make(&mut probe))?;
        let site = &SITES[site_idx];
        let mut made = 0;
        let mut attempt = 0u64;
        while made < n {
            attempt += 1;
            let slots = make(&mut rng);
            let art = render_article(&t, &slots, &mut rng, skip_p)?;
            let url = format!("http://{}/{}/{}.html", site.host, site.section, slug(&art.title));
            // Two entities may share a name; keep URLs unique (the second one simply gets a new entity).
            if seen_urls.contains_key(&url) {
                if attempt > (n as u64) * 20 {
                    return Err(ReportError::Corpus {
                        path: tpath,
                        line: 0,
                        message: "cannot generate enough distinct titles".into(),
                    });
                }
                continue;
            }
            seen_urls.insert(url.clone(), ());
            made += 1;
            let related: Vec<String> = (0..3).map(|_| entities::place_name(&mut rng)).collect();
            let html = page_html(site, &art, &related, None);
            let info = PageInfo {
                url: url.clone(),
                kind: format!("article/{family}"),
                expect: if family == "shop" {
                    "quality_filter".into()
                } else {
                    "keep".into()
                },
                source: format!("templates/{family}.txt #{made}"),
            };
            let page = WarcPage {
                url,
                date: String::new(),
                status: 200,
                content_type: "text/html; charset=utf-8".into(),
                body: html.into_bytes(),
            };
            articles.push((page, info, art, site_idx));
        }
    }
    let mut pages: Vec<(WarcPage, PageInfo)> = Vec::new();
    // Exact duplicates: the same bytes at a tracking-parameter or print URL.
    let non_shop: Vec<usize> = (0..articles.len()).filter(|&i| articles[i].3 != 3).collect();
    for k in 0..plan.exact_duplicates {
        let (p, info, _, _) = &articles[non_shop[rng.below(non_shop.len())]];
        let url = if k % 2 == 0 {
            format!("{}?utm_source=newsletter&utm_medium=email", p.url)
        } else {
            p.url.replace(".html", "/print.html")
        };
        let mut dup = p.clone();
        dup.url = url.clone();
        pages.push((
            dup,
            PageInfo {
                url,
                kind: "duplicate/exact".into(),
                expect: "dedup".into(),
                source: format!("copy of {}", info.url),
            },
        ));
    }
    // Near duplicates: the same article syndicated on a news site, with a new first line and other boilerplate.
    let news = Site {
        host: "www.regional-news-digest.example",
        name: "Regional News Digest",
        section: "features",
        disclaimer: "Regional News Digest republishes selected features from partner websites.",
    };
    for _ in 0..plan.near_duplicates {
        let (p, _, art, _) = &articles[non_shop[rng.below(non_shop.len())]];
        let url = format!("https://{}/{}/{}", news.host, news.section, slug(&art.title));
        let html = page_html(
            &news,
            art,
            &["Weather".into(), "Local sport".into(), "Letters".into()],
            Some("This feature first appeared on a partner website and is republished with permission."),
        );
        pages.push((
            WarcPage {
                url: url.clone(),
                date: String::new(),
                status: 200,
                content_type: "text/html; charset=utf-8".into(),
                body: html.into_bytes(),
            },
            PageInfo {
                url,
                kind: "duplicate/near".into(),
                expect: "dedup".into(),
                source: format!("syndicated copy of {}", p.url),
            },
        ));
    }
    // Hand-written special pages.
    let tsv = pages_dir.join("special.tsv");
    let text = std::fs::read_to_string(&tsv).map_err(|source| ReportError::Io {
        path: tsv.clone(),
        source,
    })?;
    for sp in parse_special_tsv(&tsv, &text)? {
        let path = pages_dir.join("special").join(&sp.file);
        let src = std::fs::read_to_string(&path).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        let body = if sp.encoding == "latin-1" {
            latin1(&src, &path)?
        } else {
            src.into_bytes()
        };
        pages.push((
            WarcPage {
                url: sp.url.clone(),
                date: String::new(),
                status: sp.status,
                content_type: sp.content_type.clone(),
                body,
            },
            PageInfo {
                url: sp.url,
                kind: format!("special/{}", sp.file.trim_end_matches(".html")),
                expect: sp.expect,
                source: format!("special/{}", sp.file),
            },
        ));
    }
    // Interleave: originals and the rest in a seeded shuffle, but every duplicate after its original
    // (so "first seen wins" keeps the original, as a crawl would usually see it).
    let originals: Vec<(WarcPage, PageInfo)> = articles.into_iter().map(|(p, i, _, _)| (p, i)).collect();
    let mut all: Vec<(WarcPage, PageInfo)> = originals;
    all.extend(pages);
    let n = all.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut shuffled: Vec<(WarcPage, PageInfo)> = order.into_iter().map(|i| all[i].clone()).collect();
    let pos: BTreeMap<String, usize> = shuffled
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (p.url.clone(), i))
        .collect();
    for i in 0..shuffled.len() {
        let src = &shuffled[i].1.source;
        let orig = src
            .strip_prefix("copy of ")
            .or_else(|| src.strip_prefix("syndicated copy of "))
            .and_then(|u| pos.get(u).copied());
        if let Some(o) = orig.filter(|&o| o > i) {
            shuffled.swap(i, o);
        }
    }
    for (i, (p, _)) in shuffled.iter_mut().enumerate() {
        p.date = date_for(i);
    }
    Ok(shuffled)
}

/// Template families of the reference negatives (low-value web text), with their entity generators.
/// An entity generator.
type MakeSlots = fn(&mut Rng) -> Slots;

const NEGATIVE_FAMILIES: &[(&str, MakeSlots)] = &[
    ("shop", entities::shop),
    ("forum", entities::chatter),
    ("gossip", entities::chatter),
    ("horoscope", entities::chatter),
];

/// Seed of the reference negatives (different from the corpus, so no negative is a copy of a corpus page).
pub const NEGATIVES_SEED: u64 = 0x0BAD_5EED_2024;

/// `n` plain-text documents of low-value web text (shopping, forum chatter, gossip, horoscopes) from the
/// templates, cycling through the families: a stand-in for the random RefinedWeb documents that DCLM uses as the
/// quality classifier's negatives (our corpus is mostly good articles, so its own pages make poor negatives).
pub fn reference_negatives(pages_dir: &Path, n: usize, seed: u64) -> Result<Vec<String>, ReportError> {
    let mut templates = Vec::new();
    for (family, make) in NEGATIVE_FAMILIES {
        let t = Template::load(&pages_dir.join("templates").join(format!("{family}.txt")))?;
        t.check_slots(&make(&mut Rng::new(seed ^ 0x5eed)))?;
        templates.push((t, *make));
    }
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (t, make) = &templates[i % templates.len()];
        let slots = make(&mut rng);
        let art = render_article(t, &slots, &mut rng, 0.2)?;
        let mut text = art.title.clone();
        for (heading, paras) in &art.sections {
            if let Some(h) = heading {
                text.push_str("\n\n");
                text.push_str(h);
            }
            for p in paras {
                text.push_str("\n\n");
                text.push_str(p);
            }
        }
        out.push(text);
    }
    Ok(out)
}

/// Write [`reference_negatives`] as JSONL (`id`, `source`, `text`) to `path`.
pub fn write_reference_negatives(pages_dir: &Path, path: &Path, n: usize) -> Result<usize, ReportError> {
    let docs = reference_negatives(pages_dir, n, NEGATIVES_SEED)?;
    let mut text = String::new();
    for (i, d) in docs.iter().enumerate() {
        let line = serde_json::json!({
            "id": format!("neg-{i:04}"),
            "source": format!("templates/{}.txt", NEGATIVE_FAMILIES[i % NEGATIVE_FAMILIES.len()].0),
            "text": d,
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(docs.len())
}

/// Summary of a written corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusSummary {
    /// The `.warc.gz` written.
    pub warc: PathBuf,
    /// The JSONL index written next to it.
    pub index: PathBuf,
    /// Pages (request/response pairs).
    pub pages: usize,
    /// Pages per kind.
    pub kinds: BTreeMap<String, usize>,
}

/// The warcinfo record body of the default corpus.
pub fn warcinfo_text(plan: &CorpusPlan) -> String {
    format!(
        "software: dclm-rs dclm-report make_corpus\r\nformat: WARC File Format 1.0\r\ndescription: Embedded default corpus of dclm-rs: original pages written for the project (fictional places, people and species), plus pages made to trip each DCLM filter.\r\nisPartOf: dclm-rs-embedded-default\r\nseed: {}\r\nlicense: same as dclm-rs (MIT OR Apache-2.0)\r\n",
        plan.seed
    )
}

/// Generate the default corpus from `pages_dir` and write `warc_path` plus `<warc_path minus .warc.gz>.index.jsonl`.
pub fn write_default_corpus(
    pages_dir: &Path,
    warc_path: &Path,
    plan: &CorpusPlan,
) -> Result<CorpusSummary, ReportError> {
    let pages = default_pages(pages_dir, plan)?;
    let warc_pages: Vec<WarcPage> = pages.iter().map(|(p, _)| p.clone()).collect();
    write_warc_gz_grouped(warc_path, &warcinfo_text(plan), &warc_pages, RECORDS_PER_MEMBER)?;
    let name = warc_path
        .file_name()
        .map_or("corpus".into(), |f| f.to_string_lossy().into_owned());
    let stem = name.strip_suffix(".warc.gz").unwrap_or(&name);
    let index = warc_path.with_file_name(format!("{stem}.index.jsonl"));
    let mut text = String::new();
    let mut kinds = BTreeMap::new();
    for (_, info) in &pages {
        *kinds
            .entry(info.kind.split('/').next().unwrap_or("").to_string())
            .or_default() += 1;
        text.push_str(&serde_json::to_string(info).map_err(|source| ReportError::Json {
            path: index.clone(),
            source,
        })?);
        text.push('\n');
    }
    std::fs::write(&index, text).map_err(|source| ReportError::Io {
        path: index.clone(),
        source,
    })?;
    Ok(CorpusSummary {
        warc: warc_path.to_path_buf(),
        index,
        pages: pages.len(),
        kinds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_tsv_parsing() {
        let p = Path::new("special.tsv");
        let ok = parse_special_tsv(p, "# c\na.html\thttp://x.example/\tlatin-1\t200\ttext/html\textract\n").unwrap();
        assert_eq!(ok[0].status, 200);
        assert_eq!(ok[0].encoding, "latin-1");
        let e = parse_special_tsv(p, "\n\na\tb\n").unwrap_err().to_string();
        assert!(e.contains("special.tsv:3"), "{e}");
        assert!(parse_special_tsv(p, "a\tb\tutf-16\t200\tt\tx\n").is_err());
        assert!(parse_special_tsv(p, "a\tb\tutf-8\tOK\tt\tx\n").is_err());
    }

    #[test]
    fn latin1_encoding() {
        assert_eq!(latin1("café £5", Path::new("x")).unwrap(), b"caf\xe9 \xa35".to_vec());
        assert!(latin1("€", Path::new("x")).is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Tavelmere: history, trade & life"), "tavelmere-history-trade-life");
        assert_eq!(slug("(1801–1870)"), "1801-1870");
    }
}
