"""The registry: options are checked once, from their declaration, before a KPI's body runs."""
from __future__ import annotations

import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis import REGISTRY, Option, funnel, kpi, pipeline
from kpitools.kpis.compute import compute
from kpitools.kpis.registry import check_options

CHOICE_OPTIONS = sorted((k.id, name) for k in REGISTRY.values() for name, o in k.options.items()
                        if o.choices is not None)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    df = pd.DataFrame({"deal_id": ["x1"], "created_at": ["2024-01-02"], "closed_at": ["2024-01-10"],
                       "status": ["won"], "amount": [1000.0]})
    return Dataset(tables={"deals": to_canonical("deals", df)})


@pytest.mark.parametrize(("kpi_id", "option"), CHOICE_OPTIONS)
def test_every_option_with_choices_is_checked_before_the_body_runs(kpi_id: str, option: str) -> None:
    k = REGISTRY[kpi_id]
    # ds=None: the body would fail on it; the check must raise first, naming KPI, option, value and choices
    with pytest.raises(ValueError) as e:
        k.function(None, "M", [], **{option: "no-such-value"})
    text = str(e.value)
    assert text.startswith(f"{kpi_id}: option {option}='no-such-value'")
    assert all(str(c) in text for c in k.options[option].choices)


def test_the_message_names_kpi_option_value_and_allowed_values(ds) -> None:
    with pytest.raises(ValueError) as e:
        REGISTRY["win_rate"].function(ds, basis="weekly")
    assert str(e.value) == "win_rate: option basis='weekly' is not one of its values: period | cohort"


def test_options_given_by_position_are_checked_too(ds) -> None:
    with pytest.raises(ValueError, match="avg_profit_margin: option weighting='median'"):
        REGISTRY["avg_profit_margin"].function(ds, "M", [], "median")


def test_good_values_pass(ds) -> None:
    out = REGISTRY["win_rate"].function(ds, basis="period")
    assert out["value"].tolist() == [1.0]


def test_compute_names_the_kpis_whose_values_it_expected(ds) -> None:
    with pytest.raises(ValueError, match=r"invalid value for option basis: 'weekly'; expected period \| cohort "
                                         r"\(win_rate\)"):
        compute(ds, "win_rate", basis="weekly")


def test_a_kpi_without_choices_is_registered_as_written() -> None:
    def body(ds: Dataset, freq: str = "M", by: tuple[str, ...] = (), months: int = 3) -> pd.DataFrame:
        """Nothing."""
        raise AssertionError

    try:
        fn = kpi("t_plain", name="T", unit="count", direction="higher", needs=["deals"], family="test",
                 options={"months": Option(3)})(body)
        assert fn is body and REGISTRY["t_plain"].function is body
    finally:
        REGISTRY.pop("t_plain", None)


def test_check_options_ignores_options_without_choices() -> None:
    check_options("x", {"months": Option(3), "basis": Option("a", ("a", "b"))}, {"months": "anything", "basis": "b"})
    with pytest.raises(ValueError, match="x: option basis='c' is not one of its values: a | b"):
        check_options("x", {"basis": Option("a", ("a", "b"))}, {"basis": "c"})


def test_no_family_checks_its_options_itself() -> None:
    assert not hasattr(funnel, "_check") and not hasattr(pipeline, "_check")
