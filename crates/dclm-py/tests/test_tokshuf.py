"""tokenize_shuffle on the shared tokenize set with the GPT-NeoX tokenizer (ids of HF tokenizers)."""

import pytest

import dclm_rs
from conftest import need_shared, read_jsonl


def test_tokenize_shuffle_counts_and_determinism(tmp_path):
    data = need_shared("conformance/tokenize/tokenize.jsonl")
    tok = need_shared("data/tokenizers/gpt-neox-20b.tokenizer.json")
    rows = read_jsonl(data)
    a = dclm_rs.tokenize_shuffle([str(data)], str(tmp_path / "a"), str(tok), seqlen=129, wds_chunk_size=64)
    assert a["docs"] == len(rows)
    # DCLM appends the end-of-text id (0) after every document.
    assert a["doc_tokens"] == sum(len(r["ids"]) + 1 for r in rows)
    assert a["contexts"] * 129 == a["doc_tokens"] + a["pad_tokens"]
    assert (tmp_path / "a" / "manifest.jsonl").is_file() and a["shards"] >= 2
    b = dclm_rs.tokenize_shuffle([str(data)], str(tmp_path / "b"), str(tok), seqlen=129, wds_chunk_size=64, threads=1)
    for shard in sorted((tmp_path / "a").glob("shard_*.tar")):
        assert shard.read_bytes() == (tmp_path / "b" / shard.name).read_bytes()
    with pytest.raises(dclm_rs.DclmError, match="tokshuf"):
        dclm_rs.tokenize_shuffle([str(data)], str(tmp_path / "c"), str(tok), seqlen=0)
