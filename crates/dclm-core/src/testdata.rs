//! Locating `../shared` (real data and conformance outputs) for tests and benchmarks, with a clear
//! skip message when it is absent.

use std::path::PathBuf;

/// The `shared/` folder beside the checkout: `$DCLM_SHARED` if set, else the first `shared/` found
/// walking up from the current directory and from this crate's manifest folder.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DCLM_SHARED") {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    let starts = [
        std::env::current_dir().ok(),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let cand = dir.join("shared");
            if cand.join("data").is_dir() || cand.join("conformance").is_dir() {
                return Some(cand);
            }
        }
    }
    None
}

/// `shared/<rel>` if it exists; otherwise prints `SKIP <test>: ../shared/<rel> is absent` to stderr
/// and returns `None`, so a test can `let Some(p) = shared("…", "test") else { return };`.
pub fn shared(rel: &str, test: &str) -> Option<PathBuf> {
    match shared_dir().map(|d| d.join(rel)) {
        Some(p) if p.exists() => Some(p),
        _ => {
            eprintln!("SKIP {test}: ../shared/{rel} is absent (set DCLM_SHARED to the shared folder to run it)");
            None
        }
    }
}
