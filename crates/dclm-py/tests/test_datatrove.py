"""dclm_rs.datatrove.DclmChain: the DCLM chain as a datatrove step gives the Pipeline's result."""

import pytest

pytest.importorskip("datatrove", reason="SKIP: datatrove is not installed (pip install datatrove==0.4.0)")

from datatrove.data import Document  # noqa: E402

import dclm_rs  # noqa: E402
from dclm_rs.datatrove import DclmChain  # noqa: E402


def test_dclm_chain_equals_pipeline(heuristics):
    rows, config, assets = heuristics
    # The pages' keys as metadata (one synthetic page's WARC metadata lacks the URI on purpose).
    docs = [
        Document(text=r["input"]["text"], id=r["id"], metadata={k: v for k, v in r["input"].items() if k != "text"})
        for r in rows
    ]
    step = DclmChain(config=str(config), assets=str(assets), skip_steps=[2], batch_size=100)
    out = list(step.run(iter(docs)))
    p = dclm_rs.Pipeline.from_yaml(str(config), assets=str(assets), skip_steps=[2])
    kept, _ = p.process([{**r["input"], "id": r["id"]} for r in rows])
    assert [d.id for d in out] == [k["id"] for k in kept]
    assert [d.text for d in out] == [k["text"] for k in kept]
    assert all("language_id_whole_page_fasttext" in d.metadata and "url" in d.metadata for d in out)
    assert step.stats["total"].total == len(rows)
    assert step.stats["forwarded"].total == len(out)
    assert step.stats["dropped"].total == len(rows) - len(out)


def test_dclm_chain_bad_config(tmp_path):
    with pytest.raises(dclm_rs.DclmError, match="missing.yaml"):
        DclmChain(config=str(tmp_path / "missing.yaml"))


def test_url_only_documents_get_the_warc_uri_dclm_reads(heuristics):
    rows, config, assets = heuristics
    docs = [Document(text=r["input"]["text"], id=r["id"], metadata={"url": r["input"]["url"]}) for r in rows[:50]]
    out = list(DclmChain(config=str(config), assets=str(assets), skip_steps=[2]).run(iter(docs)))
    assert len(out) == sum(r["kept"] for r in rows[:50])
    assert all("metadata" not in d.metadata for d in out), "the WARC dict added for DCLM is removed again"
