"""The sales report made by a batch (fork server, shared results, prepared data) shows exactly what the same
notebook shows when papermill runs it alone, without any of that."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kpitools.data.sample import write_sample
from kpitools.runner.batch import run_batch

SALES_REPORT = Path(__file__).parents[2] / "notebooks" / "sales_report.ipynb"


def _shown(path: Path, data: str) -> list[str]:
    """Every text the notebook showed (the KPI values), the data path and object addresses blanked."""
    texts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code" or "injected-parameters" in cell["metadata"].get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append("".join(out["text"]))
            for mime in ("text/plain", "text/html"):
                texts.append("".join(out.get("data", {}).get(mime, "")))
    return [re.sub(r"at 0x[0-9a-f]+", "", re.sub(r"[^\s\"']*/data-[0-9a-f]+", "<data>", t.replace(data, "<data>")))
            for t in texts]


def test_a_batch_report_equals_the_notebook_run_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    data = str(write_sample(tmp_path / "data", end="2026-10-31").parent)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yml").write_text(
        f"notebook: {SALES_REPORT}\noutput: out/{{period}}/{{region}}.html\nparameters: {{data: {data}}}\n"
        "grid:\n  region: [EMEA, APAC]\n  period: ['2026-10']\n", encoding="utf-8")
    assert run_batch(tmp_path / "spec.yml", workers=1, progress=False) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fast_start"] == {"enabled": True}
    for run in manifest["runs"]:
        alone = tmp_path / f"alone-{run['parameters']['region']}.ipynb"
        papermill.execute_notebook(str(SALES_REPORT), str(alone), parameters=run["parameters"],
                                   kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
        assert _shown(tmp_path / "out" / run["executed"], data) == _shown(alone, data)
