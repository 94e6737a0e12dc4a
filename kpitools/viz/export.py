"""Figures to self-contained HTML: the PNG travels inside the page as a data URI (no network, works
from an e-mail attachment), with the figure's alt text for screen readers."""
from __future__ import annotations

import base64
import html
import io

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from PIL import Image

from .theme import DPI

__all__ = ["figure_to_png", "figure_to_html", "Chart"]


def figure_to_png(fig: Figure, dpi: int = DPI, palette: bool = True) -> bytes:
    """The figure as optimised PNG bytes, without metadata (it would only add bytes and a URL).

    palette=True stores 256 colours instead of true colour: charts have few colours, so it looks
    the same at about a third of the size (typically 8-30 KB instead of 20-90 KB)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None},
                pil_kwargs={"compress_level": 1} if palette else {"optimize": True})  # fast if re-encoded
    if not palette:
        return buf.getvalue()
    image = Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return out.getvalue()


def figure_to_html(fig: Figure, max_width_px: int = 900, caption: str | None = None, *, dpi: int = DPI,
                   palette: bool = True, close: bool = True) -> str:
    """A responsive `<figure>` holding the chart as an embedded PNG, `alt` from `fig.alt_text`.

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
    if close:
        plt.close(fig)
    return (f'<figure class="kpi-chart" style="margin:0 0 1.5em;max-width:{int(max_width_px)}px;'
            f'break-inside:avoid">{img}{cap}</figure>')


class Chart(Figure):
    """The Figure the chart functions return: it displays itself in Jupyter (they are created without
    pyplot, so the inline backend would not show them) as the same <figure> the report embeds,
    alt text included, and as a PNG for frontends without HTML."""

    alt_text: str = ""

    def _repr_html_(self) -> str:
        return figure_to_html(self, close=False)

    def _repr_png_(self) -> bytes:
        return figure_to_png(self)
