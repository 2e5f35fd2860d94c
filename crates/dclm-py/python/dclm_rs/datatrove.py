"""datatrove adapter: the whole DCLM chain (a DCLM YAML pipeline run by dclm-rs) as one datatrove step.

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from dclm_rs.datatrove import DclmChain

    LocalPipelineExecutor(pipeline=[
        JsonlReader("data/"),
        DclmChain(config="dclm_baseline_refinedweb.yaml", assets="dclm-assets", skip_steps=[2]),
        ...
    ]).run()

Documents are sent to the chain in batches (``batch_size``); the Rust steps run on dclm-rs's threads with
the GIL released. A datatrove ``Document`` becomes DCLM's page dict: ``text``, ``id`` and the metadata keys at
the top level (DCLM keeps ``url`` there); when the metadata has a ``url`` but no WARC ``metadata`` dict, the
page gets ``metadata = {"WARC-Target-URI": url}``, which DCLM's first step (``move_url_modifier``) reads. Kept
pages come back as ``Document``s with the chain's changes to ``text`` and its enrichments in ``metadata``.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from . import Pipeline

_WARC_URI = "WARC-Target-URI"


def document_to_page(doc: Document) -> tuple[dict, bool]:
    """DCLM's page dict for a datatrove document, and whether a WARC ``metadata`` dict was added."""
    page = dict(doc.metadata)
    page["text"] = doc.text
    page["id"] = doc.id
    added = False
    if "metadata" not in page and isinstance(page.get("url"), str):
        page["metadata"] = {_WARC_URI: page["url"]}
        added = True
    return page, added


def page_to_document(page: dict, media, added_metadata: bool) -> Document:
    """A datatrove document for a page the chain kept."""
    page = dict(page)
    text = page.pop("text", "")
    doc_id = page.pop("id", "")
    if added_metadata and page.get("metadata") == {_WARC_URI: page.get("url")}:
        del page["metadata"]
    return Document(text=text if isinstance(text, str) else str(text), id=str(doc_id), media=media, metadata=page)


class DclmChain(PipelineStep):
    """A DCLM YAML chain (e.g. ``dclm_baseline_refinedweb.yaml``) over datatrove documents.

    Args:
        config: the DCLM YAML pipeline file.
        assets: DCLM assets folder (banlists, ``lid.176``) the config's relative paths resolve against;
            default ``$DCLM_ASSETS``.
        skip_steps: 1-based config steps to leave out (e.g. ``[2]``, the curated-domain banlist DCLM
            downloads separately).
        batch_size: documents per call into the chain.
        threads: dclm-rs threads (0: one per core).
        python_steps: ``(name, fn, after)`` triples added with ``Pipeline.add_python_step``.
    """

    name = "🦀 DCLM chain (dclm-rs)"
    type = "🔻 - FILTER"

    def __init__(
        self,
        config: str,
        assets: Optional[str] = None,
        skip_steps: Sequence[int] = (),
        batch_size: int = 1000,
        threads: int = 0,
        source: Optional[str] = None,
        python_steps: Iterable[tuple] = (),
    ):
        super().__init__()
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.pipeline = Pipeline.from_yaml(
            str(config), assets=None if assets is None else str(assets), skip_steps=list(skip_steps),
            source=source, threads=threads,
        )
        for step in python_steps:
            self.pipeline.add_python_step(*step)

    def _process(self, docs: list[Document]):
        pages, added, media = [], {}, {}
        for d in docs:
            page, was_added = document_to_page(d)
            pages.append(page)
            added[d.id] = was_added
            media[d.id] = d.media
        with self.track_time(unit="batch"):
            kept, stats = self.pipeline.process(pages)
        for step in stats["steps"]:
            for reason, n in step["dropped"].items():
                self.stat_update(f"dropped:{step['name']}:{reason}", value=n)
        self.stat_update("forwarded", value=len(kept))
        self.stat_update("dropped", value=len(docs) - len(kept))
        for page in kept:
            doc_id = str(page.get("id", ""))
            doc = page_to_document(page, media.get(doc_id, []), added.get(doc_id, False))
            self.update_doc_stats(doc)
            yield doc

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        batch: list[Document] = []
        for doc in data or ():
            self.stat_update("total")
            batch.append(doc)
            if len(batch) >= self.batch_size:
                yield from self._process(batch)
                batch = []
        if batch:
            yield from self._process(batch)
