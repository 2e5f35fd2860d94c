//! Hugging Face Hub datasets against two loopback servers, one answering like the Hub (revision API, `resolve/`
//! URLs that redirect large files) and one like its CDN: listing with globs, a pinned revision, resume after a
//! cut through the redirect, 429/5xx backoff, the token sent to the Hub host only, a wrong checksum leaving no
//! file, and `HF_ENDPOINT`/`HF_TOKEN` from the environment.

use crate::server;

use dclm_fetch::http::{part_path, sha256_file, DownloadConfig};
use dclm_fetch::hub::{fetch, list, HubConfig, HubOutcome, HubUrl};
use dclm_fetch::FetchError;
use server::{Behavior, Server};
use std::time::Duration;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

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

fn sha(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(&p, data).unwrap();
    sha256_file(&p).unwrap().0
}

struct Hub {
    hub: Server,
    cdn: Server,
    small: Vec<u8>,
    big: Vec<u8>,
}

/// A dataset `o/n` at [`COMMIT`]: `data/a.jsonl` (plain git file, served by the Hub), `data/b.parquet` (LFS,
/// redirected to the CDN, sha256 listed), `data/sub/c.parquet` and `README.md`. `big_sha` is what the listing
/// claims for `b.parquet`.
fn hub(revision: &str, big_sha: Option<String>) -> Hub {
    let (hub, cdn) = (Server::start(), Server::start());
    let small = b"{\"text\":\"a\"}\n".to_vec();
    let big: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let big_sha = big_sha.unwrap_or_else(|| sha(&big));
    let info = serde_json::json!({
        "id": "o/n", "sha": COMMIT,
        "siblings": [
            {"rfilename": "README.md", "size": 5},
            {"rfilename": "data/a.jsonl", "size": small.len()},
            {"rfilename": "data/b.parquet", "size": big.len(), "lfs": {"sha256": big_sha, "size": big.len(), "pointerSize": 132}},
            {"rfilename": "data/sub/c.parquet", "size": 3, "lfs": {"sha256": sha(b"ccc"), "size": 3}},
        ]
    });
    hub.add(
        &format!("api/datasets/o/n/revision/{revision}?blobs=true"),
        info.to_string(),
    );
    hub.add(&format!("datasets/o/n/resolve/{COMMIT}/README.md"), b"hello".to_vec());
    hub.add(&format!("datasets/o/n/resolve/{COMMIT}/data/a.jsonl"), small.clone());
    cdn.add("blobs/b", big.clone());
    cdn.add("blobs/c", b"ccc".to_vec());
    // Every request for an LFS file is redirected, as the Hub does.
    hub.script(
        &format!("datasets/o/n/resolve/{COMMIT}/data/b.parquet"),
        (0..8).map(|_| Behavior::Redirect(cdn.url("blobs/b"))),
    );
    hub.script(
        &format!("datasets/o/n/resolve/{COMMIT}/data/sub/c.parquet"),
        (0..8).map(|_| Behavior::Redirect(cdn.url("blobs/c"))),
    );
    Hub { hub, cdn, small, big }
}

fn config(h: &Hub) -> HubConfig {
    HubConfig {
        endpoint: h.hub.base.trim_end_matches('/').to_string(),
        token: Some("hf_secret".into()),
        download: fast(),
    }
}

#[test]
fn lists_at_a_commit_with_globs() {
    let h = hub("main", None);
    let cfg = config(&h);
    let dl = cfg.downloader();
    let l = list(&dl, &cfg, &HubUrl::parse("hf://datasets/o/n/data/*.parquet").unwrap()).unwrap();
    assert_eq!(l.commit, COMMIT);
    let paths: Vec<&str> = l.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["data/b.parquet"]);
    assert_eq!(l.files[0].size, Some(h.big.len() as u64));
    assert_eq!(l.files[0].sha256.as_deref(), Some(sha(&h.big).as_str()));
    let l = list(
        &dl,
        &cfg,
        &HubUrl::parse("hf://datasets/o/n/data/**/*.parquet").unwrap(),
    )
    .unwrap();
    assert_eq!(l.files.len(), 2);
    let l = list(&dl, &cfg, &HubUrl::parse("hf://datasets/o/n/data").unwrap()).unwrap();
    assert_eq!(l.files.len(), 3);
    let err = list(&dl, &cfg, &HubUrl::parse("hf://datasets/o/n/nothing/*").unwrap()).unwrap_err();
    assert!(err.to_string().contains("no file"), "{err}");
    // An unknown dataset names the URL and suggests a token.
    let err = list(&dl, &cfg, &HubUrl::parse("hf://datasets/o/missing").unwrap()).unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 404, .. }), "{err}");
    assert!(err.to_string().contains("HF_TOKEN"), "{err}");
}

#[test]
fn a_pinned_commit_is_checked() {
    let h = hub(COMMIT, None);
    let cfg = config(&h);
    let dl = cfg.downloader();
    let l = list(
        &dl,
        &cfg,
        &HubUrl::parse(&format!("hf://datasets/o/n@{COMMIT}/data/a.jsonl")).unwrap(),
    )
    .unwrap();
    assert_eq!(l.files.len(), 1);
    // The Hub answering for another commit than the one asked for is refused.
    let other = "f".repeat(40);
    h.hub.add(
        &format!("api/datasets/o/n/revision/{other}?blobs=true"),
        serde_json::json!({"sha": COMMIT, "siblings": []}).to_string(),
    );
    let err = list(
        &dl,
        &cfg,
        &HubUrl::parse(&format!("hf://datasets/o/n@{other}")).unwrap(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("asked for commit"), "{err}");
    // A revision with a slash is escaped into one path segment.
    h.hub.add(
        "api/datasets/o/n/revision/refs%2Fconvert%2Fparquet?blobs=true",
        serde_json::json!({"sha": COMMIT, "siblings": [{"rfilename": "default/train/0000.parquet", "size": 1}]})
            .to_string(),
    );
    let l = list(
        &dl,
        &cfg,
        &HubUrl::parse("hf://datasets/o/n@refs%2Fconvert%2Fparquet/default/train/*.parquet").unwrap(),
    )
    .unwrap();
    assert_eq!(l.files[0].path, "default/train/0000.parquet");
}

#[test]
fn fetch_resumes_through_redirects_retries_and_keeps_the_token_on_the_hub() {
    let h = hub("main", None);
    let cfg = config(&h);
    // The listing is throttled twice, the CDN cuts the first transfer half way.
    h.hub.script(
        "api/datasets/o/n/revision/main?blobs=true",
        [Behavior::Status(503, None), Behavior::Status(429, Some(0))],
    );
    h.cdn.script("blobs/b", [Behavior::CutAfter(20_000)]);
    let out = tempfile::tempdir().unwrap();
    let r = fetch(&cfg, &HubUrl::parse("hf://datasets/o/n/data/**").unwrap(), out.path()).unwrap();
    assert_eq!(r.commit, COMMIT);
    assert_eq!(r.files.len(), 3);
    assert_eq!(std::fs::read(out.path().join("data/a.jsonl")).unwrap(), h.small);
    assert_eq!(std::fs::read(out.path().join("data/b.parquet")).unwrap(), h.big);
    assert_eq!(std::fs::read(out.path().join("data/sub/c.parquet")).unwrap(), b"ccc");
    assert_eq!(h.hub.requests_to("api/datasets/o/n/revision/main?blobs=true").len(), 3);
    let cdn_b = h.cdn.requests_to("blobs/b");
    assert_eq!(cdn_b.len(), 2, "{cdn_b:?}");
    assert_eq!(cdn_b[1].range.as_deref(), Some("bytes=20000-"));
    let b = r.files.iter().find(|(p, _)| p.ends_with("b.parquet")).unwrap();
    assert!(
        matches!(&b.1, HubOutcome::Fetched(d) if d.resumed_from == 0 && d.requests == 2),
        "{b:?}"
    );
    // The token went to every Hub request and to no CDN request.
    assert!(h
        .hub
        .log()
        .iter()
        .all(|l| l.authorization.as_deref() == Some("Bearer hf_secret")));
    assert!(!h.cdn.log().is_empty() && h.cdn.log().iter().all(|l| l.authorization.is_none()));
    // A second fetch finds everything present and downloads nothing.
    let before = h.cdn.log().len();
    let again = fetch(&cfg, &HubUrl::parse("hf://datasets/o/n/data/**").unwrap(), out.path()).unwrap();
    assert!(again.files.iter().all(|(_, o)| *o == HubOutcome::AlreadyPresent));
    assert_eq!(h.cdn.log().len(), before);
}

#[test]
fn a_wrong_checksum_leaves_no_file() {
    let h = hub("main", Some("0".repeat(64)));
    let cfg = config(&h);
    let out = tempfile::tempdir().unwrap();
    let err = fetch(&cfg, &HubUrl::parse("hf://datasets/o/n/data/*").unwrap(), out.path()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("1 of 2") && msg.contains("sha256 mismatch"), "{msg}");
    let dest = out.path().join("data/b.parquet");
    assert!(!dest.exists() && !part_path(&dest).exists());
    assert!(
        out.path().join("data/a.jsonl").is_file(),
        "the other file is still fetched"
    );
}

#[test]
fn endpoint_and_token_come_from_the_environment() {
    let h = hub("main", None);
    // Only this test touches these variables.
    std::env::set_var("HF_ENDPOINT", h.hub.base.trim_end_matches('/'));
    std::env::set_var("HF_TOKEN", "hf_from_env");
    let mut cfg = HubConfig::from_env();
    std::env::remove_var("HF_ENDPOINT");
    std::env::remove_var("HF_TOKEN");
    assert_eq!(cfg.endpoint, h.hub.base.trim_end_matches('/'));
    assert_eq!(cfg.token.as_deref(), Some("hf_from_env"));
    assert!(
        !format!("{:?}", cfg.downloader().config()).contains("hf_from_env"),
        "the token is never printed"
    );
    cfg.download = fast();
    let out = tempfile::tempdir().unwrap();
    fetch(&cfg, &HubUrl::parse("hf://datasets/o/n/README.md").unwrap(), out.path()).unwrap();
    assert_eq!(std::fs::read(out.path().join("README.md")).unwrap(), b"hello");
    assert!(h
        .hub
        .log()
        .iter()
        .all(|l| l.authorization.as_deref() == Some("Bearer hf_from_env")));
}
