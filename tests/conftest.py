import os
from pathlib import Path

import pytest

# Every test runs as on this day, whatever the machine's date: the sample ends in October 2026 (Mehr 1405)
# and `last_complete_month` is 2026-10. Set here, before any test, so kernels and subprocesses inherit it.
TEST_TODAY = "2026-11-15"
os.environ["KPITOOLS_TODAY"] = TEST_TODAY

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
