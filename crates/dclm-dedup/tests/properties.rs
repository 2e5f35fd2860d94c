//! Property tests: the Bloom filter has no false negatives; no BFF mode, MinHash or exact signature
//! panics on any text; removed windows are in bounds, sorted and disjoint; a run's output does not
//! depend on the thread count.

use dclm_core::Document;
use dclm_dedup::bloom::{BloomFilter, BloomPlan, FilterParams};
use dclm_dedup::exact::ExactDedup;
use dclm_dedup::minhash::{MinHashConfig, MinHashLsh};
use dclm_dedup::run::{run, BffRunConfig, Method, RunConfig};
use dclm_dedup::tokenize::Hasher;
use dclm_dedup::{bff_for_run, BffConfig, Deduplicator, GlobalDeduplicator, RemoveMode};
use proptest::prelude::*;

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just("a b c d e f g"),
                Just("\n"),
                Just("\r\n"),
                Just(" x "),
                Just("é👍🏽"),
                Just("漢字")
            ],
            0..40
        )
        .prop_map(|v| v.concat()),
        "[a-c \n.,]{0,300}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn bloom_has_no_false_negatives(items in proptest::collection::vec(any::<(u64, u64)>(), 1..500), n in 1u64..10_000) {
        let plan = BloomPlan::new(n, 0.01, 0).unwrap();
        let f = BloomFilter::new(&plan, Hasher::new(9, 8), FilterParams { ngram_size: 13, min_ngram_size: 13 });
        let hs: Vec<_> = items.iter().map(|&(a, b)| dclm_dedup::tokenize::ItemHash { h1: a, h2: b }).collect();
        for &h in &hs { f.insert(h); }
        for &h in &hs { prop_assert!(f.contains(h)); }
    }

    #[test]
    fn no_mode_panics_and_windows_are_sane(texts in proptest::collection::vec(text_strategy(), 1..6), annotate: bool, small: bool) {
        for mode in [RemoveMode::OldBoth, RemoveMode::Paragraph, RemoveMode::Document, RemoveMode::Both, RemoveMode::Exact] {
            let cfg = BffConfig {
                mode,
                annotate,
                ngram_size: if small { 2 } else { 13 },
                min_ngram_size: if small { 1 } else { 13 },
                ..Default::default()
            };
            let bff = bff_for_run(cfg, 1000, 0.01).unwrap();
            for t in texts.iter().chain(texts.iter()) {
                let (out, d) = bff.process(Document::new(t.clone()));
                let mut last = 0;
                for &(s, e) in &d.removed {
                    prop_assert!(s >= last && s <= e && e <= t.len() && t.is_char_boundary(s) && t.is_char_boundary(e));
                    last = e;
                }
                prop_assert!(d.contained_ngrams <= d.total_ngrams);
                if let Some(o) = out {
                    prop_assert!(!o.text.trim().is_empty());
                    prop_assert!(o.text.len() <= t.len());
                }
                let _ = bff.observe(&Document::new(t.clone()));
            }
        }
    }

    #[test]
    fn global_signatures_never_panic(t in text_strategy()) {
        let m = MinHashLsh::new(MinHashConfig { bands: 4, rows: 2, ..Default::default() }).unwrap();
        if let Some(s) = m.signature(&Document::new(t.clone())) {
            prop_assert_eq!(s.bands.len(), 4);
        }
        prop_assert!(ExactDedup::default().signature(&Document::new(t)).is_some());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn thread_count_does_not_change_output(
        pool in proptest::collection::vec("[a-e]{1,3}( [a-e]{1,3}){5,30}", 3..10),
        picks in proptest::collection::vec((0usize..10, 0usize..10, 0usize..4), 20..80),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut shards = vec![String::new(); 4];
        for (i, &(a, b, s)) in picks.iter().enumerate() {
            let text = format!("{}\n{}", pool[a % pool.len()], pool[b % pool.len()]);
            shards[s].push_str(&format!("{}\n", serde_json::json!({"id": i, "text": text})));
        }
        for (i, s) in shards.iter().enumerate() {
            std::fs::create_dir_all(tmp.path().join("in")).unwrap();
            std::fs::write(tmp.path().join(format!("in/s{i}.jsonl")), s).unwrap();
        }
        let mut outs = Vec::new();
        for threads in [1, 2, 3] {
            let mut b = BffRunConfig::new(10_000);
            b.bff.ngram_size = 3;
            b.bff.min_ngram_size = 3;
            let out = tmp.path().join(format!("out{threads}"));
            let mut cfg = RunConfig::new(Method::Bff(b), &out);
            cfg.threads = threads;
            cfg.batch_bytes = 256;
            run(&cfg, &[tmp.path().join("in")]).unwrap();
            let all: Vec<Vec<u8>> = (0..4).map(|i| std::fs::read(out.join(format!("s{i}.jsonl"))).unwrap_or_default()).collect();
            outs.push(all);
        }
        prop_assert_eq!(&outs[0], &outs[1]);
        prop_assert_eq!(&outs[0], &outs[2]);
    }
}
