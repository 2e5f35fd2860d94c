"""Bff against DCLM's BFF on the shared dedup corpus; MinHash signatures."""

import pytest

import dclm_rs
from conftest import need_shared, read_jsonl


def test_bff_equals_dclm_bff():
    d = need_shared("conformance/dedup")
    docs = [doc for part in sorted((d / "input").glob("part-*.jsonl")) for doc in read_jsonl(part)]
    want = read_jsonl(d / "bff_output.jsonl")
    # The reference run's settings (conformance/dedup/README.md), in batches: one filter across calls.
    bff = dclm_rs.Bff(expected_ngrams=2_700_000, fp_rate=0.01, threads=2)
    kept = []
    for i in range(0, len(docs), 500):
        kept += bff.dedup(docs[i : i + 500])
    assert len(kept) == len(want) == 1750
    assert kept == want


def test_bff_annotate_and_errors():
    d = need_shared("conformance/dedup")
    docs = [doc for part in sorted((d / "input").glob("part-*.jsonl")) for doc in read_jsonl(part)]
    want = read_jsonl(d / "bff_annotate_output.jsonl")
    kept = dclm_rs.Bff(expected_ngrams=2_700_000, annotate=True).dedup(docs)
    assert kept == want
    with pytest.raises(dclm_rs.DclmError, match=r"docs\[0\]: missing_text"):
        dclm_rs.Bff(expected_ngrams=1000).dedup([{"id": "x"}])
    with pytest.raises(dclm_rs.DclmError, match="mode"):
        dclm_rs.Bff(expected_ngrams=1000, mode="sideways")


def test_minhash_signatures():
    m = dclm_rs.MinHash()
    a = "the quick brown fox jumps over the lazy dog " * 5
    b = a.replace("lazy", "sleepy", 1)
    sa, sb, sc = m.signatures([a, b, "something else entirely, nothing shared"])
    assert len(sa) == 93 * 15
    assert dclm_rs.MinHash.jaccard(sa, sa) == 1.0
    assert dclm_rs.MinHash.jaccard(sa, sb) > 0.74 > dclm_rs.MinHash.jaccard(sa, sc)
    assert len(m.band_keys(sa)) == 93
    assert m.signatures([a]) == [sa]
    five = dclm_rs.MinHash(preset="minhash-rs-5gram", bands=4, rows=2)
    assert len(five.signatures([a])[0]) == 8
    with pytest.raises(dclm_rs.DclmError, match="preset"):
        dclm_rs.MinHash(preset="nope")
    with pytest.raises(dclm_rs.DclmError):
        dclm_rs.MinHash(rows=0)
