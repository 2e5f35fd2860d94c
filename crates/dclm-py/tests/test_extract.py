"""extract_html / extract_warc against resiliparse's own output on the shared WARC records."""


import pytest

import dclm_rs
from conftest import need_shared, read_jsonl


def test_extract_html_main_content_and_bytes():
    html = "<html><body><nav>Home | About</nav><h1>Title</h1><p>Some <b>main</b> text.</p></body></html>"
    assert dclm_rs.extract_html(html) == "Title\n\nSome main text."
    assert dclm_rs.extract_html(html.encode()) == "Title\n\nSome main text."
    assert "Home | About" in dclm_rs.extract_html(html, main_content=False)
    # Not UTF-8: DCLM drops the page.
    assert dclm_rs.extract_html("<p>Привет</p>".encode("cp1251")) is None
    with pytest.raises(TypeError):
        dclm_rs.extract_html(42)


@pytest.mark.parametrize("main_content", [True, False])
def test_extract_warc_equals_resiliparse_0_14_5(main_content):
    rows = {r["record_id"]: r for r in read_jsonl(need_shared("conformance/extract/extract.jsonl"))}
    warcs = sorted(p for p in need_shared("data/warc").glob("*.warc.gz") if ".wet" not in p.name)
    field = "text_resiliparse_0_14_5" if main_content else "text_no_main_resiliparse_0_14_5"
    seen = set()
    for w in warcs:
        for page in dclm_rs.extract_warc(str(w), main_content=main_content):
            rid = page["metadata"]["WARC-Record-ID"]
            assert set(page) >= {"text", "metadata"}
            if rid in rows:
                assert rows[rid].get("error") is None, f"{rid}: not UTF-8, DCLM drops it"
                assert page["text"] == rows[rid][field], rid
                seen.add(rid)
    decodable = {rid for rid, r in rows.items() if r.get("error") is None}
    assert seen == decodable
    assert len(seen) == 35


def test_extract_warc_bad_input_raises(tmp_path):
    warc = need_shared("data/warc/english-pages-0000.warc.gz")
    data = warc.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(dclm_rs.DclmError, match="cut.warc.gz"):
        list(dclm_rs.extract_warc(str(cut)))
    # errors="skip" keeps what could be read.
    assert len(list(dclm_rs.extract_warc(str(cut), errors="skip"))) >= 1
    with pytest.raises(dclm_rs.DclmError, match="No such file|cannot open|missing.warc.gz"):
        dclm_rs.extract_warc(str(tmp_path / "missing.warc.gz"))
    with pytest.raises(dclm_rs.DclmError, match="errors="):
        dclm_rs.extract_warc(str(warc), errors="ignore")
