"""dclm-rs from Python: WARC → text → DCLM's heuristic chain with a Python filter → quality score → BFF dedup.

usage: python dclm_from_python.py [SHARED]   (SHARED: the shared data folder, default ../../../shared)
Build the package first: cd crates/dclm-py && maturin develop --release
"""

import sys
import tempfile
import time
from pathlib import Path

import dclm_rs

shared = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / "shared")
data, assets = shared / "data", shared / "data" / "dclm-assets"

# 1. Extract: WARC records → DCLM-Pool pages (resiliparse-faithful main-content text).
pages = []
for warc in sorted((data / "warc").glob("*.warc.gz")):
    if ".wet" not in warc.name:
        pages += list(dclm_rs.extract_warc(str(warc)))
print(f"extract: {len(pages)} pages")

# 2. DCLM's baseline heuristic chain (step 2, the curated-domain banlist, is a separate DCLM download),
#    with a Python step after language ID.
chain = dclm_rs.Pipeline.from_yaml(
    str(data / "dclm/configs/dclm_baseline_refinedweb.yaml"), assets=str(assets), skip_steps=[2]
)


def no_cookie_walls(page):
    """Drop pages whose text is mostly about cookies; tag the others."""
    if page["text"].lower().count("cookie") > 5:
        return None
    page["checked_by"] = "no_cookie_walls"
    return page


chain.add_python_step("no_cookie_walls", no_cookie_walls, after="8:detect_lang_whole_page_enricher")
t0 = time.perf_counter()
kept, stats = chain.process(pages)
print(f"heuristics: {len(kept)} of {len(pages)} kept in {time.perf_counter() - t0:.2f}s")
for step in stats["steps"]:
    if step["dropped"]:
        print(f"  {step['name']:45} in {step['docs_in']:4}  dropped {dict(step['dropped'])}")

# 3. fastText: DCLM's quality score with a classifier (any fastText model with __label__hq).
model = shared / "conformance/fasttext/bigram.bin"
if model.exists():
    scores = dclm_rs.FastText.load(str(model)).quality_score([p["text"] for p in kept])
    for p, s in zip(kept, scores):
        p["fasttext_quality"] = s
    print(f"quality: mean score {sum(scores) / max(len(scores), 1):.3f}")

# 4. BFF dedup (DCLM's old-both), one filter for every batch.
bff = dclm_rs.Bff(expected_ngrams=1_000_000, fp_rate=0.01)
unique = bff.dedup(kept + kept[:3])  # the repeated pages are removed
print(f"dedup: {len(unique)} of {len(kept) + 3} kept")

# 5. Shards with the CLI's reader and atomic writer (.jsonl, .jsonl.gz, .jsonl.zst): read_jsonl yields Pages
#    batches held in Rust, which process/dedup take and return; pages become dicts only for the Python step.
with tempfile.TemporaryDirectory() as tmp:
    pool, filtered = Path(tmp) / "pool.jsonl.zst", Path(tmp) / "filtered.jsonl.gz"
    dclm_rs.write_jsonl(str(pool), pages)
    batches = dclm_rs.read_jsonl(str(pool), batch_size=10)
    n = dclm_rs.write_jsonl(str(filtered), (chain.process(batch)[0] for batch in batches))
print(f"shards: {len(pages)} pages in {pool.name} → {n} in {filtered.name} (as above: {len(kept)})")

# 6. Errors are dclm_rs.DclmError with the CLI's message (file, line, step).
try:
    dclm_rs.Pipeline.from_yaml(str(data / "dclm/configs/c4.yaml"), assets=str(shared / "nowhere"))
except dclm_rs.DclmError as e:
    print(f"error as expected: {str(e)[:120]}…")
