"""Every notebook in notebooks/ runs top to bottom, headless, with small settings.

The small settings go into a cell inserted after the notebook's `parameters` cell (the
papermill convention), so the notebook itself keeps its full-size values. The kernel is the
interpreter running the tests, registered under the name `python3` in a temporary Jupyter
path: this works on a fresh checkout where only `pip install -e .[test]` ran, whatever
kernels the machine has elsewhere.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

NOTEBOOKS = REPO / "notebooks"
#: Small settings per notebook: enough to run every cell (two replications, so confidence
#: intervals exist), small enough for the three notebooks to run in about a minute.
SMALL = {
    "01_quickstart.ipynb": {"REPLICATIONS": 2},
    "02_double11_spike.ipynb": {
        "REPLICATIONS": 2, "END": "2026-11-11 04:00", "STANDBY_CAPS": [20],
        "ACTIVATION_DELAYS": ["5min"], "PRESALE_DEFLECTIONS": [0.5],
    },
    "03_routing_policies.ipynb": {"REPLICATIONS": 2, "OVERFLOW_THRESHOLDS": ["30s", "2min"]},
    "04_from_chat_export.ipynb": {"REPLICATIONS": 3, "STAFF_REPLICATIONS": 3, "MAX_PASSES": 1},
}
TIMEOUT_S = 300


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def parameters_cell(nb) -> int:
    """Index of the one code cell tagged `parameters`, which must be the first code cell."""
    tagged = [i for i, cell in enumerate(nb.cells)
              if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    assert tagged[0] == first_code, "the parameters cell must be the first code cell"
    return tagged[0]


def assigned_names(source: str) -> set[str]:
    return {target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


@pytest.fixture(scope="module")
def kernel_environment(tmp_path_factory):
    """A Jupyter path whose `python3` kernel is this interpreter, first on the search path."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "data" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (tests)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return {"JUPYTER_PATH": str(root / "data"), "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
            "IPYTHONDIR": str(root / "ipython"), "MPLBACKEND": "Agg"}


def test_every_notebook_has_small_settings():
    names = {path.name for path in notebook_paths()}
    assert names == set(SMALL), "add the new notebook's small settings to SMALL (or remove it)"


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    index = parameters_cell(nb)
    missing = set(SMALL[path.name]) - assigned_names(nb.cells[index].source)
    assert not missing, f"the parameters cell no longer sets {sorted(missing)}"
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"cells {dirty} carry outputs: clear them before committing"


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_runs_with_small_settings(path, kernel_environment, monkeypatch):
    for name, value in kernel_environment.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(path, as_version=4)
    index = parameters_cell(nb)
    injected = "\n".join(f"{name} = {value!r}" for name, value in SMALL[path.name].items())
    cell = nbformat.v4.new_code_cell(injected, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)

    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()   # raises CellExecutionError, with the cell and traceback, on any error

    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # The plots must reach the reader as images, not as '<Figure size ...>' text.
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "no cell displayed a figure"
    unrendered = [o["data"]["text/plain"] for o in outputs
                  if "text/plain" in o.get("data", {}) and "image/png" not in o["data"]
                  and o["data"]["text/plain"].startswith("<Figure")]
    assert not unrendered, f"figures shown as text: {unrendered}"
