"""The sample's whole KPI catalogue is identical to the one recorded (tests/catalogue_snapshot.py)."""
import json

from tests.catalogue_snapshot import snapshot
from tests.conftest import FIXTURES


def test_the_sample_catalogue_is_unchanged() -> None:
    recorded = json.loads((FIXTURES / "catalogue" / "sample-2026-10.json").read_text(encoding="utf-8"))
    now = snapshot()
    for grouping, kpis in recorded.items():
        changed = sorted(k for k in kpis if now[grouping].get(k) != kpis[k])
        assert not changed, f"by {grouping}: these KPIs changed: {changed}"
        assert set(now[grouping]) == set(kpis), f"by {grouping}: KPIs added or gone"
