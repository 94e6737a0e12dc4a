"""The products and channels section: revenue by product and by channel, and the channel table."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ... import i18n
from ...i18n import N_, format_value, value_label
from ...i18n import gettext as _
from ..section import Section, _in_locale, _no_period_data, _start, _wide


@dataclass(eq=False)
class ProductsSection(Section):
    products: pd.DataFrame | None = None  # period, product, kpi (product_performance.*), value
    channels: pd.DataFrame | None = None  # period, channel, kpi (sales_by_channel.*), value


@_in_locale
def products_channels(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> ProductsSection:
    """Products (product_performance: revenue, quantity, share, rank per product) and channels
    (sales_by_channel: revenue, win rate, average purchase per channel) for the period, as tidy frames."""
    sec = _start(ProductsSection, "products_channels", ds, period, filters)
    if sec.empty:
        return sec
    s = sec.scope
    f = s.compute(["product_performance", "sales_by_channel"])
    sec.skipped.update(f.attrs.get("skipped", {}))
    prod = f[f["kpi"].str.startswith("product_performance.")]
    chan = f[f["kpi"].str.startswith("sales_by_channel.")]
    prod = prod[["period", "product", "kpi", "value"]].reset_index(drop=True) if "product" in prod else None
    chan = chan[["period", "channel", "kpi", "value"]].reset_index(drop=True) if "channel" in chan else None
    sec.products, sec.channels = prod, chan
    rev = prod[prod["kpi"] == "product_performance.revenue"]["value"] if prod is not None else pd.Series(dtype=float)
    if not (rev.fillna(0) > 0).any():
        sec.message = _no_period_data(s, N_("No won deals for {scope} in {period}."))
    return sec


@i18n.localised
def channel_table(channels: pd.DataFrame | None, currency: str = "USD") -> pd.DataFrame:
    """products_channels().channels as display text, by revenue: Channel, Revenue, Share of revenue,
    Win rate, Average deal (values formatted like the cards)."""
    if channels is None or channels.empty:
        return pd.DataFrame()
    w = _wide(channels.assign(measure=channels["kpi"].str.removeprefix("sales_by_channel.")), "channel", "measure")
    if "revenue" not in w:
        return pd.DataFrame()
    w = w.astype("float64").sort_values("revenue", ascending=False, kind="stable")
    total = w["revenue"].sum()
    channel = _("Channel")
    out = pd.DataFrame({channel: [value_label("channel", c) for c in w.index],
                        _("Revenue"): [format_value(v, "money", currency, style="card") for v in w["revenue"]],
                        _("Share of revenue"): [format_value(v / total if total else np.nan, "ratio", style="card")
                                                for v in w["revenue"]]})
    for m, title, unit in (("won_deals", N_("Won deals"), "count"), ("win_rate", N_("Win rate"), "ratio"),
                           ("avg_purchase_value", N_("Average deal"), "money")):
        if m in w:
            out[_(title)] = [format_value(v, unit, currency, style="card") for v in w[m]]
    out = out.set_index(channel)
    out.index.name = None
    return out
