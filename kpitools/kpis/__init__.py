"""The KPI library: one module per family, every KPI registered in REGISTRY.

Each KPI is also a plain function here, e.g. `kpitools.kpis.win_rate(ds, freq="Q", by=["region"])`.
Plain KPIs are declared as data: `declare.simple`, `declare.ratio`, and each family's shapes on its
own shared pass (`activity_rate`, `mrr_movement`, `stage_rate`...); the others are functions registered
with `@kpi(...)`. `engine` holds the shared vectorised passes they run on.
See CONTRIBUTING.md, "Adding a KPI".
"""
from . import activity, customers, funnel, growth, pipeline, recurring, reps, targets  # noqa: F401  (registers)
from .activity import active_reps
from .declare import ratio, simple
from .registry import KPI, REGISTRY, Benchmark, Option, kpi

__all__ = ["REGISTRY", "KPI", "Benchmark", "Option", "kpi", "simple", "ratio", "active_reps"]

# Expose every registered KPI function at package level, except where a family module
# has the same name (the `funnel` KPI stays kpitools.kpis.funnel.funnel).
for _id, _kpi in REGISTRY.items():
    _name = _kpi.function.__name__
    if not isinstance(globals().get(_name), type(activity)):
        globals()[_name] = _kpi.function
        __all__.append(_name)
del _id, _kpi, _name
