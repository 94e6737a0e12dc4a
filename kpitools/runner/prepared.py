"""The batch's prepared data: each dataset loaded once and kept as a typed Parquet copy in `<output>/.cache/`.

    fp = data_fingerprint("data/sample")                    # changes when the data does
    folder, freshness = prepare_data("data/sample", root / CACHE_DIR, fp)
    # every run reads <folder>/dataset.yml instead of re-reading and re-parsing the source

The copy is reused while the data is unchanged; `read_prepared` gives the spec's data check a
quick look at it (dates and dimensions only).
"""
from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from ..data.problems import DataError, Problem
from ..files import read_json, write_json
from .errors import BatchError

CACHE_DIR = ".cache"


def data_fingerprint(value: str) -> str:
    """Hash of the dataset config and each table file's path, size and modification
    time. A database table can change at any time: such a dataset never counts as unchanged."""
    from kpitools.data.loader import reads_a_database, resolve, source_files

    try:
        config, folder, source = resolve(value)
    except DataError as e:
        raise BatchError([Problem(f"parameter data={value!r}: {p.message}", file=p.file, hint=p.hint)
                          for p in e.problems]) from None
    h = hashlib.sha256()
    src = Path(source)
    if src.is_file():
        h.update(src.read_bytes())
    for path in sorted(source_files(config, Path(folder))):  # tables and their joins
        try:
            st = path.stat()
            h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{path}|missing\n".encode())
    if reads_a_database(config):
        h.update(f"database|{uuid.uuid4()}\n".encode())
    return h.hexdigest()


def prepared_folder(cache: Path, fingerprint: str) -> Path:
    return cache / f"data-{fingerprint[:16]}"


def prepare_data(value: str, cache: Path, fingerprint: str) -> tuple[str, str | None]:
    """Load (and validate) the dataset once and write a typed Parquet copy with its
    dataset.yml, which every run loads instead of re-reading and re-parsing the source.
    Returns (the copy's folder, the data's last date). Reused while the data is unchanged."""
    folder = prepared_folder(cache, fingerprint)
    info = read_json(folder / "prepared.json")
    if isinstance(info, dict) and (folder / "dataset.yml").is_file():
        return str(folder), info.get("data_freshness")
    import kpitools

    try:
        ds = kpitools.load(value)
    except DataError as e:
        raise BatchError(list(e.problems)) from None
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        config: dict[str, Any] = {"name": ds.name, "currency": ds.currency, "fiscal_year_start": ds.fiscal_year_start,
                  "calendar": ds.calendar, "stage_probabilities": dict(ds.stage_probabilities), "tables": {},
                  "notes": [{**asdict(n), "values": list(n.values)} for n in ds.notes]}
        for name, df in ds.tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
            config["tables"][name] = {"path": f"{name}.parquet"}
        (tmp / "dataset.yml").write_text(f"# prepared by kpitools run from {value}\n"
                                         + yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                                         encoding="utf-8")
        freshness = ds.as_of.date().isoformat() if ds.as_of is not None else None  # what reports say
        write_json(tmp / "prepared.json", {"source": value, "data_freshness": freshness})
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # whole folder at once: a crash never leaves half a copy in use
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in cache.glob("data-*"):  # earlier copies of this data, made before it changed (not other datasets')
        earlier = read_json(old / "prepared.json")
        if old != folder and old.is_dir() and isinstance(earlier, dict) and earlier.get("source") == value:
            shutil.rmtree(old, ignore_errors=True)
    return str(folder), freshness


def read_prepared(source: Path, cache: Path) -> Any:
    """The dates and dimension columns of the Parquet copy an earlier batch made of this unchanged
    data (quick to read, little memory: the copy was validated when it was made), or None."""
    import pandas as pd
    import pyarrow.parquet as pq

    from kpitools.data.dataset import Dataset
    from kpitools.data.schema import DIMENSIONS, TABLES

    copy = prepared_folder(cache, data_fingerprint(str(source))) / "dataset.yml"
    if not (copy.is_file() and (copy.parent / "prepared.json").is_file()):
        return None
    try:
        config = yaml.safe_load(copy.read_text(encoding="utf-8"))
        tables = {}
        for name, table in config["tables"].items():
            wanted = {c.name for c in TABLES[name].columns
                      if c.name in DIMENSIONS or (c.kind in ("date", "month") and not c.planned)}
            path = copy.parent / table["path"]
            tables[name] = pd.read_parquet(path, columns=[c for c in pq.read_schema(path).names if c in wanted])
        return Dataset(tables=tables, fiscal_year_start=config.get("fiscal_year_start", 1),
                       calendar=config.get("calendar", "gregorian"), source=copy)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return None  # an unreadable copy: prepare_data makes a new one; check the source instead
