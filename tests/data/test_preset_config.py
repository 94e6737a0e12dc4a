"""A table's config with its preset merged in (the presets' exports end to end: test_presets.py)."""
from __future__ import annotations

import pandas as pd

from kpitools.data.config import TableConfig
from kpitools.data.preset_config import apply, expected_columns, finish, read_options
from kpitools.data.presets import PRESETS, Preset, register


def test_preset_read_options_fill_in_what_the_user_left_out() -> None:
    register(Preset(name="test_semicolons", title="t", columns={}, read={"sep": ";", "decimal": ","}))
    try:
        cfg = TableConfig(path="x.csv", preset="test_semicolons", read={"decimal": "."})
        opts = read_options(cfg)
        assert opts.sep == ";" and opts.decimal == "."
    finally:
        del PRESETS["test_semicolons"]


def test_a_config_without_a_preset_comes_back_unchanged() -> None:
    cfg = TableConfig(path="x.csv", columns={"amount": "Amount"})
    raw = pd.DataFrame({"Amount": ["1"]})
    out, same = apply(raw, cfg)
    assert out is raw and same == cfg
    assert finish(raw, cfg) is raw
    assert expected_columns(cfg, "amount") == ""


def test_the_preset_maps_the_first_column_present_and_the_user_wins() -> None:
    register(Preset(name="test_crm", title="t", columns={"amount": ("Value", "Amount"), "rep": ("Owner",)},
                    values={"status": {"Won": "won"}}))
    try:
        cfg = TableConfig(path="x.csv", preset="test_crm", columns={"rep": "Seller"})
        raw = pd.DataFrame({"Amount": ["1"], "Owner": ["a"], "Seller": ["b"]})
        _, merged = apply(raw, cfg)
        assert merged.columns == {"rep": "Seller", "amount": "Amount"}
        assert expected_columns(cfg, "amount") == "the test_crm preset reads amount from 'Value' or 'Amount'"
    finally:
        del PRESETS["test_crm"]
