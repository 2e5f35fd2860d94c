"""Reference MinHash signature throughput: datatrove's MinhashDedupSignature (stage 1 of its MinHash dedup), one core.

usage: python minhash_datatrove.py DOCS.jsonl[.gz] OUT_DIR [--ngrams 5 --buckets 93 --hashes-per-bucket 15]
(field "text"). The defaults match `dclm dedup --method minhash --minhash-preset minhash-rs-5gram --phase map`:
5-word shingles, 93 bands x 15 rows = 1,395 hashes per document. Writes datatrove's signature files under OUT_DIR
and prints docs, seconds and docs/s of the signature pass on one line (a measuring tool, never a runtime dependency
of dclm-rs; `dclm bench` runs it).
"""
import argparse, gzip, json, time

from datatrove.data import Document
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

ap = argparse.ArgumentParser()
ap.add_argument("docs")
ap.add_argument("out")
ap.add_argument("--ngrams", type=int, default=5)
ap.add_argument("--buckets", type=int, default=93)
ap.add_argument("--hashes-per-bucket", type=int, default=15)
a = ap.parse_args()
op = gzip.open if a.docs.endswith(".gz") else open
docs = [Document(text=json.loads(l)["text"], id=str(i)) for i, l in enumerate(op(a.docs, "rt"))]
cfg = MinhashConfig(n_grams=a.ngrams, num_buckets=a.buckets, hashes_per_bucket=a.hashes_per_bucket)
sig = MinhashDedupSignature(output_folder=a.out, config=cfg)
t0 = time.perf_counter()
sig.run(iter(docs), rank=0, world_size=1)
dt = time.perf_counter() - t0
print(f"docs={len(docs)} hashes={cfg.num_buckets * cfg.hashes_per_bucket} seconds={dt:.3f} docs_per_s={len(docs)/dt:.0f}")
