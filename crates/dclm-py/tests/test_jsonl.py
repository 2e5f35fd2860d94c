"""read_jsonl / write_jsonl / Pages: shards read and written as the dclm CLI does (plain, .gz, .zst), Pages through
Pipeline.process and Bff.dedup equal to the dict path, Python steps fed Pages, bad lines and atomic writes."""

import gzip
import json
import subprocess

import pytest

import dclm_rs
from conftest import dclm_bin, need_shared, read_jsonl

EXTS = ["jsonl", "jsonl.gz", "jsonl.zst"]


def _pipeline(config, assets, **kw):
    return dclm_rs.Pipeline.from_yaml(str(config), assets=str(assets), skip_steps=[2], **kw)


def _counts(stats):
    """What a run decides, per step (times left out)."""
    return [(s["name"], s["docs_in"], s["docs_out"], s["dropped"]) for s in stats["steps"]]


@pytest.mark.parametrize("ext", EXTS)
def test_round_trip_and_chain_equal_the_cli(tmp_path, heuristics, ext):
    rows, config, assets = heuristics
    pages = [r["input"] for r in rows]
    shard = tmp_path / "in" / f"pages.{ext}"
    assert dclm_rs.write_jsonl(str(shard), dclm_rs.Pages.from_dicts(pages)) == len(pages)
    assert not list(shard.parent.glob("*.tmp"))
    # Read back whole and in batches: the same pages, keys in order.
    whole = dclm_rs.read_jsonl(str(shard))
    assert isinstance(whole, dclm_rs.Pages) and len(whole) == len(pages)
    assert whole.to_dicts() == pages
    batches = list(dclm_rs.read_jsonl(str(shard), batch_size=100))
    assert [len(b) for b in batches] == [100] * (len(pages) // 100) + [len(pages) % 100]
    assert [d for b in batches for d in b] == pages

    # The CLI's filter stage on that shard, and the same chain from Python on the Pages read from it.
    cli_out = tmp_path / "cli"
    run = subprocess.run(
        [str(dclm_bin()), "filter", "--config", str(config), "--assets", str(assets), "--skip-step", "2",
         "-i", str(shard), "-o", str(cli_out), "--threads", "1", "--no-progress"],
        capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    p = _pipeline(config, assets, threads=1)
    kept, stats = p.process(dclm_rs.read_jsonl(str(shard)))
    assert isinstance(kept, dclm_rs.Pages)
    py_out = tmp_path / "py" / f"pages.{ext}"
    assert dclm_rs.write_jsonl(str(py_out), kept) == len(kept)
    # Byte for byte the CLI's shard (same writer, same compression settings), and the same step counts.
    assert py_out.read_bytes() == (cli_out / f"pages.{ext}").read_bytes()
    cli_stats = json.loads((cli_out / "stats.json").read_text())
    assert _counts(stats) == _counts(cli_stats)
    assert (stats["docs_in"], stats["docs_out"]) == (cli_stats["docs_in"], cli_stats["docs_out"])
    if ext == "jsonl.gz":
        assert gzip.decompress(py_out.read_bytes()).decode() == "".join(
            json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in kept)
    if ext == "jsonl.zst":
        assert py_out.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame
    assert dclm_rs.read_jsonl(str(py_out)).to_dicts() == kept.to_dicts()


def test_pages_through_process_equal_the_dict_path(heuristics):
    rows, config, assets = heuristics
    pages = [r["input"] for r in rows]
    p = _pipeline(config, assets, threads=2)
    kept_dicts, stats_dicts = p.process(pages)
    batch = dclm_rs.Pages.from_dicts(pages)
    kept, stats = p.process(batch)
    assert isinstance(kept_dicts, list) and isinstance(kept, dclm_rs.Pages)
    assert kept.to_dicts() == kept_dicts
    assert _counts(stats) == _counts(stats_dicts)
    assert (stats["docs_in"], stats["docs_out"]) == (len(pages), len(kept))
    assert batch.to_dicts() == pages  # the Pages given is left as it was
    # In batches, joined with +.
    joined = dclm_rs.Pages.from_dicts([])
    for i in range(0, len(pages), 100):
        joined = joined + p.process(batch[i : i + 100])[0]
    assert joined.to_dicts() == kept_dicts


def test_python_step_in_a_chain_fed_pages(heuristics):
    rows, config, assets = heuristics
    pages = [r["input"] for r in rows]
    p = _pipeline(config, assets)
    types = set()

    def tag(page):
        types.add(type(page))
        if len(page["text"]) % 2:
            return None
        page["py_len"] = len(page["text"])
        return page

    p.add_python_step("tag", tag, after=8)
    kept_dicts, stats_dicts = p.process(pages)
    kept, stats = p.process(dclm_rs.Pages.from_dicts(pages))
    assert types == {dict}
    assert isinstance(kept, dclm_rs.Pages) and kept.to_dicts() == kept_dicts
    assert all("py_len" in d for d in kept)
    step = next(s for s in stats["steps"] if s["name"] == "tag")
    assert step["dropped"]["python_step_dropped"] > 0
    assert _counts(stats) == _counts(stats_dicts)


def test_bff_takes_pages():
    d = need_shared("conformance/dedup")
    parts = sorted((d / "input").glob("part-*.jsonl"))
    want = read_jsonl(d / "bff_output.jsonl")
    bff = dclm_rs.Bff(expected_ngrams=2_700_000, fp_rate=0.01, threads=2)
    kept = [doc for part in parts for batch in dclm_rs.read_jsonl(str(part), batch_size=500)
            for doc in bff.dedup(batch)]
    assert kept == want
    with pytest.raises(dclm_rs.DclmError, match=r"docs\[1\]: missing_text"):
        dclm_rs.Bff(expected_ngrams=1000).dedup(dclm_rs.Pages.from_dicts([{"text": "a"}, {"id": "x"}]))
    assert isinstance(dclm_rs.Bff(expected_ngrams=1000).dedup(dclm_rs.Pages.from_dicts([{"text": "a"}])),
                      dclm_rs.Pages)


def test_bad_lines_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "one"}\n\n{"text": "two", oops}\n[1, 2]\n{"text": "three"}\n')
    with pytest.raises(dclm_rs.DclmError, match=r"bad\.jsonl:3: invalid_json"):
        dclm_rs.read_jsonl(str(bad))
    batches = dclm_rs.read_jsonl(str(bad), batch_size=1)
    assert next(batches).to_dicts() == [{"text": "one"}]
    with pytest.raises(dclm_rs.DclmError, match=r"bad\.jsonl:3: invalid_json"):
        next(batches)
    # Skipped on request, as the CLI counts and skips them.
    assert dclm_rs.read_jsonl(str(bad), errors="skip").to_dicts() == [{"text": "one"}, {"text": "three"}]
    listed = tmp_path / "listed.jsonl"
    listed.write_text('{"text": "one"}\n[1, 2]\n')
    with pytest.raises(dclm_rs.DclmError, match=r"listed\.jsonl:2: not_an_object"):
        dclm_rs.read_jsonl(str(listed))
    # DCLM's page model: a page without a string text is read (the filter steps drop it, counted).
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"url": "u"}\n{"text": ["a", "b"]}\n')
    assert dclm_rs.read_jsonl(str(odd)).to_dicts() == [{"url": "u"}, {"text": ["a", "b"]}]
    # A truncated compressed shard always raises, naming the file.
    gz = tmp_path / "cut.jsonl.gz"
    dclm_rs.write_jsonl(str(gz), [{"text": f"page {i} " * 50} for i in range(200)])
    gz.write_bytes(gz.read_bytes()[:-40])
    with pytest.raises(dclm_rs.DclmError, match=r"cut\.jsonl\.gz: corrupt or truncated gzip"):
        dclm_rs.read_jsonl(str(gz), errors="skip")
    with pytest.raises(dclm_rs.DclmError, match="missing.jsonl"):
        dclm_rs.read_jsonl(str(tmp_path / "missing.jsonl"))
    with pytest.raises(dclm_rs.DclmError, match="errors="):
        dclm_rs.read_jsonl(str(bad), errors="ignore")
    with pytest.raises(dclm_rs.DclmError, match="batch_size"):
        dclm_rs.read_jsonl(str(bad), batch_size=0)


def test_write_is_atomic_and_streams(tmp_path):
    out = tmp_path / "o" / "out.jsonl.zst"

    def pages_then_failure():
        yield dclm_rs.Pages.from_dicts([{"text": "a"}])
        yield {"text": "b", "url": "u"}
        raise ValueError("upstream failed")

    with pytest.raises(ValueError, match="upstream failed"):
        dclm_rs.write_jsonl(str(out), pages_then_failure())
    assert not out.exists() and list(out.parent.iterdir()) == []
    with pytest.raises(dclm_rs.DclmError, match=r"pages\[1\]: a page must be a dict, got int"):
        dclm_rs.write_jsonl(str(out), [{"text": "a"}, 3])
    assert not out.exists()
    # A stream mixing Pages batches and dicts is one shard, in order.
    mixed = [dclm_rs.Pages.from_dicts([{"text": "a"}, {"text": "b"}]), {"text": "c"}, dclm_rs.Pages.from_dicts([])]
    assert dclm_rs.write_jsonl(str(out), iter(mixed)) == 3
    assert [d["text"] for d in dclm_rs.read_jsonl(str(out))] == ["a", "b", "c"]


def test_pages_is_a_sequence_of_page_dicts():
    dicts = [{"text": f"t{i}", "url": f"u{i}", "metadata": {"n": i}} for i in range(5)]
    p = dclm_rs.Pages.from_dicts(dicts)
    assert len(p) == 5 and repr(p) == "Pages(5 pages)"
    assert p[0] == dicts[0] and p[-1] == dicts[4]
    assert list(p) == dicts == p.to_dicts()
    assert p[1:4].to_dicts() == dicts[1:4] and p[::-2].to_dicts() == dicts[::-2]
    assert (p[:2] + p[2:]).to_dicts() == dicts
    p[0]["text"] = "changed"  # a copy: the Pages does not change
    assert p[0]["text"] == "t0"
    with pytest.raises(IndexError):
        p[5]
    with pytest.raises(IndexError):
        p[-6]
    with pytest.raises(TypeError):
        p + dicts
    with pytest.raises(dclm_rs.DclmError, match=r"docs\[0\]: a page must be a dict, got str"):
        dclm_rs.Pages.from_dicts(["text"])
