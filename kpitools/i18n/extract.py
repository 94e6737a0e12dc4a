"""Babel extractors for what `pybabel extract` cannot read by itself (configured in babel.cfg):

- `notebook`: a Jupyter notebook's markdown cells (each cell whole, as the report renderer looks it up;
  cells tagged remove are the analysts' notes and never reach a report) and the `_()` calls in its code;
- `registry`: every KPI's display name (context "KPI") and benchmark rule (context "benchmark") from
  kpitools.kpis.REGISTRY, so KPI names are translated without touching the KPI modules or their ids.

    pybabel extract -F babel.cfg -k NP_:1c,2 -o kpitools/i18n/kpitools.pot .
"""
from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from babel.messages.extract import extract_python

HIDDEN = {"remove", "hide", "remove-cell", "remove_cell", "hide-cell", "parameters"}


def notebook(fileobj: Any, keywords: Any, comment_tags: Any, options: dict) -> Iterator[tuple]:
    nb = json.loads(fileobj.read().decode(options.get("encoding", "utf-8")))
    for index, cell in enumerate(nb.get("cells", []), start=1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if HIDDEN & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell.get("cell_type") == "markdown" and source.strip():
            yield index, None, source.strip(), [f"markdown cell {index}"]
        elif cell.get("cell_type") == "code":
            # Babel's annotations are off: extract_python() takes the options every extractor gets (typed as a
            # TypedDict) and yields (lineno, funcname, messages, comments), not the tuple its alias declares
            for lineno, funcname, messages, comments in extract_python(
                    io.BytesIO(source.encode("utf-8")), keywords, comment_tags, options):  # type: ignore[arg-type]
                where = f"code cell {index}, line {lineno}"
                yield index, funcname, messages, comments + [where]  # type: ignore[operator]


def registry(fileobj: Any, keywords: Any, comment_tags: Any, options: dict) -> Iterator[tuple]:
    from ..kpis import REGISTRY

    for k in REGISTRY.values():
        yield 1, "pgettext", ("KPI", k.name), [f"name of the KPI {k.id} ({k.unit})"]
        if k.benchmark is not None:
            yield 1, "pgettext", ("benchmark", k.benchmark.text), [f"benchmark of the KPI {k.id}"]
