"""`compute()`: any KPIs, for any grouping, filters and periods, as one tidy frame.

    compute(ds, ["revenue", "win_rate"], freq="Q", by="region", period="2024", product="A")

returns the columns `period, *by, [dimension columns of table KPIs], kpi, value`,
sorted by kpi, by and period. What could not be computed is reported, never
raised: `result.attrs["skipped"]` maps each KPI left out to the reason ("needs
leads.mql_at", "failed: ..."), and `result.attrs["notes"]` lists the rows that
carry a note (every NaN value has one: why it is NaN).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ..calendars.periods import (
    FREQS,
    JalaliPeriod,
    calendar_name,
    is_period,
    is_period_dtype,
    like,
    pandas_freq,
    parse_period,
    period_dtype,
    period_ends,
    period_starts,
)
from ..data import Dataset
from ..data.schema import DIMENSIONS, TABLES
from .engine import as_by
from .registry import KPI, REGISTRY, Option, allowed, check_options

PeriodSpec: TypeAlias = str | pd.Period | JalaliPeriod | Sequence[str | pd.Period | JalaliPeriod] | None


@dataclass
class Request:
    """A validated compute request: the filtered dataset, the KPIs and the options each one gets."""

    ds: Dataset
    kpis: list[KPI]
    freq: str
    by: list[str]
    options: dict[str, dict[str, Any]]  # kpi id -> options passed to it
    skipped: dict[str, str]  # kpi id -> reason (options that do not apply)
    filters: dict[str, Any]


# ----------------------------------------------------------------------------- validation

def resolve_kpis(kpis: str | Iterable[str] | None) -> list[KPI]:
    """KPI definitions for an id, a comma-separated string of ids, a list of ids, or None (all)."""
    if kpis is None:
        return list(REGISTRY.values())
    ids = [s.strip() for s in kpis.split(",")] if isinstance(kpis, str) else [str(k).strip() for k in kpis]
    ids = [i for i in ids if i]
    if not ids:
        return list(REGISTRY.values())
    out = []
    for i in dict.fromkeys(ids):
        if i not in REGISTRY:
            close = difflib.get_close_matches(i, list(REGISTRY), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see `kpitools catalogue` for the ids"
            raise ValueError(f"unknown KPI {i!r}{hint}")
        out.append(REGISTRY[i])
    return out


_TRUE = {"true", "yes", "1", "on", "y", "t"}
_FALSE = {"false", "no", "0", "off", "n", "f"}


def _coerce(name: str, value: Any, option: Option) -> Any:
    """The option value as the type of its default (strings from a command line are converted)."""
    default = option.default
    try:
        if isinstance(default, bool):
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            if isinstance(value, (int, np.integer)) and value in (0, 1):
                return bool(value)
            raise TypeError
        if isinstance(default, int):
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, (int, np.integer)):
                return int(value)
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                return int(value)
            if isinstance(value, str):
                return int(value.strip())
            raise TypeError
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if isinstance(default, str):
            if not isinstance(value, str):
                raise TypeError
            return value
    except (TypeError, ValueError):
        raise ValueError(f"option {name}={value!r} must be {_a(type(default).__name__)}") from None
    return value


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _valid(k: KPI, name: str, value: Any) -> tuple[bool, Any]:
    """Whether `value` fits KPI k's option `name` (coerced to the default's type, then checked against
    the declared choices, as the KPI function itself checks them), and the coerced value."""
    try:
        v = _coerce(name, value, k.options[name])
        check_options(k.id, k.options, {name: v})
    except ValueError:
        return False, value
    return True, v


def _choices_text(option: Option) -> str:
    if option.choices is not None:
        return allowed(option)
    return _a(type(option.default).__name__) if option.default is not None else "any value"


def category_columns(ds: Dataset) -> set[str]:
    """Every categorical column present in the dataset (usable as a filter)."""
    return {c for df in ds.tables.values() for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)}


def split_options(ds: Dataset, selected: list[KPI], options: dict[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, str]]:
    """Separate filters (dimension columns) from KPI options and check the options.

    Returns (filters, per-KPI options, KPIs skipped because an option value does not fit them).
    A name is a filter when it is a dimension (region, product, ...); else an option when a requested KPI
    declares it; else a filter when it is a category column of the dataset; else a ValueError.
    """
    declared: dict[str, list[KPI]] = {}
    for k in selected:
        for name in k.options:
            declared.setdefault(name, []).append(k)
    cats = category_columns(ds)
    filters: dict[str, Any] = {}
    per_kpi: dict[str, dict[str, Any]] = {k.id: {} for k in selected}
    skipped: dict[str, str] = {}
    for name, value in options.items():
        if name in DIMENSIONS:
            filters[name] = value
            continue
        if name not in declared:
            if name in cats:
                filters[name] = value
                continue
            valid = sorted(declared)
            what = ", ".join(valid) if valid else "none (the requested KPIs take no options)"
            close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"unknown option {name!r}{hint}: valid options for these KPIs are {what}; "
                             f"filters are dimension columns such as region or product")
        fits = []
        for k in declared[name]:
            ok, v = _valid(k, name, value)
            if ok:
                per_kpi[k.id][name] = v
                fits.append(k)
        if not fits:
            opts: dict[str, list[str]] = {}
            for k in declared[name]:
                opts.setdefault(_choices_text(k.options[name]), []).append(k.id)
            expected = " or ".join(f"{text} ({', '.join(ids)})" for text, ids in sorted(opts.items()))
            raise ValueError(f"invalid value for option {name}: {value!r}; expected {expected}")
        for k in declared[name]:
            if k not in fits:
                skipped[k.id] = f"option {name}={value!r} does not apply (expected {_choices_text(k.options[name])})"
    return filters, per_kpi, skipped


def _check_by(by: list[str]) -> None:
    known = {c.name for t in TABLES.values() for c in t.columns if c.kind in ("category", "str", "id")}
    for c in by:
        if c not in known:
            close = difflib.get_close_matches(c, sorted(DIMENSIONS), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; use one of {', '.join(sorted(DIMENSIONS))}"
            raise ValueError(f"cannot group by {c!r}: no table has that column{hint}")


def unavailable(ds: Dataset, k: KPI, by: list[str]) -> str | None:
    """Why KPI `k` cannot be computed on `ds` grouped by `by` ("needs leads.mql_at"), or None."""
    missing = ds.missing(list(k.needs))
    # The first table is the one grouped; a KPI joining others handles their missing columns itself.
    table = k.tables[0]
    if table in ds.tables:
        missing += [f"{table}.{c}" for c in by if not ds.has(table, c) and f"{table}.{c}" not in missing
                    and not (k.per_customer and _per_customer(ds, c))]
    if missing:
        return "needs " + ", ".join(missing)
    return None


def _per_customer(ds: Dataset, column: str) -> bool:
    """Whether some table gives `column` per customer (see recurring._customer_attributes)."""
    return any(ds.has(t, "customer_id") and ds.has(t, column) for t in ("customers", "subscriptions", "deals"))


def prepare(ds: Dataset, kpis: str | Iterable[str] | None = None, freq: str = "M", by: Any = None,
            fiscal_year_start: int | None = None, calendar: str | None = None, **options: Any) -> Request:
    """Validate a request (KPI ids, frequency, by, options) and apply the filters."""
    freq = str(freq).upper()
    if freq not in FREQS:
        raise ValueError(f"unknown frequency {freq!r}: use one of {', '.join(FREQS)}")
    if fiscal_year_start is not None:
        pandas_freq(freq, int(fiscal_year_start))  # checks 1..12
        ds = replace(ds, fiscal_year_start=int(fiscal_year_start))
    if calendar is not None and calendar != "":
        name = calendar_name(calendar)
        if name != getattr(ds, "calendar", "gregorian"):
            ds = replace(ds, calendar=name)
    by = as_by(by)
    if len(set(by)) != len(by):
        raise ValueError(f"by lists a column twice: {', '.join(by)}")
    _check_by(by)
    selected = resolve_kpis(kpis)
    filters, per_kpi, skipped = split_options(ds, selected, options)
    return Request(ds=ds.filter(**filters), kpis=selected, freq=freq, by=by, options=per_kpi, skipped=skipped,
                   filters=filters)


# ----------------------------------------------------------------------------- periods

def period_spans(period: PeriodSpec, fiscal_year_start: int = 1, calendar: str = "gregorian"
                 ) -> list[tuple[pd.Timestamp, pd.Timestamp]] | None:
    """(start, end) of each selected span: "2024-03", "2024Q1", "2024", "2024-01:2024-06" (a range),
    a list of these, a comma-separated string, or a period object. Texts are read in `calendar`
    ("1402-07" with calendar="jalali"). None: everything."""
    if period is None:
        return None
    items: list[Any]
    if isinstance(period, (str, pd.Period, JalaliPeriod)):
        items = [period]
    else:
        items = list(period)
    spans = []
    for item in items:
        if is_period(item):
            spans.append((item.start_time, item.end_time))
            continue
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if ":" in part:
                a, _, b = part.partition(":")
                pa = parse_period(a.strip(), fiscal_year_start=fiscal_year_start, calendar=calendar)
                pb = parse_period(b.strip(), fiscal_year_start=fiscal_year_start, calendar=calendar)
                if pb.end_time < pa.start_time:
                    raise ValueError(f"period range {part!r} ends before it starts")
                spans.append((pa.start_time, pb.end_time))
            else:
                p = parse_period(part, fiscal_year_start=fiscal_year_start, calendar=calendar)
                spans.append((p.start_time, p.end_time))
    return spans


def select_periods(periods: pd.Series, spans: list[tuple[pd.Timestamp, pd.Timestamp]] | None) -> np.ndarray:
    """Mask of the periods that overlap any span (a month selects the quarter holding it at freq="Q";
    a year selects its months at freq="M")."""
    if spans is None:
        return np.ones(len(periods), dtype=bool)
    start = period_starts(periods)
    end = period_ends(periods)
    mask = np.zeros(len(periods), dtype=bool)
    for lo, hi in spans:
        mask |= np.asarray((start <= hi) & (end >= lo))
    return mask


# ----------------------------------------------------------------------------- compute

class Notes(pd.DataFrame):
    """The frame in `result.attrs["notes"]`: a plain DataFrame except that comparing it with another
    DataFrame gives one bool (frame equality) instead of an element-wise frame.

    pandas compares the `attrs` of the inputs of `concat` and `merge` with `==`; with an ordinary
    DataFrame there, `pd.concat([compute(...), compute(...)])` would raise "the truth value of a DataFrame
    is ambiguous".
    """

    @property
    def _constructor(self):  # derived frames, and deep copies of attrs, stay Notes
        return Notes

    def __eq__(self, other):
        if isinstance(other, pd.DataFrame):
            return self.shape == other.shape and bool(pd.DataFrame(self).equals(pd.DataFrame(other)))
        return super().__eq__(other)

    def __ne__(self, other):
        if isinstance(other, pd.DataFrame):
            return not self.__eq__(other)
        return super().__ne__(other)

    __hash__ = None  # type: ignore[assignment]


def _tidy(frame: pd.DataFrame, k: KPI, by: list[str]) -> pd.DataFrame:
    """A KPI's frame as period, *by, *dims, kpi, value, note."""
    dims = [c for c in k.dimensions if c not in by] if k.kind == "table" else []
    needed = ["period", *by, *dims, "value"] + (["measure"] if k.kind == "table" else [])
    lacking = [c for c in needed if c not in frame.columns]
    if lacking:
        raise ValueError(f"returned no {', '.join(lacking)} column")
    out = frame[["period", *by, *dims]].copy()
    if k.kind == "table":
        out["kpi"] = k.id + "." + frame["measure"].astype(str)
    else:
        out["kpi"] = k.id
    value = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    note = frame["note"].astype("string") if "note" in frame.columns else pd.Series(pd.NA, index=frame.index,
                                                                                       dtype="string")
    inf = np.isinf(value.to_numpy())
    if inf.any():  # defensive: the contract says never inf
        value[inf] = np.nan
        note[inf] = "infinite value (division by zero)"
    note = note.where(~(value.isna() & note.isna()), "no value")
    out["value"] = value
    out["note"] = note
    return out


def _distinct(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each row's index into the column's distinct values (-1: missing), and those values as a Series of
    the column's dtype, plus one missing value at the end when the column has any."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        c = s.array.codes.astype(np.int64)
        used = pd.unique(c[c >= 0])
        lut = np.full(len(s.cat.categories) + 1, -1, dtype=np.int64)
        lut[used] = np.arange(len(used))
        codes = lut[c]  # code -1 picks the last entry, -1
        values = pd.Categorical.from_codes(np.append(used, -1) if (c < 0).any() else used, dtype=s.dtype)
        return codes, pd.Series(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    values = pd.Series(uniques, dtype=s.dtype)
    if (codes < 0).any():
        values = pd.concat([values, s[codes < 0].iloc[:1]], ignore_index=True)
    return codes.astype(np.int64), values


def _key(frames: list[pd.DataFrame], c: str) -> tuple[np.ndarray, pd.CategoricalDtype, int] | None:
    """Final category codes of column `c` over the stacked frames (-1: missing), the final dtype and the
    number of categories; None when the values' order is ambiguous."""
    smalls, codes, offsets, at = [], [], [], 0
    for f in frames:
        if c not in f.columns:  # the stacked frame fills missing values here
            small = pd.DataFrame(index=range(min(len(f), 1)))
            codes.append(np.full(len(f), -1 if len(f) == 0 else 0, dtype=np.int64))
        else:
            fc, values = _distinct(f[c])
            small = values.to_frame(c)
            missing = len(values) - 1  # the missing value's row, when there is one
            codes.append(np.where(fc < 0, missing, fc))
        offsets.append(at)
        at += len(small)
        smalls.append(small)
    stacked = pd.concat(smalls, ignore_index=True)
    if c not in stacked.columns:
        return None
    col = stacked[c]
    obj = col.astype(object).where(col.notna(), np.nan)
    final = obj.astype("category")
    cats = final.cat.categories
    # the current code sorts the object values: the categories must be in that order
    ordered = obj.sort_values(kind="stable", na_position="last")
    ordered = ordered[ordered.notna()].drop_duplicates()
    if len(ordered) != len(cats) or not (final.cat.codes[ordered.index].to_numpy() == np.arange(len(cats))).all():
        return None
    row_code = final.cat.codes.to_numpy().astype(np.int64)
    out = np.concatenate([row_code[off + fc] if len(fc) else fc for off, fc in zip(offsets, codes)])
    return out, final.dtype, len(cats)


def _assemble(frames: list[pd.DataFrame], by: list[str], dims: list[str], pdt: Any) -> pd.DataFrame | None:
    """The KPI frames stacked and sorted as `run` returns them (before attrs); None: use the old code."""
    if not frames:
        return None
    if any(f["period"].dtype != pdt for f in frames):
        return None
    period = np.concatenate([f["period"].array.asi8 for f in frames])
    period_key = np.where(period == np.iinfo(np.int64).min, np.iinfo(np.int64).max, period)  # NaT last
    kpi_codes, kpi_values = [], []
    for f in frames:
        kc, u = pd.factorize(f["kpi"])
        kpi_codes.append(kc)
        kpi_values.append([str(v) for v in u])
    names = sorted(set(v for u in kpi_values for v in u))
    pos = {v: i for i, v in enumerate(names)}
    kpi = np.concatenate([np.array([pos[v] for v in u], dtype=np.int64)[kc] for kc, u in zip(kpi_codes, kpi_values)])
    keys = [*by, *dims]
    coded = []
    for c in keys:
        k = _key(frames, c)
        if k is None:
            return None
        coded.append(k)
    sort_keys = [period_key]
    for codes, _, n in reversed(coded):
        sort_keys.append(np.where(codes < 0, n, codes))  # missing last
    sort_keys.append(kpi)
    order = np.lexsort(sort_keys)
    out = pd.DataFrame({"period": like(period[order], pdt)})
    for c, (codes, dtype, _) in zip(keys, coded):
        out[c] = pd.Categorical.from_codes(codes[order], dtype=dtype)
    out["kpi"] = pd.Series(np.array(names, dtype=object)[kpi[order]], dtype=object)
    out["value"] = np.concatenate([f["value"].to_numpy(dtype="float64") for f in frames])[order]
    note = pd.concat([f["note"] for f in frames], ignore_index=True)
    out["note"] = note.array.take(order)
    return out


def run(req: Request, period: PeriodSpec = None) -> pd.DataFrame:
    """Compute a prepared request: columns period, *by, *dims, kpi, value, note."""
    spans = period_spans(period, req.ds.fiscal_year_start, req.ds.calendar)
    pdt = period_dtype(req.freq, req.ds.fiscal_year_start, req.ds.calendar)
    frames, dims, skipped = [], [], dict(req.skipped)
    for k in req.kpis:
        if k.id in skipped:
            continue
        reason = unavailable(req.ds, k, req.by)
        if reason:
            skipped[k.id] = reason
            continue
        try:
            raw = k.function(req.ds, freq=req.freq, by=list(req.by), **req.options.get(k.id, {}))
            tidy = _tidy(raw, k, req.by)
        except Exception as e:  # one KPI failing never stops the others
            skipped[k.id] = f"failed: {e}"
            continue
        tidy = tidy[select_periods(tidy["period"], spans)]
        for c in tidy.columns:
            if c not in ("period", "kpi", "value", "note", *req.by) and c not in dims:
                dims.append(c)
        frames.append(tidy)
    # Large results: stack and sort on integer codes (same output, several times faster).
    out = _assemble(frames, req.by, dims, pdt) if sum(len(f) for f in frames) >= 100_000 else None
    if out is None:
        cols = ["period", *req.by, *dims, "kpi", "value", "note"]
        if frames:
            out = pd.concat(frames, ignore_index=True)
            for c in cols:
                if c not in out.columns:
                    out[c] = np.nan
            out = out[cols]
        else:
            empty = like(np.zeros(0, dtype=np.int64), pdt)
            out = pd.DataFrame({"period": empty, **{c: pd.Series([], dtype=object) for c in
                                [*req.by, *dims]}, "kpi": pd.Series([], dtype=object),
                                "value": pd.Series([], dtype="float64"), "note": pd.Series([], dtype="string")})
        if not is_period_dtype(out["period"].dtype):
            out["period"] = (pd.PeriodIndex(out["period"], freq=pdt.freq) if isinstance(pdt, pd.PeriodDtype)
                             else pd.array(list(out["period"]), dtype=pdt))
        for c in [*req.by, *dims]:
            out[c] = out[c].astype(object).where(out[c].notna(), np.nan)
        out = out.sort_values(["kpi", *req.by, *dims, "period"], kind="stable", na_position="last")
        for c in [*req.by, *dims]:
            out[c] = out[c].astype("category")
        out["kpi"] = out["kpi"].astype(object)
    out = out.reset_index(drop=True)
    out.attrs["skipped"] = skipped
    return out


def compute(ds: Dataset, kpis: str | Iterable[str] | None = None, freq: str = "M", by: Any = None,
            period: PeriodSpec = None, *, fiscal_year_start: int | None = None, calendar: str | None = None,
            **options: Any) -> pd.DataFrame:
    """Compute KPIs as one tidy frame: period, *by, [dimension columns of table KPIs], kpi, value.

    kpis: an id, a list of ids (or "a,b"), or None for every registered KPI the dataset supports.
    freq: D, W, M, Q or Y. by: None, "region", "region,product" or a list.
    period: None (all), "2024-03" / "2024Q1" / "2024", a list of them, "2024-01:2024-06" or a pandas
    Period; a period selects every reporting period that overlaps it.
    fiscal_year_start: month the fiscal year starts in (overrides ds.fiscal_year_start).
    calendar: "gregorian" or "jalali" (overrides ds.calendar): with "jalali" the periods are Jalali
    (Solar Hijri) months, quarters and years (JalaliPeriod values printing as 1402-01, 1402Q1, 1402) and
    `period` texts are Jalali ("1402-07", "1402Q3", "1402-01:1402-06").
    **options: dimension columns are filters (region="EMEA", product=["A", "B"]); anything else is a KPI
    option, passed to the KPIs that declare it (e.g. compare="yoy" for sales_growth).

    attrs["skipped"]: {kpi id: reason} for KPIs the data cannot support ("needs leads.mql_at") or that
    failed ("failed: ..."); attrs["notes"]: period, *by, [dims], kpi, note of the rows with a note (every
    NaN value, plus informative notes such as excluded rows).
    """
    req = prepare(ds, kpis, freq, by, fiscal_year_start, calendar, **options)
    full = run(req, period)
    notes = full.loc[full["note"].notna(), [c for c in full.columns if c != "value"]].reset_index(drop=True)
    out = full.drop(columns="note")
    out.attrs["skipped"] = full.attrs["skipped"]
    out.attrs["notes"] = Notes(notes)
    return out
