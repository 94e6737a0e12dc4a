"""A table's config with its CRM preset merged in (kpitools.data.presets holds the presets):
the reader options, the column and value mappings, and what the preset does after parsing.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from .config import ReadOptions, TableConfig
from .presets import DERIVED, PRESETS

__all__ = ["apply", "expected_columns", "finish", "read_options"]


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
