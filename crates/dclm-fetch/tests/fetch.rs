//! End-to-end tests of asset and WARC fetching against a loopback HTTP server (no internet): correct files and
//! checksums, resume after a cut connection, checksum mismatch leaves nothing, 429/503 retried with backoff,
//! the concurrency bound holds, and `warc.paths.gz` sampling and pool lists.

use crate::server;

use dclm_fetch::assets::{
    fetch_assets_from, list_assets, parse_registry, AssetOutcome, AssetState, AssetsConfig, Lock, Mirrors, Trust,
};
use dclm_fetch::cc::{fetch_warcs, sample_paths, CcConfig, CcOutcome, WarcSelection};
use dclm_fetch::http::{part_path, sha256_file, DownloadConfig, Downloader, Expect};
use dclm_fetch::FetchError;
use flate2::write::GzEncoder;
use server::{Behavior, Server};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Deterministic, incompressible-looking bytes.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as u8
        })
        .collect()
}

fn sha(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(&p, data).unwrap();
    sha256_file(&p).unwrap().0
}

/// Fast settings for tests.
fn fast(concurrency: usize) -> DownloadConfig {
    DownloadConfig {
        max_retries: 5,
        backoff_initial: Duration::from_millis(40),
        backoff_max: Duration::from_millis(400),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        concurrency,
        ..Default::default()
    }
}

fn gz_warc(records: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for r in 0..records {
        let payload = bytes(2000, seed * 1000 + r as u64);
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        write!(
            e,
            "WARC/1.0\r\nWARC-Type: response\r\nContent-Length: {}\r\n\r\n",
            payload.len()
        )
        .unwrap();
        e.write_all(&payload).unwrap();
        e.write_all(b"\r\n\r\n").unwrap();
        out.extend(e.finish().unwrap());
    }
    out
}

fn gz(text: &str) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

const UPSTREAM: &str = "https://upstream.invalid/";

#[test]
fn assets_fetch_verify_lock_and_list() {
    let srv = Server::start();
    let pinned = bytes(50_000, 1);
    let tofu = bytes(70_000, 2);
    let third = bytes(10, 3);
    srv.add("a/pinned.bin", pinned.clone());
    srv.add("a/tofu.bin", tofu.clone());
    srv.add("b/third.txt", third.clone());
    let tsv = format!(
        "g1\tx/pinned.bin\t{UPSTREAM}a/pinned.bin\t{}\t={}\ng2\tdeep/er/tofu.bin\t{UPSTREAM}a/tofu.bin\t-\t~70000\n\
         g2\tthird.txt\t{UPSTREAM}b/third.txt\t-\t-\n",
        sha(&pinned),
        pinned.len()
    );
    let reg = parse_registry(&tsv, Path::new("test.tsv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = AssetsConfig::new(dir.path());
    cfg.mirrors = Mirrors::parse(&[format!("{UPSTREAM}={}", srv.base)]).unwrap();
    cfg.download = fast(2);

    // Before: all missing.
    let st = list_assets(&reg, dir.path(), &[]).unwrap();
    assert!(st.iter().all(|(_, s)| *s == AssetState::Missing { partial: 0 }));

    let rep = fetch_assets_from(&reg, &cfg).unwrap();
    assert_eq!(rep.outcomes.len(), 3);
    assert!(rep.outcomes.iter().all(|(_, o)| matches!(o, AssetOutcome::Fetched(_))));
    assert_eq!(std::fs::read(dir.path().join("x/pinned.bin")).unwrap(), pinned);
    assert_eq!(std::fs::read(dir.path().join("deep/er/tofu.bin")).unwrap(), tofu);
    assert_eq!(std::fs::read(dir.path().join("third.txt")).unwrap(), third);
    let lock = Lock::load(dir.path()).unwrap();
    assert_eq!(lock.assets["x/pinned.bin"].trust, Trust::Pinned);
    assert_eq!(lock.assets["deep/er/tofu.bin"].trust, Trust::FirstUse);
    assert_eq!(lock.assets["deep/er/tofu.bin"].sha256, sha(&tofu));
    assert_eq!(lock.assets["deep/er/tofu.bin"].size, 70_000);

    // Second run: nothing downloaded.
    let before = srv.log().len();
    let rep = fetch_assets_from(&reg, &cfg).unwrap();
    assert!(rep.outcomes.iter().all(|(_, o)| *o == AssetOutcome::AlreadyPresent));
    assert_eq!(srv.log().len(), before);

    // list: present / corrupt (first-use hash now enforced) / missing with partial.
    std::fs::write(dir.path().join("deep/er/tofu.bin"), b"tampered").unwrap();
    std::fs::remove_file(dir.path().join("third.txt")).unwrap();
    std::fs::write(part_path(&dir.path().join("third.txt")), &third[..5]).unwrap();
    let st = list_assets(&reg, dir.path(), &[]).unwrap();
    assert_eq!(
        st[0].1,
        AssetState::Present {
            trust: Trust::Pinned,
            size: 50_000
        }
    );
    assert!(matches!(&st[1].1, AssetState::Corrupt { expected, .. } if *expected == sha(&tofu)));
    assert_eq!(st[2].1, AssetState::Missing { partial: 5 });
    assert_eq!(st[2].1.word(), "partial");

    // fetch repairs the corrupt file (the recorded hash must match again) and resumes the partial one.
    let rep = fetch_assets_from(&reg, &cfg).unwrap();
    assert_eq!(rep.outcomes[0].1, AssetOutcome::AlreadyPresent);
    assert!(matches!(&rep.outcomes[1].1, AssetOutcome::Fetched(d) if d.sha256 == sha(&tofu)));
    assert!(matches!(&rep.outcomes[2].1, AssetOutcome::Fetched(d) if d.resumed_from == 5));
    assert_eq!(std::fs::read(dir.path().join("third.txt")).unwrap(), third);
    assert_eq!(
        srv.requests_to("b/third.txt").last().unwrap().range.as_deref(),
        Some("bytes=5-")
    );
}

#[test]
fn resume_after_connection_cut_mid_file() {
    let srv = Server::start();
    let data = bytes(400_000, 9);
    srv.add("big.bin", data.clone());
    srv.script("big.bin", [Behavior::CutAfter(150_000), Behavior::CutAfter(100_000)]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.bin");
    let dl = Downloader::new(fast(1));
    let expect = Expect {
        sha256: Some(sha(&data)),
        size: Some(data.len() as u64),
    };
    let done = dl.download(&srv.url("big.bin"), &dest, &expect, None).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(done.sha256, sha(&data));
    assert!(!part_path(&dest).exists());
    let reqs = srv.requests_to("big.bin");
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    assert_eq!(reqs[0].range, None);
    assert_eq!(reqs[1].range.as_deref(), Some("bytes=150000-"));
    assert_eq!(reqs[2].range.as_deref(), Some("bytes=250000-"));
    assert_eq!(reqs[2].status, 206);
}

#[test]
fn resume_a_part_file_left_by_an_earlier_run() {
    let srv = Server::start();
    let data = bytes(200_000, 4);
    srv.add("f.bin", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f.bin");
    std::fs::write(part_path(&dest), &data[..123_456]).unwrap();
    let done = Downloader::new(fast(1))
        .download(
            &srv.url("f.bin"),
            &dest,
            &Expect {
                sha256: Some(sha(&data)),
                size: None,
            },
            None,
        )
        .unwrap();
    assert_eq!(done.resumed_from, 123_456);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let reqs = srv.requests_to("f.bin");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].range.as_deref(), Some("bytes=123456-"));

    // A complete .part (server answers 416 with the same total) is verified without re-downloading.
    let dest2 = dir.path().join("g.bin");
    srv.add("g.bin", data.clone());
    std::fs::write(part_path(&dest2), &data).unwrap();
    let with_sha = Expect {
        sha256: Some(sha(&data)),
        size: None,
    };
    let done = Downloader::new(fast(1))
        .download(&srv.url("g.bin"), &dest2, &with_sha, None)
        .unwrap();
    assert_eq!(done.size, data.len() as u64);
    assert_eq!(srv.requests_to("g.bin")[0].status, 416);
}

#[test]
fn a_stale_part_is_never_spliced_onto_a_changed_file() {
    let srv = Server::start();
    let old = bytes(300_000, 5);
    let new = bytes(300_000, 6);
    srv.add("v.bin", old.clone());
    srv.script("v.bin", [Behavior::CutAfter(100_000)]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("v.bin");
    // First run: cut after 100 kB, no retries left: the `.part` stays, with the version it came from.
    let mut once = fast(1);
    once.max_retries = 0;
    assert!(Downloader::new(once)
        .download(&srv.url("v.bin"), &dest, &Expect::default(), None)
        .is_err());
    assert_eq!(std::fs::metadata(part_path(&dest)).unwrap().len(), 100_000);
    let meta = std::fs::read_to_string(dir.path().join("v.bin.part.meta")).unwrap_or_default();
    assert!(
        meta.contains("\"etag\":\""),
        "the version of the partial bytes is recorded: {meta:?}"
    );
    // The file changes upstream (same size); no checksum is known (trust on first use).
    srv.add("v.bin", new.clone());
    let done = Downloader::new(fast(1))
        .download(&srv.url("v.bin"), &dest, &Expect::default(), None)
        .unwrap();
    let got = std::fs::read(&dest).unwrap();
    assert!(
        got == new,
        "the old head must not be kept: {} bytes, head is {}; requests {:?}",
        got.len(),
        if got[..64] == old[..64] { "old" } else { "other" },
        srv.requests_to("v.bin")
            .iter()
            .map(|r| (r.range.clone(), r.if_range.clone(), r.status))
            .collect::<Vec<_>>()
    );
    assert_eq!(done.sha256, sha(&new));
    let reqs = srv.requests_to("v.bin");
    assert_eq!(reqs.last().unwrap().range.as_deref(), Some("bytes=100000-"));
    assert_eq!(
        reqs.last().unwrap().status,
        200,
        "If-Range with the old ETag gets the whole new file"
    );

    // Unchanged upstream: the same resume continues the partial file.
    let dest2 = dir.path().join("w.bin");
    srv.add("w.bin", old.clone());
    srv.script("w.bin", [Behavior::CutAfter(100_000)]);
    let mut once = fast(1);
    once.max_retries = 0;
    assert!(Downloader::new(once)
        .download(&srv.url("w.bin"), &dest2, &Expect::default(), None)
        .is_err());
    let done = Downloader::new(fast(1))
        .download(&srv.url("w.bin"), &dest2, &Expect::default(), None)
        .unwrap();
    assert_eq!(done.resumed_from, 100_000);
    assert_eq!(std::fs::read(&dest2).unwrap(), old);
    assert_eq!(srv.requests_to("w.bin").last().unwrap().status, 206);

    // A `.part` with no record of its version and no checksum to catch a splice is discarded.
    let dest3 = dir.path().join("x.bin");
    srv.add("x.bin", new.clone());
    std::fs::write(part_path(&dest3), &old[..100_000]).unwrap();
    let done = Downloader::new(fast(1))
        .download(&srv.url("x.bin"), &dest3, &Expect::default(), None)
        .unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(std::fs::read(&dest3).unwrap(), new);
    assert_eq!(srv.requests_to("x.bin")[0].range, None);
}

#[test]
fn checksum_mismatch_is_an_error_and_leaves_no_file() {
    let srv = Server::start();
    let data = bytes(30_000, 5);
    srv.add("f.bin", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("sub/f.bin");
    let wrong = "0".repeat(64);
    let err = Downloader::new(fast(1))
        .download(
            &srv.url("f.bin"),
            &dest,
            &Expect {
                sha256: Some(wrong.clone()),
                size: None,
            },
            None,
        )
        .unwrap_err();
    match &err {
        FetchError::ChecksumMismatch {
            expected, actual, size, ..
        } => {
            assert_eq!(*expected, wrong);
            assert_eq!(*actual, sha(&data));
            assert_eq!(*size, 30_000);
        }
        e => panic!("expected a checksum mismatch, got {e}"),
    }
    assert!(!dest.exists(), "no file under the final name");
    assert!(!part_path(&dest).exists(), "no partial file either");

    // Through the asset path: error names the asset, nothing left, other assets still fetched.
    srv.add("ok.bin", b"fine".to_vec());
    let tsv = format!(
        "g\tbad.bin\t{UPSTREAM}f.bin\t{wrong}\t=30000\ng\tok.bin\t{UPSTREAM}ok.bin\t{}\t=4\n",
        sha(b"fine")
    );
    let reg = parse_registry(&tsv, Path::new("t.tsv")).unwrap();
    let mut cfg = AssetsConfig::new(dir.path().join("assets"));
    cfg.mirrors = Mirrors::parse(&[format!("{UPSTREAM}={}", srv.base)]).unwrap();
    cfg.download = fast(2);
    let err = fetch_assets_from(&reg, &cfg).unwrap_err().to_string();
    assert!(
        err.contains("1 of 2") && err.contains("bad.bin") && err.contains("sha256 mismatch"),
        "{err}"
    );
    assert!(!dir.path().join("assets/bad.bin").exists());
    assert!(!part_path(&dir.path().join("assets/bad.bin")).exists());
    assert_eq!(std::fs::read(dir.path().join("assets/ok.bin")).unwrap(), b"fine");

    // A size mismatch is caught the same way.
    let err = Downloader::new(fast(1))
        .download(
            &srv.url("ok.bin"),
            &dest,
            &Expect {
                sha256: None,
                size: Some(5),
            },
            None,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::SizeMismatch {
                expected: 5,
                actual: 4,
                ..
            }
        ),
        "{err}"
    );
    assert!(!dest.exists() && !part_path(&dest).exists());
}

#[test]
fn retries_429_and_503_with_exponential_backoff() {
    let srv = Server::start();
    srv.add("f.bin", b"payload".to_vec());
    srv.script(
        "f.bin",
        [
            Behavior::Status(429, None),
            Behavior::Status(503, None),
            Behavior::Status(429, None),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f.bin");
    let done = Downloader::new(fast(1))
        .download(&srv.url("f.bin"), &dest, &Expect::default(), None)
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"payload");
    assert_eq!(done.requests, 4);
    let reqs = srv.requests_to("f.bin");
    let st: Vec<u16> = reqs.iter().map(|r| r.status).collect();
    assert_eq!(st, [429, 503, 429, 200]);
    // Backoff 40 ms, 80 ms, 160 ms (±20% jitter): each gap at least ~the nominal delay, and growing.
    let gaps: Vec<Duration> = reqs.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(30), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(64), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(128), "{gaps:?}");
    assert!(gaps[2] > gaps[0], "{gaps:?}");

    // Too many 429s: an error naming the status, after max_retries + 1 requests, nothing left.
    srv.add("g.bin", b"x".to_vec());
    srv.script("g.bin", (0..10).map(|_| Behavior::Status(429, None)));
    let mut cfg = fast(1);
    cfg.max_retries = 2;
    cfg.backoff_initial = Duration::from_millis(5);
    let err = Downloader::new(cfg).download(&srv.url("g.bin"), &dir.path().join("g.bin"), &Expect::default(), None);
    assert!(
        matches!(
            err,
            Err(FetchError::Status {
                status: 429,
                attempts: 3,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(!dir.path().join("g.bin").exists());

    // 404 is not retried.
    let err = Downloader::new(fast(1)).download(&srv.url("nope"), &dir.path().join("n"), &Expect::default(), None);
    assert!(
        matches!(
            err,
            Err(FetchError::Status {
                status: 404,
                attempts: 1,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(srv.requests_to("nope").len(), 1);
}

fn serve_crawl(srv: &Server, crawl: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for i in 0..n {
        let p = format!("crawl-data/{crawl}/segments/1716000000.{i}/warc/{crawl}-2024052{i}-{i:05}.warc.gz");
        let body = gz_warc(3, i as u64);
        srv.add(&p, body.clone());
        files.push((p, body));
    }
    let list: String = files.iter().map(|(p, _)| format!("{p}\n")).collect();
    srv.add(&format!("crawl-data/{crawl}/warc.paths.gz"), gz(&list));
    files
}

#[test]
fn cc_fetch_sample_stays_within_concurrency_bound() {
    let srv = Server::start();
    let crawl = "CC-MAIN-2024-22";
    let files = serve_crawl(&srv, crawl, 10);
    srv.set_delay(Duration::from_millis(120));
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = CcConfig::new(Some(crawl.into()), WarcSelection::Sample { n: 8, seed: 42 }, dir.path());
    cfg.base_url = srv.base.clone();
    cfg.download = fast(3);
    let rep = fetch_warcs(&cfg).unwrap();
    let all: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    let want = sample_paths(&all, 8, 42);
    assert_eq!(rep.files.len(), 8);
    for ((path, outcome), p) in rep.files.iter().zip(&want) {
        let body = &files.iter().find(|(q, _)| q == p).unwrap().1;
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            p.rsplit('/').next().unwrap()
        );
        assert_eq!(&std::fs::read(path).unwrap(), body);
        assert!(matches!(outcome, CcOutcome::Fetched(_)));
    }
    let max = srv.max_in_flight();
    assert!(max <= 3, "concurrency bound exceeded: {max} requests in flight");
    assert!(max >= 2, "downloads did not run in parallel (max in flight {max})");

    // Rerun: everything already present, only the paths list is requested again.
    let before = srv.log().len();
    let rep = fetch_warcs(&cfg).unwrap();
    assert!(rep.files.iter().all(|(_, o)| *o == CcOutcome::AlreadyPresent));
    assert_eq!(srv.log().len(), before + 1);
}

#[test]
fn cc_fetch_paths_file_with_retries_resume_and_gzip_check() {
    let srv = Server::start();
    let crawl = "CC-MAIN-2023-50";
    let files = serve_crawl(&srv, crawl, 4);
    // File 0: 503 then a cut mid-body; file 1: truncated gzip on the server (must fail, leave nothing).
    srv.script(&files[0].0, [Behavior::Status(503, Some(0)), Behavior::CutAfter(1000)]);
    let truncated = files[1].1[..files[1].1.len() - 20].to_vec();
    srv.add(&files[1].0, truncated);
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("pool.txt");
    std::fs::write(
        &list,
        format!(
            "# DCLM pool list\ns3://commoncrawl/{}\n{}\n{}\n",
            files[0].0,
            srv.url(&files[1].0),
            files[2].0
        ),
    )
    .unwrap();
    let out = dir.path().join("warcs");
    let mut cfg = CcConfig::new(Some(crawl.into()), WarcSelection::PathsFile(list), &out);
    cfg.base_url = srv.base.clone();
    cfg.download = fast(2);
    let err = fetch_warcs(&cfg).unwrap_err().to_string();
    assert!(err.contains("1 of 3") && err.contains("content check failed"), "{err}");
    let name = |i: usize| files[i].0.rsplit('/').next().unwrap().to_string();
    assert_eq!(std::fs::read(out.join(name(0))).unwrap(), files[0].1);
    assert_eq!(std::fs::read(out.join(name(2))).unwrap(), files[2].1);
    assert!(!out.join(name(1)).exists() && !part_path(&out.join(name(1))).exists());
    let r0 = srv.requests_to(&files[0].0);
    assert_eq!(r0.iter().map(|r| r.status).collect::<Vec<_>>(), [503, 200, 206]);
    assert_eq!(r0[2].range.as_deref(), Some("bytes=1000-"));
    assert!(srv.requests_to(&format!("crawl-data/{crawl}/warc.paths.gz")).is_empty());
}

#[test]
fn bad_crawl_and_selection_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = CcConfig::new(
        Some("CC-MAIN-24-22".into()),
        WarcSelection::Sample { n: 1, seed: 0 },
        dir.path(),
    );
    assert!(fetch_warcs(&cfg).unwrap_err().to_string().contains("CC-MAIN-YYYY-WW"));
    let cfg = CcConfig::new(None, WarcSelection::Sample { n: 1, seed: 0 }, dir.path());
    assert!(fetch_warcs(&cfg).unwrap_err().to_string().contains("--crawl"));
}

/// The embedded registry's pinned DCLM files, served from the shared copies under their upstream URLs, land in
/// DCLM's layout with matching hashes (proves the pins and destinations; no internet).
#[test]
fn embedded_registry_pins_match_shared_copies() {
    let Some(assets) = dclm_core::testdata::shared("data/dclm-assets", "embedded_registry_pins_match_shared_copies")
    else {
        return;
    };
    let srv = Server::start();
    let reg = dclm_fetch::assets::registry();
    let chosen = dclm_fetch::assets::select(reg, &["dclm-configs".into(), "banlists".into()]).unwrap();
    let mut served = Vec::new();
    for a in chosen.iter().filter(|a| a.sha256.is_some()) {
        let local = a.path_in(&assets);
        srv.add(&a.dest, std::fs::read(&local).unwrap());
        served.push(a.dest.clone());
    }
    assert!(served.len() >= 15, "{served:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = AssetsConfig::new(dir.path());
    let dclm = "https://raw.githubusercontent.com/mlfoundations/dclm/361714bdd60bb9b7f4b2d8354cebbf0dec0c329e/";
    cfg.mirrors = Mirrors::parse(&[format!("{dclm}={}", srv.base)]).unwrap();
    cfg.only = served.clone();
    cfg.download = fast(4);
    fetch_assets_from(reg, &cfg).unwrap();
    for d in &served {
        assert_eq!(
            std::fs::read(dir.path().join(d)).unwrap(),
            std::fs::read(assets.join(d)).unwrap(),
            "{d}"
        );
    }
    assert!(dir
        .path()
        .join("baselines/baselines_configs/dclm_baseline_refinedweb.yaml")
        .is_file());
}
