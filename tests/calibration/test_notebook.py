"""Execute examples/agreement_study.ipynb as CI does (cwd examples/, with a timeout)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "agreement_study.ipynb"
# ../shared beside the checkout, or beside the folder holding a git worktree of it.
DATA = next(
    (
        base / "shared" / "data" / "squality-human-eval" / "all-responses.jsonl"
        for base in (ROOT.parent, ROOT.parents[1])
        if (base / "shared" / "data" / "squality-human-eval").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "squality-human-eval" / "all-responses.jsonl",
)


@pytest.mark.slow
@pytest.mark.skipif(not DATA.exists(), reason=f"SQuALITY human-eval data not found at {DATA}")
def test_agreement_study_notebook_runs() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot was not drawn"
    text = "".join(o.get("text", "") for o in outputs)
    assert "300 responses, 4 raters, 2700 ratings" in text
    # The alt-test, human-ceiling and PPI section ran and printed its summary lines.
    assert "rater/dimension pairs pass" in text
    assert "PPI++ " in text and "human mean on all 225 responses" in text
    # The study-designs section: the incomplete design used whole, passages resampled, the
    # guarantee calibrated.
    assert "every one of 300 responses used" in text
    assert "resampling passages instead of responses widens the alpha interval by" in text
    assert "guarantee: keep items with confidence >=" in text
