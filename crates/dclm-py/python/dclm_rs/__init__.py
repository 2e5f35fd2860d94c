"""dclm_rs: DataComp-LM's data pipeline stages from dclm-rs (Rust), for Python.

Pages are plain dicts in DCLM's JSONL schema (``text``, ``url``, ``metadata``, enrichments). Batch calls
release the GIL and run on a rayon pool (``threads=0``: one thread per core, or ``RAYON_NUM_THREADS``).
Every error is a :class:`DclmError` with the message the ``dclm`` CLI prints.

* :func:`extract_html`, :func:`extract_warc` — resiliparse-faithful HTML → text, WARC → DCLM-Pool pages
* :class:`Pipeline` — a DCLM YAML chain (``Pipeline.from_yaml``), with Python steps (``add_python_step``)
* :class:`FastText`, :func:`language_id` — fastText predictions, DCLM's quality score, whole-page LID
* :class:`Bff`, :class:`MinHash` — BFF dedup, MinHash signatures
* :func:`tokenize_shuffle` — DCLM's tokenize + global shuffle into open_lm shards
* :mod:`dclm_rs.datatrove` — ``DclmChain``, the whole chain as a datatrove ``PipelineStep``
"""

from ._dclm_rs import (
    Bff,
    DclmError,
    FastText,
    MinHash,
    Pipeline,
    WarcDocuments,
    __version__,
    extract_html,
    extract_warc,
    language_id,
    tokenize_shuffle,
)

__all__ = [
    "Bff",
    "DclmError",
    "FastText",
    "MinHash",
    "Pipeline",
    "WarcDocuments",
    "__version__",
    "extract_html",
    "extract_warc",
    "language_id",
    "tokenize_shuffle",
]
