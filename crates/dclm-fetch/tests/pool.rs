//! Competition pools against a loopback server answering like GitHub (the pinned pool list) and like the Common
//! Crawl bucket (the DCLM-Pool shards): the list verified then read, a seeded sample, resume after a cut, backoff
//! on 429/503, and a wrong list checksum or a corrupt shard leaving no file.

use crate::server;

use dclm_fetch::assets::{parse_registry, registry, Mirrors};
use dclm_fetch::cc::{sample_paths, CcOutcome};
use dclm_fetch::http::{part_path, sha256_file, DownloadConfig};
use dclm_fetch::pool::{fetch_pool_from, pool_list_asset, PoolConfig, PoolKind};
use flate2::write::GzEncoder;
use server::{Behavior, Server};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

const LIST_URL: &str = "https://raw.githubusercontent.com/mlfoundations/dclm/361714bdd60bb9b7f4b2d8354cebbf0dec0c329e/data/competition_pools/preextracted/400m-1x.txt";

fn fast() -> DownloadConfig {
    DownloadConfig {
        max_retries: 5,
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        concurrency: 2,
        ..Default::default()
    }
}

fn jsonl_gz(i: usize) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for j in 0..200 {
        writeln!(
            e,
            "{{\"text\":\"page {i}/{j} {}\",\"url\":\"http://x/{j}\"}}",
            "word ".repeat(20)
        )
        .unwrap();
    }
    e.finish().unwrap()
}

/// Five DCLM-Pool shard keys, their gzip bodies on the server, and the list file text.
fn pool(srv: &Server) -> (Vec<String>, String) {
    let keys: Vec<String> = (0..5)
        .map(|i| format!("contrib/datacomp/DCLM-pool/crawl=CC-MAIN-2013-20/13686963821{i}/CC-MAIN-2013-{i}.jsonl.gz"))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        srv.add(k, jsonl_gz(i));
    }
    let list: String = keys.iter().map(|k| format!("s3://commoncrawl/{k}\n")).collect();
    (keys, list)
}

fn sha(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(&p, data).unwrap();
    sha256_file(&p).unwrap().0
}

fn config(srv: &Server, assets: &Path, out: &Path) -> PoolConfig {
    let mut cfg = PoolConfig::new("400M-1x", assets, out);
    cfg.base_url = srv.base.clone();
    cfg.assets.download = fast();
    cfg.assets.mirrors = Mirrors::parse(&[format!("{LIST_URL}={}", srv.url("list.txt"))]).unwrap();
    cfg
}

#[test]
fn the_embedded_registry_pins_the_400m_lists_only() {
    let reg = registry();
    for kind in [PoolKind::Preextracted, PoolKind::RawWarcs] {
        let a = pool_list_asset(reg, "400m-1x", kind).unwrap();
        assert!(a.sha256.is_some(), "{} is pinned", a.dest);
    }
    let err = pool_list_asset(reg, "7B-2x", PoolKind::Preextracted)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not pinned") && err.contains("400M-1x") && err.contains("--list"),
        "{err}"
    );
    let err = pool_list_asset(reg, "2B-1x", PoolKind::Preextracted)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown scale"), "{err}");
}

#[test]
fn a_seeded_sample_of_the_pool_with_resume_and_backoff() {
    let srv = Server::start();
    let (keys, list) = pool(&srv);
    srv.add("list.txt", list.clone());
    let reg = parse_registry(
        &format!(
            "competition-pools\tdata/competition_pools/preextracted/400m-1x.txt\t{LIST_URL}\t{}\t={}\n",
            sha(list.as_bytes()),
            list.len()
        ),
        Path::new("test.tsv"),
    )
    .unwrap();
    let want = sample_paths(&keys, 3, 7);
    srv.script(&want[0], [Behavior::Status(429, Some(0)), Behavior::Status(503, None)]);
    srv.script(&want[1], [Behavior::CutAfter(500)]);
    let (assets, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut cfg = config(&srv, assets.path(), out.path());
    cfg.shards = Some(3);
    cfg.seed = 7;
    let r = fetch_pool_from(&reg, &cfg).unwrap();
    assert_eq!(r.listed, 5);
    assert_eq!(
        r.list,
        assets.path().join("data/competition_pools/preextracted/400m-1x.txt")
    );
    let names: Vec<String> =
        r.cc.files
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
    let want_names: Vec<String> = want.iter().map(|k| k.rsplit('/').next().unwrap().to_string()).collect();
    assert_eq!(names, want_names);
    for (k, (p, _)) in want.iter().zip(&r.cc.files) {
        let i: usize = k
            .rsplit('-')
            .next()
            .unwrap()
            .trim_end_matches(".jsonl.gz")
            .parse()
            .unwrap();
        assert_eq!(std::fs::read(p).unwrap(), jsonl_gz(i));
    }
    assert_eq!(srv.requests_to(&want[0]).len(), 3);
    let cut = srv.requests_to(&want[1]);
    assert_eq!(cut.len(), 2);
    assert_eq!(cut[1].range.as_deref(), Some("bytes=500-"));
    // A rerun reuses the verified list and the shards.
    let before = srv.log().len();
    let again = fetch_pool_from(&reg, &cfg).unwrap();
    assert!(again.cc.files.iter().all(|(_, o)| *o == CcOutcome::AlreadyPresent));
    assert_eq!(srv.log().len(), before);
}

#[test]
fn a_wrong_list_checksum_or_a_corrupt_shard_leaves_no_file() {
    let srv = Server::start();
    let (keys, list) = pool(&srv);
    srv.add("list.txt", list.replace("2013-1.", "2013-9."));
    let reg = parse_registry(
        &format!(
            "competition-pools\tdata/competition_pools/preextracted/400m-1x.txt\t{LIST_URL}\t{}\t={}\n",
            sha(list.as_bytes()),
            list.len()
        ),
        Path::new("test.tsv"),
    )
    .unwrap();
    let (assets, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = config(&srv, assets.path(), out.path());
    let err = fetch_pool_from(&reg, &cfg).unwrap_err().to_string();
    assert!(err.contains("sha256 mismatch"), "{err}");
    let list_path = assets.path().join("data/competition_pools/preextracted/400m-1x.txt");
    assert!(!list_path.exists() && !part_path(&list_path).exists());
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "no shard fetched");

    // The right list, but one shard is not gzip: that one fails and leaves nothing, the others land.
    srv.add("list.txt", list.clone());
    srv.add(&keys[2], b"<html>error</html>".to_vec());
    let err = fetch_pool_from(&reg, &cfg).unwrap_err().to_string();
    assert!(err.contains("1 of 5") && err.contains("content check failed"), "{err}");
    let bad = out.path().join(keys[2].rsplit('/').next().unwrap());
    assert!(!bad.exists() && !part_path(&bad).exists());
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 4);
}
