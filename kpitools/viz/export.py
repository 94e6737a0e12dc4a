"""Figures to self-contained HTML: the PNG travels inside the page as a data URI (no network, works
from an e-mail attachment), with the figure's alt text for screen readers, and the chart's numbers as a
"Data (CSV)" download link (a data: URI too) when the chart function attached them."""
from __future__ import annotations

import base64
import html
import io
from urllib.parse import quote

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image

from ..i18n import gettext as _
from .theme import DPI

__all__ = ["figure_to_png", "figure_to_html", "data_link", "Chart"]


def figure_to_png(fig: Figure, dpi: int = DPI, palette: bool = True) -> bytes:
    """The figure as compressed PNG bytes, without metadata (it would only add bytes and a URL).

    palette=True stores 256 colours instead of true colour: charts have few colours, so it looks
    the same at about a third of the size (typically 8-30 KB instead of 20-90 KB). The pixels go from
    the renderer to the palette directly (no intermediate PNG to encode and decode), and zlib level 6
    costs a fifth of the CPU of `optimize` (level 9) for about 7% more bytes: a report draws many charts."""
    if not palette:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None},
                    pil_kwargs={"optimize": True})
        return buf.getvalue()
    image = _pixels(fig, dpi).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="png", compress_level=6)
    return out.getvalue()


def _pixels(fig: Figure, dpi: int) -> Image.Image:
    """The figure rendered at `dpi` on white, as savefig(facecolor="white") would, as an RGB image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    old_dpi, old_face, old_canvas = fig.dpi, fig.get_facecolor(), fig.canvas
    try:
        fig.set_dpi(dpi)
        fig.set_facecolor("white")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        width, height = canvas.get_width_height()
        return Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    finally:
        fig.set_dpi(old_dpi)
        fig.set_facecolor(old_face)
        fig.set_canvas(old_canvas)


def data_link(frame: pd.DataFrame, name: str) -> str:
    """`<a download="name.csv" href="data:text/csv...">Data (CSV)</a>`: the numbers travel inside the page like
    the PNG (the page's Content-Security-Policy governs what it loads, not what the reader downloads).

    Plain numbers and ISO periods (not the report's formats), so spreadsheets and pandas read them back; a
    byte-order mark, so Excel reads the UTF-8 names (Persian, Russian) as UTF-8."""
    csv = "\ufeff" + frame.to_csv(index=False, lineterminator="\r\n")
    href = "data:text/csv;charset=utf-8," + quote(csv, safe=",")
    file = html.escape(f"{name}.csv", quote=True)
    return f'<a class="kpi-chart-data" download="{file}" href="{href}">{html.escape(_("Data (CSV)"))}</a>'


def figure_to_html(fig: Figure, max_width_px: int = 900, caption: str | None = None, *, dpi: int = DPI,
                   palette: bool = True, close: bool = True) -> str:
    """A responsive `<figure>` holding the chart as an embedded PNG, `alt` from `fig.alt_text`, and a link to
    the chart's numbers as CSV when the chart function attached them (`fig._kpitools_data`).

    The image scales down with its container (width 100%, at most `max_width_px`); width and height
    attributes let browsers reserve the space before decoding. The figure is closed afterwards
    (close=False keeps it, e.g. to also show it in the notebook).
    """
    png = figure_to_png(fig, dpi, palette)
    width, height = (round(v * dpi) for v in fig.get_size_inches())
    alt = html.escape(str(getattr(fig, "alt_text", "") or "Chart"), quote=True)
    data = base64.b64encode(png).decode("ascii")
    img = (f'<img src="data:image/png;base64,{data}" alt="{alt}" width="{width}" height="{height}" '
           f'style="display:block;width:100%;height:auto;max-width:{int(max_width_px)}px">')
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    table = getattr(fig, "_kpitools_data", None)
    if table is not None:
        cap += data_link(table, getattr(fig, "_kpitools_data_name", "chart"))
    if close:
        plt.close(fig)
    return (f'<figure class="kpi-chart" style="margin:0 0 1.5em;max-width:{int(max_width_px)}px;'
            f'break-inside:avoid">{img}{cap}</figure>')


class Chart(Figure):
    """The Figure the chart functions return: it displays itself in Jupyter (they are created without
    pyplot, so the inline backend would not show them) as the same <figure> the report embeds,
    alt text included, and as a PNG for frontends without HTML."""

    alt_text: str = ""
    _kpitools_data: pd.DataFrame | None = None  # the numbers shown, for the "Data (CSV)" link
    _kpitools_data_name: str = "chart"  # the CSV's file name, without .csv

    def _repr_html_(self) -> str:
        return figure_to_html(self, close=False)

    def _repr_png_(self) -> bytes:
        return figure_to_png(self)
