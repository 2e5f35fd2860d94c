//! Report tests: JSON round trip, HTML5 well-formedness (html5ever reports no parse errors), the charts are
//! present as inline SVG, and no attribute or style refers to the network.

use dclm_core::{Stats, Verdict};
use dclm_report::*;
use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{Handle, NodeData, RcDom};

fn sample_report() -> Report {
    let mut r = Report::new("Baseline run <test> & \"quotes\"", "embedded-default");
    r.started = "2026-11-29T17:30:00Z".into();
    r.settings.insert(
        "input".into(),
        "https://data.commoncrawl.org/crawl-data/*.warc.gz".into(),
    );
    r.settings.insert("threads".into(), "2".into());

    let mut extract = Stats::new("extract");
    extract.docs_in = 300;
    extract.docs_out = 280;
    extract.bytes_out = 1_200_000;
    extract.record_error("non_utf8", "record 17: invalid UTF-8 at byte 2031");
    let mut heur = Stats::new("heuristics");
    heur.docs_in = 280;
    for i in 0..280u64 {
        let v = if i % 7 == 0 {
            Verdict::Drop("not_english")
        } else {
            Verdict::Keep
        };
        heur.step_mut("language_filter").record(v, 0.001);
    }
    for i in 0..240u64 {
        let v = if i % 10 == 0 {
            Verdict::Drop("too_few_words")
        } else {
            Verdict::Keep
        };
        heur.step_mut("page_length_filter").record(v, 0.0005);
    }
    heur.docs_out = 216;
    r.add_stage_stats(&extract);
    r.add_stage_stats(&heur);
    r.funnel.push(FunnelStage {
        stage: "dedup".into(),
        docs_in: 216,
        docs_out: 190,
        ..Default::default()
    });
    r.funnel.push(FunnelStage {
        stage: "tokenize".into(),
        docs_in: 190,
        docs_out: 190,
        tokens_out: Some(251_000),
        ..Default::default()
    });

    let mut ex = ExampleCollector::new();
    for i in 0..5 {
        ex.record(
            "language_filter",
            "not_english",
            &format!("http://beispiel.de/seite{i}?a=1&b=<2>"),
            "Dies ist eine deutsche Seite über den Wald. <script>alert('x')</script> \u{1} und \"mehr\"",
        );
    }
    ex.record(
        "page_length_filter",
        "too_few_words",
        "https://short.example/",
        &"word ".repeat(500),
    );
    ex.attach(&mut r.steps);

    r.histograms.push(
        Histogram::from_values(
            "quality_score",
            "fastText quality score (P(hq))",
            "P(hq)",
            0.0,
            1.0,
            20,
            &(0..190).map(|i| (i as f64 / 190.0).powi(3)).collect::<Vec<_>>(),
        )
        .with_threshold(0.3),
    );
    r.histograms.push(Histogram::from_values(
        "dedup_containment",
        "BFF contained 13-gram fraction",
        "contained / total n-grams",
        0.0,
        1.0,
        10,
        &[0.0, 0.0, 0.05, 0.9, 1.0, f64::NAN],
    ));
    r.loss_curve = Some(LossCurve {
        model: "open_lm tiny (2 layers, d=64)".into(),
        points: (0..50)
            .map(|s| LossPoint {
                step: s * 10,
                tokens: s * 10 * 4096,
                train_loss: 10.8 * (-(s as f64) / 20.0).exp() + 3.0,
                val_loss: (s % 10 == 9).then(|| 10.8 * (-(s as f64) / 20.0).exp() + 3.2),
                lr: 3e-3,
            })
            .collect(),
    });
    r.eval = Some(EvalTable::with_computed_core(
        "embedded default tasks",
        vec![
            EvalRow {
                task: "mini_arc".into(),
                category: "world knowledge".into(),
                task_type: "multiple_choice".into(),
                shots: 0,
                n: 40,
                accuracy: 0.35,
                random_baseline: 25.0,
                in_core: true,
            },
            EvalRow {
                task: "mini_lambada".into(),
                category: "language understanding".into(),
                task_type: "language_modeling".into(),
                shots: 0,
                n: 30,
                accuracy: 0.1,
                random_baseline: 0.0,
                in_core: true,
            },
            EvalRow {
                task: "mini_squad".into(),
                category: "reading comprehension".into(),
                task_type: "generation_task_with_answers".into(),
                shots: 0,
                n: 30,
                accuracy: 0.0,
                random_baseline: 0.0,
                in_core: false,
            },
        ],
        "stand-in tasks, not DCLM's CORE",
    ));
    r.fidelity.push(StageFidelity {
        stage: "quality".into(),
        faithful: false,
        implementation: "fastText bigram classifier trained on assets/baseline/positives.jsonl".into(),
        reason: "DCLM uses OpenHermes-2.5 + ELI5 positives (model not shipped)".into(),
    });
    r.fidelity.push(StageFidelity {
        stage: "heuristics".into(),
        faithful: true,
        implementation: "dclm_baseline_refinedweb.yaml".into(),
        reason: "assets found".into(),
    });
    r.outputs.insert("report".into(), "/tmp/out/report.html".into());
    r.notes
        .push("Loss is in nats per token of the stand-in tokenizer.".into());
    r
}

fn parse(html: &str) -> RcDom {
    html5ever::parse_document(RcDom::default(), Default::default())
        .from_utf8()
        .read_from(&mut html.as_bytes())
        .unwrap()
}

/// Walk the DOM: element names and (name, value) of every attribute.
fn walk(node: &Handle, elems: &mut Vec<String>, attrs: &mut Vec<(String, String)>) {
    if let NodeData::Element { name, attrs: a, .. } = &node.data {
        elems.push(name.local.to_string());
        for at in a.borrow().iter() {
            attrs.push((at.name.local.to_string(), at.value.to_string()));
        }
    }
    for c in node.children.borrow().iter() {
        walk(c, elems, attrs);
    }
}

#[test]
fn json_round_trip() {
    let r = sample_report();
    let json = r.to_json().unwrap();
    let back = Report::from_json(&json).unwrap();
    // NaN is not representable in JSON; the sample has none in its fields (only in histogram input).
    assert_eq!(back, r);
    let dir = tempfile::tempdir().unwrap();
    let (jp, hp) = r.write(dir.path()).unwrap();
    assert_eq!(Report::read(&jp).unwrap(), r);
    assert!(std::fs::read_to_string(hp).unwrap().starts_with("<!DOCTYPE html>"));
    // Unknown/missing fields are tolerated: an older or partial report still loads.
    let partial =
        Report::from_json(r#"{"title":"x","funnel":[{"stage":"extract","docs_in":3,"docs_out":2}],"future":1}"#)
            .unwrap();
    assert_eq!(partial.funnel[0].docs_out, 2);
    assert!(Report::from_json("{not json").is_err());
}

#[test]
fn funnel_consistency_is_checked() {
    let mut r = sample_report();
    assert_eq!(r.funnel_mismatches(), Vec::<String>::new());
    r.funnel[2].docs_in = 215;
    let m = r.funnel_mismatches();
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("heuristics -> dedup"));
    r.funnel[2].docs_in = 216;
    r.steps[0].docs_out += 1;
    assert_eq!(r.funnel_mismatches().len(), 1);
}

#[test]
fn examples_are_limited_and_cut() {
    let r = sample_report();
    let lang = r.steps.iter().find(|s| s.step == "language_filter").unwrap();
    assert_eq!(lang.drops[0].reason, "not_english");
    assert_eq!(lang.drops[0].count, 40);
    assert_eq!(lang.drops[0].examples.len(), MAX_DROP_EXAMPLES);
    let len = r.steps.iter().find(|s| s.step == "page_length_filter").unwrap().drops[0].examples[0]
        .snippet
        .chars()
        .count();
    assert_eq!(len, SNIPPET_CHARS + 1); // + the ellipsis
    assert_eq!(snippet("short"), "short");
    assert_eq!(snippet(&"é".repeat(400)).chars().count(), SNIPPET_CHARS + 1);
}

#[test]
fn core_is_mean_centered_accuracy_of_core_rows() {
    let r = sample_report();
    let e = r.eval.as_ref().unwrap();
    let expected = ((0.35 - 0.25) / 0.75 + 0.1) / 2.0;
    assert!((e.core.unwrap() - expected).abs() < 1e-12);
    assert!(EvalTable::with_computed_core("none", vec![], "").core.is_none());
}

#[test]
fn histogram_binning() {
    let h = Histogram::from_values(
        "h",
        "h",
        "x",
        0.0,
        1.0,
        4,
        &[-1.0, 0.0, 0.26, 0.5, 0.99, 1.0, 7.0, f64::INFINITY],
    );
    assert_eq!(h.counts, vec![2, 1, 1, 3]);
    assert_eq!(h.non_finite, 1);
    let degenerate = Histogram::new("d", "d", "x", 1.0, 1.0, 0);
    assert_eq!(degenerate.counts.len(), 1);
    assert!(degenerate.hi > degenerate.lo);
}

#[test]
fn html_is_well_formed_self_contained_and_has_charts() {
    let r = sample_report();
    let html = render_html(&r);
    let dom = parse(&html);
    assert!(dom.errors.is_empty(), "HTML5 parse errors: {:?}", dom.errors);

    let (mut elems, mut attrs) = (Vec::new(), Vec::new());
    walk(&dom.document, &mut elems, &mut attrs);
    let count = |n: &str| elems.iter().filter(|e| *e == n).count();
    // Funnel docs + tokens, drops per step, 2 histograms, loss curve, timings.
    assert_eq!(count("svg"), 7, "svg elements: {}", count("svg"));
    assert!(count("rect") >= 10 && count("path") >= 1 && count("circle") >= 5);
    assert_eq!(count("script"), 0);
    assert_eq!(count("link"), 0);
    assert_eq!(count("img"), 0);
    assert!(count("details") >= 2);
    for (k, v) in &attrs {
        let v = v.to_ascii_lowercase();
        assert!(
            !v.contains("http") && !v.contains("//") && !v.contains("url("),
            "{k}={v}"
        );
        assert!(!k.starts_with("on"), "event handler attribute {k}");
    }
    // The CSS has no url()/@import either.
    let css = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap()];
    assert!(!css.contains("url(") && !css.contains("@import") && !css.contains("http"));
    // Data URLs appear only escaped as text; the injected script tag is inert text.
    assert!(html.contains("http://beispiel.de/seite0?a=1&amp;b=&lt;2&gt;"));
    assert!(html.contains("&lt;script&gt;alert"));
    assert!(!html.contains("<script"));
    assert!(html.contains("CORE = 0.1167"));
    assert!(html.contains("stand-in"));
}

#[test]
fn the_parser_check_can_fail() {
    // Guard against a vacuous well-formedness test: broken markup must produce parse errors.
    let dom = parse("<!DOCTYPE html><html><body><div><p>x</span></td></body></html>");
    assert!(!dom.errors.is_empty());
    let dom = parse("<p>no doctype</p>");
    assert!(!dom.errors.is_empty());
}

#[test]
fn empty_report_renders() {
    let html = render_html(&Report::default());
    let dom = parse(&html);
    assert!(dom.errors.is_empty(), "{:?}", dom.errors);
    assert!(html.contains("Training did not run"));
    // Non-finite numbers never reach SVG coordinates.
    let mut r = sample_report();
    r.loss_curve.as_mut().unwrap().points[3].train_loss = f64::NAN;
    r.timings[0].seconds = f64::INFINITY;
    let html = render_html(&r);
    assert!(
        !html.contains("NaN") && !html.contains("inf\""),
        "non-finite value leaked into the SVG"
    );
    assert!(parse(&html).errors.is_empty());
}

/// Headless-Chromium check (set `DCLM_SLOW_TESTS=1`; skipped without `chromium`): the page loads with the network
/// cut off, the browser's DOM holds every chart, and a screenshot of the page is a real, non-blank PNG.
#[test]
fn chromium_renders_report_offline() {
    if std::env::var("DCLM_SLOW_TESTS").ok().as_deref() != Some("1") {
        eprintln!("SKIP chromium_renders_report_offline: set DCLM_SLOW_TESTS=1 to run it");
        return;
    }
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        eprintln!("SKIP chromium_renders_report_offline: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = sample_report().write(dir.path()).unwrap();
    let url = format!("file://{}", html.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ];
    let dom = std::process::Command::new(browser)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(dom.status.success());
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<svg").count(), 7, "charts in the browser's DOM");
    assert!(dom.contains("CORE = 0.1167"));
    let shot = dir.path().join("shot.png");
    let out = std::process::Command::new(browser)
        .args(common)
        .arg("--window-size=1200,2400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 2400));
    // A blank 1200×2400 page compresses to a few kB; text, tables and charts make it far larger.
    assert!(
        png.len() > 60_000,
        "screenshot only {} bytes: page looks blank",
        png.len()
    );
}
