"""CRM export presets: ready mappings for the files Salesforce, HubSpot and Close export.

`preset: hubspot` in a table's config supplies `columns:`, `values:`, `defaults:`
and `read:` for that CRM's export; the user's own settings override the preset's,
key by key. A preset names, for each canonical column, the export columns that may
hold it (the first one present in the file wins), so optional fields simply stay
empty when the export leaves them out. Required columns that are missing are
reported as usual, with a hint naming the export column the preset looked for.

Presets are a registry: `register(Preset(...))` adds one (a plugin may call it at
import time); `PRESETS` holds them by name.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .config import ReadOptions, TableConfig
from .problems import Problem

Prepare = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Preset:
    name: str
    title: str  # what the user exports, e.g. "HubSpot deals export"
    columns: dict[str, tuple[str, ...]]  # canonical -> export columns that may hold it, first found wins
    table: str = "deals"
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # matched ignoring case and spaces
    otherwise: dict[str, Any] = field(default_factory=dict)  # canonical -> value for values not listed
    defaults: dict[str, Any] = field(default_factory=dict)
    read: dict[str, Any] = field(default_factory=dict)  # ReadOptions the user did not set
    prepare: Prepare | None = None  # derives columns the mapping cannot (units, status from flags)
    notes: str = ""
    doc: dict[str, str] = field(default_factory=dict)  # canonical -> "read from" text where prepare() derives it


PRESETS: dict[str, Preset] = {}
DERIVED = "kpitools:"  # prefix of the columns a preset's prepare() adds


def register(preset: Preset) -> Preset:
    PRESETS[preset.name] = preset
    return preset


def unknown_preset(name: str, table: str, where: str | None = None, prefix: str = "") -> Problem:
    close = difflib.get_close_matches(str(name).lower(), PRESETS, n=1, cutoff=0.4)
    hint = (f"did you mean {close[0]!r}? " if close else "") + f"presets: {', '.join(sorted(PRESETS))}"
    return Problem(f"{prefix}unknown preset {name!r}", file=where, table=table, hint=hint)


def read_options(cfg: TableConfig) -> ReadOptions:
    """The reader options: the preset's, under any the user set explicitly."""
    preset = PRESETS.get(cfg.preset or "")
    if preset is None or not preset.read:
        return cfg.read
    mine = cfg.read.model_dump(include=cfg.read.model_fields_set)
    return ReadOptions(**{**preset.read, **mine})


def _key(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def apply(raw: pd.DataFrame, cfg: TableConfig) -> tuple[pd.DataFrame, TableConfig]:
    """The raw frame after the preset's preparation, and the config with the preset merged in
    (user settings win). A config without a preset comes back unchanged."""
    preset = PRESETS.get(cfg.preset or "")
    if preset is None:
        return raw, cfg
    if preset.prepare is not None:
        raw = preset.prepare(raw)
    columns = dict(cfg.columns)
    for canonical, candidates in preset.columns.items():
        if canonical in columns:
            continue
        found = next((c for c in candidates if c in raw.columns), None)
        if found is not None:
            columns[canonical] = found
    values: dict[str, dict[str, Any]] = {k: dict(v) for k, v in cfg.values.items()}
    for canonical in {*preset.values, *preset.otherwise}:
        source = columns.get(canonical)
        if source is None or source not in raw.columns or source.startswith(DERIVED):
            continue  # a column the preset derived holds canonical values already
        mine = values.get(canonical, {})
        known = {_key(k): v for k, v in preset.values.get(canonical, {}).items()}
        mapping = dict(mine)
        for v in raw[source].dropna().astype(str).str.strip().unique():
            if v in mapping or v == "":
                continue
            if _key(v) in known:
                mapping[v] = known[_key(v)]
            elif canonical in preset.otherwise:
                mapping[v] = preset.otherwise[canonical]
        values[canonical] = mapping
    merged = cfg.model_copy(update={
        "columns": columns, "values": values, "defaults": {**preset.defaults, **cfg.defaults},
        "read": read_options(cfg)})
    return raw, merged


OPEN_ONLY = ("stage", "probability", "expected_close_at")  # data-model.md: describe open deals


def finish(parsed: pd.DataFrame, cfg: TableConfig) -> pd.DataFrame:
    """After parsing, for a deals preset: a CRM's one close date is the expected close of an open
    deal and the close of a won or lost one; stage and probability describe open deals only
    (a CRM writes Closed Won / 100% on closed ones)."""
    if cfg.preset not in PRESETS or "status" not in parsed.columns:
        return parsed
    out = parsed.copy()
    is_open = out["status"].eq("open").fillna(False).to_numpy(dtype=bool)
    if "closed_at" in out.columns:
        if "expected_close_at" in out.columns:
            out["expected_close_at"] = out["expected_close_at"].where(is_open, pd.NaT)
        out["closed_at"] = out["closed_at"].where(~is_open, pd.NaT)
    for col in OPEN_ONLY:
        if col in out.columns:
            out[col] = out[col].where(is_open)
    return out


def expected_columns(cfg: TableConfig, canonical: str) -> str:
    """Which export column(s) the table's preset reads `canonical` from ('' when none)."""
    preset = PRESETS.get(cfg.preset or "")
    if preset is None or canonical not in preset.columns:
        return ""
    names = " or ".join(repr(c) for c in preset.columns[canonical] if not c.startswith(DERIVED))
    return f"the {preset.name} preset reads {canonical} from {names}" if names else ""


# --------------------------------------------------------------------------- helpers for prepare()


def _number(s: pd.Series) -> pd.Series:
    """Numbers of a text column, NaN where a value is not one (those are left for parsing to report)."""
    text = s.astype("string").str.strip().str.replace(r"[,%\s\u00a0]", "", regex=True)
    return pd.to_numeric(text, errors="coerce")


def _scaled(s: pd.Series, factor: float | pd.Series) -> pd.Series:
    """`s` times `factor` where it is a number; other values are kept as they are, so that the
    parser still reports them with their row."""
    n = _number(s)
    out = s.astype(object).copy()
    ok = n.notna()
    out[ok] = (n * factor)[ok]
    return out


def _flag(s: pd.Series) -> pd.Series:
    text = s.astype("string").str.strip().str.lower()
    return text.isin(["1", "true", "yes", "y", "t", "x", "checked"]).fillna(False).astype(bool)


def _status_from_flags(raw: pd.DataFrame, won: str, closed: str) -> pd.DataFrame:
    """A status column from the CRM's own won / closed flags: exact even for custom stages."""
    if won in raw.columns and closed in raw.columns:
        w, c = _flag(raw[won]), _flag(raw[closed])
        status = np.where(w, "won", np.where(c, "lost", "open"))
        raw = raw.assign(**{"kpitools:status": pd.Series(status, index=raw.index, dtype=object)})
    return raw


def _drop_footer(raw: pd.DataFrame) -> pd.DataFrame:
    """Salesforce report exports end with a few lines that fill only the first column
    (report name, copyright, "Generated By: ..."): drop that trailing block."""
    if raw.shape[1] < 2 or raw.empty:
        return raw
    rest_empty = raw.iloc[:, 1:].isna().all(axis=1).to_numpy()
    n = len(raw)
    while n and rest_empty[n - 1]:
        n -= 1
    return raw.iloc[:n] if n < len(raw) else raw


# --------------------------------------------------------------------------- Salesforce

SF_STAGES = {
    "Closed Won": "won", "Closed Lost": "lost",
    # the standard sales process; custom stages count as open unless mapped (see README)
    "Prospecting": "open", "Qualification": "open", "Needs Analysis": "open", "Value Proposition": "open",
    "Id. Decision Makers": "open", "Perception Analysis": "open", "Proposal/Price Quote": "open",
    "Negotiation/Review": "open",
}
SF_TYPES = {
    "New Customer": "new", "New Business": "new", "New": "new",
    "Existing Customer - Upgrade": "upsell", "Upsell": "upsell", "Upgrade": "upsell",
    "Existing Customer - Replacement": "renewal", "Existing Customer - Downgrade": "renewal",
    "Renewal": "renewal", "Cross-Sell": "cross_sell", "Cross Sell": "cross_sell",
}


def _salesforce(raw: pd.DataFrame) -> pd.DataFrame:
    raw = _drop_footer(raw)
    raw = _status_from_flags(raw, "Won", "Closed")
    if "Probability (%)" in raw.columns:
        raw = raw.assign(**{"Probability (%)": _scaled(raw["Probability (%)"], 0.01)})
    return raw


register(Preset(
    name="salesforce",
    title="Salesforce opportunity report (Export > Details Only, CSV or Excel)",
    columns={
        "deal_id": ("Opportunity ID", "Opportunity ID (18)", "Id"),
        "created_at": ("Created Date",),
        "closed_at": ("Close Date",),
        "expected_close_at": ("Close Date",),
        "status": ("kpitools:status", "Stage"),
        "stage": ("Stage",),
        "amount": ("Amount", "Amount (converted)"),
        "rep": ("Opportunity Owner", "Owner", "Owner Full Name"),
        "team": ("Owner Role", "Role"),
        "customer_id": ("Account ID", "Account Name"),
        "deal_type": ("Type",),
        "lead_source": ("Lead Source",),
        "campaign": ("Primary Campaign Source", "Campaign Name"),
        "probability": ("Probability (%)",),
        "product": ("Product Name",),
        "quantity": ("Quantity",),
        "lost_reason": ("Loss Reason", "Closed Lost Reason"),
    },
    values={"status": SF_STAGES, "deal_type": SF_TYPES},
    otherwise={"status": "open"},
    prepare=_salesforce,
    doc={"status": "`Won` and `Closed` when both are there, else `Stage`",
         "closed_at": "`Close Date` (won and lost deals)", "expected_close_at": "`Close Date` (open deals)",
         "probability": "`Probability (%)` / 100"},
    notes="Status comes from the `Won` and `Closed` columns when the report has both (exact for custom "
          "stages); otherwise from `Stage`: Closed Won is won, Closed Lost is lost, any other stage is "
          "open (map custom closed stages with `values: {status: {...}}`). `Probability (%)` is divided "
          "by 100. Close Date is the close date of won and lost deals and the expected close date of open "
          "ones. The footer lines of a report export (copyright, Generated By) are ignored.",
))


# --------------------------------------------------------------------------- HubSpot

HUBSPOT_STAGES = {
    "Closed Won": "won", "Closed Lost": "lost", "closedwon": "won", "closedlost": "lost",
    "Appointment Scheduled": "open", "Qualified To Buy": "open", "Presentation Scheduled": "open",
    "Decision Maker Bought-In": "open", "Contract Sent": "open",
}
HUBSPOT_TYPES = {
    "New Business": "new", "newbusiness": "new", "Existing Business": "upsell", "existingbusiness": "upsell",
    "Upsell": "upsell", "Renewal": "renewal", "Cross-sell": "cross_sell", "Cross sell": "cross_sell",
}


def _hubspot(raw: pd.DataFrame) -> pd.DataFrame:
    raw = _status_from_flags(raw, "Is Closed Won", "Is Deal Closed?")
    for col in ("Deal probability", "Probability"):
        if col in raw.columns:  # HubSpot writes 0.2 for 20%; some portals export 20
            n = _number(raw[col])
            if (n > 1).any():
                raw = raw.assign(**{col: _scaled(raw[col], 0.01)})
    return raw


register(Preset(
    name="hubspot",
    title="HubSpot deals export (CRM > Deals > Export, CSV or Excel)",
    columns={
        "deal_id": ("Record ID", "Deal ID"),
        "created_at": ("Create Date",),
        "closed_at": ("Close Date",),
        "expected_close_at": ("Close Date",),
        "status": ("kpitools:status", "Deal Stage"),
        "stage": ("Deal Stage",),
        "amount": ("Amount", "Amount in company currency"),
        "rep": ("Deal owner", "Deal Owner"),
        "team": ("HubSpot Team",),
        "customer_id": ("Associated Company IDs", "Associated Company ID", "Associated Company",
                        "Associated Company (Primary)"),
        "deal_type": ("Deal Type",),
        "lead_source": ("Original Source Type", "Original Traffic Source", "Original Source"),
        "campaign": ("Campaign",),
        "probability": ("Deal probability", "Probability"),
        "lost_reason": ("Closed Lost Reason",),
        "product": ("Product",),
        "quantity": ("Quantity",),
    },
    values={"status": HUBSPOT_STAGES, "deal_type": HUBSPOT_TYPES},
    otherwise={"status": "open"},
    prepare=_hubspot,
    doc={"status": "`Is Closed Won` and `Is Deal Closed?` when both are there, else `Deal Stage`",
         "closed_at": "`Close Date` (won and lost deals)", "expected_close_at": "`Close Date` (open deals)"},
    notes="Status comes from `Is Closed Won` and `Is Deal Closed?` when the export has both; otherwise "
          "from `Deal Stage`: Closed Won / Closed Lost (labels or the internal closedwon / closedlost), any "
          "other stage is open. Deal Type: New Business is new, Existing Business is upsell (map your own "
          "types with `values: {deal_type: {...}}`). `Deal probability` is a fraction (0.2); a column with "
          "values above 1 is read as percentages.",
))


# --------------------------------------------------------------------------- Close

CLOSE_STATUS = {"active": "open", "won": "won", "lost": "lost"}
CLOSE_PERIOD_MONTHS = {"one_time": 1, "annual": 1, "monthly": 12}  # amount = Close's annualised value


def _close(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.copy()
    if "value" in raw.columns:  # cents; monthly values are annualised as Close's annualized_value is
        factor = 0.01
        if "value_period" in raw.columns:
            period = raw["value_period"].astype("string").str.strip().str.lower()
            factor = 0.01 * period.map(CLOSE_PERIOD_MONTHS).fillna(1).astype(float)
        raw["value"] = _scaled(raw["value"], factor)
    for col in ("expected_value", "annualized_value", "annualized_expected_value"):
        if col in raw.columns:
            raw[col] = _scaled(raw[col], 0.01)
    if "confidence" in raw.columns:
        raw["confidence"] = _scaled(raw["confidence"], 0.01)
    if "status_type" in raw.columns and "date_won" in raw.columns:
        kind = raw["status_type"].astype("string").str.strip().str.lower()
        lost_on = raw["date_lost"] if "date_lost" in raw.columns else raw.get("date_updated")
        closed = raw["date_won"].where(kind.eq("won").fillna(False))
        if lost_on is not None:
            closed = closed.where(~kind.eq("lost").fillna(False), lost_on)
        raw["kpitools:closed_at"] = closed
        raw["kpitools:expected_close_at"] = raw["date_won"].where(kind.eq("active").fillna(False))
    return raw


register(Preset(
    name="close",
    title="Close opportunities export (Opportunities > Export, CSV)",
    columns={
        "deal_id": ("id",),
        "created_at": ("date_created",),
        "closed_at": ("kpitools:closed_at",),
        "expected_close_at": ("kpitools:expected_close_at",),
        "status": ("status_type",),
        "stage": ("status_label",),
        "amount": ("value",),
        "rep": ("user_name",),
        "customer_id": ("lead_id",),
        "probability": ("confidence",),
    },
    values={"status": CLOSE_STATUS},
    prepare=_close,
    doc={"closed_at": "`date_won` (won), `date_lost` or else `date_updated` (lost)",
         "expected_close_at": "`date_won` (active)", "amount": "`value` / 100 (x 12 when `value_period` is "
         "monthly)", "probability": "`confidence` / 100"},
    notes="`value` is in cents (as Close exports it) and is divided by 100; a monthly value is multiplied "
          "by 12 (Close's annualised value), one-time and annual values are taken as they are. Won deals "
          "close on `date_won`, lost deals on `date_lost` (or `date_updated` when the export has no "
          "date_lost); for active deals `date_won` is the expected close date. `confidence` (0-100) becomes "
          "the probability.",
))


def describe(preset: Preset) -> str:
    """A markdown table of what the preset reads (for the README and `help`)."""
    rows = [f"| `{c}` | {preset.doc.get(c) or ', '.join(f'`{s}`' for s in srcs if not s.startswith(DERIVED))} |"
            for c, srcs in preset.columns.items()]
    return "\n".join([f"**{preset.title}** (`preset: {preset.name}`)", "", "| column | read from |",
                      "|---|---|", *rows, "", preset.notes])


__all__ = ["PRESETS", "Preset", "apply", "describe", "expected_columns", "finish", "read_options", "register"]
