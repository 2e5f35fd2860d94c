"""Throughput of dclm_rs from Python, one process per measurement (run pinned: taskset -c 1 python bench.py …).

usage:
  python bench.py pipeline PAGES.jsonl CONFIG ASSETS OUT.jsonl [dicts|pages|both]
      # the chain (skip step 2) in batches of 1,000, shard to shard: through dicts (json) or Pages (read_jsonl,
      # write_jsonl); default both, one after the other
  python bench.py datatrove DOCS.jsonl CONFIG ASSETS             # DclmChain on datatrove Documents
Prints one line of figures per measurement. PAGES.jsonl: DCLM pages (text, url, metadata.WARC-Target-URI);
DOCS.jsonl: any JSONL with "text" (the bench README's docs.jsonl), given a url per document as datatrove readers do.
"""

import json
import sys
import time

import dclm_rs


def pipeline(pages_path, config, assets, out_path, path="both"):
    """The whole chain in batches of 1,000, from the shard to the output shard: ``dicts`` (json.loads → list of
    dicts → ``Pipeline.process`` → json.dumps), ``pages`` (``read_jsonl`` → ``Pages`` → ``process`` →
    ``write_jsonl``), or ``both`` one after the other (measure them in separate processes for peak RSS)."""
    paths = {"dicts": pipeline_dicts, "pages": pipeline_pages}
    for name in paths if path == "both" else [path]:
        t0 = time.perf_counter()
        n_in, n_out, inside = paths[name](pages_path, config, assets, out_path)
        total = time.perf_counter() - t0
        print(f"pipeline path={name} docs={n_in} kept={n_out} total_s={total:.3f} process_s={inside:.3f} "
              f"docs_per_s={n_in / total:.0f} process_docs_per_s={n_in / inside:.0f}")


def pipeline_dicts(pages_path, config, assets, out_path):
    p = dclm_rs.Pipeline.from_yaml(config, assets=assets, skip_steps=[2], threads=1)
    with open(pages_path, encoding="utf-8", newline="") as f:
        pages = [json.loads(line) for line in f.read().split("\n") if line.strip()]
    kept, inside = [], 0.0
    for i in range(0, len(pages), 1000):
        t = time.perf_counter()
        k, _ = p.process(pages[i : i + 1000])
        inside += time.perf_counter() - t
        kept += k
    with open(out_path, "w", encoding="utf-8") as f:
        for d in kept:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return len(pages), len(kept), inside


def pipeline_pages(pages_path, config, assets, out_path):
    p = dclm_rs.Pipeline.from_yaml(config, assets=assets, skip_steps=[2], threads=1)
    n_in, inside = 0, 0.0

    def kept_batches():
        nonlocal n_in, inside
        for batch in dclm_rs.read_jsonl(pages_path, batch_size=1000):
            t = time.perf_counter()
            k, _ = p.process(batch)
            inside += time.perf_counter() - t
            n_in += len(batch)
            yield k

    # Streamed: each kept batch is written as it comes; the shard appears under out_path when complete.
    n_out = dclm_rs.write_jsonl(out_path, kept_batches())
    return n_in, n_out, inside


def datatrove(docs_path, config, assets):
    from datatrove.data import Document

    from dclm_rs.datatrove import DclmChain

    with open(docs_path, encoding="utf-8", newline="") as f:
        docs = [Document(text=json.loads(line)["text"], id=str(i), metadata={"url": f"http://example.com/doc-{i}"})
                for i, line in enumerate(f.read().split("\n")) if line.strip()]
    step = DclmChain(config=config, assets=assets, skip_steps=[2], batch_size=1000, threads=1)
    t0 = time.perf_counter()
    kept = sum(1 for _ in step.run(iter(docs)))
    dt = time.perf_counter() - t0
    print(f"datatrove docs={len(docs)} kept={kept} seconds={dt:.3f} docs_per_s={len(docs) / dt:.0f}")


if __name__ == "__main__":
    {"pipeline": pipeline, "datatrove": datatrove}[sys.argv[1]](*sys.argv[2:])
