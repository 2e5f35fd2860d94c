"""FastText and language_id against official fastText 0.9.2 (the fastText and lid conformance sets)."""

import pytest

import dclm_rs
from conftest import need_shared, read_jsonl

MODELS = {"bigram": "bigram.bin", "unigram": "unigram.bin", "ftz": "bigram.ftz"}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_and_quality_score_equal_fasttext(name):
    rows = read_jsonl(need_shared("conformance/fasttext/predictions.jsonl"))
    model = dclm_rs.FastText.load(str(need_shared("conformance/fasttext") / MODELS[name]), threads=2)
    assert model.labels == ["__label__hq", "__label__cc"]
    preds = model.predict([r["text_prepared"] for r in rows], k=2)
    for r, p in zip(rows, preds):
        assert [[label, prob] for label, prob in p] == r[f"top2_{name}"], r["id"]
    scores = model.quality_score([r["text"] for r in rows])
    assert scores == [r[f"dclm_score_{name}"] for r in rows]
    top1 = model.predict(["how are you"], k=1)[0]
    assert len(top1) == 1 and model.predict(["x"], k=0) == [[]]


def test_language_id_equals_fasttext():
    rows = read_jsonl(need_shared("conformance/lid/lid.jsonl"))
    model = need_shared("data/lid/lid.176.ftz")
    got = dclm_rs.language_id([r["text"] for r in rows], model=str(model))
    for r, g in zip(rows, got):
        if r["dclm_gate_returns_empty"]:
            assert g == {}, r["id"]
        else:
            assert g == {r["top1"]["label"]: r["top1"]["prob"]}, r["id"]
    # DCLM's default model path under the assets folder.
    assets = need_shared("data/dclm-assets")
    assert dclm_rs.language_id([rows[0]["text"]], assets=str(assets)) == got[:1]


def test_bad_models(tmp_path):
    with pytest.raises(dclm_rs.DclmError, match="missing.bin"):
        dclm_rs.FastText.load(str(tmp_path / "missing.bin"))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a fastText model at all" * 10)
    with pytest.raises(dclm_rs.DclmError, match="junk.bin"):
        dclm_rs.FastText.load(str(junk))
    with pytest.raises(dclm_rs.DclmError, match="junk.bin"):
        dclm_rs.language_id(["hello"], model=str(junk))
    with pytest.raises(dclm_rs.DclmError, match="language-ID model"):
        dclm_rs.language_id(["hello"], assets=str(tmp_path))
    lid = need_shared("data/lid/lid.176.ftz")
    with pytest.raises(dclm_rs.DclmError, match="__label__hq"):
        dclm_rs.FastText.load(str(lid)).quality_score(["hello"])
    with pytest.raises(TypeError):
        dclm_rs.FastText.load(str(lid)).predict("a string, not a list")
