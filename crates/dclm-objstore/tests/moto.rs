//! The object-store client against a real S3-compatible server (moto) on loopback: round trips, a large
//! object streamed both ways (multipart upload), retries with backoff behind a throttling proxy, and clear
//! errors for missing buckets and keys. Skips with a message when no moto server is installed.

use dclm_objstore::testing::{MotoServer, ThrottleProxy};
use dclm_objstore::{ObjStoreError, ObjectUrl, Store, MIN_PART_SIZE};
use std::io::Read;
use std::time::Duration;

fn url(s: &str) -> ObjectUrl {
    ObjectUrl::parse(s).unwrap()
}

/// Deterministic pseudo-random bytes (xorshift), so a large object is not trivially compressible or periodic.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn round_trip_list_exists_delete() {
    let Some(moto) = MotoServer::start("round_trip_list_exists_delete") else {
        return;
    };
    moto.create_bucket("round-trip");
    let store = Store::new("round-trip", moto.options(None)).unwrap();
    let a = url("s3://round-trip/data/a.jsonl");
    let b = url("s3://round-trip/data/sub/b.jsonl.gz");
    let other = url("s3://round-trip/database/c.jsonl");
    store.put_bytes(&b, b"bbb".to_vec()).unwrap();
    store.put_bytes(&a, b"{\"text\":\"a\"}\n".to_vec()).unwrap();
    store.put_bytes(&other, b"c".to_vec()).unwrap();

    assert_eq!(store.get_bytes(&a).unwrap(), b"{\"text\":\"a\"}\n");
    assert!(store.exists(&b).unwrap());
    assert_eq!(store.head(&b).unwrap(), Some(3));
    assert!(!store.exists(&url("s3://round-trip/data/none")).unwrap());

    // A prefix lists as a folder: `data` does not match `database/…`; results are sorted with sizes.
    let listed = store.list(&url("s3://round-trip/data")).unwrap();
    let keys: Vec<(&str, u64)> = listed.iter().map(|o| (o.key.as_str(), o.size)).collect();
    assert_eq!(keys, vec![("data/a.jsonl", 13), ("data/sub/b.jsonl.gz", 3)]);
    assert_eq!(store.list(&url("s3://round-trip/")).unwrap().len(), 3);

    store.delete(&a).unwrap();
    assert!(!store.exists(&a).unwrap());
    store.delete(&a).unwrap(); // deleting a missing object is not an error
    assert_eq!(store.list(&url("s3://round-trip/data/")).unwrap().len(), 1);

    // The store refuses URLs of another bucket.
    let e = store.get_bytes(&url("s3://elsewhere/k")).unwrap_err();
    assert!(e.to_string().contains("s3://elsewhere/k"), "{e}");
}

#[test]
fn large_object_multipart_upload_and_streamed_read() {
    let Some(moto) = MotoServer::start("large_object_multipart_upload_and_streamed_read") else {
        return;
    };
    moto.create_bucket("big");
    let proxy = ThrottleProxy::start(moto.port());
    let mut opts = moto.options(Some(proxy.endpoint()));
    opts.part_size = MIN_PART_SIZE;
    opts.read_ahead_chunks = 2;
    let store = Store::new("big", opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let data = bytes(3 * MIN_PART_SIZE + 12345, 7);
    std::fs::write(&src, &data).unwrap();
    let u = url("s3://big/shards/large.bin");

    assert_eq!(store.upload_from(&src, &u).unwrap(), data.len() as u64);
    let seen = proxy.seen();
    let parts = seen
        .iter()
        .filter(|r| r.line.starts_with("PUT ") && r.line.contains("partNumber="))
        .count();
    assert_eq!(parts, 4, "3 full parts and a short last one: {seen:#?}");
    assert!(
        seen.iter()
            .any(|r| r.line.starts_with("POST ") && r.line.contains("uploads")),
        "multipart started"
    );
    assert_eq!(store.head(&u).unwrap(), Some(data.len() as u64));

    // Streamed read in small pieces equals the file.
    let mut r = store.open_read(&u).unwrap();
    assert_eq!(r.size(), data.len() as u64);
    let mut got = Vec::with_capacity(data.len());
    let mut buf = [0u8; 777];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == data, "streamed bytes differ");

    // A reader dropped early does not hang or fail anything.
    let mut r = store.open_read(&u).unwrap();
    let mut first = vec![0u8; 1000];
    r.read_exact(&mut first).unwrap();
    assert_eq!(first, data[..1000]);
    drop(r);

    // Download streams to `.part` and renames.
    let dest = dir.path().join("nested/copy.bin");
    assert_eq!(store.download_to(&u, &dest).unwrap(), data.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == data);
    assert!(!dir.path().join("nested/copy.bin.part").exists());

    // A small file is one PUT.
    let small = dir.path().join("small.txt");
    std::fs::write(&small, b"hello").unwrap();
    proxy.clear();
    store.upload_from(&small, &url("s3://big/small.txt")).unwrap();
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(seen[0].line.starts_with("PUT /big/small.txt"), "{seen:#?}");
}

#[test]
fn throttled_requests_are_retried_with_backoff() {
    let Some(moto) = MotoServer::start("throttled_requests_are_retried_with_backoff") else {
        return;
    };
    moto.create_bucket("thr");
    let proxy = ThrottleProxy::start(moto.port());
    let mut opts = moto.options(Some(proxy.endpoint()));
    opts.retry.max_retries = 6;
    opts.retry.init_backoff = Duration::from_millis(40);
    opts.retry.base = 3.0;
    let init = opts.retry.init_backoff;
    let store = Store::new("thr", opts).unwrap();
    let u = url("s3://thr/k.jsonl");

    // Four `503 SlowDown` answers, then the PUT goes through.
    proxy.throttle_next(4);
    store.put_bytes(&u, b"payload".to_vec()).unwrap();
    let seen = proxy.seen();
    assert_eq!(seen.len(), 5, "{seen:#?}");
    assert_eq!(seen.iter().filter(|r| r.throttled).count(), 4);
    assert!(seen.iter().all(|r| r.line.starts_with("PUT /thr/k.jsonl")), "{seen:#?}");
    // Every retry waited at least the first backoff (the client sleeps before each retry; later waits are drawn
    // between the first wait and `base` times the previous one).
    let gaps: Vec<Duration> = seen.windows(2).map(|w| w[1].at - w[0].at).collect();
    eprintln!("gaps between attempts: {gaps:?}");
    for g in &gaps {
        assert!(
            *g >= init,
            "a retry came after {g:?}, before the backoff of {init:?}: {gaps:?}"
        );
    }
    assert_eq!(store.get_bytes(&u).unwrap(), b"payload");

    // GETs and LISTs are retried the same way.
    proxy.clear();
    proxy.throttle_next(2);
    assert_eq!(store.get_bytes(&u).unwrap(), b"payload");
    assert_eq!(proxy.seen().len(), 3);
    proxy.throttle_next(2);
    assert_eq!(store.list(&url("s3://thr/")).unwrap().len(), 1);

    // More throttling than the retry budget: a clear error naming the URL and the status.
    proxy.clear();
    proxy.throttle_next(100);
    let e = store.get_bytes(&u).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("s3://thr/k.jsonl"), "{msg}");
    assert!(msg.contains("503"), "{msg}");
    assert_eq!(proxy.seen().len(), 7, "first attempt plus 6 retries");
    proxy.throttle_next(0);
}

#[test]
fn missing_bucket_and_key_are_clear_errors() {
    let Some(moto) = MotoServer::start("missing_bucket_and_key_are_clear_errors") else {
        return;
    };
    moto.create_bucket("here");
    let store = Store::new("here", moto.options(None)).unwrap();
    let missing = url("s3://here/no/such.jsonl.gz");
    let e = store.get_bytes(&missing).unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains("s3://here/no/such.jsonl.gz"), "{e}");
    let e = store.open_read(&missing).unwrap_err();
    assert!(e.to_string().contains("s3://here/no/such.jsonl.gz"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = store.download_to(&missing, &dir.path().join("x")).unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(!dir.path().join("x").exists() && !dir.path().join("x.part").exists());

    let nobucket = Store::new("absent-bucket", moto.options(None)).unwrap();
    let u = url("s3://absent-bucket/k");
    let e = nobucket.get_bytes(&u).unwrap_err();
    assert!(e.to_string().contains("s3://absent-bucket/k"), "{e}");
    let e = nobucket.put_bytes(&u, b"x".to_vec()).unwrap_err();
    assert!(e.to_string().contains("s3://absent-bucket/k"), "{e}");
    let e = nobucket.list(&url("s3://absent-bucket/")).unwrap_err();
    assert!(e.to_string().contains("s3://absent-bucket/"), "{e}");
    assert!(!matches!(e, ObjStoreError::BadUrl { .. }));

    // Uploading a missing local file names the file.
    let e = store
        .upload_from(&dir.path().join("nope.bin"), &url("s3://here/k"))
        .unwrap_err();
    assert!(e.to_string().contains("nope.bin"), "{e}");
}
