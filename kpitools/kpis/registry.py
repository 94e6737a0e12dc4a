"""The KPI registry: one `KPI` definition per catalogue id.

Each family module registers its functions with the `@kpi(...)` decorator.
KPIs declared as data (`declare.simple`, `declare.ratio` and the families' shapes,
all through `declare.declare`) register through the same decorator. A KPI function is pure:
`fn(ds, freq="M", by=(), **options) -> DataFrame` with columns `period, *by, value`
(plus `note`, a reason wherever value is NaN, and for table KPIs `measure` and the
KPI's own `dimensions`).

Options are checked here, once, from their declaration: a value outside an
`Option`'s choices raises a ValueError naming the KPI, the option, the value and
the allowed values before the KPI's body runs, so bodies never check them again.
"""
from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Unit = Literal["money", "count", "ratio", "days", "months", "minutes", "score", "money_per_day", "table"]
Direction = Literal["higher", "lower", "neutral"]
Kind = Literal["flow", "snapshot", "table"]


@dataclass(frozen=True)
class Option:
    default: Any
    choices: tuple[Any, ...] | None = None  # None: any value of the default's type
    help: str = ""


@dataclass(frozen=True)
class Benchmark:
    """A rule of thumb from the seed articles. `low`/`high` bound the good range."""

    text: str
    low: float | None = None
    high: float | None = None

    def contains(self, value: float) -> bool | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.low is not None and value < self.low:
            return False
        if self.high is not None and value > self.high:
            return False
        return True


@dataclass(frozen=True)
class KPI:
    id: str
    name: str
    unit: Unit
    direction: Direction
    needs: tuple[str, ...]  # "table" or "table.column"; the first table is the one grouped by
    formula: str
    family: str
    function: Callable[..., Any] = field(repr=False, compare=False)
    kind: Kind = "flow"
    options: dict[str, Option] = field(default_factory=dict)
    benchmark: Benchmark | None = None
    additive: bool = False  # values of groups add up to the total
    dimensions: tuple[str, ...] = ()  # table KPIs: the columns they add (e.g. product)
    source: str = ""  # where the definition comes from
    per_customer: bool = False  # groups missing from the table are read per customer (region of the customer)

    @property
    def tables(self) -> list[str]:
        return list(dict.fromkeys(n.split(".")[0] for n in self.needs))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "family": self.family,
            "unit": self.unit,
            "direction": self.direction,
            "kind": self.kind,
            "needs": list(self.needs),
            "formula": self.formula,
            "options": {k: {"default": o.default, "choices": list(o.choices) if o.choices else None, "help": o.help}
                        for k, o in self.options.items()},
            "benchmark": self.benchmark.text if self.benchmark else None,
            "source": self.source,
        }


REGISTRY: dict[str, KPI] = {}


def kpi(
    id: str,
    *,
    name: str,
    unit: Unit,
    direction: Direction,
    needs: tuple[str, ...] | list[str],
    family: str,
    kind: Kind = "flow",
    options: dict[str, Option] | None = None,
    benchmark: Benchmark | None = None,
    additive: bool = False,
    dimensions: tuple[str, ...] = (),
    source: str = "",
    per_customer: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a KPI function; its docstring's first paragraph is the formula text."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if id in REGISTRY:
            raise ValueError(f"KPI {id!r} registered twice")
        doc = (fn.__doc__ or "").strip().split("\n\n")[0]
        declared = dict(options or {})
        function = _checked(id, fn, declared)
        REGISTRY[id] = KPI(
            id=id, name=name, unit=unit, direction=direction, needs=tuple(needs), formula=" ".join(doc.split()),
            family=family, function=function, kind=kind, options=declared, benchmark=benchmark,
            additive=additive, dimensions=tuple(dimensions), source=source,
            per_customer=per_customer,
        )
        function.kpi_id = id  # type: ignore[attr-defined]
        return function

    return register


def allowed(option: Option) -> str:
    """The values an option takes, as text: "period | cohort"."""
    return " | ".join(str(c) for c in option.choices or ())


def check_options(kpi_id: str, options: Mapping[str, Option], values: Mapping[str, Any]) -> None:
    """Raise a ValueError for the first value outside its option's declared choices."""
    for name, value in values.items():
        option = options.get(name)
        if option is None or option.choices is None:
            continue
        try:
            ok = value in option.choices
        except TypeError:  # an unhashable value that cannot compare with the choices
            ok = False
        if not ok:
            raise ValueError(f"{kpi_id}: option {name}={value!r} is not one of its values: {allowed(option)}")


def _checked(kpi_id: str, fn: Callable[..., Any], options: dict[str, Option]) -> Callable[..., Any]:
    """`fn`, checking the values given for options with choices before it runs (`fn` itself when it
    has none)."""
    if not any(o.choices is not None for o in options.values()):
        return fn
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def kpi_function(*args: Any, **kwargs: Any) -> Any:
        given = signature.bind_partial(*args, **kwargs).arguments
        check_options(kpi_id, options, {n: v for n, v in given.items() if n in options})
        return fn(*args, **kwargs)

    return kpi_function
