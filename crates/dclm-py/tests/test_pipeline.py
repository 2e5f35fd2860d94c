"""Pipeline.from_yaml on DCLM's baseline chain against DCLM's own mappers (the heuristics conformance set),
Python steps inside the chain, and errors."""

import json

import pytest

import dclm_rs
from conftest import need_shared


def _pipeline(config, assets, **kw):
    return dclm_rs.Pipeline.from_yaml(str(config), assets=str(assets), skip_steps=[2], **kw)


def test_chain_equals_dclm(heuristics):
    rows, config, assets = heuristics
    p = _pipeline(config, assets)
    # A row number rides along in an extra key (steps keep keys they do not know).
    kept, stats = p.process([{**r["input"], "_row": i} for i, r in enumerate(rows)])
    got = {d.pop("_row"): d for d in kept}
    decisions = sum((i in got) == r["kept"] for i, r in enumerate(rows))
    want = [i for i, r in enumerate(rows) if r["kept"]]
    same_text = sum(1 for i in want if i in got and got[i]["text"] == rows[i]["output_text"])
    same_enriched = sum(
        1 for i in want if i in got and all(got[i].get(k) == v for k, v in (rows[i].get("enriched") or {}).items())
    )
    # The thresholds of the Rust conformance test (crates/dclm-filter/tests/conformance.rs).
    assert decisions >= 0.995 * len(rows), f"{decisions}/{len(rows)}"
    assert same_text >= 0.99 * len(want), f"{same_text}/{len(want)}"
    assert same_enriched >= 0.99 * len(want), f"{same_enriched}/{len(want)}"
    bad = [r["id"] for i, r in enumerate(rows) if r["id"].startswith("synthetic:") and (i in got) != r["kept"]]
    assert bad == []
    assert stats["docs_in"] == len(rows) and stats["docs_out"] == len(kept)
    print(f"chain: {decisions}/{len(rows)} decisions, {same_text}/{len(want)} texts as DCLM")


def test_step_counts_equal_dclm(heuristics):
    rows, config, assets = heuristics
    ref = json.loads(need_shared("conformance/heuristics/step_stats.json").read_text())
    p = _pipeline(config, assets, threads=2)
    _, stats = p.process([r["input"] for r in rows])
    steps = {s["name"].split(":")[0]: s for s in stats["steps"]}
    assert p.skipped == ["2:url_substring_filter"]
    assert [s["name"] for s in stats["steps"]] == p.labels
    agree = 0
    for want in ref["steps"]:
        if want["skipped"]:
            assert str(want["step"]) not in steps
            continue
        got = steps[str(want["step"])]
        agree += got["docs_in"] == want["reached"] and got["docs_out"] == want["kept"]
    assert agree >= len([s for s in ref["steps"] if not s["skipped"]]) - 1


def test_batches_and_threads_give_the_same_result(heuristics):
    rows, config, assets = heuristics
    pages = [r["input"] for r in rows]
    one, s1 = _pipeline(config, assets, threads=1).process(pages)
    parts = []
    p = _pipeline(config, assets, threads=2)
    for i in range(0, len(pages), 100):
        parts += p.process(pages[i : i + 100])[0]
    assert one == parts


def test_python_step_counted_and_applied_in_order(heuristics):
    rows, config, assets = heuristics
    pages = [r["input"] for r in rows]
    base = _pipeline(config, assets)
    kept_base, stats_base = base.process(pages)

    p = _pipeline(config, assets)
    seen_keys = []

    def drop_odd_urls(page):
        seen_keys.append(set(page))
        if page["url"].endswith(("1", "3", "5", "7", "9")):
            return None
        page["py_checked"] = True
        return page

    p.add_python_step("drop_odd_urls", drop_odd_urls, after=8)
    p.add_python_step("tag", lambda page: {**page, "py_tag": len(page["text"])})
    assert p.labels.index("drop_odd_urls") == p.labels.index("8:detect_lang_whole_page_enricher") + 1
    assert p.labels[-1] == "tag" and len(p) == len(base) + 2
    kept, stats = p.process(pages)

    # Applied in order: after LID (its key is there), before the word-count enricher (its key is not).
    assert seen_keys and all("language_id_whole_page_fasttext" in k for k in seen_keys)
    assert not any("previous_word_count" in k for k in seen_keys)
    want = [d for d in kept_base if not d["url"].endswith(("1", "3", "5", "7", "9"))]
    assert [d["text"] for d in kept] == [d["text"] for d in want]
    assert all(d["py_checked"] and d["py_tag"] == len(d["text"]) for d in kept)

    # Counted like any step, in chain order.
    names = [s["name"] for s in stats["steps"]]
    assert names == p.labels
    i = names.index("drop_odd_urls")
    py = stats["steps"][i]
    assert py["docs_in"] == stats["steps"][i - 1]["docs_out"] == len(seen_keys)
    assert py["docs_in"] - py["docs_out"] == py["dropped"]["python_step_dropped"] > 0
    assert stats["steps"][i + 1]["docs_in"] == py["docs_out"]
    assert stats["steps"][-1]["docs_out"] == len(kept) == stats["docs_out"]


def test_python_step_errors(heuristics):
    rows, config, assets = heuristics
    p = _pipeline(config, assets)

    def boom(page):
        raise ValueError("no good")

    p.add_python_step("boom", boom, after="1:move_url_modifier")
    with pytest.raises(dclm_rs.DclmError, match="step `boom`.*no good") as e:
        p.process([rows[0]["input"]])
    assert isinstance(e.value.__cause__, ValueError)
    q = _pipeline(config, assets)
    q.add_python_step("bad_return", lambda page: 42)
    with pytest.raises(dclm_rs.DclmError, match="bad_return.*got int"):
        q.process([r["input"] for r in rows[:20]])
    with pytest.raises(dclm_rs.DclmError, match="names no step"):
        q.add_python_step("x", lambda p: p, after=99)
    with pytest.raises(dclm_rs.DclmError, match="already has a step"):
        q.add_python_step("bad_return", lambda p: p)
    with pytest.raises(dclm_rs.DclmError, match="not callable"):
        q.add_python_step("y", 3)


def test_bad_config_and_bad_input(tmp_path, heuristics):
    _, config, assets = heuristics
    with pytest.raises(dclm_rs.DclmError, match="missing.yaml"):
        dclm_rs.Pipeline.from_yaml(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("- source: cc\n  steps:\n    - func: page_length_filter\n      length_type: word\n"
                   "      min_length: 50\n    - func: no_such_mapper\n")
    with pytest.raises(dclm_rs.DclmError, match=r"bad.yaml.*step 2 \(`no_such_mapper`, line 6\).*unknown func"):
        dclm_rs.Pipeline.from_yaml(str(bad))
    param = tmp_path / "param.yaml"
    param.write_text("- source: cc\n  steps:\n    - func: page_length_filter\n      length_type: word\n      min_lenght: 50\n")
    with pytest.raises(dclm_rs.DclmError, match="step 1 .*min_lenght"):
        dclm_rs.Pipeline.from_yaml(str(param))
    with pytest.raises(dclm_rs.DclmError, match=r"step 3 \(`url_substring_filter`, line 9\): cannot read banlist"):
        dclm_rs.Pipeline.from_yaml(str(config), assets=str(tmp_path), skip_steps=[2])
    p = _pipeline(config, assets)
    with pytest.raises(dclm_rs.DclmError, match=r"docs\[1\]: a page must be a dict, got int"):
        p.process([{"text": "a"}, 3])
    with pytest.raises(dclm_rs.DclmError, match=r"docs\[0\]: not JSON-like"):
        p.process([{"text": "a", "x": object()}])
    # DCLM's page model: a page without text is dropped (counted) by the first step that needs it.
    kept, stats = p.process([{"url": "http://a.example/", "metadata": {"WARC-Target-URI": "http://a.example/"}}])
    assert kept == []
    assert any("error:missing_text" in s["dropped"] for s in stats["steps"])
