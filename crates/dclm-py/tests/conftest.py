"""Shared fixtures of the dclm_rs tests: the shared real-data folder (``$DCLM_SHARED``, else ``../shared`` beside
the checkout); tests that need it skip with a message when it is absent."""

import json
import os
from pathlib import Path

import pytest

# The checkout holding these tests (crates/dclm-py/tests); a copy of the tests elsewhere (an installed wheel's
# check) may sit less deep, and then only $DCLM_SHARED / $DCLM_BIN say where things are.
_HERE = Path(__file__).resolve()
REPO = _HERE.parents[3] if len(_HERE.parents) > 3 else _HERE.parent


def shared_dir():
    return Path(os.environ.get("DCLM_SHARED", REPO.parent / "shared"))


def need_shared(rel):
    """The path of ``rel`` under the shared folder, or skip the test with a message."""
    p = shared_dir() / rel
    if not p.exists():
        pytest.skip(f"SKIP: {p} is absent (set DCLM_SHARED to the shared real-data folder)")
    return p


def read_jsonl(path):
    # Split on "\n" only: the files hold raw U+2028 and U+0085 inside strings.
    with open(path, encoding="utf-8", newline="") as f:
        return [json.loads(line) for line in f.read().split("\n") if line.strip()]


@pytest.fixture(scope="session")
def heuristics():
    """The heuristics conformance rows and DCLM's baseline chain (minus step 2, as the reference was made)."""
    rows = read_jsonl(need_shared("conformance/heuristics/results.jsonl"))
    config = need_shared("data/dclm/configs/dclm_baseline_refinedweb.yaml")
    assets = need_shared("data/dclm-assets")
    return rows, config, assets


def dclm_bin():
    """The ``dclm`` CLI to compare with: ``$DCLM_BIN``, else the release or debug build in ``$CARGO_TARGET_DIR``
    or the checkout's ``target/``; the test skips with a message when there is none."""
    if os.environ.get("DCLM_BIN"):
        return Path(os.environ["DCLM_BIN"])
    targets = [Path(os.environ["CARGO_TARGET_DIR"])] if os.environ.get("CARGO_TARGET_DIR") else []
    targets.append(REPO / "target")
    for t in targets:
        for profile in ("release", "debug"):
            if (t / profile / "dclm").is_file():
                return t / profile / "dclm"
    pytest.skip("SKIP: no dclm binary (set DCLM_BIN, or cargo build -p dclm-cli --bin dclm)")
