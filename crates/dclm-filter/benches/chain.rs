//! Criterion benchmark of the DCLM-Baseline heuristic chain (with and without language ID) and of its
//! most expensive single steps, on the shared quality documents (`../shared/data/quality/`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dclm_core::Document;
use dclm_filter::steps::repetition::RepetitionFilter;
use dclm_filter::{BuildContext, Filter, LoadOptions, PipelineConfig, Registry};

fn docs(shared: &std::path::Path) -> Vec<Document> {
    let mut out = Vec::new();
    for f in ["dclm-majority-data.jsonl"] {
        let Ok(text) = std::fs::read_to_string(shared.join("data/quality").join(f)) else {
            continue;
        };
        for (i, l) in text.lines().enumerate().take(300) {
            if let Ok(mut d) = Document::from_json_line(l) {
                d.metadata_mut()
                    .insert("WARC-Target-URI".into(), format!("http://example.com/{i}").into());
                out.push(d);
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let Some(configs) = dclm_core::testdata::shared("data/dclm/configs", "bench_chain") else {
        return;
    };
    let shared = configs
        .parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.parent())
        .unwrap()
        .to_path_buf();
    let docs = docs(&shared);
    if docs.is_empty() {
        return;
    }
    let cfg = PipelineConfig::load(configs.join("dclm_baseline_refinedweb.yaml")).unwrap();
    let ctx = BuildContext::new(shared.join("data/dclm-assets"));
    let mut g = c.benchmark_group("dclm_baseline_chain");
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.sample_size(10);
    for (name, skip) in [("with_lid", vec![2]), ("without_lid", vec![2, 8, 9])] {
        let opts = LoadOptions {
            skip_steps: skip,
            ..Default::default()
        };
        let p = cfg.build(&Registry::dclm(), &ctx, &opts).unwrap().pipeline;
        g.bench_function(name, |b| {
            b.iter(|| docs.iter().filter(|d| p.run((*d).clone()).is_some()).count())
        });
    }
    let rep = RepetitionFilter::gopher(false);
    g.bench_function("massive_web_repetition_filters", |b| {
        b.iter(|| docs.iter().filter(|d| rep.check(d).is_keep()).count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
