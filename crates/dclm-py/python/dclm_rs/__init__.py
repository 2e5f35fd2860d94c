"""dclm_rs: DataComp-LM's data pipeline stages from dclm-rs (Rust), for Python.

Pages are plain dicts in DCLM's JSONL schema (``text``, ``url``, ``metadata``, enrichments), or a
:class:`Pages` batch held in Rust: :func:`read_jsonl` reads shards into ``Pages`` (whole, or in batches),
``Pipeline.process`` and ``Bff.dedup`` return the type they are given, and :func:`write_jsonl` writes either, so
pages read from a shard and written back never become Python objects unless Python looks at them. Batch calls
release the GIL and run on a rayon pool (``threads=0``: one thread per core, or ``RAYON_NUM_THREADS``).
Every error is a :class:`DclmError` with the message the ``dclm`` CLI prints.

* :func:`read_jsonl`, :func:`write_jsonl`, :class:`Pages` — JSONL shards (``.jsonl``, ``.jsonl.gz``,
  ``.jsonl.zst``) with the CLI's reader and atomic writer; batches of pages kept in Rust
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
    Pages,
    PagesReader,
    Pipeline,
    WarcDocuments,
    __version__,
    extract_html,
    extract_warc,
    language_id,
    read_jsonl,
    tokenize_shuffle,
    write_jsonl,
)

__all__ = [
    "Bff",
    "DclmError",
    "FastText",
    "MinHash",
    "Pages",
    "PagesReader",
    "Pipeline",
    "WarcDocuments",
    "__version__",
    "extract_html",
    "extract_warc",
    "language_id",
    "read_jsonl",
    "tokenize_shuffle",
    "write_jsonl",
]
