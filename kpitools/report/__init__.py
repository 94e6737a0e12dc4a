"""Reports: notebook building blocks (cards, publish_headline) and the house HTML rendering (render).

Report notebooks import the cards helpers at every run, so importing this package stays light:
the rendering names (which import nbconvert, several seconds) load on first use.
"""
from __future__ import annotations

import sys
import types
from typing import Any

from .cards import HtmlBlock, format_value, kpi_cards, note, report_header, summary_box
from .headline import publish_headline

_LAZY = {  # name -> submodule, imported on first access
    "render": "render",
    "render_many": "render",
    "html_exporter": "render",
    "write_atomic": "render",
}

__all__ = ["HtmlBlock", "format_value", "kpi_cards", "note", "publish_headline", "report_header", "summary_box",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """Importing the submodule kpitools.report.render would rebind the attribute `render` to that module;
    keep the function (`from kpitools.report.render import ...` still reaches the module)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
